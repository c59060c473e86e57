"""Compiled box kernels. Inputs are validated by :mod:`shouxie.core.boxes`."""
from cython.parallel cimport prange

ctypedef fused real:
    float
    double


cdef inline real _min(real a, real b) noexcept nogil:
    return a if a < b else b


cdef inline real _max(real a, real b) noexcept nogil:
    return a if a > b else b


def box_iou(
    const real[:, ::1] boxes1,   # IN (N, 4) x1, y1, x2, y2 with x2 >= x1, y2 >= y1
    const real[:, ::1] boxes2,   # IN (M, 4)
    real[:, ::1] out,            # OUT (N, M) IoU; 0 where the union is empty
):
    cdef Py_ssize_t n = boxes1.shape[0], m = boxes2.shape[0], i, j
    cdef real ax1, ay1, ax2, ay2, area_a, w, h, inter, union
    if n == 0 or m == 0:
        return
    with nogil:
        for i in prange(n, schedule="static", use_threads_if=n * m > 16384):
            ax1 = boxes1[i, 0]
            ay1 = boxes1[i, 1]
            ax2 = boxes1[i, 2]
            ay2 = boxes1[i, 3]
            area_a = (ax2 - ax1) * (ay2 - ay1)
            for j in range(m):
                w = _min(ax2, boxes2[j, 2]) - _max(ax1, boxes2[j, 0])
                h = _min(ay2, boxes2[j, 3]) - _max(ay1, boxes2[j, 1])
                if w <= 0 or h <= 0:
                    out[i, j] = 0
                    continue
                inter = w * h
                union = area_a + (boxes2[j, 2] - boxes2[j, 0]) * (boxes2[j, 3] - boxes2[j, 1]) - inter
                out[i, j] = inter / union if union > 0 else 0
