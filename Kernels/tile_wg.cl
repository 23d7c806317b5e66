// The GPU variant of the fused tile kernels, one body for the dense (fused) and the pattern-space (pattern)
// pipelines. The host picks the column space by the file it puts before this one (wg_columns_dense.cl or
// wg_columns_pattern.cl), which defines WG_W (floats per column), the table reads WG_AT (Aᵀ), WG_C, WG_CT, WG_A,
// the partials' size WG_PART, wg_entry (which sum a partial entry is) and wg_write_column (a drawn column).
//
// A work-group of ICL_LP × ICL_PPG work-items owns a tile of ICL_TILE prompts and runs them ICL_PPG at a time:
// the ICL_LP lanes of slot y = get_local_id(1) share one prompt, held in local memory, and split each product
// over its rows; softmax and output sums are tree reductions over the lanes. Backward, every work-item of the
// group owns WG_EPI entries of the tile's partial gradients (dA = Σ dv c_qᵀ, dC = Σ dg c̃ᵀ) in registers and adds
// each round's prompts into them slot by slot: no float atomics, and every sum runs in a fixed order, so a step
// is deterministic. The tile's partials and (loss sum, errors) go to global memory for the reduce launch.
// Requires ICL_LP (a power of two), ICL_PPG, ICL_TILE (a multiple of ICL_PPG).
#define WG_ITEMS (ICL_LP * ICL_PPG)
#define WG_EPI ((WG_PART + WG_ITEMS - 1) / WG_ITEMS)
#define WG_NPL ((ICL_M + ICL_LP - 1) / ICL_LP)
#define WG_MPAD (ICL_LP * WG_NPL)

// tables: the column space's (see the file above). partials: [tiles, WG_PART]; partStats: [tiles, 2] (loss sum,
// errors). train = 0: forward and statistics only.
__kernel __attribute__((reqd_work_group_size(ICL_LP, ICL_PPG, 1)))
void tile_wg(__global const float* relevant, __global const float* irrelevant, __global const float* q,
             __global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
             const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
             const uint stream, const uint firstPrompt, const int batch,
             __global const float* tables, __global float* partials, __global float* partStats, const int train) {
    const int lane = get_local_id(0), slot = get_local_id(1);
    const int item = slot * ICL_LP + lane;
    const int tile = get_group_id(0);
    // Per slot: its prompt's columns, then v = A c_q (reused for dc), c̃, dv, the scores/attention, their
    // gradients, dg, and the reduction scratch.
    __local float P[ICL_PPG][ICL_COLS * WG_W];
    __local float vdc[ICL_PPG][WG_W], cs[ICL_PPG][WG_W], dvs[ICL_PPG][WG_W];
    __local float at[ICL_PPG][ICL_L], ds[ICL_PPG][ICL_L];
    __local float dg[ICL_PPG][WG_MPAD];
    __local float red[ICL_PPG][ICL_LP];
    __local float zq[ICL_PPG], slotLoss[ICL_PPG], slotErr[ICL_PPG];
    __local float* Pu = P[slot];
    __local const float* cq = Pu + (ICL_COLS - 1) * WG_W;
    float acc[WG_EPI];
    #pragma unroll
    for (int k = 0; k < WG_EPI; ++k) acc[k] = 0.0f;
    float lossSum = 0.0f, errSum = 0.0f;
    for (int r = 0; r < ICL_TILE / ICL_PPG; ++r) {
        const int b = tile * ICL_TILE + r * ICL_PPG + slot;
        const bool live = b < batch;      // prompts past the batch run (uniform control flow) but count for nothing
        for (int j = lane; j < ICL_COLS; j += ICL_LP) {
                int pattern, k;
            float kappa, label;
            const float z = icl_column_draw(j, firstPrompt + (uint)b, tasks, nTasks, nRelevant, nIrrelevant, alpha, K,
                                            seedLo, seedHi, step, stream, &pattern, &k, &kappa, &label);
            wg_write_column(Pu + j * WG_W, pattern, k, kappa, label, relevant, irrelevant, q, nRelevant);
            if (j == ICL_COLS - 1) zq[slot] = z;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // v = A c_q:  v_i = Σ_j Aᵀ[j][i] c_q,j
        for (int i = lane; i < WG_W; i += ICL_LP) {
            float s = 0.0f;
            for (int j = 0; j < WG_W; ++j) s += WG_AT(tables, j, i) * cq[j];
            vdc[slot][i] = s;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // Scores s_t = c_t · v, then the softmax over the attended columns.
        float top = -INFINITY;
        for (int t = lane; t < ICL_L; t += ICL_LP) {
            float s = 0.0f;
            for (int j = 0; j < WG_W; ++j) s += Pu[t * WG_W + j] * vdc[slot][j];
            at[slot][t] = s;
            top = fmax(top, s);
        }
        top = icl_tree_max(red[slot], lane, ICL_LP, top);
        float part = 0.0f;
        for (int t = lane; t < ICL_L; t += ICL_LP) { const float e = exp(at[slot][t] - top); at[slot][t] = e; part += e; }
        const float inv = 1.0f / icl_tree_sum(red[slot], lane, ICL_LP, part);
        for (int t = lane; t < ICL_L; t += ICL_LP) at[slot][t] *= inv;
        barrier(CLK_LOCAL_MEM_FENCE);
        // c̃ = Σ_t attn_t c_t
        for (int i = lane; i < WG_W; i += ICL_LP) {
            float s = 0.0f;
            for (int t = 0; t < ICL_L; ++t) s += at[slot][t] * Pu[t * WG_W + i];
            cs[slot][i] = s;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // g = C c̃ (neurons n = lane + ICL_LP·k), F = Σ a_n ReLU(g_n), the hinge.
        float g[WG_NPL];
        float f = 0.0f;
        #pragma unroll
        for (int k = 0; k < WG_NPL; ++k) {
            const int n = lane + ICL_LP * k;
            float s = 0.0f;
            if (n < ICL_M) {
                for (int j = 0; j < WG_W; ++j) s += WG_CT(tables, j, n) * cs[slot][j];
                f += WG_A(tables, n) * fmax(s, 0.0f);
            }
            g[k] = s;
        }
        const float F = icl_tree_sum(red[slot], lane, ICL_LP, f);
        const float z = zq[slot], margin = z * F;
        if (live) { lossSum += icl_hinge_loss(margin); errSum += icl_hinge_error(margin); }
        if (train) {                        // uniform: train is the same for the whole launch
            // Backward. dg_n = dF a_n [g_n > 0]; a prompt with no hinge gradient (or past the batch) adds zeros.
            const float dF = live ? icl_hinge_dF(z, margin, batch) : 0.0f;
            #pragma unroll
            for (int k = 0; k < WG_NPL; ++k) {
                const int n = lane + ICL_LP * k;
                dg[slot][n] = n < ICL_M && g[k] > 0.0f ? dF * WG_A(tables, n) : 0.0f;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            // dc = Cᵀ dg (into vdc, v is spent)
            for (int j = lane; j < WG_W; j += ICL_LP) {
                float s = 0.0f;
                for (int n = 0; n < ICL_M; ++n) s += WG_C(tables, n, j) * dg[slot][n];
                vdc[slot][j] = s;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            // dattn_t = c_t · dc;  ds_t = attn_t (dattn_t − Σ attn dattn)
            part = 0.0f;
            for (int t = lane; t < ICL_L; t += ICL_LP) {
                float s = 0.0f;
                for (int j = 0; j < WG_W; ++j) s += Pu[t * WG_W + j] * vdc[slot][j];
                ds[slot][t] = s;
                part += at[slot][t] * s;
            }
            const float mean = icl_tree_sum(red[slot], lane, ICL_LP, part);
            for (int t = lane; t < ICL_L; t += ICL_LP) ds[slot][t] = at[slot][t] * (ds[slot][t] - mean);
            barrier(CLK_LOCAL_MEM_FENCE);
            // dv = Σ_t ds_t c_t
            for (int i = lane; i < WG_W; i += ICL_LP) {
                float s = 0.0f;
                for (int t = 0; t < ICL_L; ++t) s += ds[slot][t] * Pu[t * WG_W + i];
                dvs[slot][i] = s;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            // This round's prompts into the owned partial entries, slot by slot.
            #pragma unroll
            for (int k = 0; k < WG_EPI; ++k) {
                const int e = item + WG_ITEMS * k;
                int i = 0, j = 0;
                const int kind = e < WG_PART ? wg_entry(e, &i, &j) : -1;
                if (kind == 0) for (int u = 0; u < ICL_PPG; ++u) acc[k] += dvs[u][i] * P[u][(ICL_COLS - 1) * WG_W + j];
                else if (kind == 1) for (int u = 0; u < ICL_PPG; ++u) acc[k] += dg[u][i] * cs[u][j];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);       // the next round overwrites what this one read
    }
    if (train) {
        __global float* out = partials + (size_t)tile * WG_PART;
        #pragma unroll
        for (int k = 0; k < WG_EPI; ++k) {
            const int e = item + WG_ITEMS * k;
            if (e < WG_PART) out[e] = acc[k];
        }
    }
    if (lane == 0) { slotLoss[slot] = lossSum; slotErr[slot] = errSum; }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (item == 0) {
        float loss = 0.0f, err = 0.0f;
        for (int u = 0; u < ICL_PPG; ++u) { loss += slotLoss[u]; err += slotErr[u]; }
        partStats[2 * tile] = loss;
        partStats[2 * tile + 1] = err;
    }
}
