// The fused training step (DESIGN.md "Kernels"): four launches per step instead of the unfused pipeline's nine
// (sample, attention, MLP, hinge, stats, MLP backward, attention backward, the weight gradients, SGD).
//   1. fused_precompute   A = W_Kᵀ W_Q and C = W_O W_V, stored as Aᵀ [D, DV], C [M, DV] and Cᵀ [D, MV] float8 rows
//                         (zero-padded), so every matrix-vector product is a sum of rows times broadcast
//                         scalars: no horizontal sums on the hot path
//   2. the tile kernel    sample, forward, hinge, backward over tiles of prompts, accumulating the tiles' partial
//                         dA = Σ dv p_qᵀ and dC = Σ dg cᵀ: fused_tile (fused_tile.cl, CPU variant) or tile_wg
//                         (tile_wg.cl with wg_columns_dense.cl, GPU variant); the host picks the file
//   3. fused_reduce       sums the tiles' partials (fixed order: deterministic) and the loss/error terms
//   4. fused_grads_sgd    dW_Q = W_K dA, dW_K = W_Q dAᵀ, dW_V = W_Oᵀ dC, dW_O = dC W_Vᵀ, and the masked SGD
//                         update from the old parameter buffer into the new one (double-buffered)
// The algebra: s_i = p_iᵀ W_Kᵀ W_Q p_q = p_i · (A p_q) costs O(d² + l·d) per prompt, and
// W_O W_V c = C c, so a prompt needs one d×d and one m×d product forward and the same backward.
// Requires ICL_TILE, ICL_DV = ceil(D / 8) and ICL_MV = ceil(M / 8).
#define DV ICL_DV
#define MV ICL_MV
#define DPAD (8 * ICL_DV)
#define MPAD (8 * ICL_MV)
// Offsets (in float8s) of the derived matrices in one buffer: Aᵀ, C, Cᵀ.
#define AT_OFF 0
#define C_OFF (ICL_D * DV)
#define CT_OFF (ICL_D * DV + ICL_M * DV)
#define A_OFF (ICL_D * DV + ICL_M * DV + ICL_D * MV)
// Partial gradients per tile: dA [D, DV] then dC [M, DV].
#define PART8 ((ICL_D + ICL_M) * DV)

// Work-item per float8 chunk of Aᵀ [D, DV] (Aᵀ[j][i] = A[i][j] = Σ_k W_K[k,i] W_Q[k,j]) and of C [M, DV]
// (C[n][j] = Σ_k W_O[n,k] W_V[k,j]), then one per chunk of a [MV]. Each C chunk also writes its eight values into
// Cᵀ [D, MV], so C and Cᵀ hold the same numbers; the last neuron's chunks zero Cᵀ's padding lanes. Padding is zero.
#define PRECOMPUTE_ITEMS ((ICL_D + ICL_M) * DV + MV)
__kernel void fused_precompute(__global const float* params, __global const float* a, __global float8* derived) {
    const int gid = get_global_id(0);
    if (gid >= PRECOMPUTE_ITEMS) return;
    __global const float* WQ = WQ_OF(params);
    __global const float* WK = WK_OF(params);
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    float8 acc = (float8)(0.0f);
    if (gid < ICL_D * DV) {
        const int j = gid / DV, c = gid % DV;
        for (int k = 0; k < ICL_D; ++k) acc += icl_row8(WK, k, c) * WQ[k * ICL_D + j];
        derived[AT_OFF + gid] = acc;
    } else if (gid < (ICL_D + ICL_M) * DV) {
        const int e = gid - ICL_D * DV, n = e / DV, c = e % DV;
        for (int k = 0; k < ICL_D; ++k) acc += WO[n * ICL_D + k] * icl_row8(WV, k, c);
        derived[C_OFF + e] = acc;
        __global float* Cts = (__global float*)(derived + CT_OFF);
        float v[8];
        vstore8(acc, 0, v);
        for (int l = 0; l < 8 && 8 * c + l < ICL_D; ++l) {
            Cts[(8 * c + l) * MPAD + n] = v[l];
            if (n == ICL_M - 1) for (int p = ICL_M; p < MPAD; ++p) Cts[(8 * c + l) * MPAD + p] = 0.0f;
        }
    } else {
        const int k = gid - (ICL_D + ICL_M) * DV;
        float v[8];
        for (int l = 0; l < 8; ++l) v[l] = 8 * k + l < ICL_M ? a[8 * k + l] : 0.0f;
        derived[A_OFF + k] = vload8(0, v);
    }
}

// Work-item per float8 of dA | dC: the sum over tiles in tile order. Work-item 0 also sums the statistics:
// stats[0] = mean loss, stats[1] = errors. Launch `entries` = (D + M)·DV items when training, 1 for inference.
__kernel void fused_reduce(__global const float8* partials, __global const float* partStats, __global float8* dAC,
                           __global float* stats, const int tiles, const int batch, const int entries) {
    const int e = get_global_id(0);
    if (e >= entries) return;
    if (entries > 1) {
        float8 acc = (float8)(0.0f);
        for (int t = 0; t < tiles; ++t) acc += partials[(size_t)t * PART8 + e];
        dAC[e] = acc;
    }
    if (e == 0) {
        float loss = 0.0f, err = 0.0f;
        for (int t = 0; t < tiles; ++t) { loss += partStats[2 * t]; err += partStats[2 * t + 1]; }
        stats[0] = loss / (float)batch;
        stats[1] = err;
    }
}

// Work-item per float8 chunk of a parameter row: its gradient from dA / dC, then W_new = W_old − η ∇W (W_O rows
// masked). dAC rows are DV float8s: dA [D, DV] then dC [M, DV]. A still step (no prompt back-propagated: the mean
// hinge loss fused_reduce wrote into stats[0] is exactly 0, as in most steps after convergence) skips the sums: its
// dA and dC are +0, so every gradient is +0 and the update is the old weights bit for bit.
//   dW_Q[r,j] = Σ_i W_K[r,i] dA[i,j]     dW_K[r,i] = Σ_j W_Q[r,j] dA[i,j]
//   dW_V[r,j] = Σ_n W_O[n,r] dC[n,j]     dW_O[n,r] = Σ_j dC[n,j] W_V[r,j]
#define GRAD_ITEMS ((3 * ICL_D + ICL_M) * DV)
__kernel void fused_grads_sgd(__global const float* oldParams, __global float* newParams, __global float* grads,
                              __global const float8* dAC, __global const float* mask, const float lr,
                              __global const float* stats) {
    const int gid = get_global_id(0);
    if (gid >= GRAD_ITEMS) return;
    const int still = !icl_any_backprop(stats[0]);
    __global const float* WQ = WQ_OF(oldParams);
    __global const float* WK = WK_OF(oldParams);
    __global const float* WV = WV_OF(oldParams);
    __global const float* WO = WO_OF(oldParams);
    __global const float8* dA = dAC;
    __global const float8* dC = dAC + ICL_D * DV;
    const int row = gid / DV, c = gid % DV;   // row of the stacked [3D + M, D] parameters, and its chunk
    float8 grad = (float8)(0.0f);
    if (!still) {
        if (row < ICL_D) {
            for (int i = 0; i < ICL_D; ++i) grad += WK[row * ICL_D + i] * dA[i * DV + c];
        } else if (row < 2 * ICL_D) {
            const int r = row - ICL_D;
            float sums[8];
            for (int l = 0; l < 8; ++l) {   // i = 8c + l
                float8 acc = (float8)(0.0f);
                if (8 * c + l < ICL_D) for (int k = 0; k < DV; ++k) acc += icl_row8(WQ, r, k) * dA[(8 * c + l) * DV + k];
                sums[l] = icl_hsum8(acc);
            }
            grad = vload8(0, sums);
        } else if (row < 3 * ICL_D) {
            const int r = row - 2 * ICL_D;
            for (int n = 0; n < ICL_M; ++n) grad += WO[n * ICL_D + r] * dC[n * DV + c];
        } else {
            const int n = row - 3 * ICL_D;
            float sums[8];
            for (int l = 0; l < 8; ++l) {   // r = 8c + l
                float8 acc = (float8)(0.0f);
                if (8 * c + l < ICL_D) for (int k = 0; k < DV; ++k) acc += dC[n * DV + k] * icl_row8(WV, 8 * c + l, k);
                sums[l] = icl_hsum8(acc);
            }
            grad = vload8(0, sums);
        }
    }
    icl_store_row8(grads, row, c, grad);
    const float8 updated = icl_row8(oldParams, row, c) - lr * grad;
    icl_store_row8(newParams, row, c, row < 3 * ICL_D ? updated : mask[row - 3 * ICL_D] * updated);
}

// Check hook: one work-item per prompt writes the fused sampler's prompt [COLS, D] and label, so the
// cross-checks can compare it bit for bit with the Swift sampler.
__kernel void fused_sample_dump(__global const float8* relP, __global const float8* irrP, __global const float8* qP,
                                __global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                                const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                                const uint stream, const uint firstPrompt, const int batch,
                                __global float* prompts, __global float* labels) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    float8 P[ICL_NP][ICL_COLS * DV];   // prompt b, then the ones after it that the sampler draws alongside
    float z[ICL_NP];
    icl_sample_prompts8(P, z, firstPrompt + (uint)b, relP, irrP, qP, tasks, nTasks, nRelevant, nIrrelevant, alpha, K,
                        seedLo, seedHi, step, stream);
    labels[b] = z[0];
    const float* Ps = (const float*)P[0];
    for (int j = 0; j < ICL_COLS; ++j)
        for (int t = 0; t < ICL_D; ++t) prompts[((size_t)b * ICL_COLS + j) * ICL_D + t] = Ps[j * DPAD + t];
}
