"""Compiled im2col / col2im for 2-D convolution. Inputs are validated by :mod:`shouxie.core.conv`.

Column layout: ``col[(c * KH + i) * KW + j, n, oh * WO + ow] = x_padded[n, c, oh*SH + i*DH, ow*SW + j*DW]``:
seen as a ``(C*KH*KW, N*HO*WO)`` matrix it makes the whole batch one GEMM, and with ``groups``
the rows of group ``g`` are the contiguous block ``g * (C/groups) * KH * KW``.
The work is split over the ``N * C`` input planes: each plane owns its rows of ``col`` (im2col) and
its plane of ``dx`` (col2im), so the threads never write to the same memory. Small problems run
on one thread.
"""
from cython.parallel cimport prange
from libc.string cimport memset

include "_windows.pxi"


def im2col(
    const real[:, :, :, ::1] x,   # IN  (N, C, H, W)
    real[:, :, ::1] col,          # OUT (C*KH*KW, N, HO*WO)
    Py_ssize_t kh, Py_ssize_t kw,  # IN  kernel size
    Py_ssize_t sh, Py_ssize_t sw,  # IN  stride (>= 1)
    Py_ssize_t ph, Py_ssize_t pw,  # IN  zero padding
    Py_ssize_t dh, Py_ssize_t dw,  # IN  dilation (>= 1)
    Py_ssize_t ho, Py_ssize_t wo,  # IN  output size
):
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t plane, b, ch, i, j, oh, ow, ih, iw0, row, lo, hi
    cdef real* dst
    cdef const real* src
    if n == 0 or c == 0 or ho == 0 or wo == 0:
        return
    with nogil:
        for plane in prange(n * c, schedule="static", use_threads_if=n * c * kh * kw * ho * wo > PARALLEL_MIN):
            b = plane // c
            ch = plane % c
            for j in range(kw):
                lo = _first_valid(j * dw - pw, sw)
                hi = _end_valid(j * dw - pw, sw, w, wo, lo)
                for i in range(kh):
                    row = (ch * kh + i) * kw + j
                    for oh in range(ho):
                        dst = &col[row, b, oh * wo]
                        ih = oh * sh - ph + i * dh
                        if ih < 0 or ih >= h or lo == hi:
                            memset(dst, 0, wo * sizeof(real))
                            continue
                        src = &x[b, ch, ih, 0]
                        iw0 = j * dw - pw
                        for ow in range(lo):
                            dst[ow] = 0
                        if sw == 1:
                            for ow in range(lo, hi):
                                dst[ow] = src[ow + iw0]
                        else:
                            for ow in range(lo, hi):
                                dst[ow] = src[ow * sw + iw0]
                        for ow in range(hi, wo):
                            dst[ow] = 0


def col2im(
    const real[:, :, ::1] col,    # IN  (C*KH*KW, N, HO*WO) gradient of the columns
    real[:, :, :, ::1] dx,        # OUT (N, C, H, W) gradient of the input; overwritten
    Py_ssize_t kh, Py_ssize_t kw,
    Py_ssize_t sh, Py_ssize_t sw,
    Py_ssize_t ph, Py_ssize_t pw,
    Py_ssize_t dh, Py_ssize_t dw,
    Py_ssize_t ho, Py_ssize_t wo,
):
    cdef Py_ssize_t n = dx.shape[0], c = dx.shape[1], h = dx.shape[2], w = dx.shape[3]
    cdef Py_ssize_t plane, b, ch, i, j, oh, ow, ih, iw0, row, lo, hi
    cdef const real* src
    cdef real* dst
    if n == 0 or c == 0 or h == 0 or w == 0:
        return
    with nogil:
        for plane in prange(n * c, schedule="static", use_threads_if=n * c * kh * kw * ho * wo > PARALLEL_MIN):
            b = plane // c
            ch = plane % c
            memset(&dx[b, ch, 0, 0], 0, h * w * sizeof(real))
            if ho == 0 or wo == 0:
                continue
            for j in range(kw):
                lo = _first_valid(j * dw - pw, sw)
                hi = _end_valid(j * dw - pw, sw, w, wo, lo)
                if lo == hi:
                    continue
                iw0 = j * dw - pw
                for i in range(kh):
                    row = (ch * kh + i) * kw + j
                    for oh in range(ho):
                        ih = oh * sh - ph + i * dh
                        if ih < 0 or ih >= h:
                            continue
                        src = &col[row, b, oh * wo]
                        dst = &dx[b, ch, ih, 0]
                        if sw == 1:
                            for ow in range(lo, hi):
                                dst[ow + iw0] += src[ow]
                        else:
                            for ow in range(lo, hi):
                                dst[ow * sw + iw0] += src[ow]
