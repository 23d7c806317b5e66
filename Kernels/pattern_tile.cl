// The pattern-space tile kernel: sampling, forward, hinge and backward of a tile of prompts in coefficient space
// (definitions: pattern_common.cl; the per-column table reads: the pattern_reads_<path>.cl the host chose).

// dC̃[n] += Σ_t dg_t[n] c̃_t over the `pend` buffered prompts, two neurons at a time with the sums in
// registers (a read-modify-write of dC̃ per prompt and neuron would be bound by stores). The terms are added
// in prompt order, so the result is the same as accumulating prompt by prompt. Rows run to MPAD (even);
// the padded neurons' dg is 0.
inline void pattern_flush_dC(__local float8* dC2, const float8* DG, const float8* CPB, const int pend) {
    const float* dg = (const float*)DG;
    for (int n = 0; n < MPAD; n += 2) {
        float8 s0[RC], s1[RC];
        #pragma unroll
        for (int k = 0; k < RC; ++k) { s0[k] = dC2[n * RV + k]; s1[k] = dC2[(n + 1) * RV + k]; }
        for (int t = 0; t < pend; ++t) {
            const float x0 = dg[t * MPAD + n], x1 = dg[t * MPAD + n + 1];
            #pragma unroll
            for (int k = 0; k < RC; ++k) { s0[k] += x0 * CPB[t * RV + k]; s1[k] += x1 * CPB[t * RV + k]; }
        }
        #pragma unroll
        for (int k = 0; k < RC; ++k) { dC2[n * RV + k] = s0[k]; dC2[(n + 1) * RV + k] = s1[k]; }
    }
}

// The tile's sums dÃᵀ (rows < R) and dC̃ (chunks < RC) to zero.
inline void pattern_zero_sums(__local float8* dAtT, __local float8* dC2) {
    for (int k = 0; k < ICL_R * RV; ++k) dAtT[k] = (float8)(0.0f);
    for (int n = 0; n < MPAD; ++n) for (int k = 0; k < RC; ++k) dC2[n * RV + k] = (float8)(0.0f);
}

// Coefficient sums Σ_s w_s c_s of each in-flight prompt's context columns (c̃ with w = attention, dṽ with
// w = its gradient) into out[u] (RV float8s of sums, then LV spare float8s). The sums every column may add
// to (the task's patterns a and b, and the label q) stay in registers; the other columns scatter, the a/b
// ones into per-column spare slots, so no loop waits on store-to-load forwarding of one address. The
// prompts' loops are interleaved: their chains are independent.
inline __attribute__((always_inline)) void pattern_coefficient_sums(float8 (*out8)[RV + LV], float (*w)[ICL_COLS8], int (*pat)[ICL_COLS8],
                                     int (*irr)[ICL_COLS8], float (*kap)[ICL_COLS8], float (*yv)[ICL_COLS8],
                                     const int* pa, const int* pb, const int nRelevant) {
    float sa[ICL_NP], sb[ICL_NP], sq[ICL_NP];
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        #pragma unroll
        for (int k = 0; k < RV; ++k) out8[u][k] = (float8)(0.0f);
        pattern_label_sums(&sa[u], &sb[u], &sq[u], w[u], pat[u], yv[u], pa[u], pb[u]);
    }
    for (int s = 0; s < ICL_L; ++s) {
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float* out = (float*)out8[u];
            const int p = pat[u][s];
            const float x = w[u][s];
            out[p == pa[u] || p == pb[u] ? RMAX + s : p] += x;
            out[nRelevant + irr[u][s]] += x * kap[u][s];
        }
    }
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        float* out = (float*)out8[u];
        out[pa[u]] = sa[u];
        out[pb[u]] = sb[u];
        out[ICL_R - 1] = sq[u];
    }
}

// Adds lane `lane` of the dg chunk k (neuron n) of prompts u0 … u0 + ICL_NP_TOGETHER − 1 times row n of C̃ into acc:
// one neuron of dc̃ = C̃ᵀ dg; the row is loaded once for those prompts. With 16 vector registers one prompt at a time
// (sampler_chunks.cl's ICL_NP_TOGETHER): 2 · ICL_NP · RC sums (16) and the row do not fit.
#define DCD_LANE(acc, lane, n) { _Pragma("unroll") for (int c = 0; c < RC; ++c) { const float8 row = C2[(n) * RV + c]; \
    _Pragma("unroll") for (int u = u0; u < u0 + ICL_NP_TOGETHER; ++u) acc[u][c] += row * dg8[u][k].lane; } }

// One work-item per tile of ICL_TILE prompts: sample coefficients, forward, hinge and (train) backward,
// accumulating the tile's dÃ and dC̃ᵀ in local memory. ICL_NP prompts are in flight at once: each step of the
// computation runs for all of them side by side (each C̃ row is loaded once for all; measured only ≈ 1.5 %
// faster than one prompt, as the kernel is bound by instruction throughput rather than by one prompt's
// latency), while every accumulation into the tile's sums still happens prompt by prompt in order.
// partials: [tiles, PART_SIZE]; partStats: [tiles, 2] (loss sum, errors); pattern_reduce sums them.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void pattern_tile(__global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                  const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                  const uint stream, const uint firstPrompt, const int batch,
                  __global const float* tables, __global float* partials, __global float* partStats, const int train) {
    const int tile = get_group_id(0);
    const int b0 = tile * ICL_TILE, b1 = min(b0 + ICL_TILE, batch);
    const int R = ICL_R;
    __global const float8* AtT = (__global const float8*)(tables + TAB_A);
    __global const float8* Ct = (__global const float8*)(tables + TAB_C);
    __global const float8* C2 = (__global const float8*)(tables + TAB_C2);
    __global const float8* a8 = (__global const float8*)(tables + TAB_a);
    __local float8 dAtT[RMAX * RV];
    __local float8 dC2[MPAD * RV];
    // The sums are zeroed when a first prompt back-propagates: a tile in which none does (its loss sum is exactly 0,
    // as in most tiles after convergence) writes no partials, and pattern_reduce skips it.
    int summing = 0;
    float lossSum = 0.0f, errSum = 0.0f;
    int pat[ICL_NP][ICL_COLS8], irr[ICL_NP][ICL_COLS8];
    float kap[ICL_NP][ICL_COLS8], yv[ICL_NP][ICL_COLS8], at[ICL_NP][ICL_COLS8], da[ICL_NP][ICL_COLS8];
    float8 Aq8[ICL_NP][RV], dcd8[ICL_NP][RV];
    float8 cp8[ICL_NP][RV + LV], dvp8[ICL_NP][RV + LV];     // coefficient sums, then one spare slot per column
    float8 DG[PEND * MV], CPB[PEND * RV];    // dg and c̃ of the prompts not yet added into dC̃
    int pend = 0;
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u)
        for (int k = RV; k < RV + LV; ++k) { cp8[u][k] = (float8)(0.0f); dvp8[u][k] = (float8)(0.0f); }
    for (int b = b0; b < b1; b += ICL_NP) {
        int pa[ICL_NP], pb[ICL_NP], pq[ICL_NP], kq[ICL_NP];
        float z[ICL_NP], kapq[ICL_NP];
        // Prompts past b1 (when ICL_NP does not divide the tile) are computed but count for nothing.
        icl_sample_coefficients(pat, irr, kap, yv, pa, pb, z, firstPrompt + (uint)b, tasks, nTasks, nRelevant,
                                nIrrelevant, alpha, K, seedLo, seedHi, step, stream);
        // Ãq[a] = Σ_b Ã[a][b] c_q,b: the query's column of Ã.
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            pq[u] = pat[u][ICL_COLS - 1];
            kq[u] = nRelevant + irr[u][ICL_COLS - 1];
            kapq[u] = kap[u][ICL_COLS - 1];
            #pragma unroll
            for (int k = 0; k < RC; ++k) Aq8[u][k] = AtT[pq[u] * RV + k] + kapq[u] * AtT[kq[u] * RV + k];
        }
        // Scores, then the softmax on float8 vectors.
        float8 sc8[ICL_NP][LV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) pattern_scores(sc8[u], Aq8[u], pat[u], irr[u], kap[u], yv[u], nRelevant);
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            icl_tile_softmax(sc8[u]);
            #pragma unroll
            for (int k = 0; k < LV; ++k) vstore8(sc8[u][k], k, at[u]);   // zero past ICL_L
        }
        // c̃ = Σ_i attn_i c_i.
        pattern_coefficient_sums(cp8, at, pat, irr, kap, yv, pa, pb, nRelevant);
        // g = C̃ c̃, each row of C̃ loaded once for all prompts;  F = Σ a_n ReLU(g_n) and the hinge
        float8 g8[ICL_NP][MV];
        icl_tile_rows_times(g8, Ct, R, (const float*)cp8, 8 * (RV + LV));
        int back[ICL_NP];
        const int anyBack = icl_tile_hinge(g8, a8, z, b, b1, train, &lossSum, &errSum, back);
        if (!anyBack) continue;
        if (!summing) { pattern_zero_sums(dAtT, dC2); summing = 1; }
        // dg = dF a ⊙ [g > 0] (zero for a prompt that does not backpropagate); dC̃ += dg c̃ᵀ, buffered.
        float8 dg8[ICL_NP][MV];
        icl_tile_relu_grads(dg8, g8, a8, z, back, batch);
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            if (back[u]) {
                #pragma unroll
                for (int k = 0; k < MV; ++k) DG[pend * MV + k] = dg8[u][k];
                #pragma unroll
                for (int k = 0; k < RV; ++k) CPB[pend * RV + k] = cp8[u][k];
                if (++pend == PEND) { pattern_flush_dC(dC2, DG, CPB, pend); pend = 0; }
            }
        }
        // dc̃-dots dcd[r] = Σ_n C̃[n][r] dg_n, two accumulator sets (even and odd neurons) per prompt to halve
        // the dependency chains.
        float8 e8[ICL_NP][RC], o8[ICL_NP][RC];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u)
            #pragma unroll
            for (int k = 0; k < RC; ++k) { e8[u][k] = (float8)(0.0f); o8[u][k] = (float8)(0.0f); }
        #pragma unroll
        for (int u0 = 0; u0 < ICL_NP; u0 += ICL_NP_TOGETHER) {
            #pragma unroll
            for (int k = 0; k < MV; ++k) {
                const int n = 8 * k;
                DCD_LANE(e8, s0, n) DCD_LANE(o8, s1, n + 1) DCD_LANE(e8, s2, n + 2) DCD_LANE(o8, s3, n + 3)
                DCD_LANE(e8, s4, n + 4) DCD_LANE(o8, s5, n + 5) DCD_LANE(e8, s6, n + 6) DCD_LANE(o8, s7, n + 7)
            }
        }
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            #pragma unroll
            for (int k = 0; k < RC; ++k) dcd8[u][k] = e8[u][k] + o8[u][k];
        }
        // ds_i = attn_i (c_i · dc̃ − its attention-weighted mean), into da.
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) pattern_score_grads(da[u], at[u], dcd8[u], pat[u], irr[u], kap[u], yv[u], nRelevant);
        pattern_coefficient_sums(dvp8, da, pat, irr, kap, yv, pa, pb, nRelevant);
        // dÃ += dṽ c_qᵀ, i.e. rows pq and kq of dÃᵀ, prompt by prompt.
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            if (!back[u]) continue;
            #pragma unroll
            for (int k = 0; k < RC; ++k) {
                dAtT[pq[u] * RV + k] += dvp8[u][k];
                dAtT[kq[u] * RV + k] += kapq[u] * dvp8[u][k];
            }
        }
    }
    if (train && icl_any_backprop(lossSum)) {    // pattern_reduce reads the partials by the same rule
        if (!summing) pattern_zero_sums(dAtT, dC2);
        if (pend > 0) pattern_flush_dC(dC2, DG, CPB, pend);
        __global float* out = partials + (size_t)tile * PART_SIZE;
        __global float8* outA = (__global float8*)out;
        for (int k = 0; k < RMAX * RV; ++k) outA[k] = k < R * RV ? dAtT[k] : (float8)(0.0f);
        __global float8* outC = (__global float8*)(out + RMAX * RMAX);
        for (int n = 0; n < MPAD; ++n)
            for (int k = 0; k < RV; ++k) outC[n * RV + k] = n < ICL_M && k < RC ? dC2[n * RV + k] : (float8)(0.0f);
    }
    partStats[2 * tile] = lossSum;
    partStats[2 * tile + 1] = errSum;
}
