// The pattern-space step's weight gradients and SGD update (definitions: pattern_common.cl).

// Work-item per parameter row, vector over columns. For rows w·D + i of W_Q, W_K, W_V it first forms that
// row of the back-projected factor, vector over r:
//   w = 0: (K̃ dÃ)[i][r] = Σ_a K̃_a[i] dÃ[a][r];  w = 1: (Q̃ dÃᵀ)[i][r] = Σ_b Q̃_b[i] dÃᵀ[b][r];
//   w = 2: (W_Oᵀ dC̃)[i][r] = Σ_n W_O[n,i] dC̃[n][r],
// then the gradient row Σ_r factor[r] E[r]. Rows 3D + n of W_O: dW_O[n] = Σ_r dC̃[n][r] Ṽ_r. Then
// W_new = W_old − η ∇W, with W_O rows masked, and for W_Q, W_K, W_V rows the next step's projections
// (W_new e_b)_i into projNext, which saves the next step a pattern_project launch.
// sums: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX] | dÃ [RMAX, RMAX].
__kernel void pattern_grads_sgd(__global const float* oldParams, __global float* newParams, __global float* grads,
                                __global const float* E, __global const float* proj, __global const float* sums,
                                __global const float* mask, const float lr, __global float* projNext) {
    const int row = get_global_id(0);
    if (row >= 3 * ICL_D + ICL_M) return;
    __global const float8* dAt = (__global const float8*)sums;
    __global const float8* dC = dAt + RMAX * RV;
    __global const float8* dA = dAt + (PART_SIZE / 8);
    float8 acc[ICL_DV];
    #pragma unroll
    for (int c = 0; c < ICL_DV; ++c) acc[c] = (float8)(0.0f);
    if (row < 3 * ICL_D) {
        const int w = row / ICL_D, i = row % ICL_D;
        float8 back8[RV];
        #pragma unroll
        for (int c = 0; c < RV; ++c) back8[c] = (float8)(0.0f);
        if (w == 0) {
            __global const float* Ki = (__global const float*)PROJT8(1, i);    // K̃_a[i] over a, contiguous
            for (int a = 0; a < ICL_R; ++a) {
                const float x = Ki[a];
                #pragma unroll
                for (int c = 0; c < RC; ++c) back8[c] += x * dA[a * RV + c];
            }
        } else if (w == 1) {
            __global const float* Qi = (__global const float*)PROJT8(0, i);    // Q̃_b[i] over b, contiguous
            for (int b = 0; b < ICL_R; ++b) {
                const float x = Qi[b];
                #pragma unroll
                for (int c = 0; c < RC; ++c) back8[c] += x * dAt[b * RV + c];
            }
        } else {
            __global const float* WO = WO_OF(oldParams);
            for (int n = 0; n < ICL_M; ++n) {
                const float x = WO[n * ICL_D + i];
                #pragma unroll
                for (int c = 0; c < RC; ++c) back8[c] += x * dC[n * RV + c];
            }
        }
        const float* back = (const float*)back8;
        for (int r = 0; r < ICL_R; ++r) {
            const float x = back[r];
            #pragma unroll
            for (int c = 0; c < ICL_DV; ++c) acc[c] += x * vload8(c, E + r * DPAD);
        }
    } else {
        const int n = row - 3 * ICL_D;
        __global const float* dCn = sums + RMAX * RMAX + n * RMAX;
        for (int r = 0; r < ICL_R; ++r) {
            const float x = dCn[r];
            #pragma unroll
            for (int c = 0; c < ICL_DV; ++c) acc[c] += x * vload8(c, &PROJ(2, r, 0));
        }
    }
    const float keep = row < 3 * ICL_D ? 1.0f : mask[row - 3 * ICL_D];
    float updated[DPAD];
#if ICL_D % 8 == 0
    // Whole float8s: every row starts on one, and none reaches into the next row.
    #pragma unroll
    for (int c = 0; c < ICL_DV; ++c) {
        const int k = row * ICL_D + 8 * c;
        const float8 u = keep * (vload8(0, oldParams + k) - lr * acc[c]);
        vstore8(acc[c], 0, grads + k);
        vstore8(u, 0, newParams + k);
        vstore8(u, 0, updated + 8 * c);
    }
#else
    const float* g = (const float*)acc;
    for (int j = 0; j < ICL_D; ++j) {
        const int k = row * ICL_D + j;
        grads[k] = g[j];
        updated[j] = keep * (oldParams[k] - lr * g[j]);
        newParams[k] = updated[j];
    }
#endif
    if (row < 3 * ICL_D) {
        icl_project_row_private(updated, E, projNext, row / ICL_D, row % ICL_D);
    }
}
