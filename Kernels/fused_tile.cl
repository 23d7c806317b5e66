// The CPU variant of the dense fused tile kernel (fused.cl has the other launches of the step and the layout):
// one work-item (a work-group of 1) per tile of ICL_TILE prompts samples each prompt in registers (prompts never
// touch memory), runs forward, hinge and backward, and accumulates the tile's partial dA = Σ dv p_qᵀ and
// dC = Σ dg cᵀ in local memory: (D + M)·DV·32 bytes, which the host checks the device has.
// derived: Aᵀ | C | Cᵀ as above. partials: per tile, dA [D, DV] then dC [M, DV]. partStats: [tiles, 2].
// train = 0: forward and statistics only (inference).
//
// The shape of the work, as in pattern_tile.cl: ICL_NP prompts are in flight at once, so every row of Aᵀ, Cᵀ
// and C is loaded once for all of them; ReLU's mask is a select, not a branch (a branch per neuron mispredicts);
// the softmax runs on float8 vectors; and the outer products dA += dv p_qᵀ and dC += dg cᵀ are buffered for
// FUSED_PEND prompts and then added row by row with the sums in registers (a read-modify-write of the tile's
// sums per prompt would be bound by stores). The buffered terms are added in prompt order.
#define FUSED_PEND 8
#define LV ((ICL_L + 7) / 8)

// out[s] = p_s · w for the ICL_L attended columns of a prompt (LV float8s, zero past ICL_L), eight at a time.
inline __attribute__((always_inline)) void fused_column_dots(float8* out, const float8* P, const float8* w) {
    #pragma unroll
    for (int s0 = 0; s0 < 8 * LV; s0 += 8) {
        float sums[8];
        #pragma unroll
        for (int i = 0; i < 8; ++i) {
            float8 acc = (float8)(0.0f);
            if (s0 + i < ICL_L)
                #pragma unroll
                for (int k = 0; k < DV; ++k) acc += P[(s0 + i) * DV + k] * w[k];
            sums[i] = icl_hsum8(acc);
        }
        out[s0 / 8] = vload8(0, sums);
    }
}

// dA[i] += Σ_t dv_t[i] p_q,t and dC[n] += Σ_t dg_t[n] c_t over the `pend` buffered prompts, two rows at a time with
// the sums in registers, the terms in prompt order (the same sums as adding prompt by prompt).
inline void fused_flush_rows(__local float8* acc, const int rows, const float* coef, const int coefStride,
                             const float8* vecs, const int pend) {
    for (int i = 0; i < rows; i += 2) {
        const int i1 = min(i + 1, rows - 1);
        float8 s0[DV], s1[DV];
        #pragma unroll
        for (int k = 0; k < DV; ++k) { s0[k] = acc[i * DV + k]; s1[k] = acc[i1 * DV + k]; }
        for (int t = 0; t < pend; ++t) {
            const float x0 = coef[t * coefStride + i], x1 = coef[t * coefStride + i1];
            #pragma unroll
            for (int k = 0; k < DV; ++k) { s0[k] += x0 * vecs[t * DV + k]; s1[k] += x1 * vecs[t * DV + k]; }
        }
        #pragma unroll
        for (int k = 0; k < DV; ++k) acc[i1 * DV + k] = s1[k];
        #pragma unroll
        for (int k = 0; k < DV; ++k) acc[i * DV + k] = s0[k];
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void fused_tile(__global const float8* relP, __global const float8* irrP, __global const float8* qP,
                __global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                const uint stream, const uint firstPrompt, const int batch,
                __global const float8* derived, __global float8* partials,
                __global float* partStats, const int train) {
    const int tile = get_group_id(0);
    const int b0 = tile * ICL_TILE, b1 = min(b0 + ICL_TILE, batch);
    __global const float8* At = derived + AT_OFF;
    __global const float8* C = derived + C_OFF;
    __global const float8* Ct = derived + CT_OFF;
    __global const float8* a8 = derived + A_OFF;
    __local float8 dA[ICL_D * DV], dC[ICL_M * DV];
    if (train) {
        for (int k = 0; k < ICL_D * DV; ++k) dA[k] = (float8)(0.0f);
        for (int k = 0; k < ICL_M * DV; ++k) dC[k] = (float8)(0.0f);
    }
    float lossSum = 0.0f, errSum = 0.0f;
    float8 P[ICL_NP][ICL_COLS * DV];
    // Buffered outer-product terms: dv and p_q (for dA), dg and c (for dC) of the prompts not yet added.
    float8 DVB[FUSED_PEND * DV], PQB[FUSED_PEND * DV], DGB[FUSED_PEND * MV], CB[FUSED_PEND * DV];
    int pend = 0;
    for (int b = b0; b < b1; b += ICL_NP) {
        // Sample the prompts into registers; prompts past b1 are computed but count for nothing.
        float z[ICL_NP];
        icl_sample_prompts8(P, z, firstPrompt + (uint)b, relP, irrP, qP, tasks, nTasks, nRelevant, nIrrelevant, alpha,
                            K, seedLo, seedHi, step, stream);
        // v = A p_q = Σ_j Aᵀ[j] p_q,j
        float8 v[ICL_NP][DV];
        icl_tile_rows_times_d(v, At, ICL_D, (const float*)(P[0] + (ICL_COLS - 1) * DV), 8 * ICL_COLS * DV);
        // Scores s_i = p_i · v, eight at a time; softmax on float8 vectors.
        float8 at8[ICL_NP][LV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            fused_column_dots(at8[u], P[u], v[u]);
            icl_tile_softmax(at8[u]);   // zero past ICL_L
        }
        // c = Σ_s attn_s p_s
        float8 c[ICL_NP][DV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u)
            #pragma unroll
            for (int k = 0; k < DV; ++k) c[u][k] = (float8)(0.0f);
        for (int s = 0; s < ICL_L; ++s) {
            #pragma unroll
            for (int u = 0; u < ICL_NP; ++u) {
                const float w = ((const float*)at8[u])[s];
                #pragma unroll
                for (int k = 0; k < DV; ++k) c[u][k] += w * P[u][s * DV + k];
            }
        }
        // g = C c = Σ_j Cᵀ[j] c_j, each row of Cᵀ loaded once for all prompts;  F = Σ a_n ReLU(g_n) and the hinge
        float8 g8[ICL_NP][MV];
        icl_tile_rows_times(g8, Ct, ICL_D, (const float*)c, 8 * DV);
        int back[ICL_NP];
        const int anyBack = icl_tile_hinge(g8, a8, z, b, b1, train, &lossSum, &errSum, back);
        if (!anyBack) continue;
        // dg_n = dF a_n [g_n > 0] (zero for a prompt that does not back-propagate);  dc = Cᵀ dg
        float8 dg8[ICL_NP][MV];
        icl_tile_relu_grads(dg8, g8, a8, z, back, batch);
        float8 dc[ICL_NP][DV];
        icl_tile_rows_times_d(dc, C, ICL_M, (const float*)dg8, 8 * MV);
        // dattn_s = p_s · dc;  ds_s = attn_s (dattn_s − Σ attn dattn);  dv = Σ ds_s p_s
        float8 dv[ICL_NP][DV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float8 da8[LV];
            fused_column_dots(da8, P[u], dc[u]);
            float8 mean8 = (float8)(0.0f);
            #pragma unroll
            for (int k = 0; k < LV; ++k) mean8 += at8[u][k] * da8[k];   // attn is zero past ICL_L
            const float mean = icl_hsum8(mean8);
            #pragma unroll
            for (int k = 0; k < LV; ++k) da8[k] = at8[u][k] * (da8[k] - mean);   // ds, zero past ICL_L
            #pragma unroll
            for (int k = 0; k < DV; ++k) dv[u][k] = (float8)(0.0f);
            for (int s = 0; s < ICL_L; ++s) {
                const float ds = ((const float*)da8)[s];
                #pragma unroll
                for (int k = 0; k < DV; ++k) dv[u][k] += ds * P[u][s * DV + k];
            }
        }
        // Buffer dA += dv p_qᵀ and dC += dg cᵀ; add them into the tile's sums every FUSED_PEND prompts.
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            if (!back[u]) continue;
            #pragma unroll
            for (int k = 0; k < DV; ++k) {
                DVB[pend * DV + k] = dv[u][k];
                PQB[pend * DV + k] = P[u][(ICL_COLS - 1) * DV + k];
                CB[pend * DV + k] = c[u][k];
            }
            #pragma unroll
            for (int k = 0; k < MV; ++k) DGB[pend * MV + k] = dg8[u][k];
            if (++pend == FUSED_PEND) {
                fused_flush_rows(dA, ICL_D, (const float*)DVB, 8 * DV, PQB, pend);
                fused_flush_rows(dC, ICL_M, (const float*)DGB, 8 * MV, CB, pend);
                pend = 0;
            }
        }
    }
    if (train) {
        if (pend > 0) {
            fused_flush_rows(dA, ICL_D, (const float*)DVB, 8 * DV, PQB, pend);
            fused_flush_rows(dC, ICL_M, (const float*)DGB, 8 * MV, CB, pend);
        }
        __global float8* out = partials + (size_t)tile * PART8;
        for (int k = 0; k < ICL_D * DV; ++k) out[k] = dA[k];
        for (int k = 0; k < ICL_M * DV; ++k) out[ICL_D * DV + k] = dC[k];
    }
    partStats[2 * tile] = lossSum;
    partStats[2 * tile + 1] = errSum;
}
