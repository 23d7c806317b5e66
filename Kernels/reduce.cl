// Weight gradients as batch sums of outer products (GEMMs over the batch), all four in one launch;
// dimension 2 of the launch picks the gradient:
//   0: dW_Q[i,j] = Σ_b du[b,i] p_q[b,j]     1: dW_K[i,j] = Σ_b u[b,i] dv[b,j]
//   2: dW_V[i,j] = Σ_b dh[b,i] c[b,j]       3: dW_O[n,j] = Σ_b dg[b,n] h[b,j]
// grads has the parameter layout W_Q | W_K | W_V | W_O.

inline void icl_grad_operands(const int which, __global const float* prompts, __global const float* u,
                              __global const float* dv, __global const float* du, __global const float* c,
                              __global const float* h, __global const float* dh, __global const float* dg,
                              __global const float** X, int* ldx, __global const float** Y, int* ldy, int* rows) {
    if (which == 0)      { *X = du; *ldx = ICL_D; *Y = prompts + (ICL_COLS - 1) * ICL_D; *ldy = ICL_COLS * ICL_D; *rows = ICL_D; }
    else if (which == 1) { *X = u;  *ldx = ICL_D; *Y = dv; *ldy = ICL_D; *rows = ICL_D; }
    else if (which == 2) { *X = dh; *ldx = ICL_D; *Y = c;  *ldy = ICL_D; *rows = ICL_D; }
    else                 { *X = dg; *ldx = ICL_M; *Y = h;  *ldy = ICL_D; *rows = ICL_M; }
}

// CPU variant: one work-item per gradient entry, a straight loop over the batch.
// Global size [D, max(D, M), 4].
__kernel void weight_grads_wi(__global const float* prompts, __global const float* u, __global const float* dv,
                              __global const float* du, __global const float* c, __global const float* h,
                              __global const float* dh, __global const float* dg, __global float* grads,
                              const int batch) {
    const int j = get_global_id(0), i = get_global_id(1), which = get_global_id(2);
    __global const float* X; __global const float* Y; int ldx, ldy, rows;
    icl_grad_operands(which, prompts, u, dv, du, c, h, dh, dg, &X, &ldx, &Y, &ldy, &rows);
    if (j >= ICL_D || i >= rows) return;
    float acc = 0.0f;
    for (int b = 0; b < batch; ++b) acc += X[(size_t)b * ldx + i] * Y[(size_t)b * ldy + j];
    grads[which * ICL_DD + i * ICL_D + j] = acc;
}

// GPU variant: 16×16 output tiles, the batch streamed through local memory in chunks of 16.
// Global size [roundup(D,16), roundup(max(D,M),16), 4], local [16, 16, 1].
// ICL_TS: the side of the square work-group, a -D from the host (ModelProgram.weightGradsTile).
__kernel __attribute__((reqd_work_group_size(ICL_TS, ICL_TS, 1)))
void weight_grads_wg(__global const float* prompts, __global const float* u, __global const float* dv,
                     __global const float* du, __global const float* c, __global const float* h,
                     __global const float* dh, __global const float* dg, __global float* grads,
                     const int batch) {
    const int tx = get_local_id(0), ty = get_local_id(1), which = get_global_id(2);
    const int j0 = get_group_id(0) * ICL_TS, i0 = get_group_id(1) * ICL_TS;
    __global const float* X; __global const float* Y; int ldx, ldy, rows;
    icl_grad_operands(which, prompts, u, dv, du, c, h, dh, dg, &X, &ldx, &Y, &ldy, &rows);
    __local float Xs[ICL_TS][ICL_TS + 1], Ys[ICL_TS][ICL_TS + 1];
    float acc = 0.0f;
    for (int b0 = 0; b0 < batch; b0 += ICL_TS) {
        const int b = b0 + ty;
        Xs[ty][tx] = (b < batch && i0 + tx < rows) ? X[(size_t)b * ldx + i0 + tx] : 0.0f;
        Ys[ty][tx] = (b < batch && j0 + tx < ICL_D) ? Y[(size_t)b * ldy + j0 + tx] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < ICL_TS; ++k) acc += Xs[k][ty] * Ys[k][tx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const int i = i0 + ty, j = j0 + tx;
    if (i < rows && j < ICL_D) grads[which * ICL_DD + i * ICL_D + j] = acc;
}
