"""Compiled COCO bounding-box matching. Inputs are validated and grouped by :mod:`shouxie.core.coco`.

The arithmetic is pycocotools' to the bit: IoU is ``bbIou`` of its maskApi.c (boxes ``x, y, w, h``
in double, the right edge as ``w + x``, a crowd box's denominator the detection's area) and the
greedy match is ``COCOeval.evaluateImg``'s. Floating-point contraction is switched off for this
module so that no multiply-add is fused where pycocotools rounds twice.
"""
from cython.parallel cimport prange
from libc.math cimport fmax, fmin

cdef extern from *:
    """
    #if defined(__clang__)
    #pragma STDC FP_CONTRACT OFF
    #elif defined(__GNUC__)
    #pragma GCC optimize ("fp-contract=off")
    #endif
    """

# Match outcomes stored per (area range, IoU threshold, detection); Outcome.IGNORED etc. in Python.
cpdef enum Outcome:
    FALSE_POSITIVE = 0
    TRUE_POSITIVE = 1
    IGNORED = 2


cdef inline double _bb_iou(const double[:, ::1] dt, Py_ssize_t i, const double[:, ::1] gt, Py_ssize_t j,
                           bint crowd) noexcept nogil:
    cdef double w, h, inter, da
    w = fmin(dt[i, 2] + dt[i, 0], gt[j, 2] + gt[j, 0]) - fmax(dt[i, 0], gt[j, 0])
    if w <= 0:
        return 0
    h = fmin(dt[i, 3] + dt[i, 1], gt[j, 3] + gt[j, 1]) - fmax(dt[i, 1], gt[j, 1])
    if h <= 0:
        return 0
    inter = w * h
    da = dt[i, 2] * dt[i, 3]
    if crowd:
        return inter / da
    return inter / (da + gt[j, 2] * gt[j, 3] - inter)


cdef void _match_group(
    Py_ssize_t n, const double[:, ::1] dt_boxes, const double[::1] dt_area, const double[:, ::1] gt_boxes,
    const double[::1] gt_area, const unsigned char[::1] gt_crowd, const unsigned char[::1] gt_counted,
    const Py_ssize_t[:, ::1] groups, const Py_ssize_t[::1] iou_offset, const double[::1] thresholds,
    const double[:, ::1] area_ranges, const Py_ssize_t[::1] column, double[::1] iou, Py_ssize_t[::1] gt_order,
    unsigned char[::1] gt_ignore, unsigned char[::1] gt_matched, signed char[:, :, ::1] status,
) noexcept nogil:
    cdef Py_ssize_t d0 = groups[n, 0], g0 = groups[n, 2]
    cdef Py_ssize_t nd = groups[n, 1] - d0, ng = groups[n, 3] - g0, off = iou_offset[n]
    cdef Py_ssize_t d, g, j, k, a, t, m
    cdef double lo, hi, best, v
    cdef bint outside
    cdef signed char s
    for d in range(nd):
        for g in range(ng):
            iou[off + d * ng + g] = _bb_iou(dt_boxes, d0 + d, gt_boxes, g0 + g, gt_crowd[g0 + g])
    for a in range(area_ranges.shape[0]):
        lo, hi = area_ranges[a, 0], area_ranges[a, 1]
        # ground truth ignored when crowd or outside the range; the kept ones first (a stable sort)
        k = 0
        for g in range(ng):
            gt_ignore[g0 + g] = gt_crowd[g0 + g] or gt_area[g0 + g] < lo or gt_area[g0 + g] > hi
            if not gt_ignore[g0 + g]:
                gt_order[g0 + k] = g
                k += 1
        for g in range(ng):
            if gt_ignore[g0 + g]:
                gt_order[g0 + k] = g
                k += 1
        for t in range(thresholds.shape[0]):
            for g in range(ng):
                gt_matched[g0 + g] = 0
            for d in range(nd):
                best = thresholds[t]
                m = -1
                for j in range(ng):
                    g = gt_order[g0 + j]
                    if gt_matched[g0 + g] and not gt_crowd[g0 + g]:
                        continue
                    if m > -1 and not gt_ignore[g0 + m] and gt_ignore[g0 + g]:
                        break
                    v = iou[off + d * ng + g]
                    if v < best:
                        continue
                    best = v
                    m = g
                outside = dt_area[d0 + d] < lo or dt_area[d0 + d] > hi
                if m == -1:
                    s = IGNORED if outside else FALSE_POSITIVE
                else:
                    gt_matched[g0 + m] = 1
                    if gt_counted[g0 + m]:
                        s = IGNORED if gt_ignore[g0 + m] else TRUE_POSITIVE
                    else:  # pycocotools stores the gt's id 0 as "no match"
                        s = IGNORED if gt_ignore[g0 + m] or outside else FALSE_POSITIVE
                status[a, t, column[d0 + d]] = s


def match(
    const double[:, ::1] dt_boxes,      # IN (D, 4) x, y, w, h; grouped by (image, category), by score inside
    const double[::1] dt_area,          # IN (D,) w * h
    const double[:, ::1] gt_boxes,      # IN (G, 4) x, y, w, h; grouped the same way, given order inside
    const double[::1] gt_area,          # IN (G,) the annotations' area
    const unsigned char[::1] gt_crowd,  # IN (G,) iscrowd
    const unsigned char[::1] gt_counted,  # IN (G,) 0 where the annotation id is 0
    const Py_ssize_t[:, ::1] groups,    # IN (N, 4) dt start, dt end, gt start, gt end of each group
    const Py_ssize_t[::1] iou_offset,   # IN (N,) start of each group's D x G block in iou
    const double[::1] thresholds,       # IN (T,) min(t, 1 - 1e-10)
    const double[:, ::1] area_ranges,   # IN (A, 2) closed [lo, hi]
    const Py_ssize_t[::1] column,       # IN (D,) where each detection's outcome goes in status
    double[::1] iou,                    # SCRATCH (sum of D x G over groups,)
    Py_ssize_t[::1] gt_order,           # SCRATCH (G,)
    unsigned char[::1] gt_ignore,       # SCRATCH (G,)
    unsigned char[::1] gt_matched,      # SCRATCH (G,)
    signed char[:, :, ::1] status,      # OUT (A, T, D) FALSE_POSITIVE, TRUE_POSITIVE or IGNORED, by column
):
    cdef Py_ssize_t n
    with nogil:
        for n in prange(groups.shape[0], schedule="dynamic", chunksize=64):
            _match_group(n, dt_boxes, dt_area, gt_boxes, gt_area, gt_crowd, gt_counted, groups, iou_offset,
                         thresholds, area_ranges, column, iou, gt_order, gt_ignore, gt_matched, status)
