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

// Work-item per row b of Ãᵀ (Ãᵀ[b][a] = K̃_a · Q̃_b = Σ_i Q̃_b[i] K̃[i][a], vector over a), then per padded
// neuron n: row n of C̃ (C̃[n][b] = Σ_i W_O[n,i] Ṽ[i][b], vector over b), written in both layouts (C̃ and C̃ᵀ),
// and a[n]. The projections are zero past R, so every unused entry is zero.
__kernel void pattern_tables(__global const float* params, __global const float* a, __global const float* proj,
                             __global float* tables, const int R) {
    const int gid = get_global_id(0);
    float8 acc[RV];
    #pragma unroll
    for (int c = 0; c < RV; ++c) acc[c] = (float8)(0.0f);
    if (gid < RMAX) {
        const int b = gid;
        if (b < R)
            for (int i = 0; i < ICL_D; ++i) {
                const float x = PROJ(0, b, i);
                #pragma unroll
                for (int c = 0; c < RV; ++c) acc[c] += x * PROJT8(1, i)[c];
            }
        __global float8* row = (__global float8*)(tables + TAB_A) + b * RV;
        #pragma unroll
        for (int c = 0; c < RV; ++c) row[c] = acc[c];
    } else if (gid < RMAX + MPAD) {
        const int n = gid - RMAX;
        if (n < ICL_M) {
            __global const float* WO = WO_OF(params) + n * ICL_D;
            for (int i = 0; i < ICL_D; ++i) {
                const float x = WO[i];
                #pragma unroll
                for (int c = 0; c < RV; ++c) acc[c] += x * PROJT8(2, i)[c];
            }
        }
        __global float8* row = (__global float8*)(tables + TAB_C2) + n * RV;
        #pragma unroll
        for (int c = 0; c < RV; ++c) row[c] = acc[c];
        const float* v = (const float*)acc;
        for (int b = 0; b < RMAX; ++b) tables[TAB_C + b * MPAD + n] = v[b];
        tables[TAB_a + n] = n < ICL_M ? a[n] : 0.0f;
    }
}
