// Philox-4x32-10 rounds on eight counters at once for the chunk sampler (sampler_chunks.cl), in the layout for CPUs
// with 32 vector registers (DevicePath.philoxFile: avx512): each 32-bit word lives in the low half of a ulong lane and
// the high half is ignored, so every product is one packed 32×32→64 multiply (vpmuludq, eight lanes in a 512-bit
// register) with no widening or narrowing moves around it. philox8_packed.cl computes the same words.
typedef ulong8 icl_words8;
inline icl_words8 icl_words8_of(const uint8 v) { return ICL_TO_ULONG8(v); }
inline uint8 icl_words8_value(const icl_words8 w) { return ICL_TO_UINT8(w); }

inline void icl_philox8_round(icl_words8* x0, icl_words8* x1, icl_words8* x2, icl_words8* x3, const ulong k0,
                              const ulong k1) {
    const ulong8 p0 = (*x0 & (ulong8)(0xFFFFFFFFul)) * (ulong8)(0xD2511F53ul);
    const ulong8 p1 = (*x2 & (ulong8)(0xFFFFFFFFul)) * (ulong8)(0xCD9E8D57ul);
    *x0 = (p1 >> 32) ^ *x1 ^ (ulong8)(k0);
    *x1 = p1;
    *x2 = (p0 >> 32) ^ *x3 ^ (ulong8)(k1);
    *x3 = p0;
}
