// Hinge loss ℓ = mean_b max(0, 1 − z_b F_b) and its gradient (reference: Reference/Hinge.swift).

// One work-item per prompt: dF_b = −z_b / B where z_b F_b < 1; per-prompt loss and error terms.
__kernel void hinge_grad(__global const float* F, __global const float* labels, __global float* dF,
                         __global float* lossTerm, __global float* errTerm, const int batch) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    const float margin = labels[b] * F[b];
    dF[b] = icl_hinge_dF(labels[b], margin, batch);
    lossTerm[b] = icl_hinge_loss(margin);
    errTerm[b] = icl_hinge_error(margin);
}

// One work-group sums the terms in a fixed order (deterministic): stats[0] = mean loss,
// stats[1] = error count. Local size is any power of two; scratch holds 2 × local size floats.
__kernel void reduce_stats(__global const float* lossTerm, __global const float* errTerm,
                           __global float* stats, __local float* scratch, const int batch) {
    const int t = get_local_id(0), n = get_local_size(0);
    float loss = 0.0f, err = 0.0f;
    for (int b = t; b < batch; b += n) { loss += lossTerm[b]; err += errTerm[b]; }
    scratch[t] = loss;
    scratch[n + t] = err;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = n / 2; span > 0; span >>= 1) {
        if (t < span) { scratch[t] += scratch[t + span]; scratch[n + t] += scratch[n + t + span]; }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) { stats[0] = scratch[0] / (float)batch; stats[1] = scratch[n]; }
}
