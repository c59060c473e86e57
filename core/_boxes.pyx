"""Compiled box kernels. Inputs are validated by :mod:`shouxie.core.boxes`.

Every kernel takes ``boxes1`` row-major (N, 4) and ``boxes2`` transposed (4, M) so that the inner
loop over ``j`` reads four contiguous coordinate rows and vectorises. Divisions are guarded by
selecting the denominator first (``x / (d if d > 0 else 1)``), which keeps the loops branch-free.
All four measures run in one parallel loop over the rows of ``boxes1`` (``_pairwise``).
"""
from cython.parallel cimport prange

from _common cimport PARALLEL_PAIRS, _max, _min, floating

cdef enum Measure:
    IOU
    GIOU
    DIOU
    CIOU


def box_iou(
    const floating[:, ::1] boxes1,   # IN (N, 4) x1, y1, x2, y2 with x2 >= x1, y2 >= y1
    const floating[:, ::1] boxes2t,  # IN (4, M) the same for boxes2, transposed
    floating[:, ::1] out,            # OUT (N, M) IoU; 0 where the union is empty
):
    _pairwise(IOU, boxes1, boxes2t, NULL, NULL, 0, out)


def generalized_box_iou(
    const floating[:, ::1] boxes1,   # IN (N, 4)
    const floating[:, ::1] boxes2t,  # IN (4, M)
    floating[:, ::1] out,            # OUT (N, M) IoU - (enclosing area - union) / enclosing area
):
    _pairwise(GIOU, boxes1, boxes2t, NULL, NULL, 0, out)


def distance_box_iou(
    const floating[:, ::1] boxes1,   # IN (N, 4)
    const floating[:, ::1] boxes2t,  # IN (4, M)
    double eps,                      # IN added to the squared enclosing diagonal
    floating[:, ::1] out,            # OUT (N, M) IoU - centre distance² / enclosing diagonal²
):
    _pairwise(DIOU, boxes1, boxes2t, NULL, NULL, <floating>eps, out)


def complete_box_iou(
    const floating[:, ::1] boxes1,   # IN (N, 4)
    const floating[:, ::1] boxes2t,  # IN (4, M)
    const floating[::1] aspect1,     # IN (N,) atan(w / h) of boxes1
    const floating[::1] aspect2,     # IN (M,) atan(w / h) of boxes2
    double eps,                      # IN added to the diagonal² and to the alpha denominator
    floating[:, ::1] out,            # OUT (N, M) DIoU - alpha * v (aspect-ratio consistency)
):
    if aspect1.shape[0] == 0 or aspect2.shape[0] == 0:   # no pairs
        return
    _pairwise(CIOU, boxes1, boxes2t, &aspect1[0], &aspect2[0], <floating>eps, out)


cdef void _pairwise(
    Measure measure,
    const floating[:, ::1] boxes1,
    const floating[:, ::1] boxes2t,
    const floating* aspect1,         # (N,) and (M,) for CIOU, NULL otherwise
    const floating* aspect2,
    floating eps,
    floating[:, ::1] out,
) noexcept:
    # Threads only from PARALLEL_PAIRS (16M) pairs on (about 4 ms on one core): one vectorised
    # core already does a 2000 x 2000 IoU in about 1 ms, and on a loaded machine waiting for a
    # descheduled worker at the end of a parallel loop costs several ms. Rows are handed out
    # dynamically for the same reason.
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2t.shape[1], i
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=8, use_threads_if=n * m > PARALLEL_PAIRS):
            if measure == IOU:
                _iou_row(boxes1, boxes2t, i, out)
            elif measure == GIOU:
                _giou_row(boxes1, boxes2t, i, out)
            else:
                _diou_row(boxes1, boxes2t, i, eps, out)
                if measure == CIOU:
                    _ciou_row(boxes1, boxes2t, i, aspect1, aspect2, eps, out)


cdef inline floating _nonzero(floating d) noexcept nogil:
    """``d`` when positive, else 1: a divisor that never yields NaN (numerators are 0 then)."""
    return d if d > 0 else 1


cdef inline floating _area(const floating[:, ::1] boxes_t, Py_ssize_t j) noexcept nogil:
    return (boxes_t[2, j] - boxes_t[0, j]) * (boxes_t[3, j] - boxes_t[1, j])


cdef inline floating _intersection(floating ax1, floating ay1, floating ax2, floating ay2,
                                   const floating[:, ::1] boxes_t, Py_ssize_t j) noexcept nogil:
    """Intersection area of box (ax1, ay1, ax2, ay2) and box j of the transposed boxes_t."""
    return (_max(_min(ax2, boxes_t[2, j]) - _max(ax1, boxes_t[0, j]), <floating>0)
            * _max(_min(ay2, boxes_t[3, j]) - _max(ay1, boxes_t[1, j]), <floating>0))


cdef inline floating _iou(floating ax1, floating ay1, floating ax2, floating ay2,
                          const floating[:, ::1] boxes_t, Py_ssize_t j) noexcept nogil:
    cdef floating inter = _intersection(ax1, ay1, ax2, ay2, boxes_t, j)
    return inter / _nonzero((ax2 - ax1) * (ay2 - ay1) + _area(boxes_t, j) - inter)


cdef inline void _iou_row(const floating[:, ::1] boxes1, const floating[:, ::1] boxes2t, Py_ssize_t i,
                          floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating ax1 = boxes1[i, 0], ay1 = boxes1[i, 1], ax2 = boxes1[i, 2], ay2 = boxes1[i, 3]
    for j in range(boxes2t.shape[1]):
        out[i, j] = _iou(ax1, ay1, ax2, ay2, boxes2t, j)


cdef inline void _giou_row(const floating[:, ::1] boxes1, const floating[:, ::1] boxes2t, Py_ssize_t i,
                           floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating ax1 = boxes1[i, 0], ay1 = boxes1[i, 1], ax2 = boxes1[i, 2], ay2 = boxes1[i, 3]
    cdef floating inter, union, enclosing
    for j in range(boxes2t.shape[1]):
        inter = _intersection(ax1, ay1, ax2, ay2, boxes2t, j)
        union = (ax2 - ax1) * (ay2 - ay1) + _area(boxes2t, j) - inter
        enclosing = ((_max(ax2, boxes2t[2, j]) - _min(ax1, boxes2t[0, j]))
                     * (_max(ay2, boxes2t[3, j]) - _min(ay1, boxes2t[1, j])))
        out[i, j] = inter / _nonzero(union) - (enclosing - union) / _nonzero(enclosing)


cdef inline void _diou_row(const floating[:, ::1] boxes1, const floating[:, ::1] boxes2t, Py_ssize_t i,
                           floating eps, floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating ax1 = boxes1[i, 0], ay1 = boxes1[i, 1], ax2 = boxes1[i, 2], ay2 = boxes1[i, 3]
    cdef floating cx = (ax1 + ax2) / 2, cy = (ay1 + ay2) / 2
    cdef floating dx, dy, ex, ey
    for j in range(boxes2t.shape[1]):
        ex = _max(ax2, boxes2t[2, j]) - _min(ax1, boxes2t[0, j])
        ey = _max(ay2, boxes2t[3, j]) - _min(ay1, boxes2t[1, j])
        dx = cx - (boxes2t[0, j] + boxes2t[2, j]) / 2
        dy = cy - (boxes2t[1, j] + boxes2t[3, j]) / 2
        out[i, j] = _iou(ax1, ay1, ax2, ay2, boxes2t, j) - (dx * dx + dy * dy) / (ex * ex + ey * ey + eps)


cdef inline void _ciou_row(const floating[:, ::1] boxes1, const floating[:, ::1] boxes2t, Py_ssize_t i,
                           const floating* aspect1, const floating* aspect2, floating eps,
                           floating[:, ::1] out) noexcept nogil:
    # out[i] holds the DIoU row: subtract alpha * v
    cdef Py_ssize_t j
    cdef floating four_over_pi2 = <floating>(4.0 / (3.141592653589793 * 3.141592653589793))
    cdef floating ax1 = boxes1[i, 0], ay1 = boxes1[i, 1], ax2 = boxes1[i, 2], ay2 = boxes1[i, 3]
    cdef floating iou, d, v
    for j in range(boxes2t.shape[1]):
        iou = _iou(ax1, ay1, ax2, ay2, boxes2t, j)
        d = aspect1[i] - aspect2[j]
        v = four_over_pi2 * d * d
        out[i, j] = out[i, j] - v / (1 - iou + v + eps) * v
