// The pattern-space step's weight gradients and SGD update (definitions: pattern_common.cl).

// Work-item per pair of parameter rows of one matrix, vector over columns: rows i0 = 2k and i1 = 2k + 1 (i1 = i0 for
// the last pair of an odd row count: it computes and stores row i0 twice). Two rows give every accumulation two
// independent chains, so the FMAs are not bound by their latency; each row sums in the same order as alone.
// For rows i of W_Q, W_K, W_V it first forms that row of the back-projected factor, vector over r:
//   W_Q: (K̃ dÃ)[i][r] = Σ_a K̃_a[i] dÃ[a][r];  W_K: (Q̃ dÃᵀ)[i][r] = Σ_b Q̃_b[i] dÃᵀ[b][r];
//   W_V: (W_Oᵀ dC̃)[i][r] = Σ_n W_O[n,i] dC̃[n][r],
// then the gradient row Σ_r factor[r] E[r]. Rows n of W_O: dW_O[n] = Σ_r dC̃[n][r] Ṽ_r. Then
// W_new = W_old − η ∇W, with W_O rows masked, and for W_Q, W_K, W_V rows the next step's projections
// (W_new e_b)_i into projNext, which saves the next step a pattern_project launch.
// A still step, one in which no prompt back-propagated (every margin ≥ 1, so the mean hinge loss that pattern_reduce
// wrote into stats slot statsSlot is exactly 0; after convergence most steps are: 1071 of the quick start's 2000),
// skips the sums: its dÃ and dC̃ are +0, so every gradient is +0, keep · (old − lr · 0) is keep · old bit for bit, and
// the projections of the unchanged rows are the ones in proj (made by the same function), copied.
// sums: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX] | dÃ [RMAX, RMAX].
#define GRAD_ITEMS (3 * PAIRS_D + (ICL_M + 1) / 2)

// Row `row` of the parameters (ICL_D floats at row * ICL_D): its gradient g, and keep · (old − lr g) into newParams
// and into updated (private, for the projection).
inline void grads_store_row(__global const float* oldParams, __global float* newParams, __global float* grads,
                            const int row, const float8* g8, const float keep, const float lr, float* updated) {
#if ICL_D % 8 == 0
    // Whole float8s: every row starts on one, and none reaches into the next row.
    #pragma unroll
    for (int c = 0; c < ICL_DV; ++c) {
        const int k = row * ICL_D + 8 * c;
        const float8 u = keep * (vload8(0, oldParams + k) - lr * g8[c]);
        vstore8(g8[c], 0, grads + k);
        vstore8(u, 0, newParams + k);
        vstore8(u, 0, updated + 8 * c);
    }
#else
    const float* g = (const float*)g8;
    for (int j = 0; j < ICL_D; ++j) {
        const int k = row * ICL_D + j;
        grads[k] = g[j];
        updated[j] = keep * (oldParams[k] - lr * g[j]);
        newParams[k] = updated[j];
    }
#endif
}

__kernel void pattern_grads_sgd(__global const float* oldParams, __global float* newParams, __global float* grads,
                                __global const float* E, __global const float* proj, __global const float* sums,
                                __global const float* mask, const float lr, __global float* projNext,
                                __global const float* stats, const int statsSlot) {
    const int gid = get_global_id(0);
    if (gid >= GRAD_ITEMS) return;
    const int still = !icl_any_backprop(stats[2 * statsSlot]);
    __global const float8* dAt = (__global const float8*)sums;
    __global const float8* dC = dAt + RMAX * RV;
    __global const float8* dA = dAt + (PART_SIZE / 8);
    const int w = min(gid / PAIRS_D, 3);                        // 0, 1, 2: W_Q, W_K, W_V; 3: W_O
    const int rows = w < 3 ? ICL_D : ICL_M;
    const int i0 = 2 * (gid - w * PAIRS_D), i1 = min(i0 + 1, rows - 1);
    // factor[r] of each row, then acc = Σ_r factor[r] V[r] with V the basis E or, for W_O, Ṽᵀ (rows DPAD apart).
    float8 acc0[ICL_DV], acc1[ICL_DV];
    #pragma unroll
    for (int c = 0; c < ICL_DV; ++c) acc0[c] = acc1[c] = (float8)(0.0f);
    float8 back0[RV], back1[RV];
    #pragma unroll
    for (int c = 0; c < RV; ++c) back0[c] = back1[c] = (float8)(0.0f);
    __global const float* V = E;
    if (w < 3 && !still) {
        // x_k for k < count: K̃_a[i] over a (contiguous), Q̃_b[i] over b, or W_O[n, i] over n (ICL_D apart).
        __global const float* X = (__global const float*)(w == 0 ? PROJT8(1, 0) : PROJT8(0, 0));
        int xStride = 1, count = ICL_R;
        __global const float8* D8 = w == 0 ? dA : dAt;
        __global const float* X0 = X + i0 * RMAX, *X1 = X + i1 * RMAX;
        if (w == 2) { X0 = WO_OF(oldParams) + i0; X1 = WO_OF(oldParams) + i1; xStride = ICL_D; count = ICL_M; D8 = dC; }
        for (int k = 0; k < count; ++k) {
            const float x0 = X0[k * xStride], x1 = X1[k * xStride];
            #pragma unroll
            for (int c = 0; c < RC; ++c) {
                const float8 d = D8[k * RV + c];
                back0[c] += x0 * d;
                back1[c] += x1 * d;
            }
        }
    } else if (w == 3) {
        __global const float8* dC0 = dC + i0 * RV, *dC1 = dC + i1 * RV;
        #pragma unroll
        for (int c = 0; c < RC; ++c) { back0[c] = dC0[c]; back1[c] = dC1[c]; }
        V = &PROJ_VT(0, 0);
    }
    const float* f0 = (const float*)back0, *f1 = (const float*)back1;
    for (int r = 0; r < ICL_R && !still; ++r) {
        const float x0 = f0[r], x1 = f1[r];
        #pragma unroll
        for (int c = 0; c < ICL_DV; ++c) {
            const float8 v = vload8(c, V + r * DPAD);
            acc0[c] += x0 * v;
            acc1[c] += x1 * v;
        }
    }
    const int row0 = w * ICL_D + i0, row1 = w * ICL_D + i1;
    const float keep0 = w < 3 ? 1.0f : mask[i0], keep1 = w < 3 ? 1.0f : mask[i1];
    float updated0[DPAD], updated1[DPAD];
    grads_store_row(oldParams, newParams, grads, row0, acc0, keep0, lr, updated0);
    grads_store_row(oldParams, newParams, grads, row1, acc1, keep1, lr, updated1);
    if (w < 3 && still) icl_copy_projection_rows(proj, projNext, w, i0, i1);
    else if (w < 3) icl_project_rows(updated0, updated1, E, projNext, w, i0, i1);
}
