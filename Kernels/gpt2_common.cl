// Shared definitions of the GPT-2-style model's kernels (reference: Sources/ICLCore/GPT2/GPT2Ops.swift).
// Sizes arrive as -D defines (CLBlast-style specialisation):
//   GPT2_W   residual-stream width W
//   GPT2_H   attention heads H;  GPT2_HD  head width W / H
//   GPT2_WG  work-group size of the GPU-variant per-row kernels (a power of two)
//   GPT2_TS  tile edge of the GPU-variant matmul (work-groups of GPT2_TS × GPT2_TS)
// The batch B, tokens per prompt T and the matmul sizes are run-time arguments, so one program serves every
// prompt length and every linear layer. Weights, gradients and Adam moments are single buffers in
// GPT2Weights' packed order; kernels take element offsets into them.

#define GPT2_LN_EPS 1e-5f
#define GPT2_GELU_C 0.7978845608028654f
#define GPT2_GELU_A 0.044715f

// tanh(u) = sign(u)(1 − e^{−2|u|})/(1 + e^{−2|u|}), as the reference computes it (no overflow).
inline float gpt2_tanh(const float u) {
    const float e = exp(-2.0f * fabs(u));
    const float t = (1.0f - e) / (1.0f + e);
    return u < 0.0f ? -t : t;
}

// GELU, tanh approximation: ½ x (1 + tanh(√(2/π)(x + 0.044715 x³))).
inline float gpt2_gelu(const float x) {
    const float t = gpt2_tanh(GPT2_GELU_C * (x + GPT2_GELU_A * x * x * x));
    return 0.5f * x * (1.0f + t);
}

// d GELU / dx = ½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²).
inline float gpt2_gelu_slope(const float x) {
    const float t = gpt2_tanh(GPT2_GELU_C * (x + GPT2_GELU_A * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GPT2_GELU_C * (1.0f + 3.0f * GPT2_GELU_A * x * x);
}

// The same on float4 lanes (the vector epilogues of the matmul kernels).
inline float4 gpt2_tanh4(const float4 u) {
    const float4 e = exp(-2.0f * fabs(u));
    const float4 t = (1.0f - e) / (1.0f + e);
    return select(t, -t, u < (float4)(0.0f));
}

// tanh u with u = √(2/π)(x + 0.044715 x³): GELU(x) = ½ x (1 + t), and GELU'(x) from the same t.
inline float4 gpt2_gelu_tanh4(const float4 x) {
    return gpt2_tanh4(GPT2_GELU_C * (x + GPT2_GELU_A * x * x * x));
}

inline float4 gpt2_gelu_slope_from4(const float4 x, const float4 t) {
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GPT2_GELU_C * (1.0f + 3.0f * GPT2_GELU_A * x * x);
}

inline float4 gpt2_gelu_slope4(const float4 x) { return gpt2_gelu_slope_from4(x, gpt2_gelu_tanh4(x)); }

// Mean and 1/sqrt(variance + eps) of one row of GPT2_W values (biased variance, as GPT2Ops.layerNorm).
inline float2 gpt2_row_stats(__global const float* x) {
    float mu = 0.0f;
    for (int j = 0; j < GPT2_W; ++j) mu += x[j];
    mu /= (float)GPT2_W;
    float var = 0.0f;
    for (int j = 0; j < GPT2_W; ++j) { const float c = x[j] - mu; var += c * c; }
    var /= (float)GPT2_W;
    return (float2)(mu, 1.0f / sqrt(var + GPT2_LN_EPS));
}

// gpt2_row_stats for a work-group of GPT2_WG items sharing one row: (mean, 1/sqrt(var + eps)) to every item.
// Call from uniform control flow.
inline float2 gpt2_group_row_stats(__local float* red, __global const float* x) {
    const int t = get_local_id(0);
    float part = 0.0f;
    for (int j = t; j < GPT2_W; j += GPT2_WG) part += x[j];
    const float mu = icl_group_sum(red, part) / (float)GPT2_W;
    part = 0.0f;
    for (int j = t; j < GPT2_W; j += GPT2_WG) { const float c = x[j] - mu; part += c * c; }
    const float var = icl_group_sum(red, part) / (float)GPT2_W;
    return (float2)(mu, 1.0f / sqrt(var + GPT2_LN_EPS));
}
