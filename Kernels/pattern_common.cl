// The pattern-space fused training step: the restructured math of DESIGN.md taken one step further.
// Every prompt column is a combination of R = nRelevant + nIrrelevant + 1 basis vectors
//   e_r = [μ_r; 0] (relevant), e_{nR+k} = [ν_k; 0] (irrelevant), e_q = [0; q] (label)
// with at most three non-zero coefficients (1, κ, y). So with E = [e_0 … e_{R−1}] (rows, [R, D]) and
//   Q̃ = W_Q Eᵀ, K̃ = W_K Eᵀ, Ṽ = W_V Eᵀ  (d × R, per step),   Ã = K̃ᵀ Q̃  (R × R),   C̃ = W_O Ṽ  (m × R),
// a prompt's scores are s_i = Σ_ab c_i,a Ã[a][b] c_q,b (six table reads), its context sum is
// c̃ = Σ_i attn_i c_i (R coefficients) and g = C̃ c̃. Backward runs in the same coordinates:
//   dÃ = Σ dṽ c_qᵀ, dC̃ = Σ dg c̃ᵀ, and once per step
//   dW_Q = K̃ dÃ E, dW_K = Q̃ dÃᵀ E, dW_V = (W_Oᵀ dC̃) E, dW_O = dC̃ Ṽᵀ.
// This is exact (the same function and gradient as the dense path; only the rounding differs) and
// prompts are never materialised: the sampler's random words go straight to coefficients.
// Launches per training step: pattern_tables (pattern_tables.cl), the tile kernel (pattern_tile.cl, CPU variant: one
// work-item per tile, its table reads from the pattern_reads_<path>.cl the host chose for the device (DevicePath); or
// tile_wg.cl with wg_columns_pattern.cl, GPU variant), pattern_reduce (pattern_reduce.cl: sums the tiles' partials)
// and pattern_grads_sgd (pattern_grads.cl; it also projects the new weights for the next step, so pattern_project
// runs only when the weights were set from outside).
// Requires ICL_R (the basis size of the spec the program serves), ICL_RMAX (R rounded up to a multiple of 8),
// ICL_MV = ceil(M/8), ICL_DV, ICL_TILE. Compile-time sizes let the inner loops unroll and keep the accumulators
// in registers.
#define RMAX ICL_RMAX
#define LV ((ICL_L + 7) / 8)
#define MV ICL_MV
#define MPAD (8 * ICL_MV)
#define DPAD (8 * ICL_DV)
// tables: Ãᵀ [RMAX, RMAX] | C̃ᵀ [RMAX, MPAD] | C̃ [MPAD, RMAX] | a [MPAD]   (floats; Ãᵀ[b][a] = Ã[a][b])
#define RV (RMAX / 8)
#define RC ((ICL_R + 7) / 8)
// Prompts whose dg and c̃ are buffered before they are added into dC̃.
#define PEND 16
#define TAB_A 0
#define TAB_C (RMAX * RMAX)
#define TAB_C2 (RMAX * RMAX + RMAX * MPAD)
#define TAB_a (RMAX * RMAX + 2 * RMAX * MPAD)
// rows of pattern_tables: one per row of Ãᵀ, one per padded neuron (its row of C̃ and its a); a work-item takes two
#define TABLE_ROWS (RMAX + MPAD)
// partials per tile: dÃᵀ [RMAX, RMAX] | dC̃ [MPAD, RMAX]
#define PART_SIZE (RMAX * RMAX + RMAX * MPAD)
// proj: Q̃ | K̃ | Ṽ, each [D, RMAX] (row i = (W e_b)_i over b), so that the tables are vector sums over rows, with no
// horizontal sums; then Ṽᵀ [RMAX, DPAD] (row b = W_V e_b), the rows of dW_O = dC̃ Ṽᵀ as float8s over i. Its lanes
// past D are never written: the host zeroes the buffer once.
#define PROJT8_OF(p, w, i) ((__global float8*)((p) + ((w) * ICL_D + (i)) * RMAX))
#define PROJ_VT_OF(p, b, i) (p)[3 * ICL_D * RMAX + (b) * DPAD + (i)]
#define PROJT8(w, i) PROJT8_OF(proj, w, i)
#define PROJ_VT(b, i) PROJ_VT_OF(proj, b, i)
// Work-items of pattern_project and of pattern_grads_sgd's W_Q, W_K, W_V rows: a pair of rows each.
#define PAIRS_D ((ICL_D + 1) / 2)
// The basis buffer: E [R, DPAD], then Eᵀ [D, RMAX] (zero past R).
#define ET8(E, j) ((__global const float8*)((E) + ICL_R * DPAD + (j) * RMAX))

// Rows i0 and i1 of W's projections, (W e_b)_i for every b, from those rows of W (D floats each):
// Σ_j W[i][j] Eᵀ[j][·], vector over b, into proj (for W_V also into Ṽᵀ). Two rows at once give the FMAs independent chains;
// i1 = i0 computes one row twice. One body for rows in global memory (pattern_project) and in private memory
// (pattern_grads_sgd), so both round the same way: a projection made by a training step equals pattern_project's.
#define ICL_PROJECT_ROWS_BODY                                                               \
    float8 acc0[RV], acc1[RV];                                                              \
    _Pragma("unroll") for (int c = 0; c < RV; ++c) acc0[c] = acc1[c] = (float8)(0.0f);      \
    for (int j = 0; j < ICL_D; ++j) {                                                       \
        const float x0 = row0[j], x1 = row1[j];                                             \
        _Pragma("unroll") for (int c = 0; c < RV; ++c) {                                    \
            const float8 e = ET8(E, j)[c];                                                  \
            acc0[c] += x0 * e;                                                              \
            acc1[c] += x1 * e;                                                              \
        }                                                                                   \
    }                                                                                       \
    _Pragma("unroll") for (int c = 0; c < RV; ++c) {                                        \
        PROJT8(w, i0)[c] = acc0[c];                                                         \
        PROJT8(w, i1)[c] = acc1[c];                                                         \
    }                                                                                       \
    if (w == 2) {                                                                           \
        const float* v0 = (const float*)acc0, *v1 = (const float*)acc1;                     \
        for (int b = 0; b < RMAX; ++b) {                                                    \
            PROJ_VT(b, i0) = v0[b];                                                         \
            PROJ_VT(b, i1) = v1[b];                                                         \
        }                                                                                   \
    }
inline void icl_project_rows_global(__global const float* row0, __global const float* row1, __global const float* E,
                                    __global float* proj, const int w, const int i0, const int i1) {
    ICL_PROJECT_ROWS_BODY
}
inline void icl_project_rows(const float* row0, const float* row1, __global const float* E, __global float* proj,
                             const int w, const int i0, const int i1) { ICL_PROJECT_ROWS_BODY }
// Rows i0 and i1 of W's projections copied from `from` into proj, every place ICL_PROJECT_ROWS_BODY writes them.
inline void icl_copy_projection_rows(__global const float* from, __global float* proj, const int w, const int i0,
                                     const int i1) {
    #pragma unroll
    for (int c = 0; c < RV; ++c) {
        PROJT8(w, i0)[c] = PROJT8_OF(from, w, i0)[c];
        PROJT8(w, i1)[c] = PROJT8_OF(from, w, i1)[c];
    }
    if (w == 2)
        for (int b = 0; b < RMAX; ++b) {
            PROJ_VT(b, i0) = PROJ_VT_OF(from, b, i0);
            PROJ_VT(b, i1) = PROJ_VT_OF(from, b, i1);
        }
}
