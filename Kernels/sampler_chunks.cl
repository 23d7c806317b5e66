// The chunk sampler of the CPU tile kernels (pattern_tile.cl, fused_tile.cl) and of fused_sample_dump: a prompt's
// columns eight at a time, as pattern-basis coefficients (icl_sample_coefficients) or dense columns
// (icl_sample_prompts8), bit for bit the prompts of sampler.cl. Needs sampler.cl, then the Philox layout the host chose
// (philox8_wide.cl or philox8_packed.cl: DevicePath.philoxFile), and ICL_DV.
// No contraction of a*b+c into fma, so x = μ + κν rounds exactly as in Swift.
#pragma OPENCL FP_CONTRACT OFF

// Prompts the pattern-space sampler draws per call.
#ifndef ICL_NP
#define ICL_NP 2
#endif
// Requires ICL_VREGS, the vector registers of the target (DevicePath.vectorRegisters; the programs that include this
// file pass it). Prompts whose independent chains a step keeps in registers side by side (the Philox rounds here, the
// pattern tile's dc̃-dots): all ICL_NP with 32 registers, one at a time with 16.
#define ICL_NP_TOGETHER (ICL_VREGS >= 32 ? ICL_NP : 1)
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
    icl_words8 W0[ICL_NP][ICL_NCH], W1[ICL_NP][ICL_NCH], W2[ICL_NP][ICL_NCH], W3[ICL_NP][ICL_NCH];
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        #pragma unroll
        for (int c = 0; c < ICL_NCH; ++c) {
            uint8 ctr = (uint8)((uint)(8 * c)) + (uint8)(0, 1, 2, 3, 4, 5, 6, 7);
            if (ICL_COLS % 8 != 0 && c == ICL_NCH - 1) ctr = select(ctr, (uint8)(0xFFFFFFFFu), ctr == (uint8)((uint)ICL_COLS));
            W0[u][c] = icl_words8_of(ctr); W1[u][c] = icl_words8_of((uint8)(firstPrompt + (uint)u));
            W2[u][c] = icl_words8_of((uint8)(step)); W3[u][c] = icl_words8_of((uint8)(stream));
        }
    }
    #pragma unroll
    for (int u0 = 0; u0 < ICL_NP; u0 += ICL_NP_TOGETHER) {
        uint k0 = seedLo, k1 = seedHi;
        for (int round = 0; round < 10; ++round) {
            #pragma unroll
            for (int u = u0; u < u0 + ICL_NP_TOGETHER; ++u) {
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
            vstore8(icl_words8_value(W0[u][ICL_NCH - 1]), 0, h0);
            vstore8(icl_words8_value(W1[u][ICL_NCH - 1]), 0, h1);
            icl_decode_head(h0[ICL_COLS % 8], h1[ICL_COLS % 8], tasks, nTasks, &pa[u], &pb[u], &queryIsA);
        }
#else
        icl_prompt_head(firstPrompt + (uint)u, tasks, nTasks, seedLo, seedHi, step, stream, &pa[u], &pb[u], &queryIsA);
#endif
        for (int c = 0; c < ICL_NCH; ++c)
            icl_decode_chunk(c, icl_words8_value(W0[u][c]), icl_words8_value(W1[u][c]), icl_words8_value(W2[u][c]),
                             icl_words8_value(W3[u][c]), pa[u], pb[u], queryIsA, nRelevant, nIrrelevant, alpha, K,
                             pat[u], irr[u], kap[u], yv[u]);
        z[u] = queryIsA ? 1.0f : -1.0f;
    }
}

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

#pragma OPENCL FP_CONTRACT ON
