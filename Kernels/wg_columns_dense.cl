// The column space of the dense fused pipeline for tile_wg.cl (GPU variant): a column is a prompt's d values, and
// the tables are fused_precompute's derived buffer (fused.cl): Aᵀ [D, DPAD], C [M, DPAD], Cᵀ [D, MPAD], a [MPAD].
// Partials per tile, as fused_reduce sums them: dA [D, DPAD] (dA[i][j] = Σ dv_i p_q,j) then dC [M, DPAD].
#define WG_W ICL_D
#define WG_AT(t, j, i) (t)[(j) * DPAD + (i)]
#define WG_C(t, n, j) (t)[C_OFF * 8 + (n) * DPAD + (j)]
#define WG_CT(t, j, n) (t)[CT_OFF * 8 + (j) * MPAD + (n)]
#define WG_A(t, n) (t)[A_OFF * 8 + (n)]
#define WG_PART (PART8 * 8)

// Which sum partial entry e belongs to: 0 for dA[i][j] (dv_i times the query column's j), 1 for dC[i][j]
// (dg_i times c_j), −1 for padding.
inline int wg_entry(const int e, int* i, int* j) {
    if (e < ICL_D * DPAD) { *i = e / DPAD; *j = e % DPAD; return *j < ICL_D ? 0 : -1; }
    const int f = e - ICL_D * DPAD;
    *i = f / DPAD; *j = f % DPAD;
    return *j < ICL_D ? 1 : -1;
}

// A drawn column (icl_column_draw) as its d values, into col (local memory).
inline void wg_write_column(__local float* col, const int pattern, const int k, const float kappa, const float label,
                            __global const float* relevant, __global const float* irrelevant, __global const float* q,
                            const int nRelevant) {
    ICL_DENSE_COLUMN(col, pattern, k, kappa, label, relevant, irrelevant, q)
}
