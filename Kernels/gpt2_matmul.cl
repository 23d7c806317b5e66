// Linear layers as one general product with an epilogue (reference: GPT2Ops.matmul / matmulBackward):
//   C[p, q] = epilogue(Σ_k A(p, k) B(k, q)),  A(p, k) = A[aOff + p·sAp + k·sAk],  B(k, q) = B[bOff + k·sBk + q·sBq],
// C row-major [P, Q] at cOff. The three products of a linear layer Y = X Wᵀ + b (X [n, i], W [o, i]):
//   forward    Y  = X Wᵀ:  A = X (sAp = i, sAk = 1), B(k, q) = W[q, k] (sBk = 1, sBq = i);  P = n, Q = o, K = i
//   input grad dX = dY W:  A = dY (sAp = o, sAk = 1), B = W (sBk = i, sBq = 1);         P = n, Q = i, K = o
//   weight grad dW = dYᵀ X: A(p, k) = dY[k, p] (sAp = 1, sAk = o), B = X (sBk = i, sBq = 1); P = o, Q = i, K = n
// Epilogue flags (any combination that makes sense):
#define MM_BIAS 1      // + bias[biasOff + q]
#define MM_RESID 2     // + R[rOff + (p mod rmod)·Q + q]: a residual (rmod = P) or the position table (rmod = T)
#define MM_GELU 4      // also C2[c2Off + p·Q + q] = GELU(C[p, q])   (the MLP's fc layer)
#define MM_DGELU 8     // C[p, q] ·= GELU'(G[gOff + p·Q + q])          (the input gradient through the GELU)
#define MM_SUMCOL 16   // also C2[c2Off + p] = Σ_k A(p, k)               (the bias gradient of a weight gradient)
#define MM_SLOPE 32    // with MM_GELU: C holds GELU'(v) rather than v   (all the backward needs of the fc layer)
#define MM_MULG 64     // C[p, q] ·= G[gOff + p·Q + q]                  (the input gradient through a saved GELU')
// Buffers an epilogue does not use may be any buffer (they are not read).

#define GPT2_MM_ARGS \
    __global const float* A, const int aOff, const int sAp, const int sAk, \
    __global const float* B, const int bOff, const int sBk, const int sBq, \
    __global const float* bias, const int biasOff, __global const float* R, const int rOff, const int rmod, \
    __global const float* G, const int gOff, __global float* C, const int cOff, __global float* C2, const int c2Off, \
    const int P, const int Q, const int K, const int flags

inline void gpt2_mm_store(const int p, const int q, float v, const int Q, const int flags,
                          __global const float* bias, const int biasOff,
                          __global const float* R, const int rOff, const int rmod,
                          __global const float* G, const int gOff,
                          __global float* C, const int cOff, __global float* C2, const int c2Off) {
    const size_t at = (size_t)p * Q + q;
    if (flags & MM_BIAS) v += bias[biasOff + q];
    if (flags & MM_RESID) v += R[rOff + (size_t)(p % rmod) * Q + q];
    if (flags & MM_DGELU) v *= gpt2_gelu_slope(G[gOff + at]);
    if (flags & MM_MULG) v *= G[gOff + at];
    if (flags & MM_GELU) {
        C2[c2Off + at] = gpt2_gelu(v);
        if (flags & MM_SLOPE) v = gpt2_gelu_slope(v);
    }
    C[cOff + at] = v;
}

#define GPT2_MM_STORE(p, q, v) \
    gpt2_mm_store((p), (q), (v), Q, flags, bias, biasOff, R, rOff, rmod, G, gOff, C, cOff, C2, c2Off)

// The epilogue on four adjacent columns q..q+3 (all < Q), on float4 lanes: the GELU's exp runs vectorised.
inline void gpt2_mm_store4(const int p, const int q, float4 v, const int Q, const int flags,
                           __global const float* bias, const int biasOff,
                           __global const float* R, const int rOff, const int rmod,
                           __global const float* G, const int gOff,
                           __global float* C, const int cOff, __global float* C2, const int c2Off) {
    const size_t at = (size_t)p * Q + q;
    if (flags & MM_BIAS) v += vload4(0, bias + biasOff + q);
    if (flags & MM_RESID) v += vload4(0, R + rOff + (size_t)(p % rmod) * Q + q);
    if (flags & MM_DGELU) v *= gpt2_gelu_slope4(vload4(0, G + gOff + at));
    if (flags & MM_MULG) v *= vload4(0, G + gOff + at);
    if (flags & MM_GELU) {
        const float4 t = gpt2_gelu_tanh4(v);
        vstore4(0.5f * v * (1.0f + t), 0, C2 + c2Off + at);
        if (flags & MM_SLOPE) v = gpt2_gelu_slope_from4(v, t);
    }
    vstore4(v, 0, C + cOff + at);
}

#define GPT2_MM_STORE4(p, q, v) \
    gpt2_mm_store4((p), (q), (v), Q, flags, bias, biasOff, R, rOff, rmod, G, gOff, C, cOff, C2, c2Off)

// Stores `lanes` values of row p from q on (a private array), float4 by float4 where all four are in range.
#define GPT2_MM_STORE_ROW(p, q, vals, lanes) do { \
        int l_ = 0; \
        for (; l_ + 4 <= (lanes); l_ += 4) GPT2_MM_STORE4((p), (q) + l_, vload4(0, (vals) + l_)); \
        for (; l_ < (lanes); ++l_) GPT2_MM_STORE((p), (q) + l_, (vals)[l_]); \
    } while (0)

// CPU blocking, tunable by -D (GPT2Program.Tuning): dot form MM_RB rows × MM_CB columns per item with k
// vectors of MM_KV floats; outer form MM_NB rows × MM_NV columns (one vector) per item.
#ifndef GPT2_MM_RB
#define GPT2_MM_RB 4
#endif
#ifndef GPT2_MM_CB
#define GPT2_MM_CB 8
#endif
#ifndef GPT2_MM_KV
#define GPT2_MM_KV 8
#endif
#ifndef GPT2_MM_NB
#define GPT2_MM_NB 4
#endif
#ifndef GPT2_MM_NV
#define GPT2_MM_NV 16
#endif
#define MM_RB GPT2_MM_RB
#define MM_CB GPT2_MM_CB
#define MM_NB GPT2_MM_NB
#define MM_KV GPT2_MM_KV
#define MM_NV GPT2_MM_NV

#if MM_KV == 4
#define MM_KVEC float4
#define MM_KLOAD vload4
#define MM_KSUM icl_hsum4
#elif MM_KV == 8
#define MM_KVEC float8
#define MM_KLOAD vload8
#define MM_KSUM icl_hsum8
#elif MM_KV == 16
#define MM_KVEC float16
#define MM_KLOAD vload16
#define MM_KSUM icl_hsum16
#else
#error "GPT2_MM_KV must be 4, 8 or 16"
#endif

#if MM_NV == 4
#define MM_NVEC float4
#define MM_NLOAD vload4
#define MM_NSTORE vstore4
#define MM_NFMA fma
#elif MM_NV == 8
#define MM_NVEC float8
#define MM_NLOAD vload8
#define MM_NSTORE vstore8
#define MM_NFMA fma
#elif MM_NV == 16
// float16 rows as two float8 halves for every built-in call: the same values, but no 512-bit vector is passed by
// value, which on a CPU without AVX-512 makes clang warn about the ABI (-Wpsabi) on every build.
#define MM_NVEC float16
#define MM_NLOAD(i, p) ((float16)(vload8(2 * (i), (p)), vload8(2 * (i) + 1, (p))))
#define MM_NSTORE(v, i, p) do { vstore8((v).lo, 2 * (i), (p)); vstore8((v).hi, 2 * (i) + 1, (p)); } while (0)
#define MM_NFMA(a, b, c) ((float16)(fma((a).lo, (b).lo, (c).lo), fma((a).hi, (b).hi, (c).hi)))
#else
#error "GPT2_MM_NV must be 4, 8 or 16"
#endif

// ---- CPU variant, dot form (sAk = sBk = 1: the forward product) --------------------------------------------
// Each work-item computes an MM_RB × MM_CB block of C as vector partial dot products along k (MM_KV lanes),
// then a scalar tail for K mod MM_KV. Global size [⌈Q / MM_CB⌉, ⌈P / MM_RB⌉].
__kernel void gpt2_mm_nt_wi(GPT2_MM_ARGS) {
    const int q0 = get_global_id(0) * MM_CB, p0 = get_global_id(1) * MM_RB;
    if (q0 >= Q || p0 >= P) return;
    size_t ra[MM_RB], rb[MM_CB];
    #pragma unroll
    for (int i = 0; i < MM_RB; ++i) ra[i] = aOff + (size_t)min(p0 + i, P - 1) * sAp;
    #pragma unroll
    for (int j = 0; j < MM_CB; ++j) rb[j] = bOff + (size_t)min(q0 + j, Q - 1) * sBq;
    MM_KVEC acc[MM_RB][MM_CB];
    #pragma unroll
    for (int i = 0; i < MM_RB; ++i) {
        #pragma unroll
        for (int j = 0; j < MM_CB; ++j) acc[i][j] = (MM_KVEC)(0.0f);
    }
    int k = 0;
    for (; k + MM_KV <= K; k += MM_KV) {
        MM_KVEC a[MM_RB], b[MM_CB];
        #pragma unroll
        for (int i = 0; i < MM_RB; ++i) a[i] = MM_KLOAD(0, A + ra[i] + k);
        #pragma unroll
        for (int j = 0; j < MM_CB; ++j) b[j] = MM_KLOAD(0, B + rb[j] + k);
        #pragma unroll
        for (int i = 0; i < MM_RB; ++i) {
            #pragma unroll
            for (int j = 0; j < MM_CB; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
    }
    float s[MM_RB][MM_CB];
    #pragma unroll
    for (int i = 0; i < MM_RB; ++i) {
        #pragma unroll
        for (int j = 0; j < MM_CB; ++j) s[i][j] = MM_KSUM(acc[i][j]);
    }
    for (; k < K; ++k) {
        #pragma unroll
        for (int i = 0; i < MM_RB; ++i) {
            #pragma unroll
            for (int j = 0; j < MM_CB; ++j) s[i][j] = fma(A[ra[i] + k], B[rb[j] + k], s[i][j]);
        }
    }
    const int lanes = min(MM_CB, Q - q0);
    #pragma unroll
    for (int i = 0; i < MM_RB; ++i) {
        if (p0 + i < P) GPT2_MM_STORE_ROW(p0 + i, q0, s[i], lanes);
    }
}

// ---- CPU variant, outer-product form (sBq = 1: the two backward products) --------------------------------
// Each work-item computes MM_NB rows × MM_NV columns of C: per k, one vector row segment of B times MM_NB
// scalars of A. Global size [⌈Q / MM_NV⌉, ⌈P / MM_NB⌉]. With MM_SUMCOL the items of the first column block also
// sum A's rows.
__kernel void gpt2_mm_nn_wi(GPT2_MM_ARGS) {
    const int q0 = get_global_id(0) * MM_NV, p0 = get_global_id(1) * MM_NB;
    if (q0 >= Q || p0 >= P) return;
    const int lanes = min(MM_NV, Q - q0);
    size_t ra[MM_NB];
    #pragma unroll
    for (int i = 0; i < MM_NB; ++i) ra[i] = aOff + (size_t)min(p0 + i, P - 1) * sAp;
    MM_NVEC acc[MM_NB];
    #pragma unroll
    for (int i = 0; i < MM_NB; ++i) acc[i] = (MM_NVEC)(0.0f);
    __global const float* bp = B + bOff + q0;
    if (lanes == MM_NV) {
        for (int k = 0; k < K; ++k) {
            const MM_NVEC b = MM_NLOAD(0, bp + (size_t)k * sBk);
            #pragma unroll
            for (int i = 0; i < MM_NB; ++i) acc[i] = MM_NFMA((MM_NVEC)(A[ra[i] + (size_t)k * sAk]), b, acc[i]);
        }
    } else {
        for (int k = 0; k < K; ++k) {
            float lane[MM_NV];
            #pragma unroll
            for (int l = 0; l < MM_NV; ++l) lane[l] = l < lanes ? bp[(size_t)k * sBk + l] : 0.0f;
            const MM_NVEC b = MM_NLOAD(0, lane);
            #pragma unroll
            for (int i = 0; i < MM_NB; ++i) acc[i] = MM_NFMA((MM_NVEC)(A[ra[i] + (size_t)k * sAk]), b, acc[i]);
        }
    }
    #pragma unroll
    for (int i = 0; i < MM_NB; ++i) {
        if (p0 + i < P) {
            float out[MM_NV];
            MM_NSTORE(acc[i], 0, out);
            GPT2_MM_STORE_ROW(p0 + i, q0, out, lanes);
        }
    }
    if ((flags & MM_SUMCOL) && q0 == 0) {
        float cs[MM_NB];
        #pragma unroll
        for (int i = 0; i < MM_NB; ++i) cs[i] = 0.0f;
        for (int k = 0; k < K; ++k) {
            #pragma unroll
            for (int i = 0; i < MM_NB; ++i) cs[i] += A[ra[i] + (size_t)k * sAk];
        }
        #pragma unroll
        for (int i = 0; i < MM_NB; ++i) {
            if (p0 + i < P) C2[c2Off + p0 + i] = cs[i];
        }
    }
}

// ---- GPU variant: GPT2_TS × GPT2_TS output tiles, k streamed through local memory ------------------------
// Any strides: each tile is loaded along whichever of its indices is contiguous in memory (coalesced), into
// padded local arrays. Global size [⌈Q / TS⌉·TS, ⌈P / TS⌉·TS], local [TS, TS].
__kernel __attribute__((reqd_work_group_size(GPT2_TS, GPT2_TS, 1)))
void gpt2_mm_wg(GPT2_MM_ARGS) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int q0 = get_group_id(0) * GPT2_TS, p0 = get_group_id(1) * GPT2_TS;
    __local float As[GPT2_TS][GPT2_TS + 1], Bs[GPT2_TS][GPT2_TS + 1];
    const int sum = (flags & MM_SUMCOL) && q0 == 0;
    const int ap = sAk == 1 ? ty : tx, ak = sAk == 1 ? tx : ty;
    const int bk = sBq == 1 ? ty : tx, bq = sBq == 1 ? tx : ty;
    float acc = 0.0f, cs = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GPT2_TS) {
        As[ap][ak] = (p0 + ap < P && k0 + ak < K)
            ? A[aOff + (size_t)(p0 + ap) * sAp + (size_t)(k0 + ak) * sAk] : 0.0f;
        Bs[bk][bq] = (k0 + bk < K && q0 + bq < Q)
            ? B[bOff + (size_t)(k0 + bk) * sBk + (size_t)(q0 + bq) * sBq] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        #pragma unroll
        for (int kk = 0; kk < GPT2_TS; ++kk) acc += As[ty][kk] * Bs[kk][tx];
        if (sum && tx == 0) {
            for (int kk = 0; kk < GPT2_TS; ++kk) cs += As[ty][kk];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const int p = p0 + ty, q = q0 + tx;
    if (p < P && q < Q) GPT2_MM_STORE(p, q, acc);
    if (sum && tx == 0 && p < P) C2[c2Off + p] = cs;
}
