// Shared definitions for every ICL kernel. Sizes arrive as -D defines (CLBlast-style specialisation):
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

// The sum of a float8's lanes.
inline float icl_hsum8(const float8 x) {
    const float4 s4 = x.lo + x.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

// Tree reduction (sum) over a work-group's local array of ICL_WG floats; every item gets the total.
// Must be called from uniform control flow.
inline float icl_group_sum(__local float* red, float value) {
    const int t = get_local_id(0);
    red[t] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = ICL_WG / 2; span > 0; span >>= 1) {
        if (t < span) red[t] += red[t + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float icl_group_max(__local float* red, float value) {
    const int t = get_local_id(0);
    red[t] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = ICL_WG / 2; span > 0; span >>= 1) {
        if (t < span) red[t] = fmax(red[t], red[t + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}
