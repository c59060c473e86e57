"""Compiled box kernels. Inputs are validated by :mod:`shouxie.core.boxes`.

Every kernel takes ``boxes1`` row-major (N, 4) and ``boxes2`` transposed (4, M) so that the inner
loop over ``j`` reads four contiguous coordinate rows and vectorises. Divisions are guarded by
selecting the denominator first (``x / (d if d > 0 else 1)``), which keeps the loops branch-free.
"""
from cython.parallel cimport prange

ctypedef fused real:
    float
    double

# Threads only from 16M pairs on (about 4 ms on one core): one vectorised core already does a
# 2000 x 2000 IoU in about 1 ms, and on a loaded machine waiting for a descheduled worker at the
# end of a parallel loop costs several ms. Rows are handed out dynamically for the same reason.
cdef Py_ssize_t PARALLEL_PAIRS = 1 << 24


cdef inline real _min(real a, real b) noexcept nogil:
    return a if a < b else b


cdef inline real _max(real a, real b) noexcept nogil:
    return a if a > b else b


cdef inline real _nonzero(real d) noexcept nogil:
    """``d`` when positive, else 1: a divisor that never yields NaN (numerators are 0 then)."""
    return d if d > 0 else 1


def box_iou(
    const real[:, ::1] boxes1,   # IN (N, 4) x1, y1, x2, y2 with x2 >= x1, y2 >= y1
    const real[:, ::1] boxes2t,  # IN (4, M) the same for boxes2, transposed
    real[:, ::1] out,            # OUT (N, M) IoU; 0 where the union is empty
):
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2t.shape[1], i, j
    cdef real ax1, ay1, ax2, ay2, inter
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=8, use_threads_if=n * m > PARALLEL_PAIRS):
            ax1, ay1, ax2, ay2 = boxes1[i, 0], boxes1[i, 1], boxes1[i, 2], boxes1[i, 3]
            for j in range(m):
                inter = _intersection(ax1, ay1, ax2, ay2, boxes2t, j)
                out[i, j] = inter / _nonzero((ax2 - ax1) * (ay2 - ay1) + _area(boxes2t, j) - inter)


def generalized_box_iou(
    const real[:, ::1] boxes1,   # IN (N, 4)
    const real[:, ::1] boxes2t,  # IN (4, M)
    real[:, ::1] out,            # OUT (N, M) IoU - (enclosing area - union) / enclosing area
):
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2t.shape[1], i, j
    cdef real ax1, ay1, ax2, ay2, inter, union, enclosing
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=8, use_threads_if=n * m > PARALLEL_PAIRS):
            ax1, ay1, ax2, ay2 = boxes1[i, 0], boxes1[i, 1], boxes1[i, 2], boxes1[i, 3]
            for j in range(m):
                inter = _intersection(ax1, ay1, ax2, ay2, boxes2t, j)
                union = (ax2 - ax1) * (ay2 - ay1) + _area(boxes2t, j) - inter
                enclosing = ((_max(ax2, boxes2t[2, j]) - _min(ax1, boxes2t[0, j]))
                             * (_max(ay2, boxes2t[3, j]) - _min(ay1, boxes2t[1, j])))
                out[i, j] = inter / _nonzero(union) - (enclosing - union) / _nonzero(enclosing)


def distance_box_iou(
    const real[:, ::1] boxes1,   # IN (N, 4)
    const real[:, ::1] boxes2t,  # IN (4, M)
    double eps,                  # IN added to the squared enclosing diagonal
    real[:, ::1] out,            # OUT (N, M) IoU - centre distance² / enclosing diagonal²
):
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2t.shape[1], i
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=8, use_threads_if=n * m > PARALLEL_PAIRS):
            _diou_row(boxes1, boxes2t, i, <real>eps, out)


def complete_box_iou(
    const real[:, ::1] boxes1,   # IN (N, 4)
    const real[:, ::1] boxes2t,  # IN (4, M)
    const real[::1] aspect1,     # IN (N,) atan(w / h) of boxes1
    const real[::1] aspect2,     # IN (M,) atan(w / h) of boxes2
    double eps,                  # IN added to the diagonal² and to the alpha denominator
    real[:, ::1] out,            # OUT (N, M) DIoU - alpha * v (aspect-ratio consistency)
):
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2t.shape[1], i, j
    cdef real four_over_pi2 = <real>(4.0 / (3.141592653589793 * 3.141592653589793))
    cdef real ax1, ay1, ax2, ay2, inter, iou, d, v
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=8, use_threads_if=n * m > PARALLEL_PAIRS):
            _diou_row(boxes1, boxes2t, i, <real>eps, out)
            ax1, ay1, ax2, ay2 = boxes1[i, 0], boxes1[i, 1], boxes1[i, 2], boxes1[i, 3]
            for j in range(m):
                inter = _intersection(ax1, ay1, ax2, ay2, boxes2t, j)
                iou = inter / _nonzero((ax2 - ax1) * (ay2 - ay1) + _area(boxes2t, j) - inter)
                d = aspect1[i] - aspect2[j]
                v = four_over_pi2 * d * d
                out[i, j] = out[i, j] - v / (1 - iou + v + <real>eps) * v


cdef inline real _area(const real[:, ::1] boxes_t, Py_ssize_t j) noexcept nogil:
    return (boxes_t[2, j] - boxes_t[0, j]) * (boxes_t[3, j] - boxes_t[1, j])


cdef inline real _intersection(real ax1, real ay1, real ax2, real ay2, const real[:, ::1] boxes_t,
                               Py_ssize_t j) noexcept nogil:
    """Intersection area of box (ax1, ay1, ax2, ay2) and box j of the transposed boxes_t."""
    return (_max(_min(ax2, boxes_t[2, j]) - _max(ax1, boxes_t[0, j]), <real>0)
            * _max(_min(ay2, boxes_t[3, j]) - _max(ay1, boxes_t[1, j]), <real>0))


cdef inline void _diou_row(
    const real[:, ::1] boxes1,
    const real[:, ::1] boxes2t,
    Py_ssize_t i,
    real eps,
    real[:, ::1] out,
) noexcept nogil:
    cdef Py_ssize_t j, m = boxes2t.shape[1]
    cdef real ax1 = boxes1[i, 0], ay1 = boxes1[i, 1], ax2 = boxes1[i, 2], ay2 = boxes1[i, 3]
    cdef real area_a = (ax2 - ax1) * (ay2 - ay1), cx = (ax1 + ax2) / 2, cy = (ay1 + ay2) / 2
    cdef real inter, dx, dy, ex, ey
    for j in range(m):
        inter = _intersection(ax1, ay1, ax2, ay2, boxes2t, j)
        ex = _max(ax2, boxes2t[2, j]) - _min(ax1, boxes2t[0, j])
        ey = _max(ay2, boxes2t[3, j]) - _min(ay1, boxes2t[1, j])
        dx = cx - (boxes2t[0, j] + boxes2t[2, j]) / 2
        dy = cy - (boxes2t[1, j] + boxes2t[3, j]) / 2
        out[i, j] = (inter / _nonzero(area_a + _area(boxes2t, j) - inter)
                     - (dx * dx + dy * dy) / (ex * ex + ey * ey + eps))
