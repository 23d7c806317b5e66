// The pattern tile kernel's per-column table reads on the vector paths (avx512, avx2): the path's own file
// (pattern_lookup_<path>.cl, chosen by the host) defines icl_table, icl_table_load and icl_lookup, which read a table
// of at most 32 floats (Ãq, dc̃) at eight columns' indices at once; the label sums are vector sums over the columns.
// pattern_reads_portable.cl has the same functions in plain OpenCL C, column by column; the two agree up to rounding
// (the vector sums add the columns in a different order).

// c_i · t for the eight columns i of chunk k, with t the table and t[q] = tq: t[pattern] + κ t[M1 + irrelevant]
// + y t[q]. Both the scores (t = Ãq) and da (t = dc̃) read a prompt's columns this way.
inline float8 pattern_column_dots(const icl_table t, const float tq, const int k, const int* pat,
                                  const int* irr, const float* kap, const float* yv, const int nRelevant) {
    return icl_lookup(t, vload8(k, pat)) + vload8(k, kap) * icl_lookup(t, vload8(k, irr) + (int8)(nRelevant)) +
           vload8(k, yv) * tq;
}

// One prompt's scores s_i = c_i · Ãq for every column chunk (lanes past ICL_L are overwritten by the caller).
inline void pattern_scores(float8* sc8, const float8* Aq8, const int* pat, const int* irr, const float* kap,
                           const float* yv, const int nRelevant) {
    const icl_table tab = icl_table_load(Aq8);
    const float aq = ((const float*)Aq8)[ICL_R - 1];
    #pragma unroll
    for (int k = 0; k < LV; ++k) sc8[k] = pattern_column_dots(tab, aq, k, pat, irr, kap, yv, nRelevant);
}

// One prompt's da_i = c_i · dc̃, its attention-weighted mean, then ds_i = attn_i (da_i − mean) into da (zero past
// ICL_L, where attn is zero).
inline void pattern_score_grads(float* da, const float* at, const float8* dcd8, const int* pat, const int* irr,
                                const float* kap, const float* yv, const int nRelevant) {
    const icl_table tab = icl_table_load(dcd8);
    const float dq = ((const float*)dcd8)[ICL_R - 1];
    float8 d8[LV], m8 = (float8)(0.0f);
    #pragma unroll
    for (int k = 0; k < LV; ++k) {
        d8[k] = pattern_column_dots(tab, dq, k, pat, irr, kap, yv, nRelevant);
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
