// The column space of the pattern pipeline for tile_wg.cl (GPU variant): a column is a prompt column's R
// coefficients in the prompt basis (1 on its relevant pattern, κ on its irrelevant one, its label on q; zero
// elsewhere), and the tables are pattern_tables' (pattern_common.cl): Ãᵀ [RMAX, RMAX], C̃ᵀ [RMAX, MPAD],
// C̃ [MPAD, RMAX], a [MPAD]. Partials per tile, as pattern_reduce sums them: dÃᵀ [RMAX, RMAX]
// (dÃᵀ[b][a] = Σ dṽ_a c_q,b) then dC̃ [MPAD, RMAX].
#define WG_W ICL_R
#define WG_AT(t, j, i) (t)[TAB_A + (j) * RMAX + (i)]
#define WG_C(t, n, j) (t)[TAB_C2 + (n) * RMAX + (j)]
#define WG_CT(t, j, n) (t)[TAB_C + (j) * MPAD + (n)]
#define WG_A(t, n) (t)[TAB_a + (n)]
#define WG_PART PART_SIZE

// Which sum partial entry e belongs to: 0 for dÃ[i][j] (dṽ_i times the query's coefficient j, stored at
// dÃᵀ[j][i]), 1 for dC̃[i][j] (dg_i times c̃_j), −1 for padding.
inline int wg_entry(const int e, int* i, int* j) {
    if (e < RMAX * RMAX) { *j = e / RMAX; *i = e % RMAX; return *i < ICL_R && *j < ICL_R ? 0 : -1; }
    const int f = e - RMAX * RMAX;
    *i = f / RMAX; *j = f % RMAX;
    return *i < ICL_M && *j < ICL_R ? 1 : -1;
}

// A drawn column (icl_column_draw) as its R coefficients, into col (local memory); relevant, irrelevant and q are
// not read: the coefficients are the draw itself.
inline void wg_write_column(__local float* col, const int pattern, const int k, const float kappa, const float label,
                            __global const float* relevant, __global const float* irrelevant, __global const float* q,
                            const int nRelevant) {
    for (int t = 0; t < ICL_R; ++t) col[t] = 0.0f;
    col[pattern] = 1.0f;
    col[nRelevant + k] = kappa;
    col[ICL_R - 1] = label;
}
