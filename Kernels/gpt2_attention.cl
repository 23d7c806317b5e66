// Causal multi-head self-attention over whole prompts (reference: GPT2Ops.causalAttention / Backward).
// qkv: [B, T, 3W], per token q | k | v, head h in columns h·HD..<(h+1)·HD of each; out, dout: [B, T, W];
// probs: [B, H, T, T] (row t: softmax weights of token t on tokens u ≤ t, zero for u > t).
//   forward:  s_u = (q_t · k_u)/√HD for u ≤ t,  p = softmax(s),  out_t = Σ_{u≤t} p_u v_u
//   backward: dp_u = dout_t · v_u,  ds_u = p_u (dp_u − Σ_k p_k dp_k)/√HD,
//             dq_t = Σ_{u≤t} ds_u k_u,  dk_u = Σ_{t≥u} ds_{t,u} q_t,  dv_u = Σ_{t≥u} p_{t,u} dout_t

#define GPT2_QKV(b, t) ((size_t)((b) * T + (t)) * 3 * GPT2_W)

// ---- CPU variant: one work-item per (prompt, head, token) ------------------------------------------------
// Head slices are handled as GPT2_AN vectors of GPT2_AV floats (8 or 4 when the head width allows, else 1).
#if GPT2_HD % 8 == 0
#define GPT2_AV 8
#define AVEC float8
#define ALOAD(i, p) vload8((i), (p))
#define ASTORE(v, i, p) vstore8((v), (i), (p))
#define ASUM(x) icl_hsum8(x)
#elif GPT2_HD % 4 == 0
#define GPT2_AV 4
#define AVEC float4
#define ALOAD(i, p) vload4((i), (p))
#define ASTORE(v, i, p) vstore4((v), (i), (p))
#define ASUM(x) icl_hsum4(x)
#else
#define GPT2_AV 1
#define AVEC float
#define ALOAD(i, p) ((p)[i])
#define ASTORE(v, i, p) ((p)[i] = (v))
#define ASUM(x) (x)
#endif
#define GPT2_AN (GPT2_HD / GPT2_AV)

// Forward: the scores go through the probs row in place (raw, exponentiated, normalised). Global [B·H·T].
__kernel void gpt2_attn_fwd_wi(__global const float* qkv, __global float* out, __global float* probs,
                               const int B, const int T) {
    const int gid = get_global_id(0);
    if (gid >= B * GPT2_H * T) return;
    const int t = gid % T, h = (gid / T) % GPT2_H, b = gid / (T * GPT2_H);
    const float scale = 1.0f / sqrt((float)GPT2_HD);
    __global const float* q = qkv + GPT2_QKV(b, t) + h * GPT2_HD;
    __global float* p = probs + ((size_t)(b * GPT2_H + h) * T + t) * T;
    AVEC qv[GPT2_AN];
    for (int c = 0; c < GPT2_AN; ++c) qv[c] = ALOAD(c, q);
    float top = -INFINITY;
    for (int u = 0; u <= t; ++u) {
        __global const float* k = qkv + GPT2_QKV(b, u) + GPT2_W + h * GPT2_HD;
        AVEC acc = (AVEC)(0.0f);
        for (int c = 0; c < GPT2_AN; ++c) acc = fma(qv[c], ALOAD(c, k), acc);
        const float s = ASUM(acc) * scale;
        p[u] = s;
        top = fmax(top, s);
    }
    float total = 0.0f;
    for (int u = 0; u <= t; ++u) { const float e = exp(p[u] - top); p[u] = e; total += e; }
    AVEC o[GPT2_AN];
    for (int c = 0; c < GPT2_AN; ++c) o[c] = (AVEC)(0.0f);
    for (int u = 0; u <= t; ++u) {
        const float pu = p[u] / total;
        p[u] = pu;
        __global const float* v = qkv + GPT2_QKV(b, u) + 2 * GPT2_W + h * GPT2_HD;
        for (int c = 0; c < GPT2_AN; ++c) o[c] = fma((AVEC)(pu), ALOAD(c, v), o[c]);
    }
    for (int u = t + 1; u < T; ++u) p[u] = 0.0f;
    __global float* dst = out + (size_t)(b * T + t) * GPT2_W + h * GPT2_HD;
    for (int c = 0; c < GPT2_AN; ++c) ASTORE(o[c], c, dst);
}

// Backward, query side: one item per (prompt, head, query token t) writes ds row t into dS [B, H, T, T] and
// dq_t. Global [B·H·T].
__kernel void gpt2_attn_bwd_rows_wi(__global const float* qkv, __global const float* probs,
                                    __global const float* dout, __global float* dS, __global float* dqkv,
                                    const int B, const int T) {
    const int gid = get_global_id(0);
    if (gid >= B * GPT2_H * T) return;
    const int t = gid % T, h = (gid / T) % GPT2_H, b = gid / (T * GPT2_H);
    const float scale = 1.0f / sqrt((float)GPT2_HD);
    const size_t row = ((size_t)(b * GPT2_H + h) * T + t) * T;
    __global const float* p = probs + row;
    __global float* ds = dS + row;
    __global const float* o = dout + (size_t)(b * T + t) * GPT2_W + h * GPT2_HD;
    AVEC ov[GPT2_AN];
    for (int c = 0; c < GPT2_AN; ++c) ov[c] = ALOAD(c, o);
    float weighted = 0.0f;
    for (int u = 0; u <= t; ++u) {
        __global const float* v = qkv + GPT2_QKV(b, u) + 2 * GPT2_W + h * GPT2_HD;
        AVEC acc = (AVEC)(0.0f);
        for (int c = 0; c < GPT2_AN; ++c) acc = fma(ov[c], ALOAD(c, v), acc);
        const float dp = ASUM(acc);
        ds[u] = dp;
        weighted += p[u] * dp;
    }
    AVEC dq[GPT2_AN];
    for (int c = 0; c < GPT2_AN; ++c) dq[c] = (AVEC)(0.0f);
    for (int u = 0; u <= t; ++u) {
        const float s = p[u] * (ds[u] - weighted) * scale;
        ds[u] = s;
        __global const float* k = qkv + GPT2_QKV(b, u) + GPT2_W + h * GPT2_HD;
        for (int c = 0; c < GPT2_AN; ++c) dq[c] = fma((AVEC)(s), ALOAD(c, k), dq[c]);
    }
    __global float* dst = dqkv + GPT2_QKV(b, t) + h * GPT2_HD;
    for (int c = 0; c < GPT2_AN; ++c) ASTORE(dq[c], c, dst);
}

// Backward, key/value side: one item per (prompt, head, key token u) sums over the queries t ≥ u.
// Runs after gpt2_attn_bwd_rows_wi. Global [B·H·T].
__kernel void gpt2_attn_bwd_cols_wi(__global const float* qkv, __global const float* probs,
                                    __global const float* dout, __global const float* dS, __global float* dqkv,
                                    const int B, const int T) {
    const int gid = get_global_id(0);
    if (gid >= B * GPT2_H * T) return;
    const int u = gid % T, h = (gid / T) % GPT2_H, b = gid / (T * GPT2_H);
    AVEC dk[GPT2_AN], dv[GPT2_AN];
    for (int c = 0; c < GPT2_AN; ++c) { dk[c] = (AVEC)(0.0f); dv[c] = (AVEC)(0.0f); }
    for (int t = u; t < T; ++t) {
        const size_t at = ((size_t)(b * GPT2_H + h) * T + t) * T + u;
        const float s = dS[at], p = probs[at];
        __global const float* q = qkv + GPT2_QKV(b, t) + h * GPT2_HD;
        __global const float* o = dout + (size_t)(b * T + t) * GPT2_W + h * GPT2_HD;
        for (int c = 0; c < GPT2_AN; ++c) {
            dk[c] = fma((AVEC)(s), ALOAD(c, q), dk[c]);
            dv[c] = fma((AVEC)(p), ALOAD(c, o), dv[c]);
        }
    }
    __global float* dst = dqkv + GPT2_QKV(b, u) + h * GPT2_HD;
    for (int c = 0; c < GPT2_AN; ++c) { ASTORE(dk[c], c, dst + GPT2_W); ASTORE(dv[c], c, dst + 2 * GPT2_W); }
}

// ---- GPU variant: one work-group of GPT2_WG items per (prompt, head), the head's slices in local memory ----

// Head h's Q, K and V slices of prompt b into local memory ([T·HD] each), spread over the work-group.
inline void gpt2_load_head(__global const float* qkv, const int b, const int h, const int T,
                           __local float* Qs, __local float* Ks, __local float* Vs) {
    for (int i = get_local_id(0); i < T * GPT2_HD; i += GPT2_WG) {
        const int t = i / GPT2_HD, j = i % GPT2_HD;
        const size_t at = GPT2_QKV(b, t) + h * GPT2_HD + j;
        Qs[i] = qkv[at];
        Ks[i] = qkv[at + GPT2_W];
        Vs[i] = qkv[at + 2 * GPT2_W];
    }
}

// Local arguments: Qs, Ks, Vs [T·HD], S [T·T]. Global [B·H·WG].
__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_attn_fwd_wg(__global const float* qkv, __global float* out, __global float* probs, const int B, const int T,
                      __local float* Qs, __local float* Ks, __local float* Vs, __local float* S) {
    const int bh = get_group_id(0), b = bh / GPT2_H, h = bh % GPT2_H, tid = get_local_id(0);
    const float scale = 1.0f / sqrt((float)GPT2_HD);
    const int n = T * GPT2_HD;
    gpt2_load_head(qkv, b, h, T, Qs, Ks, Vs);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = tid; i < T * T; i += GPT2_WG) {
        const int t = i / T, u = i % T;
        float acc = 0.0f;
        if (u <= t) {
            for (int j = 0; j < GPT2_HD; ++j) acc += Qs[t * GPT2_HD + j] * Ks[u * GPT2_HD + j];
        }
        S[i] = acc * scale;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __global float* P = probs + (size_t)bh * T * T;
    for (int t = tid; t < T; t += GPT2_WG) {
        float top = -INFINITY;
        for (int u = 0; u <= t; ++u) top = fmax(top, S[t * T + u]);
        float total = 0.0f;
        for (int u = 0; u <= t; ++u) { const float e = exp(S[t * T + u] - top); S[t * T + u] = e; total += e; }
        for (int u = 0; u < T; ++u) {
            const float pu = u <= t ? S[t * T + u] / total : 0.0f;
            S[t * T + u] = pu;
            P[t * T + u] = pu;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = tid; i < n; i += GPT2_WG) {
        const int t = i / GPT2_HD, j = i % GPT2_HD;
        float acc = 0.0f;
        for (int u = 0; u <= t; ++u) acc += S[t * T + u] * Vs[u * GPT2_HD + j];
        out[(size_t)(b * T + t) * GPT2_W + h * GPT2_HD + j] = acc;
    }
}

// Local arguments: Qs, Ks, Vs, Os (dout) [T·HD], P, S (ds) [T·T]. Global [B·H·WG].
__kernel __attribute__((reqd_work_group_size(GPT2_WG, 1, 1)))
void gpt2_attn_bwd_wg(__global const float* qkv, __global const float* probs, __global const float* dout,
                      __global float* dqkv, const int B, const int T,
                      __local float* Qs, __local float* Ks, __local float* Vs, __local float* Os,
                      __local float* P, __local float* S) {
    const int bh = get_group_id(0), b = bh / GPT2_H, h = bh % GPT2_H, tid = get_local_id(0);
    const float scale = 1.0f / sqrt((float)GPT2_HD);
    const int n = T * GPT2_HD;
    gpt2_load_head(qkv, b, h, T, Qs, Ks, Vs);
    for (int i = tid; i < n; i += GPT2_WG) {
        const int t = i / GPT2_HD, j = i % GPT2_HD;
        Os[i] = dout[(size_t)(b * T + t) * GPT2_W + h * GPT2_HD + j];
    }
    for (int i = tid; i < T * T; i += GPT2_WG) P[i] = probs[(size_t)bh * T * T + i];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = tid; i < T * T; i += GPT2_WG) {
        const int t = i / T, u = i % T;
        float acc = 0.0f;
        if (u <= t) {
            for (int j = 0; j < GPT2_HD; ++j) acc += Os[t * GPT2_HD + j] * Vs[u * GPT2_HD + j];
        }
        S[i] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = tid; t < T; t += GPT2_WG) {
        float weighted = 0.0f;
        for (int u = 0; u <= t; ++u) weighted += P[t * T + u] * S[t * T + u];
        for (int u = 0; u <= t; ++u) S[t * T + u] = P[t * T + u] * (S[t * T + u] - weighted) * scale;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = tid; i < n; i += GPT2_WG) {
        const int t = i / GPT2_HD, j = i % GPT2_HD;
        float dq = 0.0f, dk = 0.0f, dv = 0.0f;
        for (int u = 0; u <= t; ++u) dq += S[t * T + u] * Ks[u * GPT2_HD + j];
        for (int r = t; r < T; ++r) {
            dk += S[r * T + t] * Qs[r * GPT2_HD + j];
            dv += P[r * T + t] * Os[r * GPT2_HD + j];
        }
        const size_t at = GPT2_QKV(b, t) + h * GPT2_HD + j;
        dqkv[at] = dq;
        dqkv[at + GPT2_W] = dk;
        dqkv[at + 2 * GPT2_W] = dv;
    }
}
