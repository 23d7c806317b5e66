// The pattern tile kernel's per-column table reads on the avx512 path (chosen by the host, DevicePath.avx512: an x86
// CPU whose OpenCL compiler targets AVX-512, as PoCL's does on such a CPU, and RMAX ≤ 32). A table of at most 32
// floats (Ãq, dc̃) held in registers is read for eight columns at once by one vpermi2ps, and the label sums are
// vector sums over the columns. pattern_reads_portable.cl has the same functions in plain OpenCL C; the two agree up
// to rounding (the vector sums add the columns in a different order).

// The table t[0 … RMAX−1] (RV float8s) as the two halves of a 32-entry vpermi2ps table (lanes past RMAX zero).
inline void icl_table32(const float8* t, float16* lo, float16* hi) {
    float8 x[4];
    #pragma unroll
    for (int k = 0; k < 4; ++k) x[k] = k < RV ? t[k] : (float8)(0.0f);
    *lo = (float16)(x[0], x[1]);
    *hi = (float16)(x[2], x[3]);
}
// t[idx[lane]] for each lane (idx in [0, 32)).
inline float8 icl_lookup(const float16 lo, const float16 hi, const int8 idx) {
    const float16 x = __builtin_ia32_vpermi2varps512(lo, (int16)(idx, idx), hi);
    return x.lo;
}
// c_i · t for the eight columns i of chunk k, with t in (lo, hi) and t[q] = tq: t[pattern] + κ t[M1 + irrelevant]
// + y t[q]. Both the scores (t = Ãq) and da (t = dc̃) read a prompt's columns this way.
inline float8 pattern_column_dots(const float16 lo, const float16 hi, const float tq, const int k, const int* pat,
                                  const int* irr, const float* kap, const float* yv, const int nRelevant) {
    return icl_lookup(lo, hi, vload8(k, pat)) + vload8(k, kap) * icl_lookup(lo, hi, vload8(k, irr) + (int8)(nRelevant)) +
           vload8(k, yv) * tq;
}

// One prompt's scores s_i = c_i · Ãq for every column chunk (lanes past ICL_L are overwritten by the caller).
inline void pattern_scores(float8* sc8, const float8* Aq8, const int* pat, const int* irr, const float* kap,
                           const float* yv, const int nRelevant) {
    float16 lo, hi;
    icl_table32(Aq8, &lo, &hi);
    const float aq = ((const float*)Aq8)[ICL_R - 1];
    #pragma unroll
    for (int k = 0; k < LV; ++k) sc8[k] = pattern_column_dots(lo, hi, aq, k, pat, irr, kap, yv, nRelevant);
}

// One prompt's da_i = c_i · dc̃, its attention-weighted mean, then ds_i = attn_i (da_i − mean) into da (zero past
// ICL_L, where attn is zero).
inline void pattern_score_grads(float* da, const float* at, const float8* dcd8, const int* pat, const int* irr,
                                const float* kap, const float* yv, const int nRelevant) {
    float16 lo, hi;
    icl_table32(dcd8, &lo, &hi);
    const float dq = ((const float*)dcd8)[ICL_R - 1];
    float8 d8[LV], m8 = (float8)(0.0f);
    #pragma unroll
    for (int k = 0; k < LV; ++k) {
        d8[k] = pattern_column_dots(lo, hi, dq, k, pat, irr, kap, yv, nRelevant);
        m8 += vload8(k, at) * d8[k];
    }
    const float mean = icl_hsum8(m8);
    #pragma unroll
    for (int k = 0; k < LV; ++k) vstore8(vload8(k, at) * (d8[k] - mean), k, da);
}

// The three sums every column of one prompt may add to: Σ w over the columns of the task's patterns pa and pb, and
// Σ w y (the label coordinate), as vectors over the columns (w is zero past ICL_L).
inline void pattern_label_sums(float* sa, float* sb, float* sq, const float* w, const int* pat, const float* yv,
                               const int pa, const int pb) {
    float8 va = (float8)(0.0f), vb = (float8)(0.0f), vq = (float8)(0.0f);
    #pragma unroll
    for (int k = 0; k < LV; ++k) {
        const float8 x = vload8(k, w);
        const int8 p = vload8(k, pat);
        va += select((float8)(0.0f), x, p == (int8)(pa));
        vb += select((float8)(0.0f), x, p == (int8)(pb));
        vq += x * vload8(k, yv);
    }
    *sa = icl_hsum8(va); *sb = icl_hsum8(vb); *sq = icl_hsum8(vq);
}
