// The pattern-space fused training step: the restructured math of DESIGN.md taken one step further.
// Every prompt column is a combination of R = nRelevant + nIrrelevant + 1 basis vectors
//   e_r = [μ_r; 0] (relevant), e_{nR+k} = [ν_k; 0] (irrelevant), e_q = [0; q] (label)
// with at most three non-zero coefficients (1, κ, y). So with E = [e_0 … e_{R−1}] (rows, [R, D]) and
//   Q̃ = W_Q Eᵀ, K̃ = W_K Eᵀ, Ṽ = W_V Eᵀ  (d × R, per step),   Ã = K̃ᵀ Q̃  (R × R),   C̃ = W_O Ṽ  (m × R),
// a prompt's scores are s_i = Σ_ab c_i,a Ã[a][b] c_q,b (six table reads), its context sum is
// c̃ = Σ_i attn_i c_i (R coefficients) and g = C̃ c̃. Backward runs in the same coordinates:
//   dÃ = Σ dṽ c_qᵀ, dC̃ = Σ dg c̃ᵀ, and once per step
//   dW_Q = K̃ dÃ E, dW_K = Q̃ dÃᵀ E, dW_V = (W_Oᵀ dC̃) E, dW_O = dC̃ Ṽᵀ.
// This is exact (the same function and gradient as the dense path; only the rounding differs) and
// prompts are never materialised: the sampler's random words go straight to coefficients.
// Launches per step: pattern_project, pattern_tables, pattern_tile, pattern_reduce, pattern_grads_sgd. Requires ICL_R (the basis size of the spec the program serves), ICL_RMAX (a multiple of 8,
// ≥ R), ICL_MV = ceil(M/8), ICL_DV, ICL_TILE. Compile-time sizes let the inner loops unroll and keep the
// accumulators in registers.
#define RMAX ICL_RMAX
#define LV ((ICL_L + 7) / 8)
#define MV ICL_MV
#define MPAD (8 * ICL_MV)
#define DPAD (8 * ICL_DV)
// tables: Ãᵀ [RMAX, RMAX] | C̃ᵀ [RMAX, MPAD] | C̃ [MPAD, RMAX] | a [MPAD]   (floats; Ãᵀ[b][a] = Ã[a][b])
#define RV (RMAX / 8)
#define TAB_A 0
#define TAB_C (RMAX * RMAX)
#define TAB_C2 (RMAX * RMAX + RMAX * MPAD)
#define TAB_a (RMAX * RMAX + 2 * RMAX * MPAD)
#define TAB_SIZE (TAB_a + MPAD)
// partials per tile: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX]
#define PART_SIZE (RMAX * RMAX + RMAX * MPAD)
// proj: Q̃ᵀ | K̃ᵀ | Ṽᵀ, each [RMAX, D] (row b = W e_b)
#define PROJ(w, b, i) proj[((w) * RMAX + (b)) * ICL_D + (i)]

// x · y over n contiguous floats, eight at a time (vload8 needs no alignment), then the tail.
inline float icl_dot(__global const float* x, __global const float* y, const int n) {
    float8 acc = (float8)(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += vload8(0, x + i) * vload8(0, y + i);
    float total = icl_hsum8(acc);
    for (; i < n; ++i) total += x[i] * y[i];
    return total;
}

// Work-item per (w, b, i): PROJ(w, b, i) = (W e_b)_i for W = W_Q, W_K, W_V. E: [R, DPAD].
__kernel void pattern_project(__global const float* params, __global const float* E, __global float* proj, const int R) {
    const int gid = get_global_id(0);
    if (gid >= 3 * R * ICL_D) return;
    const int w = gid / (R * ICL_D), b = (gid / ICL_D) % R, i = gid % ICL_D;
    __global const float* W = params + w * ICL_DD;
    PROJ(w, b, i) = icl_dot(W + i * ICL_D, E + b * DPAD, ICL_D);
}

// Work-item per table entry: Ãᵀ[b][a] = K̃_a · Q̃_b; C̃ᵀ[b][n] = C̃[n][b] = Σ_i W_O[n,i] Ṽ_b[i]; a padded.
// Unused entries zero.
__kernel void pattern_tables(__global const float* params, __global const float* a, __global const float* proj,
                             __global float* tables, const int R) {
    const int gid = get_global_id(0);
    if (gid >= TAB_SIZE) return;
    float acc = 0.0f;
    __global const float* WO = WO_OF(params);
    if (gid < TAB_C) {
        const int b = gid / RMAX, a = gid % RMAX;
        if (a < R && b < R) acc = icl_dot(&PROJ(1, a, 0), &PROJ(0, b, 0), ICL_D);
    } else if (gid < TAB_C2) {
        const int b = (gid - TAB_C) / MPAD, n = (gid - TAB_C) % MPAD;
        if (b < R && n < ICL_M) acc = icl_dot(WO + n * ICL_D, &PROJ(2, b, 0), ICL_D);
    } else if (gid < TAB_a) {
        const int n = (gid - TAB_C2) / RMAX, b = (gid - TAB_C2) % RMAX;
        if (b < R && n < ICL_M) acc = icl_dot(WO + n * ICL_D, &PROJ(2, b, 0), ICL_D);
    } else {
        const int n = gid - TAB_a;
        acc = n < ICL_M ? a[n] : 0.0f;
    }
    tables[gid] = acc;
}

// One work-item per tile of ICL_TILE prompts: sample coefficients, forward, hinge and (train) backward,
// accumulating the tile's dÃ and dC̃ᵀ in local memory. partStats: [tiles, 2] (loss sum, errors).
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void pattern_tile(__global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                  const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                  const uint stream, const uint firstPrompt, const int batch,
                  __global const float* tables, __global float* partials, __global float* partStats, const int train) {
    const int tile = get_group_id(0);
    const int b0 = tile * ICL_TILE, b1 = min(b0 + ICL_TILE, batch);
    const int R = ICL_R, qi = ICL_R - 1;
    __global const float8* AtT = (__global const float8*)(tables + TAB_A);
    __global const float8* Ct = (__global const float8*)(tables + TAB_C);
    __global const float8* C2 = (__global const float8*)(tables + TAB_C2);
    const int RC = (ICL_R + 7) / 8;
    __global const float8* a8 = (__global const float8*)(tables + TAB_a);
    __local float8 dAtT[RMAX * RV];
    __local float8 dC2[MPAD * RV];
    if (train) {
        for (int k = 0; k < R * RV; ++k) dAtT[k] = (float8)(0.0f);
        for (int n = 0; n < ICL_M; ++n) for (int k = 0; k < RC; ++k) dC2[n * RV + k] = (float8)(0.0f);
    }
    float lossSum = 0.0f, errSum = 0.0f;
    int pat[ICL_COLS], irr[ICL_COLS];
    float kap[ICL_COLS], yv[ICL_COLS], at[ICL_COLS], da[ICL_COLS];
    float8 Aq8[RV], dcd8[RV], dvp8[RV];
    float8 cp8[RV];
    float* cp = (float*)cp8;
    const float* Aq = (const float*)Aq8;
    const float* dcd = (const float*)dcd8;
    float* dvp = (float*)dvp8;
    for (int b = b0; b < b1; ++b) {
        const float z = icl_sample_coefficients(pat, irr, kap, yv, firstPrompt + (uint)b, tasks, nTasks, nRelevant,
                                                nIrrelevant, alpha, K, seedLo, seedHi, step, stream);
        const int pq = pat[ICL_COLS - 1], kq = nRelevant + irr[ICL_COLS - 1];
        const float kapq = kap[ICL_COLS - 1];
        // Ãq[a] = Σ_b Ã[a][b] c_q,b: the query's column of Ã.
        #pragma unroll
        for (int k = 0; k < RC; ++k) Aq8[k] = AtT[pq * RV + k] + kapq * AtT[kq * RV + k];
        // Scores, then the softmax on float8 vectors (the vector exp is far cheaper than ICL_L scalar calls).
        float8 sc8[LV];
        float* sc = (float*)sc8;
        for (int s = 0; s < ICL_L; ++s) sc[s] = Aq[pat[s]] + kap[s] * Aq[nRelevant + irr[s]] + yv[s] * Aq[qi];
        for (int s = ICL_L; s < 8 * LV; ++s) sc[s] = -INFINITY;
        float8 top8 = sc8[0];
        for (int k = 1; k < LV; ++k) top8 = fmax(top8, sc8[k]);
        const float4 t4 = fmax(top8.lo, top8.hi);
        const float2 t2 = fmax(t4.lo, t4.hi);
        const float top = fmax(t2.x, t2.y);
        float8 tot8 = (float8)(0.0f);
        #pragma unroll
        for (int k = 0; k < LV; ++k) { sc8[k] = exp(sc8[k] - top); tot8 += sc8[k]; }
        const float inv = 1.0f / icl_hsum8(tot8);
        #pragma unroll
        for (int k = 0; k < LV; ++k) sc8[k] *= inv;
        for (int s = 0; s < ICL_L; ++s) at[s] = sc[s];
        #pragma unroll
        for (int k = 0; k < RC; ++k) cp8[k] = (float8)(0.0f);
        for (int s = 0; s < ICL_L; ++s) {
            cp[pat[s]] += at[s];
            cp[nRelevant + irr[s]] += at[s] * kap[s];
            cp[qi] += at[s] * yv[s];
        }
        // g = C̃ c̃;  F = Σ a_n ReLU(g_n)
        float8 g8[MV];
        #pragma unroll
        for (int k = 0; k < MV; ++k) g8[k] = (float8)(0.0f);
        for (int r = 0; r < R; ++r) {
            const float x = cp[r];
            if (x == 0.0f) continue;
            #pragma unroll
            for (int k = 0; k < MV; ++k) g8[k] += Ct[r * MV + k] * x;
        }
        float8 f8 = (float8)(0.0f);
        #pragma unroll
        for (int k = 0; k < MV; ++k) f8 += a8[k] * fmax(g8[k], (float8)(0.0f));
        const float F = icl_hsum8(f8);
        const float margin = z * F;
        lossSum += margin < 1.0f ? 1.0f - margin : 0.0f;
        errSum += margin > 0.0f ? 0.0f : 1.0f;
        if (!train || !(margin < 1.0f)) continue;
        const float dF = -z / (float)batch;
        float8 dg8[MV];
        #pragma unroll
        for (int k = 0; k < MV; ++k) dg8[k] = select((float8)(0.0f), dF * a8[k], g8[k] > (float8)(0.0f));
        // dc̃-dots dcd[r] = (C̃ e_r)·dg = Σ_n C̃[n][r] dg_n and dC̃[n] += dg_n c̃, row by row over the
        // active neurons (dg_n = 0 for the others).
        #pragma unroll
        for (int k = 0; k < RC; ++k) dcd8[k] = (float8)(0.0f);
        const float* dgs = (const float*)dg8;
        for (int n = 0; n < ICL_M; ++n) {
            const float x = dgs[n];
            if (x == 0.0f) continue;
            #pragma unroll
            for (int k = 0; k < RC; ++k) {
                dcd8[k] += C2[n * RV + k] * x;
                dC2[n * RV + k] += x * cp8[k];
            }
        }
        float mean = 0.0f;
        for (int s = 0; s < ICL_L; ++s) {
            da[s] = dcd[pat[s]] + kap[s] * dcd[nRelevant + irr[s]] + yv[s] * dcd[qi];
            mean += at[s] * da[s];
        }
        #pragma unroll
        for (int k = 0; k < RC; ++k) dvp8[k] = (float8)(0.0f);
        for (int s = 0; s < ICL_L; ++s) {
            const float ds = at[s] * (da[s] - mean);
            dvp[pat[s]] += ds;
            dvp[nRelevant + irr[s]] += ds * kap[s];
            dvp[qi] += ds * yv[s];
        }
        // dÃ += dṽ c_qᵀ, i.e. rows pq and kq of dÃᵀ.
        #pragma unroll
        for (int k = 0; k < RC; ++k) {
            dAtT[pq * RV + k] += dvp8[k];
            dAtT[kq * RV + k] += kapq * dvp8[k];
        }
    }
    if (train) {
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

// Work-item per float8 of dÃᵀ | dC̃: sum over tiles in order (deterministic); the dÃᵀ part is also
// written transposed, as dÃ, after both. Item 0 also sums the statistics.
__kernel void pattern_reduce(__global const float8* partials, __global const float* partStats, __global float8* sums,
                             __global float* stats, const int tiles, const int batch, const int entries) {
    const int e = get_global_id(0);
    if (e >= entries) return;
    if (entries > 1) {
        float8 acc = (float8)(0.0f);
        for (int t = 0; t < tiles; ++t) acc += partials[(size_t)t * (PART_SIZE / 8) + e];
        sums[e] = acc;
        if (e < RMAX * RV) {                  // dÃᵀ[b][8c..8c+7] → dÃ[8c + lane][b]
            const int b = e / RV, c = e % RV;
            __global float* dA = (__global float*)(sums + PART_SIZE / 8);
            float lanes[8];
            vstore8(acc, 0, lanes);
            for (int lane = 0; lane < 8; ++lane) dA[(8 * c + lane) * RMAX + b] = lanes[lane];
        }
    }
    if (e == 0) {
        float loss = 0.0f, err = 0.0f;
        for (int t = 0; t < tiles; ++t) { loss += partStats[2 * t]; err += partStats[2 * t + 1]; }
        stats[0] = loss / (float)batch;
        stats[1] = err;
    }
}

// Work-item per parameter row, vector over columns. For rows w·D + i of W_Q, W_K, W_V it first forms that
// row of the back-projected factor, vector over r:
//   w = 0: (K̃ dÃ)[i][r] = Σ_a K̃_a[i] dÃ[a][r];  w = 1: (Q̃ dÃᵀ)[i][r] = Σ_b Q̃_b[i] dÃᵀ[b][r];
//   w = 2: (W_Oᵀ dC̃)[i][r] = Σ_n W_O[n,i] dC̃[n][r],
// then the gradient row Σ_r factor[r] E[r]. Rows 3D + n of W_O: dW_O[n] = Σ_r dC̃[n][r] Ṽ_r. Finally
// W_new = W_old − η ∇W, with W_O rows masked. sums: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX] | dÃ [RMAX, RMAX].
__kernel void pattern_grads_sgd(__global const float* oldParams, __global float* newParams, __global float* grads,
                                __global const float* E, __global const float* proj, __global const float* sums,
                                __global const float* mask, const float lr) {
    const int row = get_global_id(0);
    if (row >= 3 * ICL_D + ICL_M) return;
    const int RC = (ICL_R + 7) / 8;
    __global const float8* dAt = (__global const float8*)sums;
    __global const float8* dC = dAt + RMAX * RV;
    __global const float8* dA = dAt + (PART_SIZE / 8);
    float8 acc[ICL_DV];
    for (int c = 0; c < ICL_DV; ++c) acc[c] = (float8)(0.0f);
    if (row < 3 * ICL_D) {
        const int w = row / ICL_D, i = row % ICL_D;
        __global const float* params = oldParams;
        float8 back8[RV];
        for (int c = 0; c < RV; ++c) back8[c] = (float8)(0.0f);
        if (w == 0) {
            for (int a = 0; a < ICL_R; ++a) { const float x = PROJ(1, a, i); for (int c = 0; c < RC; ++c) back8[c] += x * dA[a * RV + c]; }
        } else if (w == 1) {
            for (int b = 0; b < ICL_R; ++b) { const float x = PROJ(0, b, i); for (int c = 0; c < RC; ++c) back8[c] += x * dAt[b * RV + c]; }
        } else {
            __global const float* WO = WO_OF(params);
            for (int n = 0; n < ICL_M; ++n) { const float x = WO[n * ICL_D + i]; for (int c = 0; c < RC; ++c) back8[c] += x * dC[n * RV + c]; }
        }
        const float* back = (const float*)back8;
        for (int r = 0; r < ICL_R; ++r) {
            const float x = back[r];
            for (int c = 0; c < ICL_DV; ++c) acc[c] += x * vload8(c, E + r * DPAD);
        }
    } else {
        const int n = row - 3 * ICL_D;
        __global const float* dCn = sums + RMAX * RMAX + n * RMAX;
        for (int r = 0; r < ICL_R; ++r) {
            const float x = dCn[r];
            for (int c = 0; c < ICL_DV; ++c) acc[c] += x * vload8(c, &PROJ(2, r, 0));
        }
    }
    const float keep = row < 3 * ICL_D ? 1.0f : mask[row - 3 * ICL_D];
    const float* g = (const float*)acc;
    for (int j = 0; j < ICL_D; ++j) {
        const int k = row * ICL_D + j;
        grads[k] = g[j];
        newParams[k] = keep * (oldParams[k] - lr * g[j]);
    }
}
