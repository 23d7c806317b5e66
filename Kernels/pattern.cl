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
// Launches per training step: pattern_tables, pattern_tile (whose last tile to finish also sums the tiles'
// partials), pattern_grads_sgd (which also projects the new weights for the next step; pattern_project runs
// only when the weights were set from outside). Requires ICL_R (the basis size of the spec the program serves), ICL_RMAX (R rounded up to a
// multiple of 8), ICL_MV = ceil(M/8), ICL_DV, ICL_TILE. Compile-time sizes let the inner loops unroll and keep the
// accumulators in registers.
#define RMAX ICL_RMAX
#define LV ((ICL_L + 7) / 8)
#define MV ICL_MV
#define MPAD (8 * ICL_MV)
#define DPAD (8 * ICL_DV)
// tables: Ãᵀ [RMAX, RMAX] | C̃ᵀ [RMAX, MPAD] | C̃ [MPAD, RMAX] | a [MPAD]   (floats; Ãᵀ[b][a] = Ã[a][b])
#define RV (RMAX / 8)
#define RC ((ICL_R + 7) / 8)
// Prompts whose dg and c̃ are buffered before they are added into dC̃.
#define PEND 16
#define TAB_A 0
#define TAB_C (RMAX * RMAX)
#define TAB_C2 (RMAX * RMAX + RMAX * MPAD)
#define TAB_a (RMAX * RMAX + 2 * RMAX * MPAD)
// work-items of pattern_tables: one per row of Ãᵀ, one per padded neuron (its row of C̃ and its a)
#define TABLE_ROWS (RMAX + MPAD)
// partials per tile: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX]
#define PART_SIZE (RMAX * RMAX + RMAX * MPAD)
// proj: Q̃ᵀ | K̃ᵀ | Ṽᵀ, each [RMAX, D] (row b = W e_b), then the same transposed, Q̃ | K̃ | Ṽ, each [D, RMAX]
// (row i = (W e_b)_i over b), so that the tables are vector sums over rows, with no horizontal sums.
#define PROJ(w, b, i) proj[((w) * RMAX + (b)) * ICL_D + (i)]
#define PROJT_OFFSET (3 * RMAX * ICL_D)
#define PROJT8(w, i) ((__global float8*)(proj + PROJT_OFFSET + ((w) * ICL_D + (i)) * RMAX))
// The basis buffer: E [R, DPAD], then Eᵀ [D, RMAX] (zero past R).
#define ET8(E, j) ((__global const float8*)((E) + ICL_R * DPAD + (j) * RMAX))

// Row i of W's projections, (W e_b)_i for every b, from row i of W (D floats): Σ_j W[i][j] Eᵀ[j][·], vector
// over b, in both layouts of proj. One body for the row in global memory (pattern_project) and in private
// memory (pattern_grads_sgd), so both round the same way: a projection made by a training step equals
// pattern_project's.
#define ICL_PROJECT_ROW_BODY                                                                \
    float8 acc[RV];                                                                         \
    _Pragma("unroll") for (int c = 0; c < RV; ++c) acc[c] = (float8)(0.0f);                 \
    for (int j = 0; j < ICL_D; ++j) {                                                       \
        const float x = row[j];                                                             \
        _Pragma("unroll") for (int c = 0; c < RV; ++c) acc[c] += x * ET8(E, j)[c];          \
    }                                                                                       \
    _Pragma("unroll") for (int c = 0; c < RV; ++c) PROJT8(w, i)[c] = acc[c];                \
    const float* v = (const float*)acc;                                                     \
    for (int b = 0; b < RMAX; ++b) PROJ(w, b, i) = v[b];
inline void icl_project_row(__global const float* row, __global const float* E, __global float* proj, const int w,
                            const int i) { ICL_PROJECT_ROW_BODY }
inline void icl_project_row_private(const float* row, __global const float* E, __global float* proj, const int w,
                                    const int i) { ICL_PROJECT_ROW_BODY }

// Work-item per row (w, i) of W = W_Q, W_K, W_V: its projections (W e_b)_i for every b. E: the basis buffer.
__kernel void pattern_project(__global const float* params, __global const float* E, __global float* proj) {
    const int gid = get_global_id(0);
    if (gid >= 3 * ICL_D) return;
    const int w = gid / ICL_D, i = gid % ICL_D;
    icl_project_row(params + w * ICL_DD + i * ICL_D, E, proj, w, i);
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

// Per-lane reads of a table of at most 32 floats (Ãq, dc̃) held in registers. On x86 CPUs with AVX-512 (PoCL
// compiles with clang for the host CPU, which defines __AVX512F__) one vpermi2ps reads eight lanes; elsewhere, or
// with -DICL_PORTABLE (ICL_PORTABLE_KERNELS=1), the kernel reads the table lane by lane as scalars. The two
// paths agree up to rounding: the vector path sums over the columns in a different order.
#if defined(__AVX512F__) && !defined(ICL_PORTABLE) && RMAX <= 32
#define ICL_PERMUTE 1
// The table t[0 … RMAX−1] (RV float8s) as the two halves of a 32-entry vpermi2ps table (lanes past RMAX zero).
inline void icl_table32(const float8* t, float16* lo, float16* hi) {
    float8 x[4];
    #pragma unroll
    for (int k = 0; k < 4; ++k) x[k] = k < RV ? t[k] : (float8)(0.0f);
    *lo = (float16)(x[0], x[1]);
    *hi = (float16)(x[2], x[3]);
}
// t[idx[lane]] for each lane (idx in [0, 32)).
inline float8 icl_lookup(const float16 lo, const float16 hi, const int8 idx) {
    const float16 x = __builtin_ia32_vpermi2varps512(lo, (int16)(idx, idx), hi);
    return x.lo;
}
// c_i · t for the eight columns i of chunk k, with t in (lo, hi) and t[q] = tq: t[pattern] + κ t[M1 + irrelevant]
// + y t[q]. Both the scores (t = Ãq) and da (t = dc̃) read a prompt's columns this way.
inline float8 pattern_column_dots(const float16 lo, const float16 hi, const float tq, const int k, const int* pat,
                                  const int* irr, const float* kap, const float* yv, const int nRelevant) {
    return icl_lookup(lo, hi, vload8(k, pat)) + vload8(k, kap) * icl_lookup(lo, hi, vload8(k, irr) + (int8)(nRelevant)) +
           vload8(k, yv) * tq;
}
#endif

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
        sa[u] = 0.0f; sb[u] = 0.0f; sq[u] = 0.0f;
    }
#ifdef ICL_PERMUTE
    // The three sums every column may add to, as vectors over the columns (w is zero past ICL_L); then only the
    // scatter into the other coordinates is left to the scalar loop.
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        float8 va = (float8)(0.0f), vb = (float8)(0.0f), vq = (float8)(0.0f);
        #pragma unroll
        for (int k = 0; k < LV; ++k) {
            const float8 x = vload8(k, w[u]);
            const int8 p = vload8(k, pat[u]);
            va += select((float8)(0.0f), x, p == (int8)(pa[u]));
            vb += select((float8)(0.0f), x, p == (int8)(pb[u]));
            vq += x * vload8(k, yv[u]);
        }
        sa[u] = icl_hsum8(va); sb[u] = icl_hsum8(vb); sq[u] = icl_hsum8(vq);
    }
#endif
    for (int s = 0; s < ICL_L; ++s) {
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float* out = (float*)out8[u];
            const int p = pat[u][s];
            const float x = w[u][s];
#ifndef ICL_PERMUTE
            sa[u] += p == pa[u] ? x : 0.0f;
            sb[u] += p == pb[u] ? x : 0.0f;
            sq[u] += x * yv[u][s];
#endif
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

// Adds lane `lane` of every in-flight prompt's dg chunk k (neuron n) times row n of C̃ into acc: one neuron of
// dc̃ = C̃ᵀ dg; the row is loaded once for all prompts.
#define DCD_LANE(acc, lane, n) { _Pragma("unroll") for (int c = 0; c < RC; ++c) { const float8 row = C2[(n) * RV + c]; \
    _Pragma("unroll") for (int u = 0; u < ICL_NP; ++u) acc[u][c] += row * dg8[u][k].lane; } }

// Sums the tiles' partials in tile order (deterministic): dÃᵀ | dC̃ into sums, then dÃᵀ transposed, as dÃ,
// after both; and the statistics (mean loss, errors) into stats[0], stats[1]. Run by one work-item, the last tile.
inline void pattern_reduce_tiles(__global const volatile float8* partials, __global const volatile float* partStats,
                                 __global float8* sums, __global float* stats, const int tiles, const int batch,
                                 const int train) {
    if (train) {
        __global float* dA = (__global float*)(sums + PART_SIZE / 8);
        for (int e = 0; e < PART_SIZE / 8; ++e) {
            float8 acc = (float8)(0.0f);
            for (int t = 0; t < tiles; ++t) acc += partials[(size_t)t * (PART_SIZE / 8) + e];
            sums[e] = acc;
            if (e < RMAX * RV) {                  // dÃᵀ[b][8c..8c+7] → dÃ[8c + lane][b]
                const int b = e / RV, c = e % RV;
                float lanes[8];
                vstore8(acc, 0, lanes);
                for (int lane = 0; lane < 8; ++lane) dA[(8 * c + lane) * RMAX + b] = lanes[lane];
            }
        }
    }
    float loss = 0.0f, err = 0.0f;
    for (int t = 0; t < tiles; ++t) { loss += partStats[2 * t]; err += partStats[2 * t + 1]; }
    stats[0] = loss / (float)batch;
    stats[1] = err;
}

// One work-item per tile of ICL_TILE prompts: sample coefficients, forward, hinge and (train) backward,
// accumulating the tile's dÃ and dC̃ᵀ in local memory. ICL_NP prompts are in flight at once: each step of the
// computation runs for all of them side by side (each C̃ row is loaded once for all; measured only ≈ 1.5 %
// faster than one prompt, as the kernel is bound by instruction throughput rather than by one prompt's
// latency), while every accumulation into the tile's sums still happens prompt by prompt in order.
// partStats: [tiles, 2] (loss sum, errors). stats: [slots, 2]; this launch's (mean loss, errors) go to slot
// statsSlot, so several steps can run before the host reads their statistics in one transfer.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void pattern_tile(__global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                  const float alpha, const float K, const uint seedLo, const uint seedHi, const uint step,
                  const uint stream, const uint firstPrompt, const int batch,
                  __global const float* tables, __global float* partials, __global float* partStats, const int train,
                  __global float8* sums, __global float* stats, const int statsSlot, __global int* tilesDone) {
    const int tile = get_group_id(0);
    const int b0 = tile * ICL_TILE, b1 = min(b0 + ICL_TILE, batch);
    const int R = ICL_R, qi = ICL_R - 1;
    __global const float8* AtT = (__global const float8*)(tables + TAB_A);
    __global const float8* Ct = (__global const float8*)(tables + TAB_C);
    __global const float8* C2 = (__global const float8*)(tables + TAB_C2);
    __global const float8* a8 = (__global const float8*)(tables + TAB_a);
    __local float8 dAtT[RMAX * RV];
    __local float8 dC2[MPAD * RV];
    if (train) {
        for (int k = 0; k < R * RV; ++k) dAtT[k] = (float8)(0.0f);
        for (int n = 0; n < MPAD; ++n) for (int k = 0; k < RC; ++k) dC2[n * RV + k] = (float8)(0.0f);
    }
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
        // Scores, then the softmax on float8 vectors (the vector exp is far cheaper than ICL_L scalar calls).
        float8 sc8[ICL_NP][LV];
#ifdef ICL_PERMUTE
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float16 lo, hi;
            icl_table32(Aq8[u], &lo, &hi);
            const float aq = ((const float*)Aq8[u])[qi];
            #pragma unroll
            for (int k = 0; k < LV; ++k) sc8[u][k] = pattern_column_dots(lo, hi, aq, k, pat[u], irr[u], kap[u], yv[u], nRelevant);
        }
#else
        for (int s = 0; s < ICL_L; ++s) {
            #pragma unroll
            for (int u = 0; u < ICL_NP; ++u) {
                const float* Aq = (const float*)Aq8[u];
                ((float*)sc8[u])[s] = Aq[pat[u][s]] + kap[u][s] * Aq[nRelevant + irr[u][s]] + yv[u][s] * Aq[qi];
            }
        }
#endif
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float* sc = (float*)sc8[u];
            for (int s = ICL_L; s < 8 * LV; ++s) sc[s] = -INFINITY;
            float8 top8 = sc8[u][0];
            for (int k = 1; k < LV; ++k) top8 = fmax(top8, sc8[u][k]);
            const float4 t4 = fmax(top8.lo, top8.hi);
            const float2 t2 = fmax(t4.lo, t4.hi);
            const float top = fmax(t2.x, t2.y);
            float8 tot8 = (float8)(0.0f);
            #pragma unroll
            for (int k = 0; k < LV; ++k) { sc8[u][k] = exp(sc8[u][k] - top); tot8 += sc8[u][k]; }
            const float inv = 1.0f / icl_hsum8(tot8);
            #pragma unroll
            for (int k = 0; k < LV; ++k) { sc8[u][k] *= inv; vstore8(sc8[u][k], k, at[u]); }   // zero past ICL_L
        }
        // c̃ = Σ_i attn_i c_i.
        pattern_coefficient_sums(cp8, at, pat, irr, kap, yv, pa, pb, nRelevant);
        // g = C̃ c̃ (the zero coefficients too: skipping them mispredicts), each row of C̃ loaded once for all
        // prompts;  F = Σ a_n ReLU(g_n)
        float8 g8[ICL_NP][MV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u)
            #pragma unroll
            for (int k = 0; k < MV; ++k) g8[u][k] = (float8)(0.0f);
        for (int r = 0; r < R; ++r) {
            float x[ICL_NP];
            #pragma unroll
            for (int u = 0; u < ICL_NP; ++u) x[u] = ((const float*)cp8[u])[r];
            #pragma unroll
            for (int k = 0; k < MV; ++k) {
                const float8 row = Ct[r * MV + k];
                #pragma unroll
                for (int u = 0; u < ICL_NP; ++u) g8[u][k] += row * x[u];
            }
        }
        int back[ICL_NP];
        int anyBack = 0;
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float8 f8 = (float8)(0.0f);
            #pragma unroll
            for (int k = 0; k < MV; ++k) f8 += a8[k] * fmax(g8[u][k], (float8)(0.0f));
            const float margin = z[u] * icl_hsum8(f8);
            const int live = b + u < b1;
            if (live) {
                lossSum += margin < 1.0f ? 1.0f - margin : 0.0f;
                errSum += margin > 0.0f ? 0.0f : 1.0f;
            }
            back[u] = train && live && margin < 1.0f;
            anyBack |= back[u];
        }
        if (!anyBack) continue;
        // dg = dF a ⊙ [g > 0] (zero for a prompt that does not backpropagate); dC̃ += dg c̃ᵀ, buffered.
        float8 dg8[ICL_NP][MV];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            const float dF = back[u] ? -z[u] / (float)batch : 0.0f;
            #pragma unroll
            for (int k = 0; k < MV; ++k) dg8[u][k] = select((float8)(0.0f), dF * a8[k], g8[u][k] > (float8)(0.0f));
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
        for (int k = 0; k < MV; ++k) {
            const int n = 8 * k;
            DCD_LANE(e8, s0, n) DCD_LANE(o8, s1, n + 1) DCD_LANE(e8, s2, n + 2) DCD_LANE(o8, s3, n + 3)
            DCD_LANE(e8, s4, n + 4) DCD_LANE(o8, s5, n + 5) DCD_LANE(e8, s6, n + 6) DCD_LANE(o8, s7, n + 7)
        }
        float mean[ICL_NP];
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            #pragma unroll
            for (int k = 0; k < RC; ++k) dcd8[u][k] = e8[u][k] + o8[u][k];
            mean[u] = 0.0f;
        }
#ifdef ICL_PERMUTE
        // da_i = c_i · dc̃ by table reads, its attention-weighted mean, then ds_i = attn_i (da_i − mean) into da
        // (zero past ICL_L, where attn is zero).
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            float16 lo, hi;
            icl_table32(dcd8[u], &lo, &hi);
            const float dq = ((const float*)dcd8[u])[qi];
            float8 d8[LV], m8 = (float8)(0.0f);
            #pragma unroll
            for (int k = 0; k < LV; ++k) {
                d8[k] = pattern_column_dots(lo, hi, dq, k, pat[u], irr[u], kap[u], yv[u], nRelevant);
                m8 += vload8(k, at[u]) * d8[k];
            }
            mean[u] = icl_hsum8(m8);
            #pragma unroll
            for (int k = 0; k < LV; ++k) vstore8(vload8(k, at[u]) * (d8[k] - mean[u]), k, da[u]);
        }
#else
        for (int s = 0; s < ICL_L; ++s) {
            #pragma unroll
            for (int u = 0; u < ICL_NP; ++u) {
                const float* dcd = (const float*)dcd8[u];
                da[u][s] = dcd[pat[u][s]] + kap[u][s] * dcd[nRelevant + irr[u][s]] + yv[u][s] * dcd[qi];
                mean[u] += at[u][s] * da[u][s];
            }
        }
        // dṽ = Σ_i ds_i c_i with ds_i = attn_i (da_i − mean), in place of da.
        for (int s = 0; s < ICL_L; ++s) {
            #pragma unroll
            for (int u = 0; u < ICL_NP; ++u) da[u][s] = at[u][s] * (da[u][s] - mean[u]);
        }
#endif
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
    if (train) {
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
    // The last tile to finish sums all of them (so a step needs no separate reduce launch) and re-arms the
    // counter for the next launch. The fence orders this tile's partials before its increment; the tile that
    // sees the count complete then reads every tile's, through volatile pointers so that no cache that is not
    // coherent between work-groups (a GPU's L1) can serve it stale values.
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    const int tiles = (int)get_num_groups(0);
    if (atomic_inc(tilesDone) != tiles - 1) return;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    *tilesDone = 0;
    pattern_reduce_tiles((__global const volatile float8*)partials, (__global const volatile float*)partStats, sums,
                         stats + 2 * statsSlot, tiles, batch, train);
}

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
