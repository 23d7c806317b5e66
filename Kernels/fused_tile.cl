// The CPU variant of the dense fused tile kernel (fused.cl has the other launches of the step and the layout):
// one work-item (a work-group of 1) per tile of ICL_TILE prompts samples each prompt in registers (prompts never
// touch memory), runs forward, hinge and backward, and accumulates the tile's partial dA = Σ dv p_qᵀ and
// dC = Σ dg cᵀ in local memory: (D + M)·DV·32 bytes, which the host checks the device has.
// derived: Aᵀ | C | Cᵀ as above. partials: per tile, dA [D, DV] then dC [M, DV]. partStats: [tiles, 2].
// train = 0: forward and statistics only (inference).
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
            const float dg = dF * aPad[n];
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

