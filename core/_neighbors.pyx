"""Compiled nearest-neighbour kernels. Inputs are validated by :mod:`shouxie.core.neighbors`."""
from cython.parallel cimport prange

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

    // a[v][u] = q[v] . panel[:, u] for 4 query rows (stride d) and a panel of 8 data rows stored
    // feature-major (panel[t * 8 + u]): one fused multiply-add per feature in feature order, the
    // arithmetic of a BLAS GEMM micro-kernel, on a 4 x 8 register tile.
    static inline void shouxie_tile(const double* __restrict q, Py_ssize_t d,
                                    const double* __restrict panel, double a[4][8]) {
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
        for (int v = 0; v < 4; ++v) {
            _mm256_storeu_pd(a[v], acc[v][0]);
            _mm256_storeu_pd(a[v] + 4, acc[v][1]);
        }
    #else
        for (int v = 0; v < 4; ++v)
            for (int u = 0; u < 8; ++u) a[v][u] = 0;
        for (Py_ssize_t t = 0; t < d; ++t)
            for (int v = 0; v < 4; ++v)
                for (int u = 0; u < 8; ++u) a[v][u] = std::fma(q[v * d + t], panel[t * 8 + u], a[v][u]);
    #endif
    }

    // Merge panels [p0, p1) of the data into the k-lists of up to 4 queries (rows of q, stride d;
    // nv of them real), panel by panel through shouxie_tile.
    static void shouxie_quad_panels(const double* __restrict q, const double* __restrict qn,
                                    Py_ssize_t nv, Py_ssize_t d,
                                    const double* __restrict panels, const double* __restrict dn,
                                    Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n,
                                    double* __restrict best_sq, Py_ssize_t* __restrict best_idx,
                                    Py_ssize_t k) {
        double worst[4];
        for (Py_ssize_t v = 0; v < nv; ++v) worst[v] = best_sq[v * k + k - 1];
        double a[4][8];
        for (Py_ssize_t p = p0; p < p1; ++p) {
            const double* __restrict panel = panels + p * d * 8;
            shouxie_tile(q, d, panel, a);
            const Py_ssize_t first = p * 8;
            const int valid = n - first < 8 ? (int)(n - first) : 8;
            for (Py_ssize_t v = 0; v < nv; ++v) {
                for (int u = 0; u < valid; ++u) {
                    double sq = (qn[v] - 2 * a[v][u]) + dn[first + u];
                    if (sq < 0) sq = 0;
                    if (sq < worst[v]) {
                        shouxie_push(best_sq + v * k, best_idx + v * k, k, sq, first + u);
                        worst[v] = best_sq[v * k + k - 1];
                    }
                }
            }
        }
    }
    """
    void quad_panels "shouxie_quad_panels"(
        const double* q, const double* qn, Py_ssize_t nv, Py_ssize_t d, const double* panels,
        const double* dn, Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n, double* best_sq,
        Py_ssize_t* best_idx, Py_ssize_t k) noexcept nogil

#: Queries per parallel task (a multiple of 4) and data panels (of 8 rows) per cache block.
QUERY_CHUNK = 32
PANEL_BLOCK = 32


def knn_sq(
    const double[:, ::1] queries,       # IN (q4, d) queries, zero rows padding q up to a multiple of 4
    const double[::1] query_norms,      # IN (q4,) squared norms of the queries
    const double[:, :, ::1] panels,     # IN (p, d, 8) data, 8 rows per panel, feature-major, zero padded
    const double[::1] data_norms,       # IN (p * 8,) squared norms of the data rows
    Py_ssize_t n,                       # IN number of real data rows (the rest is padding)
    double[:, ::1] best_sq,             # OUT (q, k) ascending squared distances, filled with +inf
    Py_ssize_t[:, ::1] best_idx,        # OUT (q, k) data indices
):
    """k smallest squared Euclidean distances of every query.

    ``sq = (|q|^2 - 2 q.x) + |x|^2`` clipped at 0 (scikit-learn's order of operations). Each
    query sees the data in index order and a candidate enters only if strictly closer than the
    current k-th, inserted after equal distances: among equal distances the smaller index comes
    first and is kept. Parallel over chunks of 32 queries; the data is walked in blocks of 256
    rows that stay in cache while the chunk's queries use them.
    """
    cdef Py_ssize_t q = best_sq.shape[0], k = best_sq.shape[1], d = queries.shape[1]
    cdef Py_ssize_t n_panels = panels.shape[0], qc = QUERY_CHUNK, pb = PANEL_BLOCK
    cdef Py_ssize_t n_chunks = (q + qc - 1) // qc
    cdef Py_ssize_t c, blk, b0, b1, qq, quad, q0, q1
    if q == 0 or n == 0:
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
                                d, &panels[0, 0, 0], &data_norms[0], b0, b1, n,
                                &best_sq[quad, 0], &best_idx[quad, 0], k)


def vote(
    const Py_ssize_t[:, ::1] codes,     # IN (q, k) class code of each neighbour, nearest first
    Py_ssize_t[::1] out,                # OUT (q,) majority class; ties go to the nearest
):
    """Majority vote per row; among tied classes the one met first (the nearest) wins."""
    cdef Py_ssize_t q = codes.shape[0], k = codes.shape[1], i, a, b, count, best
    with nogil:
        for i in prange(q, schedule="static", use_threads_if=q * k * k > 65536):
            best = 0
            out[i] = codes[i, 0]
            for a in range(k):
                count = 0
                for b in range(k):
                    count = count + (codes[i, b] == codes[i, a])
                if count > best:
                    best = count
                    out[i] = codes[i, a]
