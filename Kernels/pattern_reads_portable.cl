// The pattern tile kernel's per-column table reads on the portable path (DevicePath.portable): plain OpenCL C for
// every device, column by column. pattern_reads_avx512.cl has the same functions with AVX-512 table permutes.

// One prompt's scores s_i = c_i · Ãq = Ãq[pattern] + κ Ãq[M1 + irrelevant] + y Ãq[q] for i < ICL_L.
inline void pattern_scores(float8* sc8, const float8* Aq8, const int* pat, const int* irr, const float* kap,
                           const float* yv, const int nRelevant) {
    const float* Aq = (const float*)Aq8;
    float* sc = (float*)sc8;
    for (int s = 0; s < ICL_L; ++s) sc[s] = Aq[pat[s]] + kap[s] * Aq[nRelevant + irr[s]] + yv[s] * Aq[ICL_R - 1];
}

// One prompt's da_i = c_i · dc̃ and its attention-weighted mean, then ds_i = attn_i (da_i − mean) into da, for
// i < ICL_L.
inline void pattern_score_grads(float* da, const float* at, const float8* dcd8, const int* pat, const int* irr,
                                const float* kap, const float* yv, const int nRelevant) {
    const float* dcd = (const float*)dcd8;
    float mean = 0.0f;
    for (int s = 0; s < ICL_L; ++s) {
        da[s] = dcd[pat[s]] + kap[s] * dcd[nRelevant + irr[s]] + yv[s] * dcd[ICL_R - 1];
        mean += at[s] * da[s];
    }
    for (int s = 0; s < ICL_L; ++s) da[s] = at[s] * (da[s] - mean);
}

// The three sums every column of one prompt may add to: Σ w over the columns of the task's patterns pa and pb, and
// Σ w y (the label coordinate), column by column.
inline void pattern_label_sums(float* sa, float* sb, float* sq, const float* w, const int* pat, const float* yv,
                               const int pa, const int pb) {
    float a = 0.0f, b = 0.0f, q = 0.0f;
    for (int s = 0; s < ICL_L; ++s) {
        const int p = pat[s];
        const float x = w[s];
        a += p == pa ? x : 0.0f;
        b += p == pb ? x : 0.0f;
        q += x * yv[s];
    }
    *sa = a; *sb = b; *sq = q;
}
