"""Compiled clustering of Weighted Boxes Fusion. Inputs are validated and ordered by :mod:`shouxie.core.wbf`.

The arithmetic is ensemble-boxes' to the bit: IoU in double as its ``bb_iou_array``; a fused box
accumulates ``score * coordinate`` into float32 (its ``np.zeros(8, dtype=np.float32)``), one
member at a time, and divides by the float64 sum of the scores into float32 again; a cluster of
one box keeps that box's float64 values. Contraction is off so no multiply-add is fused.
"""
from cython.parallel cimport prange

cdef extern from *:
    """
    #if defined(__clang__)
    #pragma STDC FP_CONTRACT OFF
    #elif defined(__GNUC__)
    #pragma GCC optimize ("fp-contract=off")
    #endif
    """


cdef inline double _max(double a, double b) noexcept nogil:
    return a if a > b else b   # np.maximum without NaN


cdef inline double _min(double a, double b) noexcept nogil:
    return a if a < b else b


cdef void _cluster_segment(
    Py_ssize_t s, const double[:, ::1] boxes, const double[::1] scores, const double[::1] weights,
    const Py_ssize_t[::1] starts, double iou_threshold, bint use_max, float[:, ::1] acc, double[::1] conf,
    double[::1] wsum, double[::1] best, double[:, ::1] fused, double[::1] fused_score,
    double[::1] fused_weight, Py_ssize_t[::1] count, Py_ssize_t[::1] assignment, Py_ssize_t[::1] clusters,
) noexcept nogil:
    cdef Py_ssize_t lo = starts[s], hi = starts[s + 1], n = 0, j, c, k, pick
    cdef double x1, y1, x2, y2, xa, ya, xb, yb, inter, area, iou, top
    for j in range(lo, hi):
        x1, y1, x2, y2 = boxes[j, 0], boxes[j, 1], boxes[j, 2], boxes[j, 3]
        area = (x2 - x1) * (y2 - y1)
        pick = -1
        top = 0
        for c in range(lo, lo + n):   # np.argmax: the first of the best
            xa = _max(fused[c, 0], x1)
            ya = _max(fused[c, 1], y1)
            xb = _min(fused[c, 2], x2)
            yb = _min(fused[c, 3], y2)
            inter = _max(xb - xa, 0) * _max(yb - ya, 0)
            iou = inter / ((fused[c, 2] - fused[c, 0]) * (fused[c, 3] - fused[c, 1]) + area - inter)
            if pick == -1 or iou > top:
                top = iou
                pick = c
        if pick == -1 or top <= iou_threshold:   # a new cluster: the box itself, in float64
            c = lo + n
            n += 1
            for k in range(4):
                acc[c, k] = <float>(0.0 + scores[j] * boxes[j, k])
                fused[c, k] = boxes[j, k]
            conf[c] = scores[j]
            best[c] = scores[j]
            wsum[c] = weights[j]
            fused_score[c] = scores[j]
            fused_weight[c] = weights[j]
            count[c] = 1
        else:
            c = pick
            for k in range(4):
                acc[c, k] = <float>(<double>acc[c, k] + scores[j] * boxes[j, k])
            conf[c] = conf[c] + scores[j]
            best[c] = _max(best[c], scores[j])
            wsum[c] = wsum[c] + weights[j]
            count[c] += 1
            for k in range(4):
                fused[c, k] = <float>(<double>acc[c, k] / conf[c])
            fused_score[c] = <float>(best[c] if use_max else conf[c] / <double>count[c])
            fused_weight[c] = <float>wsum[c]
        assignment[j] = c
    clusters[s] = n


def cluster(
    const double[:, ::1] boxes,     # IN (N, 4) x1, y1, x2, y2 in [0, 1]; by label, by weighted score inside
    const double[::1] scores,       # IN (N,) score * model weight
    const double[::1] weights,      # IN (N,) the model weight of each box
    const Py_ssize_t[::1] starts,   # IN (S + 1,) label segments
    double iou_threshold,           # IN a box joins the best cluster when IoU > threshold
    bint use_max,                   # IN fused confidence: max member score (else the mean)
    float[:, ::1] acc,              # SCRATCH (N, 4)
    double[::1] conf,               # SCRATCH (N,)
    double[::1] wsum,               # SCRATCH (N,)
    double[::1] best,               # SCRATCH (N,)
    double[:, ::1] fused,           # OUT (N, 4) cluster boxes, segment s from starts[s]
    double[::1] fused_score,        # OUT (N,) before the final rescaling
    double[::1] fused_weight,       # OUT (N,) summed model weights
    Py_ssize_t[::1] count,          # OUT (N,) members
    Py_ssize_t[::1] assignment,     # OUT (N,) cluster slot of each box
    Py_ssize_t[::1] clusters,       # OUT (S,) clusters per segment
):
    cdef Py_ssize_t s
    with nogil:
        for s in prange(clusters.shape[0], schedule="dynamic", chunksize=1):
            _cluster_segment(s, boxes, scores, weights, starts, iou_threshold, use_max, acc, conf, wsum, best,
                             fused, fused_score, fused_weight, count, assignment, clusters)
