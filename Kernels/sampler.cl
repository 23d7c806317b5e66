// On-device prompt sampling: the twin of Sources/ICLCore/Data/PromptSampler.swift, bit for bit.
// Philox-4x32-10 keyed by the seed; counter (column, prompt, step, stream). No contraction of a*b+c
// into fma, so x = μ + κν rounds exactly as in Swift.
#pragma OPENCL FP_CONTRACT OFF

inline uint4 icl_philox(uint4 x, uint k0, uint k1) {
    for (int round = 0; round < 10; ++round) {
        const uint hi0 = mul_hi(0xD2511F53u, x.x), lo0 = 0xD2511F53u * x.x;
        const uint hi1 = mul_hi(0xCD9E8D57u, x.z), lo1 = 0xCD9E8D57u * x.z;
        x = (uint4)(hi1 ^ x.y ^ k0, lo1, hi0 ^ x.w ^ k1, lo0);
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return x;
}

inline float icl_unit(uint r) { return (float)(r >> 8) * 0x1.0p-24f; }
inline int icl_below(uint r, int n) { return (int)(((ulong)(r >> 8) * (ulong)n) >> 24); }

// A prompt's task (a, b) and whether its query has pattern a, from the first two words of its head block.
inline void icl_decode_head(const uint w0, const uint w1, __global const int* tasks, const int nTasks,
                            int* pa, int* pb, int* queryIsA) {
    const int task = icl_below(w0, nTasks);
    *pa = tasks[2 * task];
    *pb = tasks[2 * task + 1];
    *queryIsA = (w1 & 1u) == 0u;
}

// A prompt's head block (0xFFFFFFFF, prompt, step, stream), decoded.
inline void icl_prompt_head(const uint prompt, __global const int* tasks, const int nTasks, const uint seedLo,
                            const uint seedHi, const uint step, const uint stream, int* pa, int* pb, int* queryIsA) {
    const uint4 head = icl_philox((uint4)(0xFFFFFFFFu, prompt, step, stream), seedLo, seedHi);
    icl_decode_head(head.x, head.y, tasks, nTasks, pa, pb, queryIsA);
}

// The o-th relevant pattern other than a and b, in increasing order (the "other" patterns of PAPER.md §1).
inline int icl_other_pattern(int o, const int pa, const int pb) {
    const int lo = min(pa, pb), hi = max(pa, pb);
    o += o >= lo ? 1 : 0;
    o += o >= hi ? 1 : 0;
    return o;
}

// Pattern and label of context column j from its random words r0 (category) and r3 (other pattern, label
// bit); the query column (j = COLS − 1) gets pattern a or b and label slot 0.
inline float icl_column_pattern(const uint r0, const uint r3, const int j, const int pa, const int pb,
                                const int queryIsA, const int nRelevant, const float alpha, int* pattern) {
    if (j == ICL_COLS - 1) { *pattern = queryIsA ? pa : pb; return 0.0f; }
    const float u = icl_unit(r0);
    if (u < alpha * 0.5f) { *pattern = pa; return 1.0f; }
    if (u < alpha || nRelevant <= 2) { *pattern = pb; return -1.0f; }
    *pattern = icl_other_pattern(icl_below(r3, nRelevant - 2), pa, pb);
    return (r3 & 1u) == 0u ? 1.0f : -1.0f;
}

// Column j of prompt `prompt` as the draw decides it: its relevant pattern, irrelevant pattern k, κ and label
// (0 for the query column); returns the query label (±1) when j is the query column, else 0. Every sampler that
// builds a column (dense here, in pattern coordinates in wg_columns_pattern.cl) starts from this.
inline float icl_column_draw(const int j, const uint prompt, __global const int* tasks, const int nTasks,
                             const int nRelevant, const int nIrrelevant, const float alpha, const float K,
                             const uint seedLo, const uint seedHi, const uint step, const uint stream,
                             int* pattern, int* k, float* kappa, float* label) {
    int pa, pb, queryIsA;
    icl_prompt_head(prompt, tasks, nTasks, seedLo, seedHi, step, stream, &pa, &pb, &queryIsA);
    const uint4 r = icl_philox((uint4)((uint)j, prompt, step, stream), seedLo, seedHi);
    *label = icl_column_pattern(r.x, r.w, j, pa, pb, queryIsA, nRelevant, alpha, pattern);
    *k = icl_below(r.y, nIrrelevant);
    *kappa = K * (2.0f * icl_unit(r.z) - 1.0f);
    return j == ICL_COLS - 1 ? (queryIsA ? 1.0f : -1.0f) : 0.0f;
}

// A drawn column's d values into col (private or local memory): μ_pattern + κ ν_k, then label · q.
#define ICL_DENSE_COLUMN(col, pattern, k, kappa, label, relevant, irrelevant, q)                                     \
    for (int t = 0; t < ICL_DX; ++t) (col)[t] = (relevant)[(pattern) * ICL_DX + t] + (kappa) * (irrelevant)[(k) * ICL_DX + t]; \
    for (int t = 0; t < ICL_DY; ++t) (col)[ICL_DX + t] = (label) * (q)[t];

// Draws column j of prompt `prompt` (its d values into `col`); returns the query label (±1) when j is
// the query column, else 0. relevant: [nRelevant, DX]; irrelevant: [nIrrelevant, DX]; q: [DY];
// tasks: [nTasks, 2] (a, b).
inline float icl_sample_column(float* col, const int j, const uint prompt,
                               __global const float* relevant, __global const float* irrelevant,
                               __global const float* q, __global const int* tasks,
                               const int nTasks, const int nRelevant, const int nIrrelevant,
                               const float alpha, const float K, const uint seedLo, const uint seedHi,
                               const uint step, const uint stream) {
    int pattern, k;
    float kappa, label;
    const float z = icl_column_draw(j, prompt, tasks, nTasks, nRelevant, nIrrelevant, alpha, K, seedLo, seedHi, step,
                                    stream, &pattern, &k, &kappa, &label);
    ICL_DENSE_COLUMN(col, pattern, k, kappa, label, relevant, irrelevant, q)
    return z;
}

// Philox-4x32-10 on eight counters at once (first word varies per lane): eight columns' words per call.
// Each 32-bit word lives in the low half of a ulong lane and the high half is ignored, so every product is
// one packed 32×32→64 multiply (vpmuludq) with no widening or narrowing moves around it.
// ulong8 from uint8 and back, and int8 from ulong8, lane by lane: the same values as convert_ulong8, convert_uint8
// and convert_int8 (zero-extend, truncate), without calling those built-ins, which take or return 512-bit vectors by
// value and so make clang warn about the AVX ABI (-Wpsabi) on every build for a CPU without AVX-512.
#define ICL_TO_ULONG8(v) ((ulong8)((ulong)(v).s0, (ulong)(v).s1, (ulong)(v).s2, (ulong)(v).s3, \
                                   (ulong)(v).s4, (ulong)(v).s5, (ulong)(v).s6, (ulong)(v).s7))
#define ICL_TO_UINT8(v) ((uint8)((uint)(v).s0, (uint)(v).s1, (uint)(v).s2, (uint)(v).s3, \
                                 (uint)(v).s4, (uint)(v).s5, (uint)(v).s6, (uint)(v).s7))
#define ICL_TO_INT8(v) ((int8)((int)(v).s0, (int)(v).s1, (int)(v).s2, (int)(v).s3, \
                               (int)(v).s4, (int)(v).s5, (int)(v).s6, (int)(v).s7))

inline void icl_philox8_round(ulong8* x0, ulong8* x1, ulong8* x2, ulong8* x3, const ulong k0, const ulong k1) {
    const ulong8 p0 = (*x0 & (ulong8)(0xFFFFFFFFul)) * (ulong8)(0xD2511F53ul);
    const ulong8 p1 = (*x2 & (ulong8)(0xFFFFFFFFul)) * (ulong8)(0xCD9E8D57ul);
    *x0 = (p1 >> 32) ^ *x1 ^ (ulong8)(k0);
    *x1 = p1;
    *x2 = (p0 >> 32) ^ *x3 ^ (ulong8)(k1);
    *x3 = p0;
}

// Prompts the pattern-space sampler draws per call.
#ifndef ICL_NP
#define ICL_NP 2
#endif
// Vector registers of the target (DevicePath.vectorRegisters, passed by the programs with a CPU tile kernel; 16 where
// none is passed). Prompts whose Philox rounds interleave: all ICL_NP with 32, one at a time with 16.
#ifndef ICL_VREGS
#define ICL_VREGS 16
#endif
#define ICL_PHILOX_PROMPTS (ICL_VREGS >= 32 ? ICL_NP : 1)
#define ICL_NCH ((ICL_COLS + 7) / 8)
// A prompt's per-column coefficient arrays are padded to whole chunks of eight (the lanes past the last column
// hold the decode of the spare counters: finite values that no sum uses), so they can be read as float8s.
#define ICL_COLS8 (8 * ICL_NCH)

// Columns 8c … 8c+7 of one prompt from their Philox words (r0: category, r1: irrelevant pattern, r2: κ,
// r3: other pattern and label bit), with vector ops: the same arithmetic as icl_column_pattern, lane-wise.
inline __attribute__((always_inline)) void icl_decode_chunk(const int c, const uint8 r0, const uint8 r1, const uint8 r2, const uint8 r3,
                             const int pa, const int pb, const int queryIsA, const int nRelevant,
                             const int nIrrelevant, const float alpha, const float K,
                             int* pat, int* irr, float* kap, float* yv) {
    const int lo = min(pa, pb), hi = max(pa, pb);
    const int nOther = max(nRelevant - 2, 1);
    const int j0 = 8 * c;
    const int8 j = (int8)(j0) + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
    const float8 u = convert_float8(r0 >> 8) * 0x1.0p-24f;
    const int8 isA = u < (float8)(alpha * 0.5f);
    const int8 isB = ~isA & ((u < (float8)(alpha)) | (int8)(nRelevant <= 2 ? -1 : 0));
    const ulong8 oScaled = (ICL_TO_ULONG8(r3 >> 8) * (ulong8)(nOther)) >> 24;
    int8 o = ICL_TO_INT8(oScaled);
    o += select((int8)(0), (int8)(1), o >= (int8)(lo));
    o += select((int8)(0), (int8)(1), o >= (int8)(hi));
    const float8 other = select((float8)(-1.0f), (float8)(1.0f), (r3 & (uint8)(1)) == (uint8)(0));
    int8 pattern = select(select(o, (int8)(pb), isB), (int8)(pa), isA);
    float8 label = select(select(other, (float8)(-1.0f), isB), (float8)(1.0f), isA);
    const int8 isQuery = j == (int8)(ICL_COLS - 1);
    pattern = select(pattern, (int8)(queryIsA ? pa : pb), isQuery);
    label = select(label, (float8)(0.0f), isQuery);
    const ulong8 kScaled = (ICL_TO_ULONG8(r1 >> 8) * (ulong8)(nIrrelevant)) >> 24;
    const int8 k = ICL_TO_INT8(kScaled);
    const float8 kappa = (float8)(K) * ((float8)(2.0f) * (convert_float8(r2 >> 8) * 0x1.0p-24f) - (float8)(1.0f));
    vstore8(pattern, 0, pat + j0); vstore8(k, 0, irr + j0); vstore8(kappa, 0, kap + j0); vstore8(label, 0, yv + j0);
}

// ICL_NP prompts (firstPrompt, firstPrompt + 1, …) as coefficients in the pattern basis (for the
// pattern-space kernel): for prompt u and column j, its relevant pattern pat[u][j], irrelevant pattern
// irr[u][j], κ kap[u][j] and label yv[u][j] (0 for the query) — the same random words as
// icl_sample_column, so each prompt is exactly the one the other samplers build. z[u] receives the query
// label, pa[u] and pb[u] the task's two patterns.
inline __attribute__((always_inline)) void icl_sample_coefficients(int (*pat)[ICL_COLS8], int (*irr)[ICL_COLS8], float (*kap)[ICL_COLS8],
                                    float (*yv)[ICL_COLS8], int* pa, int* pb, float* z, const uint firstPrompt,
                                    __global const int* tasks, const int nTasks, const int nRelevant,
                                    const int nIrrelevant, const float alpha, const float K, const uint seedLo,
                                    const uint seedHi, const uint step, const uint stream) {
    // All Philox blocks first, eight columns per chunk. When l + 1 is not a multiple of 8, the first spare lane
    // of the last chunk computes the prompt's head block (counter word 0xFFFFFFFF) instead of a separate call.
    // The rounds of a prompt's chunks are interleaved (chunk loop inside the round loop) so their independent
    // multiply chains overlap; one chunk at a time leaves the core waiting on each round's latency. With 16 vector
    // registers the prompts run one after the other: all their chunks at once (8 · ICL_NCH · ICL_NP registers of
    // state on AVX2, 48 at l = 20) spill (traced pattern tile on PoCL built for haswell: 190 → 178 µs).
    ulong8 W0[ICL_NP][ICL_NCH], W1[ICL_NP][ICL_NCH], W2[ICL_NP][ICL_NCH], W3[ICL_NP][ICL_NCH];
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        #pragma unroll
        for (int c = 0; c < ICL_NCH; ++c) {
            uint8 ctr = (uint8)((uint)(8 * c)) + (uint8)(0, 1, 2, 3, 4, 5, 6, 7);
            if (ICL_COLS % 8 != 0 && c == ICL_NCH - 1) ctr = select(ctr, (uint8)(0xFFFFFFFFu), ctr == (uint8)((uint)ICL_COLS));
            W0[u][c] = ICL_TO_ULONG8(ctr); W1[u][c] = (ulong8)(firstPrompt + (uint)u);
            W2[u][c] = (ulong8)(step); W3[u][c] = (ulong8)(stream);
        }
    }
    #pragma unroll
    for (int u0 = 0; u0 < ICL_NP; u0 += ICL_PHILOX_PROMPTS) {
        uint k0 = seedLo, k1 = seedHi;
        for (int round = 0; round < 10; ++round) {
            #pragma unroll
            for (int u = u0; u < u0 + ICL_PHILOX_PROMPTS; ++u) {
                #pragma unroll
                for (int c = 0; c < ICL_NCH; ++c) icl_philox8_round(&W0[u][c], &W1[u][c], &W2[u][c], &W3[u][c], k0, k1);
            }
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
    }
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        int queryIsA;
#if ICL_COLS % 8 != 0
        {
            uint h0[8], h1[8];
            vstore8(ICL_TO_UINT8(W0[u][ICL_NCH - 1]), 0, h0);
            vstore8(ICL_TO_UINT8(W1[u][ICL_NCH - 1]), 0, h1);
            icl_decode_head(h0[ICL_COLS % 8], h1[ICL_COLS % 8], tasks, nTasks, &pa[u], &pb[u], &queryIsA);
        }
#else
        icl_prompt_head(firstPrompt + (uint)u, tasks, nTasks, seedLo, seedHi, step, stream, &pa[u], &pb[u], &queryIsA);
#endif
        for (int c = 0; c < ICL_NCH; ++c)
            icl_decode_chunk(c, ICL_TO_UINT8(W0[u][c]), ICL_TO_UINT8(W1[u][c]), ICL_TO_UINT8(W2[u][c]),
                             ICL_TO_UINT8(W3[u][c]), pa[u], pb[u], queryIsA, nRelevant, nIrrelevant, alpha, K,
                             pat[u], irr[u], kap[u], yv[u]);
        z[u] = queryIsA ? 1.0f : -1.0f;
    }
}

#ifdef ICL_DV
// ICL_NP whole prompts (firstPrompt, firstPrompt + 1, …) into registers, rows as ICL_DV float8s (for the fused
// kernel): the pattern-space sampler's coefficients, then each column μ_pattern + κ ν_k, or label · q in the label
// slots. Bit-identical to icl_sample_column: the same words, the same roundings, and the label slots selected rather
// than added so signed zeros match too. relP: [nRelevant, DV] and irrP: [nIrrelevant, DV] hold the patterns
// zero-padded to DV·8; qP: [DV] holds q at lanes DX..D−1. z[u] receives prompt u's query label.
inline __attribute__((always_inline)) void icl_sample_prompts8(float8 (*P)[ICL_COLS * ICL_DV], float* z, const uint firstPrompt,
                                __global const float8* relP, __global const float8* irrP, __global const float8* qP,
                                __global const int* tasks, const int nTasks, const int nRelevant, const int nIrrelevant,
                                const float alpha, const float K, const uint seedLo, const uint seedHi,
                                const uint step, const uint stream) {
    int pat[ICL_NP][ICL_COLS8], irr[ICL_NP][ICL_COLS8], pa[ICL_NP], pb[ICL_NP];
    float kap[ICL_NP][ICL_COLS8], yv[ICL_NP][ICL_COLS8];
    icl_sample_coefficients(pat, irr, kap, yv, pa, pb, z, firstPrompt, tasks, nTasks, nRelevant, nIrrelevant, alpha,
                            K, seedLo, seedHi, step, stream);
    int8 isLabel[ICL_DV];
    #pragma unroll
    for (int c = 0; c < ICL_DV; ++c) {
        const int8 t = (int8)(8 * c) + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
        isLabel[c] = (t >= (int8)(ICL_DX)) & (t < (int8)(ICL_D));
    }
    for (int j = 0; j < ICL_COLS; ++j) {
        #pragma unroll
        for (int u = 0; u < ICL_NP; ++u) {
            const int pattern = pat[u][j], k = irr[u][j];
            const float kappa = kap[u][j], label = yv[u][j];
            #pragma unroll
            for (int c = 0; c < ICL_DV; ++c) {
                const float8 x = relP[pattern * ICL_DV + c] + kappa * irrP[k * ICL_DV + c];
                P[u][j * ICL_DV + c] = select(x, label * qP[c], isLabel[c]);
            }
        }
    }
}
#endif

// One work-item per prompt column. prompts: [batch, COLS, D]; labels: [batch] (query label ±1).
__kernel void sample_prompts(__global float* prompts, __global float* labels,
                             __global const float* relevant, __global const float* irrelevant,
                             __global const float* q, __global const int* tasks,
                             const int nTasks, const int nRelevant, const int nIrrelevant,
                             const float alpha, const float K, const uint seedLo, const uint seedHi,
                             const uint step, const uint stream, const uint firstPrompt, const int batch) {
    const int gid = get_global_id(0);
    const int b = gid / ICL_COLS, j = gid % ICL_COLS;
    if (b >= batch) return;
    float col[ICL_D];
    const float z = icl_sample_column(col, j, firstPrompt + (uint)b, relevant, irrelevant, q, tasks, nTasks,
                                      nRelevant, nIrrelevant, alpha, K, seedLo, seedHi, step, stream);
    __global float* out = prompts + ((size_t)b * ICL_COLS + j) * ICL_D;
    for (int t = 0; t < ICL_D; ++t) out[t] = col[t];
    if (j == ICL_COLS - 1) labels[b] = z;
}

#pragma OPENCL FP_CONTRACT ON
