// The pattern pipeline's reduce launch (both kernel variants): one work-item per float8 of dÃᵀ | dC̃ sums that entry
// over the tiles' partials in tile order (deterministic), and for dÃᵀ also writes its transpose dÃ after both, for
// pattern_grads_sgd. Work-item 0 sums the tiles' statistics into slot statsSlot of stats: (mean loss, errors), so
// several steps can run before the host reads their statistics in one transfer. Launch PART_SIZE / 8 work-items
// when training, 1 for inference. A separate launch, not the last tile of the tile kernel: OpenCL 1.2 orders
// nothing between the work-groups of one launch. A tile whose loss sum is exactly 0 back-propagated nothing: its
// partials are +0 (the CPU variant's tile does not even write them) and it is skipped, which changes no sum (each
// starts at +0, so adding +0 is exact).
__kernel void pattern_reduce(__global const float8* partials, __global const float* partStats, __global float8* sums,
                             __global float* stats, const int statsSlot, const int tiles, const int batch,
                             const int train) {
    const int e = get_global_id(0);
    if (train && e < PART_SIZE / 8) {
        float8 acc = (float8)(0.0f);
        for (int t = 0; t < tiles; ++t)
            if (icl_any_backprop(partStats[2 * t])) acc += partials[(size_t)t * (PART_SIZE / 8) + e];
        sums[e] = acc;
        if (e < RMAX * RV) {                      // dÃᵀ[b][8c..8c+7] → dÃ[8c + lane][b]
            __global float* dA = (__global float*)(sums + PART_SIZE / 8);
            const int b = e / RV, c = e % RV;
            float lanes[8];
            vstore8(acc, 0, lanes);
            for (int lane = 0; lane < 8; ++lane) dA[(8 * c + lane) * RMAX + b] = lanes[lane];
        }
    }
    if (e == 0) {
        float loss = 0.0f, err = 0.0f;
        for (int t = 0; t < tiles; ++t) { loss += partStats[2 * t]; err += partStats[2 * t + 1]; }
        stats[2 * statsSlot] = loss / (float)batch;
        stats[2 * statsSlot + 1] = err;
    }
}
