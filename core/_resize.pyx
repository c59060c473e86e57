"""Compiled bilinear resize kernels. Inputs are validated by :mod:`shouxie.core.resize`.

Images are viewed as ``(H, W * C)`` rows of interleaved channels. The wrapper precomputes, for
every output element ``j = ox * C + c`` of a row, the two source elements it blends
(``xofs0[j]``, ``xofs1[j]``) and their weights, and for every output row the two source rows and
their weights. Each thread resizes a band of output rows: a source row is interpolated
horizontally once into a row cache (two rows: the pair an output row blends), then each output
row is a vectorised blend of the two cached rows. uint8 uses OpenCV's fixed-point scheme
(11-bit weights, horizontal sums in 22 bits kept scaled by 1/16 in int16, the vertical blend
rounded as OpenCV's SIMD path does: high 16 bits of each product of a weight and a scaled sum,
then +2 >> 2); floats blend in their own precision. When every block of 64 outputs of a uint8
row reads source values within 64 bytes (upscaling, mild downscaling) and the CPU has AVX-512
VBMI, the horizontal pass fetches the taps with byte permutations (``_resize_blocks.h``).
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int32_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc

from _common cimport PARALLEL_ELEMENTS, _check_threads

cdef extern from "_resize_blocks.h" nogil:
    bint SHX_RESIZE_BLOCKS
    void shx_hrow_blocks(const uint8_t* src, Py_ssize_t n, const int32_t* base,
                         const uint8_t* taps, const int16_t* weights, Py_ssize_t blocks,
                         int16_t* out)
    void shx_half_rgb(const uint8_t* r0, const uint8_t* r1, Py_ssize_t pixels, uint8_t* dst)
    Py_ssize_t shx_half_rgb_f32(const float* r0, const float* r1, Py_ssize_t pixels, float* dst)

#: Whether the byte-permutation kernels were built (AVX-512 VBMI at build time).
BLOCKS = bool(SHX_RESIZE_BLOCKS)

ctypedef fused sample:
    uint8_t
    float
    double

ctypedef fused coef:
    int16_t
    float
    double


cdef inline Py_ssize_t _band_start(Py_ssize_t band, Py_ssize_t bands, Py_ssize_t height) noexcept nogil:
    return band * height // bands


cdef void _hrow(
    const sample* src, const int32_t* xofs0, const int32_t* xofs1, const coef* alpha0,
    const coef* alpha1, Py_ssize_t m, Py_ssize_t channels,
    void* row,                # OUT (m,) int16 sums >> 4 for uint8, the image's float type otherwise
) noexcept nogil:
    cdef Py_ssize_t j, i0, i1
    cdef coef a0, a1
    cdef int16_t* isum = <int16_t*>row
    cdef sample* fsum = <sample*>row
    if channels == 3:   # RGB: one tap pair and one weight pair per pixel
        for j in range(0, m, 3):
            i0 = xofs0[j]
            i1 = xofs1[j]
            a0 = alpha0[j]
            a1 = alpha1[j]
            if sample is uint8_t and coef is int16_t:
                isum[j] = (src[i0] * a0 + src[i1] * a1) >> 4
                isum[j + 1] = (src[i0 + 1] * a0 + src[i1 + 1] * a1) >> 4
                isum[j + 2] = (src[i0 + 2] * a0 + src[i1 + 2] * a1) >> 4
            elif sample is not uint8_t:
                fsum[j] = src[i0] * a0 + src[i1] * a1
                fsum[j + 1] = src[i0 + 1] * a0 + src[i1 + 1] * a1
                fsum[j + 2] = src[i0 + 2] * a0 + src[i1 + 2] * a1
    else:
        for j in range(m):
            if sample is uint8_t and coef is int16_t:
                isum[j] = (src[xofs0[j]] * alpha0[j] + src[xofs1[j]] * alpha1[j]) >> 4
            elif sample is not uint8_t:
                fsum[j] = src[xofs0[j]] * alpha0[j] + src[xofs1[j]] * alpha1[j]


cdef inline void _hsum(
    const sample* src, Py_ssize_t n, const int32_t* xofs0, const int32_t* xofs1,
    const coef* alpha0, const coef* alpha1, const int32_t* base, Py_ssize_t blocks,
    const uint8_t* taps, const int16_t* weights, Py_ssize_t m, Py_ssize_t channels, void* row,
) noexcept nogil:
    # One source row interpolated horizontally: by 64-byte blocks when the wrapper gave them.
    if sample is uint8_t and coef is int16_t:
        if blocks > 0:
            shx_hrow_blocks(src, n, base, taps, weights, blocks, <int16_t*>row)
            return
    _hrow(src, xofs0, xofs1, alpha0, alpha1, m, channels, row)


cdef void _band(
    const sample* image, Py_ssize_t n, const int32_t* xofs0, const int32_t* xofs1,
    const coef* alpha0, const coef* alpha1, const int32_t* base, Py_ssize_t blocks,
    const uint8_t* taps, const int16_t* weights, const int32_t* yofs0, const int32_t* yofs1,
    const coef* beta0, const coef* beta1, Py_ssize_t m, Py_ssize_t channels, Py_ssize_t oy0,
    Py_ssize_t oy1,
    char* rows0, char* rows1,           # SCRATCH two horizontally resized source rows
    sample* out,
) noexcept nogil:
    cdef Py_ssize_t oy, j, held0 = -1, held1 = -1, tmp
    cdef coef b0, b1
    cdef int32_t v
    cdef char* swap
    cdef sample* dst
    cdef const int16_t* i0
    cdef const int16_t* i1
    cdef const sample* f0
    cdef const sample* f1
    for oy in range(oy0, oy1):
        if held0 != yofs0[oy]:
            if held1 == yofs0[oy]:
                swap = rows0; rows0 = rows1; rows1 = swap
                tmp = held0; held0 = held1; held1 = tmp
            else:
                _hsum(image + yofs0[oy] * n, n, xofs0, xofs1, alpha0, alpha1, base, blocks, taps,
                      weights, m, channels, rows0)
                held0 = yofs0[oy]
        if held1 != yofs1[oy]:
            _hsum(image + yofs1[oy] * n, n, xofs0, xofs1, alpha0, alpha1, base, blocks, taps,
                  weights, m, channels, rows1)
            held1 = yofs1[oy]
        b0 = beta0[oy]
        b1 = beta1[oy]
        dst = out + oy * m
        if sample is uint8_t and coef is int16_t:
            i0 = <const int16_t*>rows0
            i1 = <const int16_t*>rows1
            for j in range(m):
                # OpenCV's vectorised rounding: 16-bit high products of the weights and the
                # horizontal sums scaled down by 16, then the last two bits rounded.
                v = (((b0 * i0[j]) >> 16) + ((b1 * i1[j]) >> 16) + 2) >> 2
                dst[j] = <uint8_t>(0 if v < 0 else (255 if v > 255 else v))
        elif sample is not uint8_t:
            f0 = <const sample*>rows0
            f1 = <const sample*>rows1
            for j in range(m):
                dst[j] = f0[j] * b0 + f1[j] * b1


def resize_rows(
    const sample[:, ::1] image,     # IN (H, W * C)
    Py_ssize_t channels,            # IN C
    const int32_t[::1] xofs0,       # IN (OW * C,) source element of each output element's left tap
    const int32_t[::1] xofs1,       # IN (OW * C,) right tap
    const coef[::1] alpha0,         # IN (OW * C,) left weight: int16 summing to ~2**11 for uint8,
    const coef[::1] alpha1,         #    the image's float type summing to 1 otherwise
    const int32_t[::1] base,        # IN (OW * C / 64 rounded up,) uint8 with BLOCKS: first source
                                    #    element of each block of 64 outputs; empty otherwise
    const uint8_t[::1] taps,        # IN (256 * len(base),) per output: tap0, zero, tap1, zero as
                                    #    indices into the block's 64 bytes then 64 zeros
    const int16_t[::1] weights,     # IN (128 * len(base),) per output: alpha0, alpha1
    const int32_t[::1] yofs0,       # IN (OH,) upper source row
    const int32_t[::1] yofs1,       # IN (OH,) lower source row
    const coef[::1] beta0,          # IN (OH,) upper weight, like alpha0
    const coef[::1] beta1,          # IN (OH,)
    Py_ssize_t bands,               # IN row bands (units of parallel work)
    sample[:, ::1] out,             # OUT (OH, OW * C)
):
    cdef Py_ssize_t oh = out.shape[0], m = out.shape[1], n = image.shape[1], band
    cdef Py_ssize_t item = sizeof(int16_t) if sample is uint8_t else sizeof(sample)
    cdef Py_ssize_t blocks = base.shape[0]
    cdef char* rows0
    cdef char* rows1
    cdef Py_ssize_t failed = 0   # a sum over threads (an assignment would be lastprivate)
    if not ((sample is uint8_t and coef is int16_t) or (sample is float and coef is float)
            or (sample is double and coef is double)):
        raise TypeError("weights must be int16 for a uint8 image and of the image's type otherwise")
    if blocks and not (sample is uint8_t and SHX_RESIZE_BLOCKS and 64 * blocks >= m
                       and taps.shape[0] == 256 * blocks and weights.shape[0] == 128 * blocks):
        raise ValueError("blocks need a uint8 image, AVX-512 VBMI and whole blocks of taps")
    if oh == 0 or m == 0:
        return
    with nogil, parallel():
        rows0 = <char*>malloc((m + 64) * item)
        rows1 = <char*>malloc((m + 64) * item)
        for band in prange(bands, schedule="dynamic"):
            if rows0 == NULL or rows1 == NULL:
                failed += 1
                continue
            _band(&image[0, 0], n, &xofs0[0], &xofs1[0], &alpha0[0], &alpha1[0],
                  &base[0] if blocks else NULL, blocks, &taps[0] if blocks else NULL,
                  &weights[0] if blocks else NULL, &yofs0[0],
                  &yofs1[0], &beta0[0], &beta1[0], m, channels, _band_start(band, bands, oh),
                  _band_start(band + 1, bands, oh), rows0, rows1, &out[0, 0])
        free(rows0)
        free(rows1)
    _check_threads(failed)


cdef inline uint8_t _mean_u8(int total, int count, bint half_up) noexcept nogil:
    # Mean of ``count`` (1, 2 or 4) pixels, rounded half up or half to even.
    cdef int shift = count >> 1, q = total >> shift, rem = total - (q << shift), half = count >> 1
    if count > 1 and (rem > half or (rem == half and (half_up or (q & 1)))):
        q += 1
    return <uint8_t>q


cdef void _half_row(
    const sample* r0,         # IN upper source row
    const sample* r1,         # IN lower source row; NULL for the last row of an odd height
    Py_ssize_t full,          # IN output pixels with two source columns
    Py_ssize_t ow,            # IN output pixels
    Py_ssize_t channels,
    bint half_up,
    uint16_t* sums,           # SCRATCH (2 * ow * C,) for RGB uint8
    sample* dst,              # OUT (ow * C,)
) noexcept nogil:
    cdef Py_ssize_t ox, c, j, i, done = 0
    cdef double total
    cdef int count, t
    if r1 != NULL:
        if sample is not uint8_t:
            if sample is float and channels == 3:
                done = shx_half_rgb_f32(r0, r1, full, dst)
            for ox in range(done, full):
                for c in range(channels):
                    j = ox * channels + c
                    i = 2 * ox * channels + c
                    dst[j] = ((r0[i] + r0[i + channels]) + (r1[i] + r1[i + channels])) * <sample>0.25
        elif channels == 3 and SHX_RESIZE_BLOCKS:
            shx_half_rgb(r0, r1, full, dst)
        elif channels == 3:   # RGB: 2 x 2 sums along the whole row, then keep every other pixel
            for i in range(6 * full - 3):
                sums[i] = <uint16_t>(r0[i] + r0[i + 3] + r1[i] + r1[i + 3] + 2)
            for ox in range(full):
                dst[3 * ox] = <uint8_t>(sums[6 * ox] >> 2)
                dst[3 * ox + 1] = <uint8_t>(sums[6 * ox + 1] >> 2)
                dst[3 * ox + 2] = <uint8_t>(sums[6 * ox + 2] >> 2)
        elif half_up:
            for ox in range(full):
                for c in range(channels):
                    j = ox * channels + c
                    i = 2 * ox * channels + c
                    dst[j] = <uint8_t>((r0[i] + r0[i + channels] + r1[i] + r1[i + channels] + 2) >> 2)
        else:
            for ox in range(full):
                for c in range(channels):
                    j = ox * channels + c
                    i = 2 * ox * channels + c
                    t = r0[i] + r0[i + channels] + r1[i] + r1[i + channels]
                    dst[j] = <uint8_t>((t >> 2) + (((t & 3) + ((t >> 2) & 1)) > 2))   # half to even
    else:
        for ox in range(full):
            for c in range(channels):
                j = ox * channels + c
                i = 2 * ox * channels + c
                if sample is uint8_t:
                    dst[j] = _mean_u8(r0[i] + r0[i + channels], 2, False)
                else:
                    dst[j] = (r0[i] + r0[i + channels]) * <sample>0.5
    for ox in range(full, ow):                           # the last column of an odd width
        for c in range(channels):
            j = ox * channels + c
            i = 2 * ox * channels + c
            total = r0[i]
            count = 1
            if r1 != NULL:
                total = total + r1[i]
                count = 2
            if sample is uint8_t:
                dst[j] = _mean_u8(<int>total, count, False)
            else:
                dst[j] = <sample>(total / count)


def resize_half(
    const sample[:, ::1] image,     # IN (H, W * C) with H, W in {2 * out - 1, 2 * out, 2 * out + 1}
    Py_ssize_t channels,            # IN C
    bint half_up,                   # IN uint8 full blocks: round half up (else half to even)
    sample[:, ::1] out,             # OUT (OH, OW * C)
):
    """Downscale by exactly 2 in half_pixel mode: every output is the mean of its 2 x 2 block.

    This is the bilinear definition (all weights 1/2); a block cut by an odd edge averages the
    pixels it has, which is what bilinear's edge clamping gives too. uint8 rounds as OpenCV's
    area path, which it takes for this case: its vector code (1, 3 or 4 channels) rounds full
    blocks half up, its scalar code rounds half to even.
    """
    cdef Py_ssize_t oh = out.shape[0], m = out.shape[1], ow = m // channels
    cdef Py_ssize_t width = image.shape[1] // channels, height = image.shape[0], oy
    cdef Py_ssize_t full = ow if 2 * ow <= width else ow - 1   # output columns with 2 source columns
    cdef uint16_t* sums
    cdef Py_ssize_t failed = 0   # a sum over threads (an assignment would be lastprivate)
    if oh == 0 or m == 0:
        return
    with nogil, parallel(use_threads_if=oh * m > PARALLEL_ELEMENTS):
        sums = <uint16_t*>malloc(2 * m * sizeof(uint16_t))
        for oy in prange(oh, schedule="dynamic", chunksize=16):   # as threads come free
            if sums == NULL:
                failed += 1
                continue
            _half_row(&image[2 * oy, 0], &image[2 * oy + 1, 0] if 2 * oy + 1 < height else NULL,
                      full, ow, channels, half_up, sums, &out[oy, 0])
        free(sums)
    _check_threads(failed)
