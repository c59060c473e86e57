"""Compiled clustering kernels. Inputs are validated by :mod:`shouxie.core.cluster`."""
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport exp, floor, sqrt
from libc.stdlib cimport calloc, free, malloc
from libcpp.algorithm cimport nth_element, max_element
cimport openmp

from _common cimport PARALLEL_ASSIGN, PARALLEL_SAMPLES, _check_threads, floating

import numpy as np


#: Samples per Lloyd chunk (as scikit-learn); chunks are split statically over the threads.
CHUNK = 256


def max_threads():
    """The number of OpenMP threads a parallel region uses by default."""
    return openmp.omp_get_max_threads()


cdef extern from *:
    """
    #include <cmath>
    // Labels of `rows` samples (row-major, d features): the argmin over centres j of
    // |c_j|^2 - 2 x.c_j, first j on ties. Each dot product is accumulated with one fused
    // multiply-add per feature in feature order (the arithmetic of a BLAS GEMM micro-kernel),
    // vectorised across the samples of the chunk, which is first transposed into `xt`.
    template <typename T>
    static void shouxie_chunk_labels(const T* __restrict X, Py_ssize_t rows, Py_ssize_t d,
                                     const T* __restrict C, const T* __restrict norms, Py_ssize_t k,
                                     T* __restrict xt, T* __restrict acc, T* __restrict best,
                                     int* __restrict labels) {
        for (Py_ssize_t r = 0; r < rows; ++r)
            for (Py_ssize_t t = 0; t < d; ++t) xt[t * rows + r] = X[r * d + t];
        for (Py_ssize_t j = 0; j < k; ++j) {
            const T* __restrict c = C + j * d;
            for (Py_ssize_t r = 0; r < rows; ++r) acc[r] = 0;
            Py_ssize_t t = 0;
            for (; t + 4 <= d; t += 4) {
                const T c0 = c[t], c1 = c[t + 1], c2 = c[t + 2], c3 = c[t + 3];
                const T* __restrict x0 = xt + t * rows;
                const T* __restrict x1 = x0 + rows;
                const T* __restrict x2 = x1 + rows;
                const T* __restrict x3 = x2 + rows;
                for (Py_ssize_t r = 0; r < rows; ++r) {
                    T a = acc[r];
                    a = std::fma(x0[r], c0, a);
                    a = std::fma(x1[r], c1, a);
                    a = std::fma(x2[r], c2, a);
                    a = std::fma(x3[r], c3, a);
                    acc[r] = a;
                }
            }
            for (; t < d; ++t) {
                const T ct = c[t];
                const T* __restrict x0 = xt + t * rows;
                for (Py_ssize_t r = 0; r < rows; ++r) acc[r] = std::fma(x0[r], ct, acc[r]);
            }
            const T nj = norms[j];
            if (j == 0) {
                for (Py_ssize_t r = 0; r < rows; ++r) { best[r] = nj - 2 * acc[r]; labels[r] = 0; }
            } else {
                for (Py_ssize_t r = 0; r < rows; ++r) {
                    const T dist = nj - 2 * acc[r];
                    if (dist < best[r]) { best[r] = dist; labels[r] = (int)j; }
                }
            }
        }
    }
    """
    void chunk_labels "shouxie_chunk_labels"[T](
        const T* X, Py_ssize_t rows, Py_ssize_t d, const T* C, const T* norms, Py_ssize_t k,
        T* xt, T* acc, T* best, int* labels) noexcept nogil


def lloyd_iter(
    const floating[:, ::1] X,             # IN (n, d) samples (centred on their mean)
    const floating[:, ::1] centers,       # IN (k, d) current centres
    const floating[::1] center_norms,     # IN (k,) squared norms of the centres
    int[::1] labels,                  # OUT (n,) index of the nearest centre
    floating[:, :, ::1] sums,             # OUT (T, k, d) per-thread sums of members, zeroed by the caller
    floating[:, ::1] counts,              # OUT (T, k) per-thread member counts, zeroed by the caller
    bint update,                      # also accumulate sums and counts
):
    """One Lloyd E-step (and the sums of the M-step) over chunks of 256 samples.

    The squared distance to centre ``j`` is ``|c_j|^2 - 2 x.c_j`` (``|x|^2`` does not change the
    argmin); ``x.c_j`` is accumulated as a GEMM kernel does, so labels agree with scikit-learn's
    GEMM-based Lloyd iteration. Chunks are split statically over ``T`` threads, each summing into
    its own buffer; thread ``t`` writes its sums to ``sums[t]`` and ``counts[t]``.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    cdef Py_ssize_t chunk = CHUNK, n_threads = sums.shape[0], n_chunks = (n + chunk - 1) // chunk
    cdef Py_ssize_t c, i, j, t, f, start, rows, tid
    cdef int label
    cdef floating* work
    cdef floating* local_sums
    cdef floating* local_counts
    if n == 0:
        return
    cdef int[::1] failed = np.zeros(1, dtype=np.intc)
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        work = <floating*>malloc((d + 2) * chunk * sizeof(floating))
        local_sums = <floating*>calloc(k * d, sizeof(floating))
        local_counts = <floating*>calloc(k, sizeof(floating))
        if work == NULL or local_sums == NULL or local_counts == NULL:
            failed[0] = 1
        for c in prange(n_chunks, schedule="static"):
            if work == NULL or local_sums == NULL or local_counts == NULL:
                continue  # every thread must still reach the loop; the caller gets MemoryError
            start = c * chunk
            rows = chunk if start + chunk < n else n - start
            chunk_labels(&X[start, 0], rows, d, &centers[0, 0], &center_norms[0], k,
                         work, work + d * chunk, work + (d + 1) * chunk, &labels[start])
            if update:
                for i in range(start, start + rows):
                    label = labels[i]
                    local_counts[label] += 1
                    for t in range(d):
                        local_sums[label * d + t] += X[i, t]
        if update and local_sums != NULL and local_counts != NULL:
            for j in range(k):
                counts[tid, j] = local_counts[j]
                for f in range(d):
                    sums[tid, j, f] = local_sums[j * d + f]
        free(work)
        free(local_sums)
        free(local_counts)
    _check_threads(failed[0])


def inertia(
    const floating[:, ::1] X,          # IN (n, d) samples
    const floating[:, ::1] centers,    # IN (k, d) centres
    const int[::1] labels,         # IN (n,) centre of each sample
):
    """Sum of squared distances of the samples to their centres, accumulated in double."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, t
    cdef double total = 0, sq, diff
    with nogil:
        for i in prange(n, schedule="static", use_threads_if=n > PARALLEL_SAMPLES):
            sq = 0
            for t in range(d):
                diff = <double>X[i, t] - <double>centers[labels[i], t]
                sq = sq + diff * diff
            total += sq
    return total


def anchor_assign(
    const floating[:, ::1] wh,        # IN (n, 2) box widths and heights, > 0
    const floating[:, ::1] anchors,   # IN (k, 2) anchor widths and heights, > 0
    int[::1] labels,              # OUT (n,) anchor with the highest IoU (first on ties)
    floating[::1] best_iou,           # OUT (n,) that IoU
):
    """Assign every box to the anchor it overlaps most when both share a corner."""
    cdef Py_ssize_t n = wh.shape[0], k = anchors.shape[0], i, j
    cdef floating w, h, inter, iou, best
    cdef int label
    with nogil:
        for i in prange(n, schedule="static", use_threads_if=n * k > PARALLEL_ASSIGN):
            w = wh[i, 0]
            h = wh[i, 1]
            best = -1
            label = 0
            for j in range(k):
                inter = (w if w < anchors[j, 0] else anchors[j, 0]) * (h if h < anchors[j, 1] else anchors[j, 1])
                iou = inter / (w * h + anchors[j, 0] * anchors[j, 1] - inter)
                if iou > best:
                    best = iou
                    label = <int>j
            labels[i] = label
            best_iou[i] = best


def cluster_medians(
    const floating[:, ::1] values,    # IN (n, d) samples
    const int[::1] labels,        # IN (n,) cluster of each sample, in [0, k)
    floating[:, ::1] out,             # OUT (k, d) per-cluster medians; rows of empty clusters untouched
):
    """Per-cluster, per-column median (mean of the two middle values for an even count)."""
    cdef Py_ssize_t n = values.shape[0], d = values.shape[1], k = out.shape[0]
    cdef Py_ssize_t i, j, t, m, half
    cdef Py_ssize_t[::1] offsets = np.zeros(k + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] fill = np.empty(k, dtype=np.intp)
    cdef floating[::1] buf = np.empty(max(n, 1), dtype=np.asarray(values).dtype)
    cdef floating* b
    cdef floating upper
    for i in range(n):
        offsets[labels[i] + 1] += 1
    for j in range(k):
        offsets[j + 1] += offsets[j]
    with nogil:
        for t in range(d):
            for j in range(k):
                fill[j] = offsets[j]
            for i in range(n):
                buf[fill[labels[i]]] = values[i, t]
                fill[labels[i]] += 1
            for j in range(k):
                m = offsets[j + 1] - offsets[j]
                if m == 0:
                    continue
                b = &buf[offsets[j]]
                half = m // 2
                nth_element(b, b + half, b + m)
                upper = b[half]
                if m % 2 == 1:
                    out[j, t] = upper
                else:
                    out[j, t] = (max_element(b, b + half)[0] + upper) / 2


cdef extern from *:
    """
    // x * x rounded on its own: the empty asm keeps the compiler from fusing it into a
    // following addition (an FMA), so sums of squares round as scikit-learn's KD-tree computes them.
    static inline double shouxie_square(double x) {
        double p = x * x;
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __asm__("" : "+x"(p));
    #elif defined(__GNUC__) && defined(__aarch64__)
        __asm__("" : "+w"(p));
    #else
        volatile double v = p;
        p = v;
    #endif
        return p;
    }
    """
    double square "shouxie_square"(double x) noexcept nogil


cdef inline long long _cell(double v, double origin, double side, long long size,
                            long long reach) noexcept nogil:
    """Grid cell of coordinate ``v``, clamped to ``[-reach - 1, size + reach]`` (beyond that no
    cell within ``reach`` exists)."""
    cdef double c = floor((v - origin) / side)
    if c < -reach - 1:
        return -reach - 1
    if c > size + reach:
        return size + reach
    return <long long>c


cdef inline Py_ssize_t _lower_bound(const long long[::1] keys, long long value) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = keys.shape[0], mid
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def mean_shift_seeds(
    const double[:, ::1] X,            # IN (n, d) samples, sorted by grid cell
    const long long[::1] cell_keys,    # IN (u,) sorted linear keys of the occupied cells
    const Py_ssize_t[::1] cell_start,  # IN (u + 1,) samples of cell i are X[cell_start[i]:cell_start[i + 1]]
    const double[:, ::1] cell_sum,     # IN (u, d) sum of the samples of each cell
    const double[:, ::1] cell_lo,      # IN (u, d) lower corner of each cell's samples (all features)
    const double[:, ::1] cell_hi,      # IN (u, d) upper corner
    const long long[::1] grid_shape,   # IN (g,) cells along the first g features (g <= d)
    const double[::1] grid_origin,     # IN (g,) lower corner of cell 0
    double side,                       # IN cell side
    long long reach,                   # IN cells to scan on each side: reach * side >= support
    const double[:, ::1] seeds,        # IN (m, d) starting points
    double bandwidth,                  # IN kernel bandwidth
    bint gaussian,                     # IN Gaussian weights (support 3 bandwidths) instead of flat
    Py_ssize_t max_iter,               # IN iteration cap per seed
    double[:, ::1] means,              # OUT (m, d) converged means
    Py_ssize_t[::1] counts,            # OUT (m,) samples within the support at the last step
    Py_ssize_t[::1] n_iter,            # OUT (m,) iterations done
    double[:, :, ::1] work,            # BUFFER (T, 3, d) per-thread mean, old mean, weighted sum
):
    """Climb from every seed to a mode of the kernel density of ``X``.

    A step replaces the mean by the (weighted) mean of the samples within the support radius
    of the current mean. Candidate cells are the ``(2 reach + 1)^g`` around the mean's cell (a
    binary search per row of cells along the last grid feature); a cell whose bounding box lies
    entirely outside the support is skipped, one entirely inside (flat kernel) contributes its
    precomputed sum, and only the cells across the boundary are checked sample by sample, with
    the rule of scikit-learn's KD-tree, ``sum of squared differences <= radius^2`` summed in
    feature order (the box tests keep a 1e-9 relative margin, so they never decide a sample that
    rounding could put on the other side). A seed
    stops when the shift is at most ``1e-3 * bandwidth``, when no sample is in range, or after
    ``max_iter`` steps (``max_iter + 1`` means at most, as scikit-learn).
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], m = seeds.shape[0], g = grid_shape.shape[0]
    cdef Py_ssize_t n_cells = cell_keys.shape[0], n_threads = work.shape[0]
    cdef Py_ssize_t s, t, p, u, u0, u1, it, tid, combo, n_combos = 1, rem, within
    cdef long long span = 2 * reach + 1, base, c, lo_c, hi_c
    cdef double radius = 3 * bandwidth if gaussian else bandwidth
    cdef double r2 = radius * radius, r2_lo = r2 * (1 - 1e-9), r2_hi = r2 * (1 + 1e-9)
    cdef double stop = 1e-3 * bandwidth, inv_two_var = 1 / (2 * bandwidth * bandwidth)
    cdef double sq, lo, hi, near, far, weight, total, shift
    cdef double* mean
    cdef double* old
    cdef double* acc
    cdef bint outside
    for t in range(g - 1):
        n_combos *= span
    with nogil:
        for s in prange(m, schedule="dynamic", num_threads=n_threads):
            tid = threadid()
            mean = &work[tid, 0, 0]
            old = &work[tid, 1, 0]
            acc = &work[tid, 2, 0]
            for t in range(d):
                mean[t] = seeds[s, t]
            it = 0
            while True:
                for t in range(d):
                    acc[t] = 0
                total = 0
                within = 0
                for combo in range(n_combos):
                    # one row of cells: an offset in [-reach, reach] along features 0 .. g-2
                    base = 0
                    rem = combo
                    outside = False
                    for t in range(g - 1):
                        c = _cell(mean[t], grid_origin[t], side, grid_shape[t], reach) + rem % span - reach
                        rem = rem // span
                        if c < 0 or c >= grid_shape[t]:
                            outside = True
                        base = base * grid_shape[t] + c
                    if outside:
                        continue
                    if g > 0:
                        c = _cell(mean[g - 1], grid_origin[g - 1], side, grid_shape[g - 1], reach)
                        lo_c = c - reach if c > reach else 0
                        hi_c = c + reach if c + reach < grid_shape[g - 1] else grid_shape[g - 1] - 1
                        if lo_c > hi_c:
                            continue
                        base = base * grid_shape[g - 1]
                        u0 = _lower_bound(cell_keys, base + lo_c)
                        u1 = _lower_bound(cell_keys, base + hi_c + 1)
                    else:
                        u0 = 0
                        u1 = n_cells
                    for u in range(u0, u1):
                        near = 0
                        far = 0
                        for t in range(d):
                            lo = cell_lo[u, t] - mean[t]
                            hi = cell_hi[u, t] - mean[t]
                            if lo > 0:
                                near = near + lo * lo
                            elif hi < 0:
                                near = near + hi * hi
                            far = far + (lo * lo if -lo > hi else hi * hi)
                        if near > r2_hi:
                            continue
                        if far < r2_lo and not gaussian:
                            within = within + (cell_start[u + 1] - cell_start[u])
                            total = total + (cell_start[u + 1] - cell_start[u])
                            for t in range(d):
                                acc[t] += cell_sum[u, t]
                            continue
                        for p in range(cell_start[u], cell_start[u + 1]):
                            sq = 0
                            for t in range(d):
                                sq = sq + square(X[p, t] - mean[t])
                            if sq > r2:
                                continue
                            within = within + 1
                            weight = exp(-sq * inv_two_var) if gaussian else 1
                            total = total + weight
                            for t in range(d):
                                acc[t] += weight * X[p, t]
                if within == 0:
                    break
                shift = 0
                for t in range(d):
                    old[t] = mean[t]
                    mean[t] = acc[t] / total
                    shift = shift + (mean[t] - old[t]) * (mean[t] - old[t])
                if sqrt(shift) <= stop or it == max_iter:
                    break
                it = it + 1
            for t in range(d):
                means[s, t] = mean[t]
            counts[s] = within
            n_iter[s] = it
