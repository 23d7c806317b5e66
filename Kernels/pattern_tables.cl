// The pattern-space tables of the current weights (definitions: pattern_common.cl).

// Work-item per pair of rows (w, i0), (w, i1 = i0 + 1) of W = W_Q, W_K, W_V: their projections (W e_b)_i for every
// b (i1 = i0 for the last pair of an odd D). E: the basis buffer.
__kernel void pattern_project(__global const float* params, __global const float* E, __global float* proj) {
    const int gid = get_global_id(0);
    if (gid >= 3 * PAIRS_D) return;
    const int w = gid / PAIRS_D, i0 = 2 * (gid % PAIRS_D), i1 = min(i0 + 1, ICL_D - 1);
    __global const float* W = params + w * ICL_DD;
    icl_project_rows_global(W + i0 * ICL_D, W + i1 * ICL_D, E, proj, w, i0, i1);
}

// Work-item per pair of rows b0 = 2k, b1 = 2k + 1 of Ãᵀ (Ãᵀ[b][a] = K̃_a · Q̃_b = Σ_i Q̃_b[i] K̃[i][a], vector over a),
// then per pair of padded neurons n: rows n of C̃ (C̃[n][b] = Σ_i W_O[n,i] Ṽ[i][b], vector over b), written in both
// layouts (C̃ and C̃ᵀ), and a[n]. Two rows give the FMAs two independent chains; each row sums in i order, as one
// row per work-item did. The projections are zero past R and rows past R or M get x = 0, so every unused entry is 0.
__kernel void pattern_tables(__global const float* params, __global const float* a, __global const float* proj,
                             __global float* tables, const int R) {
    const int gid = get_global_id(0);
    float8 acc0[RV], acc1[RV];
    #pragma unroll
    for (int c = 0; c < RV; ++c) acc0[c] = acc1[c] = (float8)(0.0f);
    if (gid < RMAX / 2) {
        const int b0 = 2 * gid, b1 = b0 + 1;
        if (b0 < R)
            for (int i = 0; i < ICL_D; ++i) {
                __global const float* q = (__global const float*)PROJT8(0, i);     // Q̃[i][·]
                const float x0 = q[b0], x1 = b1 < R ? q[b1] : 0.0f;
                #pragma unroll
                for (int c = 0; c < RV; ++c) {
                    const float8 k = PROJT8(1, i)[c];
                    acc0[c] += x0 * k;
                    acc1[c] += x1 * k;
                }
            }
        __global float8* row = (__global float8*)(tables + TAB_A) + b0 * RV;
        #pragma unroll
        for (int c = 0; c < RV; ++c) { row[c] = acc0[c]; row[RV + c] = acc1[c]; }
    } else if (gid < TABLE_ROWS / 2) {
        const int n0 = 2 * (gid - RMAX / 2), n1 = n0 + 1;
        if (n0 < ICL_M) {
            __global const float* WO = WO_OF(params);
            for (int i = 0; i < ICL_D; ++i) {
                const float x0 = WO[n0 * ICL_D + i], x1 = n1 < ICL_M ? WO[n1 * ICL_D + i] : 0.0f;
                #pragma unroll
                for (int c = 0; c < RV; ++c) {
                    const float8 v = PROJT8(2, i)[c];
                    acc0[c] += x0 * v;
                    acc1[c] += x1 * v;
                }
            }
        }
        __global float8* row = (__global float8*)(tables + TAB_C2) + n0 * RV;
        #pragma unroll
        for (int c = 0; c < RV; ++c) { row[c] = acc0[c]; row[RV + c] = acc1[c]; }
        const float* v0 = (const float*)acc0, *v1 = (const float*)acc1;
        for (int b = 0; b < RMAX; ++b) {
            tables[TAB_C + b * MPAD + n0] = v0[b];
            tables[TAB_C + b * MPAD + n1] = v1[b];
        }
        tables[TAB_a + n0] = n0 < ICL_M ? a[n0] : 0.0f;
        tables[TAB_a + n1] = n1 < ICL_M ? a[n1] : 0.0f;
    }
}
