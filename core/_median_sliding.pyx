"""Compiled median filter, sliding windows and ranks. Chosen by :mod:`shouxie.core.median`.

* ``median_sliding``: windows beyond the networks.

  - uint8: Perreault & Hebert's constant-time filter. One 256-bin (16 coarse + 256 fine)
    histogram per padded column, slid down the rows, and a kernel histogram slid along the row
    whose fine bins are refreshed only in the coarse bucket that holds the median.
  - uint16 / int16: Huang's sliding histogram with two levels (256 coarse buckets of 256 bins):
    O(k) updates per pixel; the median's coarse bucket follows the window, so the fine scan
    stays inside one bucket (and starts from its nearer end).
  - float32 / float64 with more than 2**24 pixels per channel: sorted windows. Every padded
    column is kept sorted as it slides down and the window as it slides along the row: one
    merge pass removes the leaving column and inserts the entering one, O(k^2) per pixel
    instead of a sort.
* ``dense_ranks``: the rank of every float value among the distinct values (an LSD radix sort
  of the order-preserving keys of the bits), so results map back bit for bit. float64 images
  from k = 17 run the networks on their ranks (8, 16 or 32 bits), band by band.
* ``median_ranks``: floats beyond the networks (below 2**24 pixels per channel), one channel at
  a time, on the ranks of the values: Huang's sliding histogram over three levels of 2**bits
  buckets finds the median rank with O(k) updates and two short scans per pixel.
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from _common cimport _alloc, _check_threads, floating
from _median_keys cimport _from_key, _nan_keys, _to_key, pixel


ctypedef fused sample:       # the pixels, and the uint32 ranks of float pixels
    uint8_t
    uint16_t
    int16_t
    uint32_t
    float
    double


cdef inline sample _padded(
    const sample* image,      # IN (H, W * C) row-major
    Py_ssize_t n,             # IN W * C
    const int64_t* rowmap,
    const int64_t* colmap,
    Py_ssize_t i,             # padded row
    Py_ssize_t p,             # padded column
    Py_ssize_t c,             # channel
    Py_ssize_t channels,
    sample cval,
) noexcept nogil:
    cdef int64_t r = rowmap[i], q = colmap[p]
    if r < 0 or q < 0:
        return cval
    return image[r * n + q * channels + c]


cdef inline Py_ssize_t _band_start(Py_ssize_t band, Py_ssize_t bands, Py_ssize_t height) noexcept nogil:
    return band * height // bands


cdef inline Py_ssize_t _follow(const uint32_t* counts, Py_ssize_t m, Py_ssize_t half,
                              Py_ssize_t* below) noexcept nogil:
    # The bucket of a histogram's rank ``half`` from bucket m: moves m (and ``below``, the count
    # of the buckets before it) until below <= half < below + counts[m]. Returns the new m.
    while below[0] + counts[m] <= half:
        below[0] += counts[m]
        m += 1
    while below[0] > half:
        m -= 1
        below[0] -= counts[m]
    return m


# --------------------------------------------------------------------------- uint8, k >= 9: histograms
cdef void _histogram_band(
    const uint8_t* image, Py_ssize_t width, Py_ssize_t channels, const int64_t* rowmap,
    const int64_t* colmap, Py_ssize_t ksize, uint8_t cval, Py_ssize_t c, Py_ssize_t y0,
    Py_ssize_t y1,
    uint16_t* fine,           # SCRATCH (W + ksize - 1, 256) column histograms
    uint16_t* coarse,         # SCRATCH (W + ksize - 1, 16)
    uint8_t* out,             # OUT (H, W * C)
) noexcept nogil:
    cdef Py_ssize_t n = width * channels, wp = width + ksize - 1
    cdef Py_ssize_t half = ksize * ksize // 2, x, y, p, dy, b, i, q
    cdef uint32_t kc[16]
    cdef uint32_t kf[256]
    cdef Py_ssize_t last[16]
    cdef uint32_t acc
    cdef uint8_t old, new
    cdef uint16_t* f
    memset(fine, 0, wp * 256 * sizeof(uint16_t))
    memset(coarse, 0, wp * 16 * sizeof(uint16_t))
    for p in range(wp):
        for dy in range(ksize):
            new = _padded(image, n, rowmap, colmap, y0 + dy, p, c, channels, cval)
            fine[p * 256 + new] += 1
            coarse[p * 16 + (new >> 4)] += 1
    for y in range(y0, y1):
        if y > y0:
            for p in range(wp):
                old = _padded(image, n, rowmap, colmap, y - 1, p, c, channels, cval)
                new = _padded(image, n, rowmap, colmap, y + ksize - 1, p, c, channels, cval)
                if old != new:
                    fine[p * 256 + old] -= 1
                    fine[p * 256 + new] += 1
                    coarse[p * 16 + (old >> 4)] -= 1
                    coarse[p * 16 + (new >> 4)] += 1
        for b in range(16):
            kc[b] = 0
            last[b] = -ksize - 1
        for p in range(ksize):
            for b in range(16):
                kc[b] += coarse[p * 16 + b]
        for x in range(width):
            if x > 0:
                for b in range(16):
                    kc[b] += coarse[(x + ksize - 1) * 16 + b] - coarse[(x - 1) * 16 + b]
            acc = 0
            b = 0
            while acc + kc[b] <= half:
                acc += kc[b]
                b += 1
            if x - last[b] >= ksize:
                for i in range(16):
                    kf[b * 16 + i] = 0
                for p in range(x, x + ksize):
                    f = fine + p * 256 + b * 16
                    for i in range(16):
                        kf[b * 16 + i] += f[i]
            else:
                for q in range(last[b], x):
                    for i in range(16):
                        kf[b * 16 + i] += fine[(q + ksize) * 256 + b * 16 + i] - fine[q * 256 + b * 16 + i]
            last[b] = x
            i = 0
            while acc + kf[b * 16 + i] <= half:
                acc += kf[b * 16 + i]
                i += 1
            out[y * n + x * channels + c] = <uint8_t>(b * 16 + i)


# --------------------------------------------------------------------------- 16-bit, large k: Huang
ctypedef fused word:
    uint16_t
    int16_t


cdef inline Py_ssize_t _bin(word v) noexcept nogil:
    # order-preserving bin 0 .. 65535 (int16: flip the sign bit)
    if word is int16_t:
        return <uint16_t>v ^ 0x8000
    else:
        return v


cdef inline void _huang_add(
    uint32_t* coarse, uint32_t* fine, Py_ssize_t b, int delta, Py_ssize_t mc, Py_ssize_t* below,
) noexcept nogil:
    fine[b] += delta
    coarse[b >> 8] += delta
    if (b >> 8) < mc:
        below[0] += delta


cdef void _huang_band(
    const word* image, Py_ssize_t width, Py_ssize_t channels, const int64_t* rowmap,
    const int64_t* colmap, Py_ssize_t ksize, word cval, Py_ssize_t c, Py_ssize_t y0,
    Py_ssize_t y1,
    uint32_t* coarse,         # SCRATCH (256,) window histogram of the high bytes
    uint32_t* fine,           # SCRATCH (65536,) window histogram
    word* out,                # OUT (H, W * C)
) noexcept nogil:
    # Huang's sliding histogram with a two-level (256 x 256) histogram: the coarse bucket of the
    # median and the count below it follow the window; the fine scan stays inside one bucket.
    cdef Py_ssize_t n = width * channels, half = ksize * ksize // 2
    cdef Py_ssize_t x, y, i, p, b, mc = 0, below = 0, need
    cdef uint32_t acc
    memset(coarse, 0, 256 * sizeof(uint32_t))
    memset(fine, 0, 65536 * sizeof(uint32_t))
    for y in range(y0, y1):
        for p in range(ksize):
            for i in range(ksize):
                _huang_add(coarse, fine, _bin(_padded(image, n, rowmap, colmap, y + i, p, c, channels, cval)),
                           1, mc, &below)
        for x in range(width):
            if x > 0:
                for i in range(ksize):
                    _huang_add(coarse, fine, _bin(_padded(image, n, rowmap, colmap, y + i, x - 1, c, channels, cval)),
                               -1, mc, &below)
                    _huang_add(coarse, fine, _bin(_padded(image, n, rowmap, colmap, y + i, x + ksize - 1, c, channels, cval)),
                               1, mc, &below)
            mc = _follow(coarse, mc, half, &below)
            need = half - below                 # rank of the median inside bucket mc
            if 2 * need < coarse[mc]:
                b = mc << 8
                acc = fine[b]
                while acc <= need:
                    b += 1
                    acc += fine[b]
            else:                               # nearer the top of the bucket: scan down
                b = (mc << 8) + 255
                acc = coarse[mc] - fine[b]
                while acc > need:
                    b -= 1
                    acc -= fine[b]
            if word is int16_t:
                out[y * n + x * channels + c] = <int16_t>(b ^ 0x8000)
            else:
                out[y * n + x * channels + c] = <uint16_t>b
        for p in range(width - 1, width - 1 + ksize):   # empty the histogram for the next row
            for i in range(ksize):
                _huang_add(coarse, fine, _bin(_padded(image, n, rowmap, colmap, y + i, p, c, channels, cval)),
                           -1, mc, &below)


# --------------------------------------------------------------------------- floats, k >= 9: sorted windows
cdef inline void _replace_sorted(floating* col, Py_ssize_t k, floating old, floating new) noexcept nogil:
    # col[:k] is sorted and holds ``old``: replace one ``old`` by ``new``, keeping it sorted.
    cdef Py_ssize_t i = 0
    while col[i] != old:
        i += 1
    if new > old:
        while i + 1 < k and col[i + 1] < new:
            col[i] = col[i + 1]
            i += 1
    else:
        while i > 0 and col[i - 1] > new:
            col[i] = col[i - 1]
            i -= 1
    col[i] = new


cdef inline void _merge_slide(
    const floating* win,         # IN (m,) sorted window
    Py_ssize_t m,
    const floating* leave,       # IN (k,) sorted sub-multiset of win to remove (NULL: none)
    const floating* enter,       # IN (k,) sorted values to insert
    Py_ssize_t k,
    floating* dst,               # OUT (m - k or m + k,) sorted result
) noexcept nogil:
    cdef Py_ssize_t i, a = 0, b = 0, o = 0
    cdef floating v
    for i in range(m):
        v = win[i]
        if leave != NULL and a < k and v == leave[a]:
            a += 1
            continue
        while b < k and enter[b] < v:
            dst[o] = enter[b]
            o += 1
            b += 1
        dst[o] = v
        o += 1
    while b < k:
        dst[o] = enter[b]
        o += 1
        b += 1


cdef void _sorted_band(
    const floating* image, Py_ssize_t width, Py_ssize_t channels, const int64_t* rowmap,
    const int64_t* colmap, Py_ssize_t ksize, floating cval, Py_ssize_t c, Py_ssize_t y0,
    Py_ssize_t y1,
    floating* cols,              # SCRATCH (W + ksize - 1, ksize) sorted padded columns
    floating* win,               # SCRATCH (ksize * ksize,)
    floating* tmp,               # SCRATCH (ksize * ksize,)
    floating* out,               # OUT (H, W * C)
) noexcept nogil:
    cdef Py_ssize_t n = width * channels, wp = width + ksize - 1, half = ksize * ksize // 2
    cdef Py_ssize_t x, y, p, i, j, m
    cdef floating v
    cdef floating* col
    cdef floating* swap
    for y in range(y0, y1):
        for p in range(wp):
            col = cols + p * ksize
            if y == y0:
                for i in range(ksize):   # insertion sort of the first window's column
                    v = _padded(image, n, rowmap, colmap, y + i, p, c, channels, cval)
                    j = i
                    while j > 0 and col[j - 1] > v:
                        col[j] = col[j - 1]
                        j -= 1
                    col[j] = v
            else:
                _replace_sorted(col, ksize,
                                _padded(image, n, rowmap, colmap, y - 1, p, c, channels, cval),
                                _padded(image, n, rowmap, colmap, y + ksize - 1, p, c, channels, cval))
        memcpy(win, cols, ksize * sizeof(floating))
        m = ksize
        for p in range(1, ksize):
            _merge_slide(win, m, NULL, cols + p * ksize, ksize, tmp)
            m += ksize
            swap = win; win = tmp; tmp = swap
        out[y * n + c] = win[half]
        for x in range(1, width):
            _merge_slide(win, m, cols + (x - 1) * ksize, cols + (x + ksize - 1) * ksize, ksize, tmp)
            swap = win; win = tmp; tmp = swap
            out[y * n + x * channels + c] = win[half]


def median_sliding(
    const pixel[:, ::1] image,      # IN (H, W * C)
    const int64_t[::1] rowmap,      # IN (H + ksize - 1,) source row of each padded row, -1 = cval
    const int64_t[::1] colmap,      # IN (W + ksize - 1,) source column of each padded column
    Py_ssize_t ksize,               # IN odd, >= 3 (< 65536: uint8 column histograms are uint16)
    Py_ssize_t channels,            # IN C
    pixel cval,                     # IN value of the constant border
    Py_ssize_t bands,               # IN row bands per channel (units of parallel work)
    pixel[:, ::1] out,              # OUT (H, W * C)
):
    """Sliding-window median: Perreault-Hebert for uint8, Huang for 16-bit, sorted windows for floats."""
    cdef Py_ssize_t height = out.shape[0], n = out.shape[1], width = n // channels
    cdef Py_ssize_t wp = width + ksize - 1, t, c, band, y0, y1, nbytes
    cdef char* scratch
    cdef Py_ssize_t failed = 0   # a sum over threads (an assignment would be lastprivate)
    if height == 0 or n == 0:
        return
    if pixel is uint8_t:
        nbytes = wp * (256 + 16) * sizeof(uint16_t)
    elif pixel is uint16_t or pixel is int16_t:
        nbytes = (256 + 65536) * sizeof(uint32_t)
    else:
        nbytes = (wp * ksize + 2 * ksize * ksize) * sizeof(pixel)
    with nogil, parallel():
        scratch = <char*>malloc(nbytes)
        for t in prange(channels * bands, schedule="dynamic"):
            if scratch == NULL:
                failed += 1
                continue
            c = t % channels
            band = t // channels
            y0 = _band_start(band, bands, height)
            y1 = _band_start(band + 1, bands, height)
            if pixel is uint8_t:
                _histogram_band(&image[0, 0], width, channels, &rowmap[0], &colmap[0], ksize, cval,
                                c, y0, y1, <uint16_t*>scratch, <uint16_t*>scratch + wp * 256,
                                &out[0, 0])
            elif pixel is uint16_t or pixel is int16_t:
                _huang_band(&image[0, 0], width, channels, &rowmap[0], &colmap[0], ksize, cval, c,
                            y0, y1, <uint32_t*>scratch, <uint32_t*>scratch + 256, &out[0, 0])
            else:
                _sorted_band(&image[0, 0], width, channels, &rowmap[0], &colmap[0], ksize, cval,
                             c, y0, y1, <pixel*>scratch, <pixel*>scratch + wp * ksize,
                             <pixel*>scratch + wp * ksize + ksize * ksize, &out[0, 0])
        free(scratch)
    _check_threads(failed)


# --------------------------------------------------------------------------- floats: dense ranks
ctypedef fused fbits:        # float32 / float64 bit patterns
    uint32_t
    uint64_t


def dense_ranks(
    const fbits[::1] values,   # IN (N,) bit patterns of float32 / float64 values
    uint32_t[::1] ranks,       # OUT (N,) rank of each value among the distinct values
    fbits[::1] distinct,       # OUT (N,) the distinct values in float order (first ``count``)
    fbits[::1] keys_buf,       # SCRATCH (N,)
    uint32_t[::1] index_buf,   # SCRATCH (N,)
):
    """Rank of every value among the distinct values, in float order (``-0.0 < 0.0``).

    An LSD radix sort of the order-preserving keys with their indices, byte by byte, skipping
    bytes that every key shares, between the scratch and the outputs. Returns ``count``, the
    number of distinct values, or -1 when a value is NaN (nothing is written then).
    """
    cdef Py_ssize_t n = values.shape[0], i, d, b, r = 0, total, passes = 0
    cdef Py_ssize_t ndigits = sizeof(fbits)
    cdef Py_ssize_t* counts
    cdef Py_ssize_t* c
    cdef fbits* keys            # the sort ends in the scratch
    cdef uint32_t* index
    cdef fbits* src_keys
    cdef uint32_t* src_index
    cdef fbits* dst_keys
    cdef uint32_t* dst_index
    cdef fbits k, first
    cdef int nan = 0, shift
    if not ranks.shape[0] == distinct.shape[0] == keys_buf.shape[0] == index_buf.shape[0] == n:
        raise ValueError("ranks, distinct and the scratch must have the length of values")
    if n > <Py_ssize_t>0xFFFFFFFF:
        raise ValueError("dense_ranks ranks at most 2**32 - 1 values")
    if n == 0:
        return 0
    counts = <Py_ssize_t*>_alloc(ndigits * 256 * sizeof(Py_ssize_t), zeroed=True)
    keys, index = &keys_buf[0], &index_buf[0]
    with nogil:
        first = _to_key(values[0])
        for i in range(n):
            k = _to_key(values[i])
            nan |= _nan_keys(k, k)
            for d in range(ndigits):
                counts[d * 256 + ((k >> (8 * d)) & 255)] += 1
        for d in range(ndigits):                    # bytes that differ between keys
            passes += counts[d * 256 + ((first >> (8 * d)) & 255)] != n
        # the passes alternate between the scratch and the outputs, the last one into the scratch
        dst_keys, dst_index = keys, index
        if passes % 2 == 0:
            dst_keys, dst_index = &distinct[0], &ranks[0]
        src_keys = NULL                             # the first pass reads the values
        src_index = NULL
        for d in range(ndigits if not nan else 0):
            c = counts + d * 256
            shift = 8 * d
            if c[(first >> shift) & 255] == n:      # every key has this byte: nothing moves
                continue
            total = 0
            for b in range(256):                    # bucket counts -> bucket starts
                c[b], total = total, total + c[b]
            for i in range(n):
                k = src_keys[i] if src_keys != NULL else _to_key(values[i])
                b = c[(k >> shift) & 255]
                c[(k >> shift) & 255] = b + 1
                dst_keys[b] = k
                dst_index[b] = src_index[i] if src_index != NULL else <uint32_t>i
            src_keys, src_index = dst_keys, dst_index
            if dst_keys == keys:
                dst_keys, dst_index = &distinct[0], &ranks[0]
            else:
                dst_keys, dst_index = keys, index
        if not nan:
            if passes == 0:                         # one distinct value
                memset(&ranks[0], 0, n * sizeof(uint32_t))
            else:
                first = k = keys[0]
                ranks[index[0]] = 0
                for i in range(1, n):
                    if keys[i] != k:
                        k = keys[i]
                        r += 1
                        distinct[r] = _from_key(k)
                    ranks[index[i]] = <uint32_t>r
            distinct[0] = _from_key(first)
    free(counts)
    return -1 if nan else r + 1


# --------------------------------------------------------------------------- floats, k >= 9: ranks
cdef inline void _rank_add(
    uint32_t* top, uint32_t* mid, uint32_t* fine, uint32_t v, int delta, int bits, Py_ssize_t mt,
    Py_ssize_t* below,
) noexcept nogil:
    fine[v] += delta
    mid[v >> bits] += delta
    top[v >> (2 * bits)] += delta
    if (v >> (2 * bits)) < mt:
        below[0] += delta


cdef inline Py_ssize_t _scan(
    const uint32_t* hist, Py_ssize_t start, int bits, uint32_t total, Py_ssize_t* need,
) noexcept nogil:
    # The bin of hist[start:start + 2**bits] (``total`` values) holding the value of rank
    # ``need``, which becomes the rank inside that bin; scans from the nearer end.
    cdef Py_ssize_t b
    cdef Py_ssize_t acc
    if 2 * need[0] < total:
        b = start
        while hist[b] <= need[0]:
            need[0] -= hist[b]
            b += 1
        return b
    b = start + (<Py_ssize_t>1 << bits) - 1
    acc = total - hist[b]                   # values below bin b
    while acc > need[0]:
        b -= 1
        acc -= hist[b]
    need[0] -= acc
    return b


cdef void _rank_band(
    const uint32_t* ranks, Py_ssize_t width, const int64_t* rowmap, const int64_t* colmap,
    Py_ssize_t ksize, uint32_t cval, int bits, int total, Py_ssize_t y0, Py_ssize_t y1,
    # the histograms arrive empty and are left empty (each row empties them)
    uint32_t* top,            # SCRATCH (2**(total - 2 * bits),) window histogram of rank >> 2 * bits
    uint32_t* mid,            # SCRATCH (2**(total - bits),) window histogram of rank >> bits
    uint32_t* fine,           # SCRATCH (2**total,) window histogram of the ranks
    uint32_t* out,            # OUT (H, W) median rank
) noexcept nogil:
    # Huang's sliding histogram over three levels: the top bucket of the median and the count
    # below it follow the window; the middle and fine scans stay inside one bucket each.
    cdef Py_ssize_t half = ksize * ksize // 2, x, y, i, p, b, mt = 0, below = 0, need
    for y in range(y0, y1):
        for p in range(ksize):
            for i in range(ksize):
                _rank_add(top, mid, fine, _padded(ranks, width, rowmap, colmap, y + i, p, 0, 1, cval),
                          1, bits, mt, &below)
        for x in range(width):
            if x > 0:
                for i in range(ksize):
                    _rank_add(top, mid, fine, _padded(ranks, width, rowmap, colmap, y + i, x - 1, 0, 1, cval),
                              -1, bits, mt, &below)
                    _rank_add(top, mid, fine, _padded(ranks, width, rowmap, colmap, y + i, x + ksize - 1, 0, 1, cval),
                              1, bits, mt, &below)
            mt = _follow(top, mt, half, &below)
            need = half - below                 # rank of the median inside top bucket mt
            b = _scan(mid, mt << bits, bits, top[mt], &need)
            out[y * width + x] = <uint32_t>_scan(fine, b << bits, bits, mid[b], &need)
        for p in range(width - 1, width - 1 + ksize):   # empty the histogram for the next row
            for i in range(ksize):
                _rank_add(top, mid, fine, _padded(ranks, width, rowmap, colmap, y + i, p, 0, 1, cval),
                          -1, bits, mt, &below)


def median_ranks(
    const uint32_t[:, ::1] ranks,   # IN (H, W) ranks < 2**total of one channel
    const int64_t[::1] rowmap,      # IN (H + ksize - 1,) source row of each padded row, -1 = cval
    const int64_t[::1] colmap,      # IN (W + ksize - 1,) source column of each padded column
    Py_ssize_t ksize,               # IN odd, >= 3
    uint32_t cval,                  # IN rank of the constant border
    int bits,                       # IN bins per middle / fine bucket: 2**bits
    int total,                      # IN histogram of 2**total ranks, total >= 2 * bits
    Py_ssize_t bands,               # IN row bands (units of parallel work)
    uint32_t[:, ::1] out,           # OUT (H, W) median rank of every window
):
    """Sliding-window median of integer ranks with a three-level Huang histogram."""
    cdef Py_ssize_t height = out.shape[0], width = out.shape[1], band, y0, y1
    cdef Py_ssize_t ntop = <Py_ssize_t>1 << (total - 2 * bits), nmid = <Py_ssize_t>1 << (total - bits)
    cdef Py_ssize_t nbytes = (ntop + nmid + (<Py_ssize_t>1 << total)) * sizeof(uint32_t)
    cdef char* scratch
    cdef Py_ssize_t failed = 0
    if height == 0 or width == 0:
        return
    with nogil, parallel():
        scratch = <char*>calloc(nbytes, 1)   # zeroed once: every band leaves it empty
        for band in prange(bands, schedule="dynamic"):
            if scratch == NULL:
                failed += 1
                continue
            y0 = _band_start(band, bands, height)
            y1 = _band_start(band + 1, bands, height)
            _rank_band(&ranks[0, 0], width, &rowmap[0], &colmap[0], ksize, cval, bits, total,
                       y0, y1, <uint32_t*>scratch, <uint32_t*>scratch + ntop,
                       <uint32_t*>scratch + ntop + nmid,
                       &out[0, 0])
        free(scratch)
    _check_threads(failed)
