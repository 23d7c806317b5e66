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
