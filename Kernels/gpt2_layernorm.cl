// LayerNorm over rows of GPT2_W (reference: GPT2Ops.layerNorm / layerNormBackward).
//   forward:  y = γ ⊙ (x − mean)·rstd + β,  rstd = 1/√(var + ε) (biased variance, two passes)
//   backward: with x̂ = (x − mean)·rstd and g = dy ⊙ γ:  dx = [dres +] rstd (g − mean(g) − x̂ mean(g ⊙ x̂))
//   grads:    dγ = Σ_rows dy ⊙ x̂,  dβ = Σ_rows dy   (written into the packed gradient buffer)
// γ and β live in the packed parameter buffer at gOff and bOff. x, y, dy, dx, dres: [n, W]; mean, rstd: [n].

// ---- CPU variant: one work-item per row (per column for the parameter gradients) -------------------------
__kernel void gpt2_ln_fwd_wi(__global const float* X, __global const float* params, const int gOff, const int bOff,
                             __global float* Y, __global float* mean, __global float* rstd, const int n) {
    const int r = get_global_id(0);
    if (r >= n) return;
    __global const float* x = X + (size_t)r * GPT2_W;
    const float2 st = gpt2_row_stats(x);
    const float mu = st.x, rs = st.y;
    mean[r] = mu;
    rstd[r] = rs;
    __global float* y = Y + (size_t)r * GPT2_W;
    for (int j = 0; j < GPT2_W; ++j) y[j] = params[gOff + j] * ((x[j] - mu) * rs) + params[bOff + j];
}

__kernel void gpt2_ln_bwd_wi(__global const float* X, __global const float* params, const int gOff,
                             __global const float* mean, __global const float* rstd, __global const float* dY,
                             __global const float* dRes, __global float* dX, const int n, const int addRes) {
    const int r = get_global_id(0);
    if (r >= n) return;
    __global const float* x = X + (size_t)r * GPT2_W;
    __global const float* dy = dY + (size_t)r * GPT2_W;
    const float mu = mean[r], rs = rstd[r];
    float gMean = 0.0f, gxMean = 0.0f;
    for (int j = 0; j < GPT2_W; ++j) {
        const float g = dy[j] * params[gOff + j];
        gMean += g;
        gxMean += g * ((x[j] - mu) * rs);
    }
    gMean /= (float)GPT2_W;
    gxMean /= (float)GPT2_W;
    __global float* dx = dX + (size_t)r * GPT2_W;
    __global const float* dres = dRes + (size_t)r * GPT2_W;
    for (int j = 0; j < GPT2_W; ++j) {
        const float v = rs * (dy[j] * params[gOff + j] - gMean - ((x[j] - mu) * rs) * gxMean);
        dx[j] = addRes ? dres[j] + v : v;
    }
}

// One work-item per column j, rows summed in order. Global size [W].
__kernel void gpt2_ln_grads_wi(__global const float* X, __global const float* mean, __global const float* rstd,
                               __global const float* dY, __global float* grads, const int gOff, const int bOff,
                               const int n) {
    const int j = get_global_id(0);
    if (j >= GPT2_W) return;
    float dg = 0.0f, db = 0.0f;
    for (int r = 0; r < n; ++r) {
        const float dy = dY[(size_t)r * GPT2_W + j];
        dg += dy * ((X[(size_t)r * GPT2_W + j] - mean[r]) * rstd[r]);
        db += dy;
    }
    grads[gOff + j] = dg;
    grads[bOff + j] = db;
}

// ---- GPU variant: one work-group of GPT2_WG items per row (per column for the parameter gradients) -------
__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_ln_fwd_wg(__global const float* X, __global const float* params, const int gOff, const int bOff,
                    __global float* Y, __global float* mean, __global float* rstd, const int n) {
    const int r = get_group_id(0), t = get_local_id(0);
    __local float red[GPT2_WG];
    __global const float* x = X + (size_t)r * GPT2_W;
    const float2 st = gpt2_group_row_stats(red, x);
    const float mu = st.x, rs = st.y;
    if (t == 0) { mean[r] = mu; rstd[r] = rs; }
    __global float* y = Y + (size_t)r * GPT2_W;
    for (int j = t; j < GPT2_W; j += GPT2_WG) y[j] = params[gOff + j] * ((x[j] - mu) * rs) + params[bOff + j];
}

__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_ln_bwd_wg(__global const float* X, __global const float* params, const int gOff,
                    __global const float* mean, __global const float* rstd, __global const float* dY,
                    __global const float* dRes, __global float* dX, const int n, const int addRes) {
    const int r = get_group_id(0), t = get_local_id(0);
    __local float red[GPT2_WG];
    __global const float* x = X + (size_t)r * GPT2_W;
    __global const float* dy = dY + (size_t)r * GPT2_W;
    const float mu = mean[r], rs = rstd[r];
    float pg = 0.0f, pgx = 0.0f;
    for (int j = t; j < GPT2_W; j += GPT2_WG) {
        const float g = dy[j] * params[gOff + j];
        pg += g;
        pgx += g * ((x[j] - mu) * rs);
    }
    const float gMean = icl_group_sum(red, pg) / (float)GPT2_W;
    const float gxMean = icl_group_sum(red, pgx) / (float)GPT2_W;
    __global float* dx = dX + (size_t)r * GPT2_W;
    __global const float* dres = dRes + (size_t)r * GPT2_W;
    for (int j = t; j < GPT2_W; j += GPT2_WG) {
        const float v = rs * (dy[j] * params[gOff + j] - gMean - ((x[j] - mu) * rs) * gxMean);
        dx[j] = addRes ? dres[j] + v : v;
    }
}

// One work-group per column j: items take rows t, t + WG, ..., then a tree sum. Global size [W·WG].
__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_ln_grads_wg(__global const float* X, __global const float* mean, __global const float* rstd,
                      __global const float* dY, __global float* grads, const int gOff, const int bOff,
                      const int n) {
    const int j = get_group_id(0), t = get_local_id(0);
    __local float red[GPT2_WG];
    float dg = 0.0f, db = 0.0f;
    for (int r = t; r < n; r += GPT2_WG) {
        const float dy = dY[(size_t)r * GPT2_W + j];
        dg += dy * ((X[(size_t)r * GPT2_W + j] - mean[r]) * rstd[r]);
        db += dy;
    }
    dg = icl_group_sum(red, dg);
    db = icl_group_sum(red, db);
    if (t == 0) { grads[gOff + j] = dg; grads[bOff + j] = db; }
}
