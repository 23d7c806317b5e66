// Philox-4x32-10 rounds on eight counters at once for the chunk sampler (sampler_chunks.cl), in the layout for CPUs
// with 16 vector registers (DevicePath.philoxFile: avx2, portable): eight 32-bit words in one uint8, half the
// registers of philox8_wide.cl's ulong lanes, so three chunks' state (12 registers) stays out of the stack. Each
// product is taken on the even and the odd lanes apart (two 32×32→64 multiplies, vpmuludq on AVX2) and the halves
// blended back. The same words as philox8_wide.cl (traced pattern tile on PoCL built for haswell: 179–183 → 171 µs at
// B = 1024; slower on AVX-512, 143–149 → 151–165 µs, which keeps the wide layout).
typedef uint8 icl_words8;
inline icl_words8 icl_words8_of(const uint8 v) { return v; }
inline uint8 icl_words8_value(const icl_words8 w) { return w; }

// The high and the low 32 bits of the eight products, from the even lanes' products pe and the odd lanes' po.
inline uint8 icl_philox8_high(const ulong4 pe, const ulong4 po) {
    return as_uint8((pe >> 32) | (po & (ulong4)(0xFFFFFFFF00000000ul)));
}
inline uint8 icl_philox8_low(const ulong4 pe, const ulong4 po) {
    return as_uint8((pe & (ulong4)(0xFFFFFFFFul)) | (po << 32));
}

inline void icl_philox8_round(icl_words8* x0, icl_words8* x1, icl_words8* x2, icl_words8* x3, const uint k0,
                              const uint k1) {
    const ulong4 a = as_ulong4(*x0), c = as_ulong4(*x2);
    const ulong4 pe0 = (a & (ulong4)(0xFFFFFFFFul)) * (ulong4)(0xD2511F53ul), po0 = (a >> 32) * (ulong4)(0xD2511F53ul);
    const ulong4 pe1 = (c & (ulong4)(0xFFFFFFFFul)) * (ulong4)(0xCD9E8D57ul), po1 = (c >> 32) * (ulong4)(0xCD9E8D57ul);
    *x0 = icl_philox8_high(pe1, po1) ^ *x1 ^ (uint8)(k0);
    *x1 = icl_philox8_low(pe1, po1);
    *x2 = icl_philox8_high(pe0, po0) ^ *x3 ^ (uint8)(k1);
    *x3 = icl_philox8_low(pe0, po0);
}
