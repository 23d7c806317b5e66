// Steps the CPU-variant tile kernels (fused_tile.cl, pattern_tile.cl) share, for their ICL_NP prompts in flight.
// Requires ICL_NP and ICL_VREGS (sampler_chunks.cl), ICL_MV and ICL_DV.

// g[u] = Σ_r rows[r] x_u[r] over r < n, where x_u[r] = x[u · xStride + r] and rows[r] is W float8s: each row is
// loaded once for all the prompts. The zero coefficients are multiplied too (skipping them mispredicts). One body for
// rows ICL_MV wide (icl_tile_rows_times: g = C c, and the pattern tile's g = C̃ c̃) and ICL_DV wide
// (icl_tile_rows_times_d: the fused tile's v = A p_q and dc = Cᵀ dg). The row runs in passes that keep at most half
// the target's vector registers (ICL_VREGS, from the host's DevicePath) as sums: with all W at once (16 sums at W = 8,
// ICL_NP = 2) a CPU with 16 (AVX2) spills (pattern tile on PoCL built for haswell, traced medians: 218 → 192 µs at
// B = 1024), while on AVX-512 one pass is faster for the fused tile (264–275 against 278–286 µs in two passes). Each
// sum adds its terms in r order either way, so the passes do not change the rounding.
#define ICL_ROW_BLOCK_MAX (ICL_VREGS / (2 * ICL_NP))
#define ICL_ROW_PASSES(W) (((W) + ICL_ROW_BLOCK_MAX - 1) / ICL_ROW_BLOCK_MAX)
#define ICL_ROW_BLOCK(W) (((W) + ICL_ROW_PASSES(W) - 1) / ICL_ROW_PASSES(W))
#define ICL_TILE_ROWS_TIMES(name, W)                                                                                  \
inline __attribute__((always_inline)) void name(float8 (*g8)[W], __global const float8* rows, const int n,            \
                                                const float* x, const int xStride) {                                  \
    _Pragma("unroll") for (int u = 0; u < ICL_NP; ++u)                                                                \
        _Pragma("unroll") for (int k = 0; k < W; ++k) g8[u][k] = (float8)(0.0f);                                      \
    _Pragma("unroll") for (int k0 = 0; k0 < W; k0 += ICL_ROW_BLOCK(W))                                                \
        for (int r = 0; r < n; ++r) {                                                                                 \
            float xr[ICL_NP];                                                                                         \
            _Pragma("unroll") for (int u = 0; u < ICL_NP; ++u) xr[u] = x[u * xStride + r];                            \
            _Pragma("unroll") for (int k = k0; k < k0 + ICL_ROW_BLOCK(W); ++k) {                                      \
                if (k >= W) break;                                                                                    \
                const float8 row = rows[r * W + k];                                                                   \
                _Pragma("unroll") for (int u = 0; u < ICL_NP; ++u) g8[u][k] += row * xr[u];                           \
            }                                                                                                         \
        }                                                                                                             \
}
ICL_TILE_ROWS_TIMES(icl_tile_rows_times, ICL_MV)
ICL_TILE_ROWS_TIMES(icl_tile_rows_times_d, ICL_DV)

// F = Σ a_n ReLU(g_n) and the hinge of each prompt with label z[u]: prompts b + u below b1 add their loss and error to
// the sums; back[u] says whether prompt u back-propagates (training, live, margin below 1). Returns whether any does.
inline __attribute__((always_inline)) int icl_tile_hinge(float8 (*g8)[ICL_MV], __global const float8* a8, const float* z,
                                                         const int b, const int b1, const int train, float* lossSum,
                                                         float* errSum, int* back) {
    int anyBack = 0;
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        float8 f8 = (float8)(0.0f);
        #pragma unroll
        for (int k = 0; k < ICL_MV; ++k) f8 += a8[k] * fmax(g8[u][k], (float8)(0.0f));
        const float margin = z[u] * icl_hsum8(f8);
        const int live = b + u < b1;
        if (live) {
            *lossSum += icl_hinge_loss(margin);
            *errSum += icl_hinge_error(margin);
        }
        back[u] = train && live && margin < 1.0f;   // else a zero hinge gradient: nothing to back-propagate
        anyBack |= back[u];
    }
    return anyBack;
}

// The softmax of a prompt's ICL_L scores in place, on float8 vectors (the vector exp is far cheaper than ICL_L scalar
// calls); the lanes past ICL_L become 0.
inline __attribute__((always_inline)) void icl_tile_softmax(float8* sc8) {
    // -∞ in the lanes past ICL_L by a select (scalar stores into the vector would stall its next load)
    const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + (int8)(8 * ((ICL_L + 7) / 8 - 1));
    sc8[(ICL_L + 7) / 8 - 1] = select(sc8[(ICL_L + 7) / 8 - 1], (float8)(-INFINITY), lane >= (int8)(ICL_L));
    float8 top8 = sc8[0];
    for (int k = 1; k < (ICL_L + 7) / 8; ++k) top8 = fmax(top8, sc8[k]);
    const float4 t4 = fmax(top8.lo, top8.hi);
    const float2 t2 = fmax(t4.lo, t4.hi);
    const float top = fmax(t2.x, t2.y);
    float8 tot8 = (float8)(0.0f);
    #pragma unroll
    for (int k = 0; k < (ICL_L + 7) / 8; ++k) { sc8[k] = exp(sc8[k] - top); tot8 += sc8[k]; }
    const float inv = 1.0f / icl_hsum8(tot8);
    #pragma unroll
    for (int k = 0; k < (ICL_L + 7) / 8; ++k) sc8[k] *= inv;
}

// dg = dF a ⊙ [g > 0] with dF = −z/B for each prompt that back-propagates, and 0 for the others.
inline __attribute__((always_inline)) void icl_tile_relu_grads(float8 (*dg8)[ICL_MV], float8 (*g8)[ICL_MV],
                                                               __global const float8* a8, const float* z,
                                                               const int* back, const int batch) {
    #pragma unroll
    for (int u = 0; u < ICL_NP; ++u) {
        const float dF = back[u] ? -z[u] / (float)batch : 0.0f;
        #pragma unroll
        for (int k = 0; k < ICL_MV; ++k) dg8[u][k] = select((float8)(0.0f), dF * a8[k], g8[u][k] > (float8)(0.0f));
    }
}
