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

include "_windows.pxi"


cdef inline void _tap_pass(
    const floating* src,     # IN  the input row, shifted so that output ow reads src[ow * stride]
    floating* best,          # IN/OUT running maxima of one output row
    int32_t* arg,        # IN/OUT their flat indices
    Py_ssize_t lo,       # IN  outputs lo .. hi - 1 have this tap inside the input
    Py_ssize_t hi,
    Py_ssize_t stride,   # IN
    int32_t base,        # IN  flat index of src[0]
) noexcept nogil:
    # One tap of the window for a run of outputs: take the value when it is larger or NaN.
    cdef Py_ssize_t ow
    cdef floating v, b
    cdef bint take
    for ow in range(lo, hi):
        v = src[ow * stride]
        b = best[ow]
        take = (v > b) | (v != v)
        best[ow] = v if take else b
        arg[ow] = base + <int32_t>(ow * stride) if take else arg[ow]


def max_pool2d_forward(
    const floating[:, :, ::1] x,       # IN  (P, H, W): the N*C planes
    floating[:, :, ::1] out,           # OUT (P, HO, WO) window maxima
    int32_t[:, :, ::1] argmax,     # OUT (P, HO, WO) flat index of each maximum inside its plane
    Py_ssize_t kh, Py_ssize_t kw,  # IN  kernel size
    Py_ssize_t sh, Py_ssize_t sw,  # IN  stride (>= 1)
    Py_ssize_t ph, Py_ssize_t pw,  # IN  padding (<= half the kernel, so no window is all padding)
):
    # Each output row is built in place: for every tap (i, j) of the window, in row-major order,
    # one branch-free pass over the outputs whose tap falls inside the input (_tap_pass). Visiting
    # order per window is torch's, and the passes vectorise.
    cdef Py_ssize_t planes = x.shape[0], h = x.shape[1], w = x.shape[2]
    cdef Py_ssize_t ho = out.shape[1], wo = out.shape[2]
    cdef Py_ssize_t p, oh, ow, i, j, ih, h0, lo, hi, shift
    cdef int32_t base
    cdef const floating* row
    cdef floating* orow
    cdef int32_t* arow
    if planes == 0 or ho == 0 or wo == 0:
        return
    with nogil:
        for p in prange(planes, schedule="static", use_threads_if=planes * ho * wo * kh * kw > PARALLEL_MIN):
            for oh in range(ho):
                orow = &out[p, oh, 0]
                arow = &argmax[p, oh, 0]
                h0 = oh * sh - ph
                for ow in range(wo):  # the window's first input element, should all of it be -inf
                    orow[ow] = -INFINITY
                    arow[ow] = <int32_t>((h0 if h0 > 0 else 0) * w + (ow * sw - pw if ow * sw > pw else 0))
                for i in range(kh):
                    ih = h0 + i
                    if ih < 0 or ih >= h:
                        continue
                    row = &x[p, ih, 0]
                    for j in range(kw):
                        shift = j - pw
                        lo = _first_valid(shift, sw)
                        hi = _end_valid(shift, sw, w, wo, lo)
                        base = <int32_t>(ih * w + shift)
                        if sw == 1:    # literal strides let the compiler vectorise the pass
                            _tap_pass(row + shift, orow, arow, lo, hi, 1, base)
                        elif sw == 2:
                            _tap_pass(row + shift, orow, arow, lo, hi, 2, base)
                        else:
                            _tap_pass(row + shift, orow, arow, lo, hi, sw, base)


def max_pool2d_backward(
    const floating[:, :, ::1] dout,        # IN  (P, HO, WO) gradient of the output
    const int32_t[:, :, ::1] argmax,   # IN  (P, HO, WO) from the forward pass
    floating[:, :, ::1] dx,                # OUT (P, H, W) gradient of the input; overwritten
):
    cdef Py_ssize_t planes = dx.shape[0], h = dx.shape[1], w = dx.shape[2]
    cdef Py_ssize_t ho = dout.shape[1], wo = dout.shape[2]
    cdef Py_ssize_t p, k, m = ho * wo
    cdef floating* dst
    cdef const floating* src
    cdef const int32_t* idx
    if planes == 0 or h == 0 or w == 0:
        return
    with nogil:
        for p in prange(planes, schedule="static", use_threads_if=planes * h * w > PARALLEL_MIN):
            dst = &dx[p, 0, 0]
            memset(dst, 0, h * w * sizeof(floating))
            if m == 0:
                continue
            src = &dout[p, 0, 0]
            idx = &argmax[p, 0, 0]
            for k in range(m):
                dst[idx[k]] += src[k]
