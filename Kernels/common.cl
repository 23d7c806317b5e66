// Size-free helpers that every program starts with (ProgramBuild puts this file first). Nothing here reads a
// -D define: model sizes live in onelayer.cl and gpt2_common.cl.

// The sum of a vector's lanes.
inline float icl_hsum4(const float4 x) {
    const float2 s2 = x.lo + x.hi;
    return s2.x + s2.y;
}
inline float icl_hsum8(const float8 x) {
    const float4 s4 = x.lo + x.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}
inline float icl_hsum16(const float16 x) { return icl_hsum8(x.lo + x.hi); }

// Tree reduction (sum) over a work-group's local array of get_local_size(0) floats (a power of two); every item
// gets the total, summed in a fixed order. Must be called from uniform control flow.
inline float icl_group_sum(__local float* red, const float value) {
    const int t = get_local_id(0), n = get_local_size(0);
    red[t] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = n / 2; span > 0; span >>= 1) {
        if (t < span) red[t] += red[t + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// The same with max.
inline float icl_group_max(__local float* red, const float value) {
    const int t = get_local_id(0), n = get_local_size(0);
    red[t] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = n / 2; span > 0; span >>= 1) {
        if (t < span) red[t] = fmax(red[t], red[t + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// The hinge loss of one prompt, with margin m = z F (label z = ±1): loss max(0, 1 − m), an error where m ≤ 0, and
// the gradient of the batch's mean loss, ∂ℓ/∂F = −z/B where m < 1 (reference: Sources/ICLCore/Reference/Hinge.swift).
inline float icl_hinge_loss(const float margin) { return margin < 1.0f ? 1.0f - margin : 0.0f; }
inline float icl_hinge_error(const float margin) { return margin > 0.0f ? 0.0f : 1.0f; }
inline float icl_hinge_dF(const float z, const float margin, const int batch) {
    return margin < 1.0f ? -z / (float)batch : 0.0f;
}
