"""Compiled non-maximum suppression kernels. Inputs are validated by :mod:`shouxie.core.nms`."""
from libc.math cimport INFINITY
from libc.stdint cimport INT64_MAX, int64_t, uint8_t

from libcpp.vector cimport vector

include "_fastmath.pxi"

cdef extern from *:
    """
    /* maximum of a[0..n-1] and -1; a max-reduction GCC only vectorises when told it may */
    static inline double _shouxie_max_or_minus_one(const double* a, Py_ssize_t n) {
        double top = -1.0;
        #pragma omp simd reduction(max:top)
        for (Py_ssize_t i = 0; i < n; ++i) top = a[i] > top ? a[i] : top;
        return top;
    }
    """
    double _max_or_minus_one "_shouxie_max_or_minus_one"(const double* a, Py_ssize_t n) noexcept nogil

ctypedef fused real:
    float
    double

cdef enum:
    GAUSSIAN = 0
    LINEAR = 1


cdef inline real _min(real a, real b) noexcept nogil:
    return a if a < b else b


cdef inline real _max(real a, real b) noexcept nogil:
    return a if a > b else b


def nms_segments(
    const real[:, ::1] boxes_t,    # IN (4, N) x1, y1, x2, y2 rows, each segment sorted by decreasing score
    const int64_t[::1] starts,     # IN (G + 1,) segment g is [starts[g], starts[g + 1]); NMS runs per segment
    double iou_threshold,          # IN suppress when IoU > iou_threshold
    int64_t[::1] keep,             # OUT (N,) positions of the kept boxes, ascending
):
    """Greedy NMS inside each segment; returns how many positions were written to ``keep``."""
    cdef Py_ssize_t n = boxes_t.shape[1], g, i, j, stop, count = 0
    cdef const real[::1] x1 = boxes_t[0]
    cdef const real[::1] y1 = boxes_t[1]
    cdef const real[::1] x2 = boxes_t[2]
    cdef const real[::1] y2 = boxes_t[3]
    cdef vector[real] area
    cdef vector[uint8_t] suppressed
    cdef real ix1, iy1, ix2, iy2, iarea, w, h, inter, ovr
    if n == 0:
        return 0
    with nogil:
        area.resize(n)
        suppressed.resize(n, 0)
        for i in range(n):
            area[i] = (x2[i] - x1[i]) * (y2[i] - y1[i])
        for g in range(starts.shape[0] - 1):
            stop = starts[g + 1]
            for i in range(starts[g], stop):
                if suppressed[i]:
                    continue
                keep[count] = i
                count += 1
                ix1 = x1[i]
                iy1 = y1[i]
                ix2 = x2[i]
                iy2 = y2[i]
                iarea = area[i]
                # branch-free so that it vectorises; 0 / 0 is NaN, and NaN > t is false
                for j in range(i + 1, stop):
                    w = _max(_min(ix2, x2[j]) - _max(ix1, x1[j]), <real>0)
                    h = _max(_min(iy2, y2[j]) - _max(iy1, y1[j]), <real>0)
                    inter = w * h
                    ovr = inter / (iarea + area[j] - inter)
                    suppressed[j] |= <double>ovr > iou_threshold
    return count


cdef enum:
    BLOCK = 64  # soft_nms keeps the maximum score of every BLOCK consecutive boxes


cdef inline Py_ssize_t _stop(Py_ssize_t n, Py_ssize_t b) noexcept nogil:
    """End of block b of n boxes."""
    return n if n < b * BLOCK + BLOCK else b * BLOCK + BLOCK


def soft_nms(
    const double[:, ::1] boxes_t,  # IN (4, N) x1, y1, x2, y2 rows, boxes sorted by (band, x1)
    const int64_t[::1] band,       # IN (N,) band of each box (non-decreasing), in [0, bands)
    Py_ssize_t bands,              # IN number of bands
    const int64_t[::1] ids,        # IN (N,) original index of each (sorted) box
    const double[::1] scores,      # IN (N,) scores (sorted order)
    int method,                    # IN 0 gaussian, 1 linear
    double sigma,                  # IN gaussian: weight exp(-iou² / sigma)
    double iou_threshold,          # IN linear: decay only when IoU > iou_threshold
    double score_threshold,        # IN a box whose score falls below this is dropped
    int64_t[::1] selected,         # OUT (N,) original indices in selection order
    double[::1] selected_scores,   # OUT (N,) their scores when selected
):
    """Soft-NMS (Bodla et al. 2017); returns how many boxes were selected.

    Live boxes are kept grouped in horizontal bands (by y1) and sorted by x1 inside a band, so
    the boxes of a band that a selected box can overlap form one contiguous range, found by two
    binary searches (on x1, and on the band's running maximum of x2); bands entirely above or
    below the box are skipped. Only those ranges are decayed, in branch-free loops that
    vectorise. Selected and dropped boxes get score -1 and are compacted away every N / 8
    selections. The maximum score of every BLOCK boxes is cached and refreshed for the blocks a
    range touches, so finding the next selection (highest score, lowest original index on ties)
    scans N / BLOCK maxima.
    """
    cdef Py_ssize_t n = 0, nb = 0, b, q, p, g, lo, hi, first, stop, since = 0, count = 0
    cdef vector[double] x1, y1, x2, y2, area, x2_max, sc, block_max, band_y1_min, band_y2_max
    cdef vector[int64_t] box_id, box_band
    cdef vector[Py_ssize_t] band_start
    cdef double px1, py1, px2, py2, parea, top
    cdef int64_t best_id
    with nogil:
        for q in range(boxes_t.shape[1]):
            if scores[q] >= score_threshold:
                x1.push_back(boxes_t[0, q])
                y1.push_back(boxes_t[1, q])
                x2.push_back(boxes_t[2, q])
                y2.push_back(boxes_t[3, q])
                area.push_back((boxes_t[2, q] - boxes_t[0, q]) * (boxes_t[3, q] - boxes_t[1, q]))
                sc.push_back(scores[q])
                box_id.push_back(ids[q])
                box_band.push_back(band[q])
        n = sc.size()
        x2_max.resize(n)
        block_max.resize((n + BLOCK - 1) // BLOCK)
        band_start.resize(bands + 1)
        band_y1_min.resize(bands)
        band_y2_max.resize(bands)
        while n > 0:
            if since == 0 or 8 * since >= n:
                # drop dead boxes (score -1), then rebuild the band index and block maxima
                b = 0
                for q in range(n):
                    if sc[q] >= 0:
                        x1[b] = x1[q]
                        y1[b] = y1[q]
                        x2[b] = x2[q]
                        y2[b] = y2[q]
                        area[b] = area[q]
                        sc[b] = sc[q]
                        box_id[b] = box_id[q]
                        box_band[b] = box_band[q]
                        b += 1
                n = b
                if n == 0:
                    break
                for g in range(bands + 1):
                    band_start[g] = 0
                for g in range(bands):
                    band_y1_min[g] = INFINITY
                    band_y2_max[g] = -INFINITY
                for q in range(n):
                    g = box_band[q]
                    band_start[g + 1] += 1
                    band_y1_min[g] = _min(band_y1_min[g], y1[q])
                    band_y2_max[g] = _max(band_y2_max[g], y2[q])
                    x2_max[q] = _max(x2[q], x2_max[q - 1]) if q > 0 and box_band[q - 1] == g else x2[q]
                for g in range(bands):
                    band_start[g + 1] += band_start[g]
                nb = (n + BLOCK - 1) // BLOCK
                _refresh(&sc[0], n, &block_max[0], 0, nb)
                since = 0
            since += 1
            top = _max_or_minus_one(&block_max[0], nb)
            if top < 0:
                break
            best_id = INT64_MAX
            p = 0
            for b in range(nb):
                if block_max[b] == top:
                    for q in range(b * BLOCK, _stop(n, b)):
                        if sc[q] == top and box_id[q] < best_id:
                            best_id = box_id[q]
                            p = q
            selected[count] = best_id
            selected_scores[count] = top
            count += 1
            sc[p] = -1
            _refresh(&sc[0], n, &block_max[0], p // BLOCK, p // BLOCK + 1)
            px1 = x1[p]
            py1 = y1[p]
            px2 = x2[p]
            py2 = y2[p]
            parea = area[p]
            for g in range(bands):
                first = band_start[g]
                stop = band_start[g + 1]
                if first == stop or band_y1_min[g] >= py2 or band_y2_max[g] <= py1:
                    continue  # empty, or entirely below / above the selected box
                lo = first + _first_above(&x2_max[first], stop - first, px1)  # earlier boxes end left of px1
                hi = first + _first_at_least(&x1[first], stop - first, px2)  # later ones start right of px2
                if lo >= hi:
                    continue
                _decay(&sc[0], &x1[0], &y1[0], &x2[0], &y2[0], &area[0], lo, hi, px1, py1, px2, py2, parea,
                       method, sigma, iou_threshold, score_threshold)
                _refresh(&sc[0], n, &block_max[0], lo // BLOCK, (hi - 1) // BLOCK + 1)
    return count


cdef inline void _decay(
    double* sc, const double* x1, const double* y1, const double* x2, const double* y2, const double* area,
    Py_ssize_t lo, Py_ssize_t hi, double px1, double py1, double px2, double py2, double parea,
    int method, double sigma, double iou_threshold, double score_threshold,
) noexcept nogil:
    """Decay boxes lo .. hi - 1 by their IoU with the selected box; -1 marks a dropped box.

    One fused, branch-free loop per method, so that each vectorises.
    """
    cdef Py_ssize_t q
    cdef double iou, s
    if method == GAUSSIAN and sigma >= 0.125:  # then iou² / sigma <= 8
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            s = sc[q] * _exp_neg_small((iou * iou) / sigma)
            sc[q] = s if (s >= score_threshold) & (sc[q] >= 0) else -1
    elif method == GAUSSIAN:
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            s = sc[q] * _exp_neg((iou * iou) / sigma)
            sc[q] = s if (s >= score_threshold) & (sc[q] >= 0) else -1
    else:
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            s = sc[q] * (1 - iou if iou > iou_threshold else 1.0)
            sc[q] = s if (s >= score_threshold) & (sc[q] >= 0) else -1


cdef inline double _iou(double ax1, double ay1, double ax2, double ay2, double area_a,
                        double bx1, double by1, double bx2, double by2, double area_b) noexcept nogil:
    """IoU of two boxes, 0 when they do not overlap; the same operations as ref.numpy_soft_nms."""
    cdef double inter = (_max(_min(ax2, bx2) - _max(ax1, bx1), 0.0)
                         * _max(_min(ay2, by2) - _max(ay1, by1), 0.0))
    cdef double union = area_a + area_b - inter
    return inter / (union if union > 0 else 1.0)


cdef inline void _refresh(const double* scores, Py_ssize_t n, double* block_max, Py_ssize_t first,
                          Py_ssize_t stop) noexcept nogil:
    """Recompute the cached maxima of blocks first .. stop - 1."""
    cdef Py_ssize_t b
    for b in range(first, stop):
        block_max[b] = _max_or_minus_one(scores + b * BLOCK, _stop(n, b) - b * BLOCK)


cdef inline Py_ssize_t _first_above(const double* a, Py_ssize_t n, double v) noexcept nogil:
    """First position whose (non-decreasing) value is > v; n when none. Branch-free halving."""
    cdef Py_ssize_t base = 0, half
    if n == 0:
        return 0
    while n > 1:
        half = n // 2
        base = base + half if a[base + half - 1] <= v else base
        n -= half
    return base + (a[base] <= v)


cdef inline Py_ssize_t _first_at_least(const double* a, Py_ssize_t n, double v) noexcept nogil:
    """First position whose (non-decreasing) value is >= v; n when none. Branch-free halving."""
    cdef Py_ssize_t base = 0, half
    if n == 0:
        return 0
    while n > 1:
        half = n // 2
        base = base + half if a[base + half - 1] < v else base
        n -= half
    return base + (a[base] < v)
