// Batched softmax attention of the one-layer model, forward and backward (reference:
// Sources/ICLCore/Reference/Attention.swift). Per prompt P = [p_1 … p_l p_q]:
//   u = W_Q p_q,  v = W_Kᵀ u,  s_i = p_i · v,  attn = softmax(s over ICL_L columns),  c = Σ attn_i p_i
// Backward from dc: dattn_i = p_i · dc,  ds_i = attn_i (dattn_i − Σ attn_k dattn_k),
//   dv = Σ ds_i p_i,  du = W_K dv.  (Weight gradients are batch sums, done in reduce.cl.)
// Shapes: prompts [B, COLS, D]; u, v, c, dc, dv, du [B, D]; attn [B, L].

// ---- CPU variant: one work-item per prompt, no barriers -------------------------------------------
__kernel void attention_forward_wi(__global const float* prompts, __global const float* params,
                                   __global float* u, __global float* v, __global float* attn,
                                   __global float* c, const int batch) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    __global const float* P = prompts + (size_t)b * ICL_COLS * ICL_D;
    __global const float* pq = P + (ICL_COLS - 1) * ICL_D;
    __global const float* WQ = WQ_OF(params);
    __global const float* WK = WK_OF(params);
    float ub[ICL_D], vb[ICL_D], cb[ICL_D];
    for (int i = 0; i < ICL_D; ++i) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WQ[i * ICL_D + j] * pq[j];
        ub[i] = acc;
    }
    for (int j = 0; j < ICL_D; ++j) { vb[j] = 0.0f; cb[j] = 0.0f; }
    for (int i = 0; i < ICL_D; ++i)
        for (int j = 0; j < ICL_D; ++j) vb[j] += WK[i * ICL_D + j] * ub[i];
    __global float* a = attn + (size_t)b * ICL_L;
    float top = -INFINITY;
    for (int s = 0; s < ICL_L; ++s) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += P[s * ICL_D + j] * vb[j];
        a[s] = acc;
        top = fmax(top, acc);
    }
    float total = 0.0f;
    for (int s = 0; s < ICL_L; ++s) { const float e = exp(a[s] - top); a[s] = e; total += e; }
    const float inv = 1.0f / total;
    for (int s = 0; s < ICL_L; ++s) {
        const float w = a[s] * inv;
        a[s] = w;
        for (int j = 0; j < ICL_D; ++j) cb[j] += w * P[s * ICL_D + j];
    }
    for (int j = 0; j < ICL_D; ++j) {
        u[(size_t)b * ICL_D + j] = ub[j];
        v[(size_t)b * ICL_D + j] = vb[j];
        c[(size_t)b * ICL_D + j] = cb[j];
    }
}

__kernel void attention_backward_wi(__global const float* prompts, __global const float* params,
                                    __global const float* attn, __global const float* dc,
                                    __global float* dv, __global float* du, const int batch) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    __global const float* P = prompts + (size_t)b * ICL_COLS * ICL_D;
    __global const float* a = attn + (size_t)b * ICL_L;
    __global const float* WK = WK_OF(params);
    float dcb[ICL_D], dvb[ICL_D];
    for (int j = 0; j < ICL_D; ++j) { dcb[j] = dc[(size_t)b * ICL_D + j]; dvb[j] = 0.0f; }
    float mean = 0.0f;
    for (int s = 0; s < ICL_L; ++s) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += P[s * ICL_D + j] * dcb[j];
        mean += a[s] * acc;
    }
    for (int s = 0; s < ICL_L; ++s) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += P[s * ICL_D + j] * dcb[j];
        const float ds = a[s] * (acc - mean);
        for (int j = 0; j < ICL_D; ++j) dvb[j] += ds * P[s * ICL_D + j];
    }
    for (int i = 0; i < ICL_D; ++i) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WK[i * ICL_D + j] * dvb[j];
        du[(size_t)b * ICL_D + i] = acc;
        dv[(size_t)b * ICL_D + i] = dvb[i];
    }
}

// ---- GPU variant: one work-group (ICL_WG items) per prompt, vectors in local memory ---------------
__kernel __attribute__((reqd_work_group_size(ICL_WG, 1, 1)))
void attention_forward_wg(__global const float* prompts, __global const float* params,
                          __global float* u, __global float* v, __global float* attn,
                          __global float* c, const int batch) {
    const int b = get_group_id(0), t = get_local_id(0);
    __local float pq[ICL_D], ub[ICL_D], vb[ICL_D], sc[ICL_L], red[ICL_WG];
    __global const float* P = prompts + (size_t)b * ICL_COLS * ICL_D;
    __global const float* WQ = WQ_OF(params);
    __global const float* WK = WK_OF(params);
    for (int j = t; j < ICL_D; j += ICL_WG) pq[j] = P[(ICL_COLS - 1) * ICL_D + j];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = t; i < ICL_D; i += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WQ[i * ICL_D + j] * pq[j];
        ub[i] = acc;
        u[(size_t)b * ICL_D + i] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = t; j < ICL_D; j += ICL_WG) {
        float acc = 0.0f;
        for (int i = 0; i < ICL_D; ++i) acc += WK[i * ICL_D + j] * ub[i];
        vb[j] = acc;
        v[(size_t)b * ICL_D + j] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float top = -INFINITY;
    for (int s = t; s < ICL_L; s += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += P[s * ICL_D + j] * vb[j];
        sc[s] = acc;
        top = fmax(top, acc);
    }
    top = icl_group_max(red, top);
    float part = 0.0f;
    for (int s = t; s < ICL_L; s += ICL_WG) { const float e = exp(sc[s] - top); sc[s] = e; part += e; }
    const float inv = 1.0f / icl_group_sum(red, part);
    for (int s = t; s < ICL_L; s += ICL_WG) {
        sc[s] *= inv;
        attn[(size_t)b * ICL_L + s] = sc[s];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = t; j < ICL_D; j += ICL_WG) {
        float acc = 0.0f;
        for (int s = 0; s < ICL_L; ++s) acc += sc[s] * P[s * ICL_D + j];
        c[(size_t)b * ICL_D + j] = acc;
    }
}

__kernel __attribute__((reqd_work_group_size(ICL_WG, 1, 1)))
void attention_backward_wg(__global const float* prompts, __global const float* params,
                           __global const float* attn, __global const float* dc,
                           __global float* dv, __global float* du, const int batch) {
    const int b = get_group_id(0), t = get_local_id(0);
    __local float dcb[ICL_D], dvb[ICL_D], ds[ICL_L], red[ICL_WG];
    __global const float* P = prompts + (size_t)b * ICL_COLS * ICL_D;
    __global const float* a = attn + (size_t)b * ICL_L;
    __global const float* WK = WK_OF(params);
    for (int j = t; j < ICL_D; j += ICL_WG) dcb[j] = dc[(size_t)b * ICL_D + j];
    barrier(CLK_LOCAL_MEM_FENCE);
    float part = 0.0f;
    for (int s = t; s < ICL_L; s += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += P[s * ICL_D + j] * dcb[j];
        ds[s] = acc;
        part += a[s] * acc;
    }
    const float mean = icl_group_sum(red, part);
    for (int s = t; s < ICL_L; s += ICL_WG) ds[s] = a[s] * (ds[s] - mean);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = t; j < ICL_D; j += ICL_WG) {
        float acc = 0.0f;
        for (int s = 0; s < ICL_L; ++s) acc += ds[s] * P[s * ICL_D + j];
        dvb[j] = acc;
        dv[(size_t)b * ICL_D + j] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = t; i < ICL_D; i += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WK[i * ICL_D + j] * dvb[j];
        du[(size_t)b * ICL_D + i] = acc;
    }
}
