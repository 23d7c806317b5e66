// The avx512 path's table lookups for pattern_reads_vector.cl (DevicePath.avx512: an x86 CPU whose OpenCL compiler
// targets AVX-512, as PoCL's does on such a CPU; RMAX ≤ 32): a table of at most 32 floats held in two float16
// registers, read at eight indices by one vpermi2ps.

// The table t[0 … RMAX−1] (RV float8s) as the two halves of a 32-entry vpermi2ps table (lanes past RMAX zero).
typedef struct { float16 lo, hi; } icl_table;
inline icl_table icl_table_load(const float8* t) {
    float8 x[4];
    #pragma unroll
    for (int k = 0; k < 4; ++k) x[k] = k < RV ? t[k] : (float8)(0.0f);
    icl_table r;
    r.lo = (float16)(x[0], x[1]);
    r.hi = (float16)(x[2], x[3]);
    return r;
}
// t[idx[lane]] for each lane (idx in [0, 32)).
inline float8 icl_lookup(const icl_table t, const int8 idx) {
    const float16 x = __builtin_ia32_vpermi2varps512(t.lo, (int16)(idx, idx), t.hi);
    return x.lo;
}
