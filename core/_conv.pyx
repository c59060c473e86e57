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
    const floating[:, :, :, ::1] x,   # IN  (N, C, H, W)
    floating[:, :, ::1] col,          # OUT (C*KH*KW, N, HO*WO)
    Py_ssize_t kh, Py_ssize_t kw,     # IN  kernel size
    Py_ssize_t sh, Py_ssize_t sw,     # IN  stride (>= 1)
    Py_ssize_t ph, Py_ssize_t pw,     # IN  zero padding
    Py_ssize_t dh, Py_ssize_t dw,     # IN  dilation (>= 1)
    Py_ssize_t ho, Py_ssize_t wo,     # IN  output size
):
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1], plane
    if n == 0 or c == 0 or ho == 0 or wo == 0:
        return
    with nogil:
        for plane in prange(n * c, schedule="static", use_threads_if=n * c * kh * kw * ho * wo > PARALLEL_MIN):
            _im2col_plane(x, col, plane // c, plane % c, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)


def col2im(
    const floating[:, :, ::1] col,    # IN  (C*KH*KW, N, HO*WO) gradient of the columns
    floating[:, :, :, ::1] dx,        # OUT (N, C, H, W) gradient of the input; overwritten
    Py_ssize_t kh, Py_ssize_t kw,
    Py_ssize_t sh, Py_ssize_t sw,
    Py_ssize_t ph, Py_ssize_t pw,
    Py_ssize_t dh, Py_ssize_t dw,
    Py_ssize_t ho, Py_ssize_t wo,
):
    cdef Py_ssize_t n = dx.shape[0], c = dx.shape[1], plane
    if n == 0 or c == 0 or dx.shape[2] == 0 or dx.shape[3] == 0:
        return
    with nogil:
        for plane in prange(n * c, schedule="static", use_threads_if=n * c * kh * kw * ho * wo > PARALLEL_MIN):
            memset(&dx[plane // c, plane % c, 0, 0], 0, dx.shape[2] * dx.shape[3] * sizeof(floating))
            if ho and wo:
                _col2im_plane(col, dx, plane // c, plane % c, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)


cdef inline void _im2col_plane(
    const floating[:, :, :, ::1] x, floating[:, :, ::1] col, Py_ssize_t b, Py_ssize_t ch,
    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t ho, Py_ssize_t wo,
) noexcept nogil:
    # the rows of col that image b's channel ch owns
    cdef Py_ssize_t h = x.shape[2], w = x.shape[3], i, j, oh, ow, ih, iw0, row, lo, hi
    cdef floating* dst
    cdef const floating* src
    for j in range(kw):
        lo = _first_valid(j * dw - pw, sw)
        hi = _end_valid(j * dw - pw, sw, w, wo, lo)
        for i in range(kh):
            row = (ch * kh + i) * kw + j
            for oh in range(ho):
                dst = &col[row, b, oh * wo]
                ih = oh * sh - ph + i * dh
                if ih < 0 or ih >= h or lo == hi:
                    memset(dst, 0, wo * sizeof(floating))
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


cdef inline void _col2im_plane(
    const floating[:, :, ::1] col, floating[:, :, :, ::1] dx, Py_ssize_t b, Py_ssize_t ch,
    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t ho, Py_ssize_t wo,
) noexcept nogil:
    # accumulate into image b's (zeroed) channel ch every column entry that reads it
    cdef Py_ssize_t h = dx.shape[2], w = dx.shape[3], i, j, oh, ow, ih, iw0, row, lo, hi
    cdef const floating* src
    cdef floating* dst
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
