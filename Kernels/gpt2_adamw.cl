// AdamW over the whole packed parameter buffer in one launch (reference: GPT2Reference.adamW):
//   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,  m̂ = m/c1,  v̂ = v/c2,
//   w ← w − η (m̂/(√v̂ + ε) + λ·decay[k]·w),
// with c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ (t = step + 1) computed on the host in double, and decay[k] ∈ {0, 1}
// marking the elements of the decayed tensors (the matrices). Both variants. Global [count].
__kernel void gpt2_adamw(__global float* params, __global const float* grads, __global float* m, __global float* v,
                         __global const float* decay, const float lr, const float beta1, const float beta2,
                         const float eps, const float c1, const float c2, const float lambda, const int count) {
    const int k = get_global_id(0);
    if (k >= count) return;
    const float g = grads[k];
    const float mk = beta1 * m[k] + (1.0f - beta1) * g;
    const float vk = beta2 * v[k] + (1.0f - beta2) * g * g;
    m[k] = mk;
    v[k] = vk;
    const float mHat = mk / c1, vHat = vk / c2;
    const float p = params[k];
    params[k] = p - lr * (mHat / (sqrt(vHat) + eps) + lambda * decay[k] * p);
}
