// The one-layer model's sizes and parameter layout. Sizes arrive as -D defines (CLBlast-style specialisation):
//   ICL_D     column (token) dimension d = d_X + d_Y
//   ICL_DX    input dimension d_X;  ICL_DY  label dimension d_Y
//   ICL_COLS  columns per prompt, l + 1 (query last)
//   ICL_L     attended columns: l, or l + 1 with attendQuery
//   ICL_M     neurons m (rows of W_O)
//   ICL_WG    work-group size of the GPU-variant kernels (a power of two)
// Parameters live in one buffer: W_Q [d,d] | W_K [d,d] | W_V [d,d] | W_O [m,d]; gradients use the same layout.
#define ICL_DD (ICL_D * ICL_D)
#define ICL_NPARAMS (3 * ICL_DD + ICL_M * ICL_D)
#define WQ_OF(p) ((p))
#define WK_OF(p) ((p) + ICL_DD)
#define WV_OF(p) ((p) + 2 * ICL_DD)
#define WO_OF(p) ((p) + 3 * ICL_DD)

// Chunk c (floats 8c … 8c+7) of row r of a row-major [rows, D] matrix, the lanes past D read as zero; and its store,
// which writes only the lanes below D.
inline float8 icl_row8(__global const float* W, const int r, const int c) {
    __global const float* row = W + r * ICL_D + 8 * c;
    if (8 * c + 8 <= ICL_D) return vload8(0, row);
    float v[8];
    for (int l = 0; l < 8; ++l) v[l] = 8 * c + l < ICL_D ? row[l] : 0.0f;
    return vload8(0, v);
}
inline void icl_store_row8(__global float* W, const int r, const int c, const float8 x) {
    __global float* row = W + r * ICL_D + 8 * c;
    if (8 * c + 8 <= ICL_D) { vstore8(x, 0, row); return; }
    float v[8];
    vstore8(x, 0, v);
    for (int l = 0; 8 * c + l < ICL_D; ++l) row[l] = v[l];
}
