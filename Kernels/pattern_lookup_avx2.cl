// The avx2 path's table lookups for pattern_reads_vector.cl (DevicePath.avx2: an x86 CPU whose OpenCL compiler
// targets AVX2 and FMA, without AVX-512; RMAX ≤ 32): a table of at most 32 floats held in four float8 registers,
// read at eight indices by one vpermps per register and two levels of blends. It reads the same values as the
// avx512 path, so the two paths round alike.

// The table t[0 … RMAX−1] (RV ≤ 4 float8s; registers past RV zero).
typedef struct { float8 t[4]; } icl_table;
inline icl_table icl_table_load(const float8* t) {
    icl_table x;
    #pragma unroll
    for (int k = 0; k < 4; ++k) x.t[k] = k < RV ? t[k] : (float8)(0.0f);
    return x;
}
// t[idx[lane]] for each lane (idx in [0, 8·RV)): vpermps picks lane idx mod 8 of each register, then bits 3 and 4
// of idx pick the register.
inline float8 icl_lookup(const icl_table t, const int8 idx) {
    const int8 bit3 = (idx & (int8)(8)) != (int8)(0);
    float8 lo = __builtin_ia32_permvarsf256(t.t[0], idx);
    if (RV > 1) lo = select(lo, __builtin_ia32_permvarsf256(t.t[1], idx), bit3);
    if (RV > 2) {
        float8 hi = __builtin_ia32_permvarsf256(t.t[2], idx);
        if (RV > 3) hi = select(hi, __builtin_ia32_permvarsf256(t.t[3], idx), bit3);
        lo = select(lo, hi, (idx & (int8)(16)) != (int8)(0));
    }
    return lo;
}
