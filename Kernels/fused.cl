// The fused training step (DESIGN.md "Kernels"): four launches per step instead of the unfused pipeline's nine
// (sample, attention, MLP, hinge, stats, MLP backward, attention backward, the weight gradients, SGD).
//   1. fused_precompute   A = W_Kᵀ W_Q and C = W_O W_V, stored as Aᵀ [D, DV], C [M, DV] and Cᵀ [D, MV] float8 rows
//                         (zero-padded), so every matrix-vector product is a sum of rows times broadcast
//                         scalars: no horizontal sums on the hot path
//   2. fused_tile         one work-item (work-group of 1) per tile of ICL_TILE prompts: sample each prompt in
//                         registers (prompts never touch memory), forward, hinge, backward, and accumulate the
//                         tile's partial dA = Σ dv p_qᵀ and dC = Σ dg cᵀ in local memory
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
#define DERIVED8 (A_OFF + MV)
// Partial gradients per tile: dA [D, DV] then dC [M, DV].
#define PART8 ((ICL_D + ICL_M) * DV)

// Work-item per float of the derived buffer: Aᵀ [D, DPAD] (Aᵀ[j][i] = A[i][j] = Σ_k W_K[k,i] W_Q[k,j]),
// C [M, DPAD] (C[n][j] = Σ_k W_O[n,k] W_V[k,j]), Cᵀ [D, MPAD], then a [MPAD]; padding lanes are zero.
__kernel void fused_precompute(__global const float* params, __global const float* a, __global float* derived) {
    const int gid = get_global_id(0);
    if (gid >= DERIVED8 * 8) return;
    __global const float* WQ = WQ_OF(params);
    __global const float* WK = WK_OF(params);
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    float acc = 0.0f;
    if (gid < C_OFF * 8) {
        const int j = gid / DPAD, i = gid % DPAD;
        if (i < ICL_D) for (int k = 0; k < ICL_D; ++k) acc += WK[k * ICL_D + i] * WQ[k * ICL_D + j];
    } else if (gid < CT_OFF * 8) {
        const int n = (gid - C_OFF * 8) / DPAD, j = (gid - C_OFF * 8) % DPAD;
        if (j < ICL_D) for (int k = 0; k < ICL_D; ++k) acc += WO[n * ICL_D + k] * WV[k * ICL_D + j];
    } else if (gid < A_OFF * 8) {
        const int j = (gid - CT_OFF * 8) / MPAD, n = (gid - CT_OFF * 8) % MPAD;
        if (n < ICL_M) for (int k = 0; k < ICL_D; ++k) acc += WO[n * ICL_D + k] * WV[k * ICL_D + j];
    } else {
        const int n = gid - A_OFF * 8;
        acc = n < ICL_M ? a[n] : 0.0f;
    }
    derived[gid] = acc;
}

// derived: Aᵀ | C | Cᵀ as above. partials: per tile, dA [D, DV] then dC [M, DV]. partStats: [tiles, 2].
// train = 0: forward and statistics only (inference).
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void fused_tile(__global const float8* relP, __global const float8* irrP, __global const float8* qP,
                __global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                const uint stream, const uint firstPrompt, const int batch,
                __global const float8* derived, __global const float* a, __global float8* partials,
                __global float* partStats, const int train) {
    const int tile = get_group_id(0);
    const int b0 = tile * ICL_TILE, b1 = min(b0 + ICL_TILE, batch);
    __global const float8* At = derived + AT_OFF;
    __global const float8* C = derived + C_OFF;
    __global const float8* Ct = derived + CT_OFF;
    __global const float* aPad = (__global const float*)(derived + A_OFF);
    __local float8 dA[ICL_D * DV], dC[ICL_M * DV];
    if (train) {
        for (int k = 0; k < ICL_D * DV; ++k) dA[k] = (float8)(0.0f);
        for (int k = 0; k < ICL_M * DV; ++k) dC[k] = (float8)(0.0f);
    }
    float lossSum = 0.0f, errSum = 0.0f;
    float8 P[ICL_COLS * DV];
    for (int b = b0; b < b1; ++b) {
        // Sample the prompt into registers.
        const float z = icl_sample_prompt8(P, firstPrompt + (uint)b, relP, irrP, qP, tasks, nTasks, nRelevant,
                                           nIrrelevant, alpha, K, seedLo, seedHi, step, stream);
        const float8* pq = P + (ICL_COLS - 1) * DV;
        const float* pqs = (const float*)pq;
        // v = A p_q = Σ_j Aᵀ[j] p_q,j
        float8 v[DV];
        for (int k = 0; k < DV; ++k) v[k] = (float8)(0.0f);
        for (int j = 0; j < ICL_D; ++j) {
            const float x = pqs[j];
            for (int k = 0; k < DV; ++k) v[k] += At[j * DV + k] * x;
        }
        // attn = softmax(P v), c = Σ attn_s p_s
        float at[ICL_L];
        float top = -INFINITY;
        for (int s = 0; s < ICL_L; ++s) {
            float8 acc = (float8)(0.0f);
            for (int k = 0; k < DV; ++k) acc += P[s * DV + k] * v[k];
            at[s] = icl_hsum8(acc);
            top = fmax(top, at[s]);
        }
        float total = 0.0f;
        for (int s = 0; s < ICL_L; ++s) { at[s] = exp(at[s] - top); total += at[s]; }
        const float inv = 1.0f / total;
        float8 c[DV];
        for (int k = 0; k < DV; ++k) c[k] = (float8)(0.0f);
        for (int s = 0; s < ICL_L; ++s) {
            at[s] *= inv;
            for (int k = 0; k < DV; ++k) c[k] += at[s] * P[s * DV + k];
        }
        // g = C c = Σ_j Cᵀ[j] c_j;  F = Σ a_n ReLU(g_n)
        float8 g8[MV];
        for (int k = 0; k < MV; ++k) g8[k] = (float8)(0.0f);
        const float* cs = (const float*)c;
        for (int j = 0; j < ICL_D; ++j) {
            const float x = cs[j];
            for (int k = 0; k < MV; ++k) g8[k] += Ct[j * MV + k] * x;
        }
        float8 f8 = (float8)(0.0f);
        for (int k = 0; k < MV; ++k) f8 += vload8(k, aPad) * fmax(g8[k], (float8)(0.0f));
        const float F = icl_hsum8(f8);
        const float* g = (const float*)g8;
        const float margin = z * F;
        lossSum += icl_hinge_loss(margin);
        errSum += icl_hinge_error(margin);
        if (!train || !(margin < 1.0f)) continue;   // zero hinge gradient: nothing to back-propagate
        // dg_n = dF a_n [g_n > 0];  dc = Cᵀ dg;  dC += dg cᵀ
        const float dF = -z / (float)batch;
        float8 dc[DV];
        for (int k = 0; k < DV; ++k) dc[k] = (float8)(0.0f);
        for (int n = 0; n < ICL_M; ++n) {
            if (!(g[n] > 0.0f)) continue;
            const float dg = dF * a[n];
            for (int k = 0; k < DV; ++k) {
                dc[k] += dg * C[n * DV + k];
                dC[n * DV + k] += dg * c[k];
            }
        }
        // dattn_s = p_s · dc;  ds_s = attn_s (dattn_s − Σ attn dattn);  dv = Σ ds_s p_s
        float da[ICL_L];
        float mean = 0.0f;
        for (int s = 0; s < ICL_L; ++s) {
            float8 acc = (float8)(0.0f);
            for (int k = 0; k < DV; ++k) acc += P[s * DV + k] * dc[k];
            da[s] = icl_hsum8(acc);
            mean += at[s] * da[s];
        }
        float8 dv[DV];
        for (int k = 0; k < DV; ++k) dv[k] = (float8)(0.0f);
        for (int s = 0; s < ICL_L; ++s) {
            const float ds = at[s] * (da[s] - mean);
            for (int k = 0; k < DV; ++k) dv[k] += ds * P[s * DV + k];
        }
        // dA += dv p_qᵀ
        float dvs[DPAD];
        for (int k = 0; k < DV; ++k) vstore8(dv[k], k, dvs);
        for (int i = 0; i < ICL_D; ++i)
            for (int k = 0; k < DV; ++k) dA[i * DV + k] += dvs[i] * pq[k];
    }
    if (train) {
        __global float8* out = partials + (size_t)tile * PART8;
        for (int k = 0; k < ICL_D * DV; ++k) out[k] = dA[k];
        for (int k = 0; k < ICL_M * DV; ++k) out[ICL_D * DV + k] = dC[k];
    }
    partStats[2 * tile] = lossSum;
    partStats[2 * tile + 1] = errSum;
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

// Work-item per parameter: its gradient from dA / dC, then W_new = W_old − η ∇W (W_O rows masked).
// dAC rows are DPAD floats wide: dA [D, DPAD] then dC [M, DPAD].
__kernel void fused_grads_sgd(__global const float* oldParams, __global float* newParams, __global float* grads,
                              __global const float* dAC, __global const float* mask, const float lr) {
    const int k = get_global_id(0);
    if (k >= ICL_NPARAMS) return;
    __global const float* WQ = WQ_OF(oldParams);
    __global const float* WK = WK_OF(oldParams);
    __global const float* WV = WV_OF(oldParams);
    __global const float* WO = WO_OF(oldParams);
    __global const float* dA = dAC;
    __global const float* dC = dAC + ICL_D * DPAD;
    float grad = 0.0f;
    if (k < ICL_DD) {                       // dW_Q[r,j] = Σ_i W_K[r,i] dA[i,j]
        const int r = k / ICL_D, j = k % ICL_D;
        for (int i = 0; i < ICL_D; ++i) grad += WK[r * ICL_D + i] * dA[i * DPAD + j];
    } else if (k < 2 * ICL_DD) {            // dW_K[r,i] = Σ_j W_Q[r,j] dA[i,j]
        const int r = (k - ICL_DD) / ICL_D, i = (k - ICL_DD) % ICL_D;
        for (int j = 0; j < ICL_D; ++j) grad += WQ[r * ICL_D + j] * dA[i * DPAD + j];
    } else if (k < 3 * ICL_DD) {            // dW_V[r,j] = Σ_n W_O[n,r] dC[n,j]
        const int r = (k - 2 * ICL_DD) / ICL_D, j = (k - 2 * ICL_DD) % ICL_D;
        for (int n = 0; n < ICL_M; ++n) grad += WO[n * ICL_D + r] * dC[n * DPAD + j];
    } else {                                // dW_O[n,r] = Σ_j dC[n,j] W_V[r,j]
        const int n = (k - 3 * ICL_DD) / ICL_D, r = (k - 3 * ICL_DD) % ICL_D;
        for (int j = 0; j < ICL_D; ++j) grad += dC[n * DPAD + j] * WV[r * ICL_D + j];
    }
    grads[k] = grad;
    const float updated = oldParams[k] - lr * grad;
    newParams[k] = k < 3 * ICL_DD ? updated : mask[(k - 3 * ICL_DD) / ICL_D] * updated;
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
    float8 P[ICL_COLS * DV];
    labels[b] = icl_sample_prompt8(P, firstPrompt + (uint)b, relP, irrP, qP, tasks, nTasks, nRelevant, nIrrelevant,
                                   alpha, K, seedLo, seedHi, step, stream);
    const float* Ps = (const float*)P;
    for (int j = 0; j < ICL_COLS; ++j)
        for (int t = 0; t < ICL_D; ++t) prompts[((size_t)b * ICL_COLS + j) * ICL_D + t] = Ps[j * DPAD + t];
}
