// The model's two ends (reference: GPT2Ops.readIn / readInBackward / readOut / queryToken, ReferenceHinge).
// The read-in's product W_in p + b_in + pos is a gpt2_mm launch (bias and position-table epilogue); here are
// its position gradient, the read-out at the query token with the hinge loss and their gradients, and the
// batch statistics. h, dh: [B, T, W]; lnfY: [B, W]; lnfMean, lnfRstd, F, dF, labels, lossTerm, errTerm: [B].
// Parameter and gradient offsets index the packed buffers.

// dpos_t = Σ_b dh_{b,t} for t < T and 0 for the rows T..<maxTokens. Global [maxTokens·W].
__kernel void gpt2_pos_grad(__global const float* dH, __global float* grads, const int posOff,
                            const int B, const int T, const int maxTokens) {
    const int i = get_global_id(0);
    if (i >= maxTokens * GPT2_W) return;
    const int t = i / GPT2_W, j = i % GPT2_W;
    float acc = 0.0f;
    if (t < T) {
        for (int b = 0; b < B; ++b) acc += dH[((size_t)b * T + t) * GPT2_W + j];
    }
    grads[posOff + i] = acc;
}

// Per prompt b: x = h[b, T−1], y = LN_f(x) (saved with mean, rstd), F = w_out·y + b_out, the hinge terms
// (margin m = z F: dF = −z/B and loss 1 − m where m < 1; an error where m ≤ 0) and, with withGrad, the
// gradient into the last block's output: dh[b, t] = 0 for t < T−1 and dh[b, T−1] = LN_f backward of dF·w_out.
#define GPT2_HEAD_ARGS \
    __global const float* Hs, __global const float* params, const int lnfG, const int lnfB, const int outW, \
    const int outB, __global const float* labels, __global float* lnfY, __global float* lnfMean, \
    __global float* lnfRstd, __global float* F, __global float* dF, __global float* lossTerm, \
    __global float* errTerm, __global float* dH, const int B, const int T, const int withGrad

inline void gpt2_hinge(const int b, const float f, const int B, __global const float* labels, __global float* F,
                       __global float* dF, __global float* lossTerm, __global float* errTerm) {
    const float z = labels[b], margin = z * f;
    F[b] = f;
    dF[b] = icl_hinge_dF(z, margin, B);
    lossTerm[b] = icl_hinge_loss(margin);
    errTerm[b] = icl_hinge_error(margin);
}

// CPU variant: one work-item per prompt. Global [B].
__kernel void gpt2_head_wi(GPT2_HEAD_ARGS) {
    const int b = get_global_id(0);
    if (b >= B) return;
    __global const float* x = Hs + ((size_t)b * T + T - 1) * GPT2_W;
    const float2 st = gpt2_row_stats(x);
    const float mu = st.x, rs = st.y;
    lnfMean[b] = mu;
    lnfRstd[b] = rs;
    __global float* y = lnfY + (size_t)b * GPT2_W;
    float f = params[outB];
    for (int j = 0; j < GPT2_W; ++j) {
        const float yj = params[lnfG + j] * ((x[j] - mu) * rs) + params[lnfB + j];
        y[j] = yj;
        f += yj * params[outW + j];
    }
    gpt2_hinge(b, f, B, labels, F, dF, lossTerm, errTerm);
    if (!withGrad) return;
    const float g = dF[b];
    float gMean = 0.0f, gxMean = 0.0f;
    for (int j = 0; j < GPT2_W; ++j) {
        const float gg = g * params[outW + j] * params[lnfG + j];
        gMean += gg;
        gxMean += gg * ((x[j] - mu) * rs);
    }
    gMean /= (float)GPT2_W;
    gxMean /= (float)GPT2_W;
    __global float* dh = dH + (size_t)b * T * GPT2_W;
    for (int i = 0; i < (T - 1) * GPT2_W; ++i) dh[i] = 0.0f;
    dh += (size_t)(T - 1) * GPT2_W;
    for (int j = 0; j < GPT2_W; ++j) {
        const float gg = g * params[outW + j] * params[lnfG + j];
        dh[j] = rs * (gg - gMean - ((x[j] - mu) * rs) * gxMean);
    }
}

// GPU variant: one work-group of GPT2_WG items per prompt. Global [B·WG].
__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_head_wg(GPT2_HEAD_ARGS) {
    const int b = get_group_id(0), t = get_local_id(0);
    __local float red[GPT2_WG];
    __global const float* x = Hs + ((size_t)b * T + T - 1) * GPT2_W;
    const float2 st = gpt2_group_row_stats(red, x);
    const float mu = st.x, rs = st.y;
    __global float* y = lnfY + (size_t)b * GPT2_W;
    float part = 0.0f;
    for (int j = t; j < GPT2_W; j += GPT2_WG) {
        const float yj = params[lnfG + j] * ((x[j] - mu) * rs) + params[lnfB + j];
        y[j] = yj;
        part += yj * params[outW + j];
    }
    const float f = icl_group_sum(red, part) + params[outB];
    const float z = labels[b], margin = z * f;
    const float g = icl_hinge_dF(z, margin, B);
    if (t == 0) {
        lnfMean[b] = mu;
        lnfRstd[b] = rs;
        gpt2_hinge(b, f, B, labels, F, dF, lossTerm, errTerm);
    }
    // The gradient sums run whether or not they are kept, so every item reaches every barrier.
    float pg = 0.0f, pgx = 0.0f;
    for (int j = t; j < GPT2_W; j += GPT2_WG) {
        const float gg = g * params[outW + j] * params[lnfG + j];
        pg += gg;
        pgx += gg * ((x[j] - mu) * rs);
    }
    const float gMean = icl_group_sum(red, pg) / (float)GPT2_W;
    const float gxMean = icl_group_sum(red, pgx) / (float)GPT2_W;
    if (!withGrad) return;
    __global float* dh = dH + (size_t)b * T * GPT2_W;
    for (int i = t; i < (T - 1) * GPT2_W; i += GPT2_WG) dh[i] = 0.0f;
    dh += (size_t)(T - 1) * GPT2_W;
    for (int j = t; j < GPT2_W; j += GPT2_WG) {
        const float gg = g * params[outW + j] * params[lnfG + j];
        dh[j] = rs * (gg - gMean - ((x[j] - mu) * rs) * gxMean);
    }
}

// The read-out's parameter gradients and the batch statistics, sums over prompts in order (deterministic).
// Item j < W: dw_out[j] = Σ_b dF_b y_b[j],  dγ_f[j] = Σ_b dF_b w_out[j] x̂_b[j],  dβ_f[j] = Σ_b dF_b w_out[j];
// item W: db_out = Σ_b dF_b, stats[0] = mean loss, stats[1] = errors. Without withGrad only the statistics.
// Both variants. Global [W + 1].
__kernel void gpt2_head_grads(__global const float* Hs, __global const float* params, const int outW,
                              __global const float* lnfY, __global const float* lnfMean, __global const float* lnfRstd,
                              __global const float* dF, __global const float* lossTerm, __global const float* errTerm,
                              __global float* grads, const int gLnfG, const int gLnfB, const int gOutW, const int gOutB,
                              __global float* stats, const int B, const int T, const int withGrad) {
    const int j = get_global_id(0);
    if (j < GPT2_W) {
        if (!withGrad) return;
        const float w = params[outW + j];
        float dw = 0.0f, dg = 0.0f, db = 0.0f;
        for (int b = 0; b < B; ++b) {
            const float g = dF[b], dy = g * w;
            const float xhat = (Hs[((size_t)b * T + T - 1) * GPT2_W + j] - lnfMean[b]) * lnfRstd[b];
            dw += g * lnfY[(size_t)b * GPT2_W + j];
            dg += dy * xhat;
            db += dy;
        }
        grads[gOutW + j] = dw;
        grads[gLnfG + j] = dg;
        grads[gLnfB + j] = db;
    } else if (j == GPT2_W) {
        float loss = 0.0f, err = 0.0f, db = 0.0f;
        for (int b = 0; b < B; ++b) { loss += lossTerm[b]; err += errTerm[b]; db += dF[b]; }
        if (withGrad) grads[gOutB] = db;
        stats[0] = loss / (float)B;
        stats[1] = err;
    }
}
