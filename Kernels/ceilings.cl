// Machine ceilings for `icl bench`, clpeak-style: what this device can do at best, measured in the same run.

// Peak FP32 on compilers that vectorise within a work-item (CPUs): each work-item runs ICL_PEAK_ITERS rounds of 8 independent float16 FMA chains
// (2 · 16 · 8 · ICL_PEAK_ITERS flops), then writes one value so nothing is optimised away.
__kernel void icl_peak_fma(__global float* out, const float seed) {
    const int gid = get_global_id(0);
    float16 x0 = (float16)(seed + gid), x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f;
    float16 x4 = x0 + 4.0f, x5 = x0 + 5.0f, x6 = x0 + 6.0f, x7 = x0 + 7.0f;
    const float16 m = (float16)(0.999f), c = (float16)(0.001f);
    // x · m + c contracts to one FMA (FP_CONTRACT is on); the fma() built-in would take float16 by value, which clang
    // warns about (-Wpsabi) on every build for a CPU without AVX-512.
    for (int i = 0; i < ICL_PEAK_ITERS; ++i) {
        x0 = x0 * m + c; x1 = x1 * m + c; x2 = x2 * m + c; x3 = x3 * m + c;
        x4 = x4 * m + c; x5 = x5 * m + c; x6 = x6 * m + c; x7 = x7 * m + c;
    }
    const float16 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
    out[gid] = s.s0 + s.s1 + s.s2 + s.s3 + s.s4 + s.s5 + s.s6 + s.s7 + s.s8 + s.s9 + s.sa + s.sb + s.sc + s.sd + s.se + s.sf;
}

// The same with twelve float8 chains (2 · 8 · 12 · ICL_PEAK_ITERS flops per work-item), for CPUs with 16 vector
// registers of 8 floats (AVX2): eight float16 chains need all 16 and more, so three spill to the stack and the probe
// reads half the FMA rate (measured: 125 against 234 GFLOP/s on one AMD EPYC with PoCL targeting haswell, then
// skylake-avx512). Twelve chains and the two constants fit in 14 registers; twelve cover an FMA latency of up to 6
// cycles on two FMA pipes.
__kernel void icl_peak_fma8(__global float* out, const float seed) {
    const int gid = get_global_id(0);
    float8 x0 = (float8)(seed + gid), x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f, x4 = x0 + 4.0f, x5 = x0 + 5.0f;
    float8 x6 = x0 + 6.0f, x7 = x0 + 7.0f, x8 = x0 + 8.0f, x9 = x0 + 9.0f, x10 = x0 + 10.0f, x11 = x0 + 11.0f;
    const float8 m = (float8)(0.999f), c = (float8)(0.001f);
    for (int i = 0; i < ICL_PEAK_ITERS; ++i) {
        x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
        x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
        x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c);
    }
    const float8 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;
    out[gid] = s.s0 + s.s1 + s.s2 + s.s3 + s.s4 + s.s5 + s.s6 + s.s7;
}

// The same with one float per chain (2 · 8 · ICL_PEAK_ITERS flops per work-item), for compilers that vectorise across
// work-items (GPUs, llvmpipe), where a float16 per work-item takes 16 registers per chain and spills. The host runs
// all three shapes and keeps the fastest.
__kernel void icl_peak_fma_scalar(__global float* out, const float seed) {
    const int gid = get_global_id(0);
    float x0 = seed + gid, x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f;
    float x4 = x0 + 4.0f, x5 = x0 + 5.0f, x6 = x0 + 6.0f, x7 = x0 + 7.0f;
    for (int i = 0; i < ICL_PEAK_ITERS; ++i) {
        x0 = fma(x0, 0.999f, 0.001f); x1 = fma(x1, 0.999f, 0.001f); x2 = fma(x2, 0.999f, 0.001f);
        x3 = fma(x3, 0.999f, 0.001f); x4 = fma(x4, 0.999f, 0.001f); x5 = fma(x5, 0.999f, 0.001f);
        x6 = fma(x6, 0.999f, 0.001f); x7 = fma(x7, 0.999f, 0.001f);
    }
    out[gid] = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
}

// Copy bandwidth: float4 per work-item (bytes moved = 2 · 16 · n).
__kernel void icl_copy_bandwidth(__global const float4* in, __global float4* out) {
    const int gid = get_global_id(0);
    out[gid] = in[gid];
}

// Launch latency: a kernel that does nothing, so its enqueue-to-end time is the launch overhead alone.
__kernel void icl_empty(void) {}
