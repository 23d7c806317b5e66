// Value projection and ReLU MLP read-out (reference: Sources/ICLCore/Reference/MLP.swift).
//   h = W_V c,  g = W_O h,  F = Σ_n a_n ReLU(g_n)
// Backward from dF: dg_n = dF a_n [g_n > 0],  dh = W_Oᵀ dg,  dc = W_Vᵀ dh.
// Shapes: c, h, dh, dc [B, D]; g, dg [B, M]; F, dF [B]; a [M].

// ---- CPU variant: one work-item per prompt ----------------------------------------------------------
__kernel void mlp_forward_wi(__global const float* c, __global const float* params, __global const float* a,
                             __global float* h, __global float* g, __global float* F, const int batch) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    float cb[ICL_D], hb[ICL_D];
    for (int j = 0; j < ICL_D; ++j) cb[j] = c[(size_t)b * ICL_D + j];
    for (int i = 0; i < ICL_D; ++i) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WV[i * ICL_D + j] * cb[j];
        hb[i] = acc;
        h[(size_t)b * ICL_D + i] = acc;
    }
    float out = 0.0f;
    for (int n = 0; n < ICL_M; ++n) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WO[n * ICL_D + j] * hb[j];
        g[(size_t)b * ICL_M + n] = acc;
        out += a[n] * fmax(acc, 0.0f);
    }
    F[b] = out;
}

__kernel void mlp_backward_wi(__global const float* dF, __global const float* params, __global const float* a,
                              __global const float* g, __global float* dg, __global float* dh,
                              __global float* dc, const int batch) {
    const int b = get_global_id(0);
    if (b >= batch) return;
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    const float dFb = dF[b];
    float dhb[ICL_D];
    for (int j = 0; j < ICL_D; ++j) dhb[j] = 0.0f;
    for (int n = 0; n < ICL_M; ++n) {
        const float dgn = g[(size_t)b * ICL_M + n] > 0.0f ? dFb * a[n] : 0.0f;
        dg[(size_t)b * ICL_M + n] = dgn;
        for (int j = 0; j < ICL_D; ++j) dhb[j] += WO[n * ICL_D + j] * dgn;
    }
    for (int j = 0; j < ICL_D; ++j) {
        float acc = 0.0f;
        for (int i = 0; i < ICL_D; ++i) acc += WV[i * ICL_D + j] * dhb[i];
        dc[(size_t)b * ICL_D + j] = acc;
        dh[(size_t)b * ICL_D + j] = dhb[j];
    }
}

// ---- GPU variant: one work-group per prompt ---------------------------------------------------------
__kernel __attribute__((reqd_work_group_size(ICL_WG, 1, 1)))
void mlp_forward_wg(__global const float* c, __global const float* params, __global const float* a,
                    __global float* h, __global float* g, __global float* F, const int batch) {
    const int b = get_group_id(0), t = get_local_id(0);
    __local float cb[ICL_D], hb[ICL_D], red[ICL_WG];
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    for (int j = t; j < ICL_D; j += ICL_WG) cb[j] = c[(size_t)b * ICL_D + j];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = t; i < ICL_D; i += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WV[i * ICL_D + j] * cb[j];
        hb[i] = acc;
        h[(size_t)b * ICL_D + i] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float part = 0.0f;
    for (int n = t; n < ICL_M; n += ICL_WG) {
        float acc = 0.0f;
        for (int j = 0; j < ICL_D; ++j) acc += WO[n * ICL_D + j] * hb[j];
        g[(size_t)b * ICL_M + n] = acc;
        part += a[n] * fmax(acc, 0.0f);
    }
    const float total = icl_group_sum(red, part);
    if (t == 0) F[b] = total;
}

__kernel __attribute__((reqd_work_group_size(ICL_WG, 1, 1)))
void mlp_backward_wg(__global const float* dF, __global const float* params, __global const float* a,
                     __global const float* g, __global float* dg, __global float* dh,
                     __global float* dc, const int batch) {
    const int b = get_group_id(0), t = get_local_id(0);
    __local float dhb[ICL_D];
    __global const float* WV = WV_OF(params);
    __global const float* WO = WO_OF(params);
    const float dFb = dF[b];
    __global float* dgb = dg + (size_t)b * ICL_M;
    for (int n = t; n < ICL_M; n += ICL_WG) dgb[n] = g[(size_t)b * ICL_M + n] > 0.0f ? dFb * a[n] : 0.0f;
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int j = t; j < ICL_D; j += ICL_WG) {
        float acc = 0.0f;
        for (int n = 0; n < ICL_M; ++n) acc += WO[n * ICL_D + j] * dgb[n];
        dhb[j] = acc;
        dh[(size_t)b * ICL_D + j] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = t; j < ICL_D; j += ICL_WG) {
        float acc = 0.0f;
        for (int i = 0; i < ICL_D; ++i) acc += WV[i * ICL_D + j] * dhb[i];
        dc[(size_t)b * ICL_D + j] = acc;
    }
}
