"""Compiled 2-D max pooling. Inputs are validated by :mod:`shouxie.core.conv`.

Semantics are torch's: padding never wins (it acts as -inf), the first maximum of a window in
row-major order wins ties, and a NaN wins over every number (the last NaN of the window, as in
torch's ``val > maxval || isnan(val)`` scan). ``argmax`` holds the winner's flat index ``ih * W + iw``
inside its plane. Small problems run on one thread.
"""
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport int32_t
from libc.string cimport memset

# Fewest visited elements worth a parallel loop.
DEF PARALLEL_MIN = 1 << 20

ctypedef fused real:
    float
    double


def max_pool2d_forward(
    const real[:, :, ::1] x,       # IN  (P, H, W): the N*C planes
    real[:, :, ::1] out,           # OUT (P, HO, WO) window maxima
    int32_t[:, :, ::1] argmax,     # OUT (P, HO, WO) flat index of each maximum inside its plane
    Py_ssize_t kh, Py_ssize_t kw,  # IN  kernel size
    Py_ssize_t sh, Py_ssize_t sw,  # IN  stride (>= 1)
    Py_ssize_t ph, Py_ssize_t pw,  # IN  padding (<= half the kernel, so no window is all padding)
):
    cdef Py_ssize_t planes = x.shape[0], h = x.shape[1], w = x.shape[2]
    cdef Py_ssize_t ho = out.shape[1], wo = out.shape[2]
    cdef Py_ssize_t p, oh, ow, h0, h1, w0, w1, ih, iw, best_i
    cdef real best, v
    cdef const real* row
    if planes == 0 or ho == 0 or wo == 0:
        return
    with nogil:
        for p in prange(planes, schedule="static", use_threads_if=planes * ho * wo * kh * kw > PARALLEL_MIN):
            for oh in range(ho):
                h0 = oh * sh - ph
                h1 = h0 + kh if h0 + kh < h else h
                h0 = h0 if h0 > 0 else 0
                for ow in range(wo):
                    w0 = ow * sw - pw
                    w1 = w0 + kw if w0 + kw < w else w
                    w0 = w0 if w0 > 0 else 0
                    best = -INFINITY
                    best_i = h0 * w + w0
                    for ih in range(h0, h1):
                        row = &x[p, ih, 0]
                        for iw in range(w0, w1):
                            v = row[iw]
                            if v > best or v != v:
                                best = v
                                best_i = ih * w + iw
                    out[p, oh, ow] = best
                    argmax[p, oh, ow] = <int32_t>best_i


def max_pool2d_backward(
    const real[:, :, ::1] dout,        # IN  (P, HO, WO) gradient of the output
    const int32_t[:, :, ::1] argmax,   # IN  (P, HO, WO) from the forward pass
    real[:, :, ::1] dx,                # OUT (P, H, W) gradient of the input; overwritten
):
    cdef Py_ssize_t planes = dx.shape[0], h = dx.shape[1], w = dx.shape[2]
    cdef Py_ssize_t ho = dout.shape[1], wo = dout.shape[2]
    cdef Py_ssize_t p, k, m = ho * wo
    cdef real* dst
    cdef const real* src
    cdef const int32_t* idx
    if planes == 0 or h == 0 or w == 0:
        return
    with nogil:
        for p in prange(planes, schedule="static", use_threads_if=planes * h * w > PARALLEL_MIN):
            dst = &dx[p, 0, 0]
            memset(dst, 0, h * w * sizeof(real))
            if m == 0:
                continue
            src = &dout[p, 0, 0]
            idx = &argmax[p, 0, 0]
            for k in range(m):
                dst[idx[k]] += src[k]
