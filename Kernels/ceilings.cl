// Machine ceilings for `icl bench`, clpeak-style: what this device can do at best, measured in the same run.

// Peak FP32 on compilers that vectorise within a work-item (CPUs): each work-item runs ICL_PEAK_ITERS rounds of 8 independent float16 FMA chains
// (2 · 16 · 8 · ICL_PEAK_ITERS flops), then writes one value so nothing is optimised away.
__kernel void icl_peak_fma(__global float* out, const float seed) {
    const int gid = get_global_id(0);
    float16 x0 = (float16)(seed + gid), x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f;
    float16 x4 = x0 + 4.0f, x5 = x0 + 5.0f, x6 = x0 + 6.0f, x7 = x0 + 7.0f;
    const float16 m = (float16)(0.999f), c = (float16)(0.001f);
    for (int i = 0; i < ICL_PEAK_ITERS; ++i) {
        x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
        x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    }
    const float16 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
    out[gid] = s.s0 + s.s1 + s.s2 + s.s3 + s.s4 + s.s5 + s.s6 + s.s7 + s.s8 + s.s9 + s.sa + s.sb + s.sc + s.sd + s.se + s.sf;
}

// The same with one float per chain (2 · 8 · ICL_PEAK_ITERS flops per work-item), for compilers that vectorise across
// work-items (GPUs, llvmpipe), where a float16 per work-item takes 16 registers per chain and spills. The host runs
// both and keeps the faster.
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
