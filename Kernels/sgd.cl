// Plain SGD with a neuron mask over the whole parameter buffer (W_Q | W_K | W_V | W_O), old → new (the caller then
// makes new the current weights, as every pipeline does):
//   W ← W − η ∇W, and for row n of W_O: W_O[n,:] ← mask_n (W_O[n,:] − η ∇W_O[n,:]),
// so a pruned neuron's row stays exactly zero. One work-item per parameter.
__kernel void sgd_update(__global const float* oldParams, __global float* newParams, __global const float* grads,
                         __global const float* mask, const float lr) {
    const int k = get_global_id(0);
    if (k >= ICL_NPARAMS) return;
    const float updated = oldParams[k] - lr * grads[k];
    newParams[k] = k < 3 * ICL_DD ? updated : mask[(k - 3 * ICL_DD) / ICL_D] * updated;
}
