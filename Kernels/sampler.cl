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

// ulong8 from uint8 and back, and int8 from ulong8, lane by lane: the same values as convert_ulong8, convert_uint8
// and convert_int8 (zero-extend, truncate), without calling those built-ins, which take or return 512-bit vectors by
// value and so make clang warn about the AVX ABI (-Wpsabi) on every build for a CPU without AVX-512.
#define ICL_TO_ULONG8(v) ((ulong8)((ulong)(v).s0, (ulong)(v).s1, (ulong)(v).s2, (ulong)(v).s3, \
                                   (ulong)(v).s4, (ulong)(v).s5, (ulong)(v).s6, (ulong)(v).s7))
#define ICL_TO_UINT8(v) ((uint8)((uint)(v).s0, (uint)(v).s1, (uint)(v).s2, (uint)(v).s3, \
                                 (uint)(v).s4, (uint)(v).s5, (uint)(v).s6, (uint)(v).s7))
#define ICL_TO_INT8(v) ((int8)((int)(v).s0, (int)(v).s1, (int)(v).s2, (int)(v).s3, \
                               (int)(v).s4, (int)(v).s5, (int)(v).s6, (int)(v).s7))

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
