// Plain SGD with a neuron mask over the whole parameter buffer (W_Q | W_K | W_V | W_O):
//   W ← W − η ∇W, and for row n of W_O: W_O[n,:] ← mask_n (W_O[n,:] − η ∇W_O[n,:]),
// so a pruned neuron's row stays exactly zero. One work-item per parameter.
__kernel void sgd_update(__global float* params, __global const float* grads, __global const float* mask,
                         const float lr) {
    const int k = get_global_id(0);
    if (k >= ICL_NPARAMS) return;
    const float updated = params[k] - lr * grads[k];
    params[k] = k < 3 * ICL_DD ? updated : mask[(k - 3 * ICL_DD) / ICL_D] * updated;
}
