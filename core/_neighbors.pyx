"""Compiled nearest-neighbour kernels. Inputs are validated by :mod:`shouxie.core.neighbors`."""
from cython.parallel cimport prange
from libc.math cimport INFINITY
cimport openmp

from _common cimport PARALLEL_ELEMENTS, floating

cdef extern from *:
    """
    #include <cmath>
    #if defined(__AVX__) && defined(__FMA__)
    #include <immintrin.h>
    #endif
    // Insert (sq, idx) into an ascending k-list, after equal distances; the caller has checked
    // that sq is strictly below the last entry.
    static inline void shouxie_push(double* __restrict best_sq, Py_ssize_t* __restrict best_idx,
                                    Py_ssize_t k, double sq, Py_ssize_t idx) {
        Py_ssize_t pos = k - 1;
        while (pos > 0 && best_sq[pos - 1] > sq) {
            best_sq[pos] = best_sq[pos - 1];
            best_idx[pos] = best_idx[pos - 1];
            --pos;
        }
        best_sq[pos] = sq;
        best_idx[pos] = idx;
    }

    // Merge panels [p0, p1) of the data into the k-lists of up to 4 queries (rows of q, stride d;
    // nv of them real). A panel is 8 data rows stored feature-major (panel[t * 8 + u]); padding
    // rows have norm +inf so they never enter. Dot products are accumulated with one fused
    // multiply-add per feature in feature order (the arithmetic of a BLAS GEMM micro-kernel) on
    // a 4 x 8 register tile; sq = (|q|^2 - 2 q.x) + |x|^2, clipped at 0, is screened against
    // each query's current k-th distance 8 candidates at a time.
    static void shouxie_quad_panels(const double* __restrict q, const double* __restrict qn,
                                    Py_ssize_t nv, Py_ssize_t d,
                                    const double* __restrict panels, const double* __restrict dn,
                                    Py_ssize_t p0, Py_ssize_t p1,
                                    double* __restrict best_sq, Py_ssize_t* __restrict best_idx,
                                    Py_ssize_t k) {
        double worst[4];
        for (Py_ssize_t v = 0; v < 4; ++v) worst[v] = v < nv ? best_sq[v * k + k - 1] : -INFINITY;
        double sq[8];
        for (Py_ssize_t p = p0; p < p1; ++p) {
            const double* __restrict panel = panels + p * d * 8;
            const double* __restrict norms = dn + p * 8;
    #if defined(__AVX__) && defined(__FMA__)
            __m256d acc[4][2];
            for (int v = 0; v < 4; ++v) acc[v][0] = acc[v][1] = _mm256_setzero_pd();
            for (Py_ssize_t t = 0; t < d; ++t) {
                const __m256d lo = _mm256_loadu_pd(panel + t * 8);
                const __m256d hi = _mm256_loadu_pd(panel + t * 8 + 4);
                for (int v = 0; v < 4; ++v) {
                    const __m256d qv = _mm256_broadcast_sd(q + v * d + t);
                    acc[v][0] = _mm256_fmadd_pd(qv, lo, acc[v][0]);
                    acc[v][1] = _mm256_fmadd_pd(qv, hi, acc[v][1]);
                }
            }
            const __m256d two = _mm256_set1_pd(2.0), zero = _mm256_setzero_pd();
            const __m256d n_lo = _mm256_loadu_pd(norms), n_hi = _mm256_loadu_pd(norms + 4);
            for (int v = 0; v < 4; ++v) {
                const __m256d qb = _mm256_set1_pd(qn[v]), wb = _mm256_set1_pd(worst[v]);
                const __m256d s_lo = _mm256_max_pd(_mm256_add_pd(_mm256_sub_pd(qb, _mm256_mul_pd(two, acc[v][0])), n_lo), zero);
                const __m256d s_hi = _mm256_max_pd(_mm256_add_pd(_mm256_sub_pd(qb, _mm256_mul_pd(two, acc[v][1])), n_hi), zero);
                const int mask = _mm256_movemask_pd(_mm256_cmp_pd(s_lo, wb, _CMP_LT_OQ))
                               | (_mm256_movemask_pd(_mm256_cmp_pd(s_hi, wb, _CMP_LT_OQ)) << 4);
                if (!mask) continue;
                _mm256_storeu_pd(sq, s_lo);
                _mm256_storeu_pd(sq + 4, s_hi);
    #else
            double a[4][8] = {};
            for (Py_ssize_t t = 0; t < d; ++t)
                for (int v = 0; v < 4; ++v)
                    for (int u = 0; u < 8; ++u) a[v][u] = std::fma(q[v * d + t], panel[t * 8 + u], a[v][u]);
            for (int v = 0; v < 4; ++v) {
                for (int u = 0; u < 8; ++u) {
                    const double s = (qn[v] - 2 * a[v][u]) + norms[u];
                    sq[u] = s < 0 ? 0 : s;
                }
    #endif
                for (int u = 0; u < 8; ++u) {
                    if (sq[u] < worst[v]) {
                        shouxie_push(best_sq + v * k, best_idx + v * k, k, sq[u], p * 8 + u);
                        worst[v] = best_sq[v * k + k - 1];
                    }
                }
            }
        }
    }
    """
    void quad_panels "shouxie_quad_panels"(
        const double* q, const double* qn, Py_ssize_t nv, Py_ssize_t d, const double* panels,
        const double* dn, Py_ssize_t p0, Py_ssize_t p1, double* best_sq,
        Py_ssize_t* best_idx, Py_ssize_t k) noexcept nogil

#: Queries per parallel task (a multiple of 4) and data panels (of 8 rows) per cache block.
QUERY_CHUNK = 64
PANEL_BLOCK = 64




def pack_panels(
    const floating[:, ::1] data,            # IN (n, d) data rows
    double[:, :, ::1] panels,           # OUT (ceil(n / 8), d, 8) 8 rows per panel, feature-major
    double[::1] norms,                  # OUT (8 * ceil(n / 8),) squared norms; +inf for padding rows
):
    """Lay the data out for :func:`knn_sq` (in float64) and compute its squared norms."""
    cdef Py_ssize_t n = data.shape[0], d = data.shape[1], n_panels = panels.shape[0]
    cdef Py_ssize_t p, u, t, row
    cdef double v, total
    with nogil:
        for p in prange(n_panels, schedule="static", use_threads_if=n_panels * d > PARALLEL_ELEMENTS):
            for u in range(8):
                row = p * 8 + u
                if row < n:
                    total = 0
                    for t in range(d):
                        v = data[row, t]
                        panels[p, t, u] = v
                        total = total + v * v
                    norms[row] = total
                else:
                    for t in range(d):
                        panels[p, t, u] = 0
                    norms[row] = INFINITY


def knn_sq(
    const double[:, ::1] queries,       # IN (q4, d) queries, zero rows padding q up to a multiple of 4
    const double[::1] query_norms,      # IN (q4,) squared norms of the queries
    const double[:, :, ::1] panels,     # IN (p, d, 8) data, 8 rows per panel, feature-major, zero padded
    const double[::1] data_norms,       # IN (p * 8,) squared norms of the data rows, +inf for padding
    double[:, ::1] best_sq,             # OUT (q, k) ascending squared distances, filled with +inf
    Py_ssize_t[:, ::1] best_idx,        # OUT (q, k) data indices
):
    """k smallest squared Euclidean distances of every query.

    ``sq = (|q|^2 - 2 q.x) + |x|^2`` clipped at 0 (scikit-learn's order of operations). Each
    query sees the data in index order and a candidate enters only if strictly closer than the
    current k-th, inserted after equal distances: among equal distances the smaller index comes
    first and is kept. Parallel over chunks of ``QUERY_CHUNK`` queries; the data is walked in
    blocks of ``PANEL_BLOCK`` panels that stay in cache while the chunk's queries use them.
    """
    cdef Py_ssize_t q = best_sq.shape[0], k = best_sq.shape[1], d = queries.shape[1]
    cdef Py_ssize_t n_panels = panels.shape[0], qc = QUERY_CHUNK, pb = PANEL_BLOCK
    cdef Py_ssize_t n_chunks
    while qc > 4 and (q + qc - 1) // qc < 2 * openmp.omp_get_max_threads():
        qc //= 2  # smaller chunks (still whole quads) so that few queries still use every thread
    n_chunks = (q + qc - 1) // qc
    cdef Py_ssize_t c, blk, b0, b1, qq, quad, q0, q1
    if q == 0 or n_panels == 0:
        return
    with nogil:
        for c in prange(n_chunks, schedule="dynamic"):
            q0 = c * qc
            q1 = q0 + qc if q0 + qc < q else q
            for blk in range((n_panels + pb - 1) // pb):
                b0 = blk * pb
                b1 = b0 + pb if b0 + pb < n_panels else n_panels
                for qq in range(q0 // 4, (q1 + 3) // 4):
                    quad = qq * 4
                    quad_panels(&queries[quad, 0], &query_norms[quad], 4 if quad + 4 <= q1 else q1 - quad,
                                d, &panels[0, 0, 0], &data_norms[0], b0, b1,
                                &best_sq[quad, 0], &best_idx[quad, 0], k)


def vote(
    const Py_ssize_t[:, ::1] codes,     # IN (q, k) class code of each neighbour, nearest first
    Py_ssize_t[::1] out,                # OUT (q,) majority class; ties go to the nearest
):
    """Majority vote per row; among tied classes the one met first (the nearest) wins."""
    cdef Py_ssize_t q = codes.shape[0], k = codes.shape[1], i, a, b, count, best
    with nogil:
        for i in prange(q, schedule="static", use_threads_if=q * k * k > PARALLEL_ELEMENTS):
            best = 0
            out[i] = codes[i, 0]
            for a in range(k):
                count = 0
                for b in range(k):
                    count = count + (codes[i, b] == codes[i, a])
                if count > best:
                    best = count
                    out[i] = codes[i, a]
