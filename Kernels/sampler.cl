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

// Draws column j of prompt `prompt` (its d values into `col`); returns the query label (±1) when j is
// the query column, else 0. relevant: [nRelevant, DX]; irrelevant: [nIrrelevant, DX]; q: [DY];
// tasks: [nTasks, 2] (a, b).
inline float icl_sample_column(float* col, const int j, const uint prompt,
                               __global const float* relevant, __global const float* irrelevant,
                               __global const float* q, __global const int* tasks,
                               const int nTasks, const int nRelevant, const int nIrrelevant,
                               const float alpha, const float K, const uint seedLo, const uint seedHi,
                               const uint step, const uint stream) {
    const uint4 head = icl_philox((uint4)(0xFFFFFFFFu, prompt, step, stream), seedLo, seedHi);
    const int task = icl_below(head.x, nTasks);
    const int pa = tasks[2 * task], pb = tasks[2 * task + 1];
    const int queryIsA = (head.y & 1u) == 0u;
    const uint4 r = icl_philox((uint4)((uint)j, prompt, step, stream), seedLo, seedHi);
    int pattern;
    float label;
    float queryLabel = 0.0f;
    if (j == ICL_COLS - 1) {
        pattern = queryIsA ? pa : pb;
        label = 0.0f;
        queryLabel = queryIsA ? 1.0f : -1.0f;
    } else {
        const float u = icl_unit(r.x);
        if (u < alpha * 0.5f) {
            pattern = pa; label = 1.0f;
        } else if (u < alpha || nRelevant <= 2) {
            pattern = pb; label = -1.0f;
        } else {
            int o = icl_below(r.w, nRelevant - 2);
            pattern = -1;
            for (int p = 0; p < nRelevant; ++p) {
                if (p == pa || p == pb) continue;
                if (o == 0) { pattern = p; break; }
                --o;
            }
            label = (r.w & 1u) == 0u ? 1.0f : -1.0f;
        }
    }
    const int k = icl_below(r.y, nIrrelevant);
    const float kappa = K * (2.0f * icl_unit(r.z) - 1.0f);
    for (int t = 0; t < ICL_DX; ++t) col[t] = relevant[pattern * ICL_DX + t] + kappa * irrelevant[k * ICL_DX + t];
    for (int t = 0; t < ICL_DY; ++t) col[ICL_DX + t] = label * q[t];
    return queryLabel;
}

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
