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

// Tree reductions over the n floats red[0..n) (n a power of two) that items t = 0..n−1 of a work-group write: every
// item gets the result, combined in a fixed order. Called from uniform control flow by the whole work-group (items
// outside the n take part in the barriers only through their own red, as tile_wg's slots do).
inline float icl_tree_sum(__local float* red, const int t, const int n, const float value) {
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
inline float icl_tree_max(__local float* red, const int t, const int n, const float value) {
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

// The same over the whole work-group (get_local_size(0) items, one dimension).
inline float icl_group_sum(__local float* red, const float value) {
    return icl_tree_sum(red, get_local_id(0), get_local_size(0), value);
}
inline float icl_group_max(__local float* red, const float value) {
    return icl_tree_max(red, get_local_id(0), get_local_size(0), value);
}

// The hinge loss of one prompt, with margin m = z F (label z = ±1): loss max(0, 1 − m), an error where m ≤ 0, and
// the gradient of the batch's mean loss, ∂ℓ/∂F = −z/B where m < 1 (reference: Sources/ICLCore/Reference/Hinge.swift).
inline float icl_hinge_loss(const float margin) { return margin < 1.0f ? 1.0f - margin : 0.0f; }
inline float icl_hinge_error(const float margin) { return margin > 0.0f ? 0.0f : 1.0f; }
// Whether a hinge loss summed or averaged over prompts says some prompt back-propagated: a prompt's loss is > 0
// exactly when its margin is below 1, so the sum is exactly 0 when none did (a NaN counts as yes). The one rule by
// which the pattern tile writes its partials, pattern_reduce reads them, and both updates skip a still step.
inline int icl_any_backprop(const float loss) { return loss != 0.0f; }
inline float icl_hinge_dF(const float z, const float margin, const int batch) {
    return margin < 1.0f ? -z / (float)batch : 0.0f;
}
