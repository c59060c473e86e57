"""Compiled bilinear resize kernels. Inputs are validated by :mod:`shouxie.core.resize`.

Images are viewed as ``(H, W * C)`` rows of interleaved channels. The wrapper precomputes, for
every output element ``j = ox * C + c`` of a row, the two source elements it blends
(``xofs0[j]``, ``xofs1[j]``) and their weights, and for every output row the two source rows and
their weights. Each thread resizes a band of output rows: a source row is interpolated
horizontally once into a row cache (two rows: the pair an output row blends), then each output
row is a vectorised blend of the two cached rows. uint8 uses OpenCV's fixed-point scheme
(11-bit weights, horizontal sums in 22 bits, the vertical blend rounded as OpenCV's SIMD path
does: high 16 bits of each product of a weight and a sum scaled by 1/16, then +2 >> 2); floats blend in their own precision.
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int32_t, uint8_t
from libc.stdlib cimport free, malloc

ctypedef fused real:
    float
    double

cdef inline Py_ssize_t _band_start(Py_ssize_t band, Py_ssize_t bands, Py_ssize_t height) noexcept nogil:
    return band * height // bands


cdef void _hrow_u8(
    const uint8_t* src, const int32_t* xofs0, const int32_t* xofs1, const int16_t* alpha0,
    const int16_t* alpha1, Py_ssize_t m, int32_t* dst,
) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(m):
        dst[j] = src[xofs0[j]] * alpha0[j] + src[xofs1[j]] * alpha1[j]


cdef void _band_u8(
    const uint8_t* image, Py_ssize_t n, const int32_t* xofs0, const int32_t* xofs1,
    const int16_t* alpha0, const int16_t* alpha1, const int32_t* yofs0, const int32_t* yofs1,
    const int16_t* beta0, const int16_t* beta1, Py_ssize_t m, Py_ssize_t oy0, Py_ssize_t oy1,
    int32_t* rows0, int32_t* rows1,     # SCRATCH two horizontally resized source rows
    uint8_t* out,
) noexcept nogil:
    cdef Py_ssize_t oy, j, held0 = -1, held1 = -1, tmp
    cdef int32_t b0, b1, v
    cdef int32_t* swap
    cdef uint8_t* dst
    for oy in range(oy0, oy1):
        if held0 != yofs0[oy]:
            if held1 == yofs0[oy]:
                swap = rows0; rows0 = rows1; rows1 = swap
                tmp = held0; held0 = held1; held1 = tmp
            else:
                _hrow_u8(image + yofs0[oy] * n, xofs0, xofs1, alpha0, alpha1, m, rows0)
                held0 = yofs0[oy]
        if held1 != yofs1[oy]:
            _hrow_u8(image + yofs1[oy] * n, xofs0, xofs1, alpha0, alpha1, m, rows1)
            held1 = yofs1[oy]
        b0 = beta0[oy]
        b1 = beta1[oy]
        dst = out + oy * m
        for j in range(m):
            # OpenCV's vectorised rounding: 16-bit high products of the weights and the
            # horizontal sums scaled down by 16, then the last two bits rounded.
            v = (((b0 * (rows0[j] >> 4)) >> 16) + ((b1 * (rows1[j] >> 4)) >> 16) + 2) >> 2
            dst[j] = <uint8_t>(0 if v < 0 else (255 if v > 255 else v))


def resize_u8(
    const uint8_t[:, ::1] image,    # IN (H, W * C)
    const int32_t[::1] xofs0,       # IN (OW * C,) source element of each output element's left tap
    const int32_t[::1] xofs1,       # IN (OW * C,) right tap
    const int16_t[::1] alpha0,      # IN (OW * C,) left weight, sums with alpha1 to ~2**11
    const int16_t[::1] alpha1,      # IN (OW * C,)
    const int32_t[::1] yofs0,       # IN (OH,) upper source row
    const int32_t[::1] yofs1,       # IN (OH,) lower source row
    const int16_t[::1] beta0,       # IN (OH,) upper weight, sums with beta1 to ~2**11
    const int16_t[::1] beta1,       # IN (OH,)
    Py_ssize_t bands,               # IN row bands (units of parallel work)
    uint8_t[:, ::1] out,            # OUT (OH, OW * C)
):
    cdef Py_ssize_t oh = out.shape[0], m = out.shape[1], n = image.shape[1], band
    cdef int32_t* rows0
    cdef int32_t* rows1
    cdef bint failed = False
    if oh == 0 or m == 0:
        return
    with nogil, parallel():
        rows0 = <int32_t*>malloc(m * sizeof(int32_t))
        rows1 = <int32_t*>malloc(m * sizeof(int32_t))
        for band in prange(bands, schedule="dynamic"):
            if rows0 == NULL or rows1 == NULL:
                failed = True
                continue
            _band_u8(&image[0, 0], n, &xofs0[0], &xofs1[0], &alpha0[0], &alpha1[0], &yofs0[0],
                     &yofs1[0], &beta0[0], &beta1[0], m, _band_start(band, bands, oh),
                     _band_start(band + 1, bands, oh), rows0, rows1, &out[0, 0])
        free(rows0)
        free(rows1)
    if failed:
        raise MemoryError()


cdef void _hrow_real(
    const real* src, const int32_t* xofs0, const int32_t* xofs1, const real* alpha0,
    const real* alpha1, Py_ssize_t m, real* dst,
) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(m):
        dst[j] = src[xofs0[j]] * alpha0[j] + src[xofs1[j]] * alpha1[j]


cdef void _band_real(
    const real* image, Py_ssize_t n, const int32_t* xofs0, const int32_t* xofs1,
    const real* alpha0, const real* alpha1, const int32_t* yofs0, const int32_t* yofs1,
    const real* beta0, const real* beta1, Py_ssize_t m, Py_ssize_t oy0, Py_ssize_t oy1,
    real* rows0, real* rows1,           # SCRATCH two horizontally resized source rows
    real* out,
) noexcept nogil:
    cdef Py_ssize_t oy, j, held0 = -1, held1 = -1, tmp
    cdef real b0, b1
    cdef real* swap
    cdef real* dst
    for oy in range(oy0, oy1):
        if held0 != yofs0[oy]:
            if held1 == yofs0[oy]:
                swap = rows0; rows0 = rows1; rows1 = swap
                tmp = held0; held0 = held1; held1 = tmp
            else:
                _hrow_real(image + yofs0[oy] * n, xofs0, xofs1, alpha0, alpha1, m, rows0)
                held0 = yofs0[oy]
        if held1 != yofs1[oy]:
            _hrow_real(image + yofs1[oy] * n, xofs0, xofs1, alpha0, alpha1, m, rows1)
            held1 = yofs1[oy]
        b0 = beta0[oy]
        b1 = beta1[oy]
        dst = out + oy * m
        for j in range(m):
            dst[j] = rows0[j] * b0 + rows1[j] * b1


def resize_float(
    const real[:, ::1] image,       # IN (H, W * C)
    const int32_t[::1] xofs0,       # IN (OW * C,) source element of each output element's left tap
    const int32_t[::1] xofs1,       # IN (OW * C,) right tap
    const real[::1] alpha0,         # IN (OW * C,) left weight; alpha0 + alpha1 = 1
    const real[::1] alpha1,         # IN (OW * C,)
    const int32_t[::1] yofs0,       # IN (OH,) upper source row
    const int32_t[::1] yofs1,       # IN (OH,) lower source row
    const real[::1] beta0,          # IN (OH,) upper weight; beta0 + beta1 = 1
    const real[::1] beta1,          # IN (OH,)
    Py_ssize_t bands,               # IN row bands (units of parallel work)
    real[:, ::1] out,               # OUT (OH, OW * C)
):
    cdef Py_ssize_t oh = out.shape[0], m = out.shape[1], n = image.shape[1], band
    cdef real* rows0
    cdef real* rows1
    cdef bint failed = False
    if oh == 0 or m == 0:
        return
    with nogil, parallel():
        rows0 = <real*>malloc(m * sizeof(real))
        rows1 = <real*>malloc(m * sizeof(real))
        for band in prange(bands, schedule="dynamic"):
            if rows0 == NULL or rows1 == NULL:
                failed = True
                continue
            _band_real(&image[0, 0], n, &xofs0[0], &xofs1[0], &alpha0[0], &alpha1[0], &yofs0[0],
                       &yofs1[0], &beta0[0], &beta1[0], m, _band_start(band, bands, oh),
                       _band_start(band + 1, bands, oh), rows0, rows1, &out[0, 0])
        free(rows0)
        free(rows1)
    if failed:
        raise MemoryError()


ctypedef fused sample:
    uint8_t
    float
    double


def resize_half(
    const sample[:, ::1] image,     # IN (2 * OH, 2 * OW * C)
    Py_ssize_t channels,            # IN C
    sample[:, ::1] out,             # OUT (OH, OW * C)
):
    """Exact 2x downscale in half_pixel mode: every output is the mean of a 2 x 2 block.

    Equal to the general path (the weights are all 1/2): uint8 ``(a + b + c + d + 2) >> 2``,
    floats ``(a + b + c + d) / 4``.
    """
    cdef Py_ssize_t oh = out.shape[0], m = out.shape[1], ow = m // channels, oy, ox, c, j, i
    cdef const sample* r0
    cdef const sample* r1
    cdef sample* dst
    if oh == 0 or m == 0:
        return
    with nogil:
        for oy in prange(oh, schedule="static"):
            r0 = &image[2 * oy, 0]
            r1 = &image[2 * oy + 1, 0]
            dst = &out[oy, 0]
            for ox in range(ow):
                for c in range(channels):
                    j = ox * channels + c
                    i = 2 * ox * channels + c
                    if sample is uint8_t:
                        dst[j] = <uint8_t>((r0[i] + r0[i + channels] + r1[i] + r1[i + channels] + 2) >> 2)
                    else:
                        dst[j] = ((r0[i] + r0[i + channels]) + (r1[i] + r1[i + channels])) * <sample>0.25
