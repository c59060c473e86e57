"""Compiled median filter, min/max networks: ``median_network``. Chosen by :mod:`shouxie.core.median`.

Every dtype (floats as order-preserving integer keys of their bits, see ``_median_keys.pxd``), two
output rows at once. Their windows share k - 1 rows; those rows' columns are sorted (each sorted
column serves the k window pairs that contain it), a min/max network over the sorted columns
keeps the only k + 1 values that can be either median, and each window merges in its own sorted
k-th row. k = 3 is hand-made here: its inner loop runs over a whole row, through small local
blocks, so the compiler vectorises it. The larger sides (``NETWORK_SIDES``) are generated at
build time by ``tools/median_networks.py`` (pruned Batcher merges) and run on GCC vectors in
``_median_wide_kernel.h`` (5 and 7 in every CPU variant, 9 and up not in the baseline: see
CMakeLists.txt; beyond ``ALL_KEYS_MAX_SIDE``, for 16- and 32-bit keys only).
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free
from posix.stdlib cimport posix_memalign
from libc.string cimport memcpy

from _common cimport PARALLEL_MIN, _alloc, _check_threads
from _median_keys cimport _from_key, _nan_keys, _to_key, key


cdef inline key _lo(key a, key b) noexcept nogil:
    return a if a < b else b


cdef inline key _hi(key a, key b) noexcept nogil:
    return b if a < b else a


cdef inline key _border_value(
    const key** rows, const int64_t* colmap, Py_ssize_t dy, Py_ssize_t p, Py_ssize_t c,
    Py_ssize_t channels, key cval,
) noexcept nogil:
    cdef int64_t q = colmap[p]
    return _to_key(cval if q < 0 else rows[dy][q * channels + c])


cdef enum:
    _BLOCK = 1024   # values per block of the k = 3 loop, a multiple of every vector's lanes
    _LANES = 64
    _CHUNK = 4      # row pairs per unit of parallel work of the networks


cdef inline Py_ssize_t _block(Py_ssize_t b, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t* m) noexcept nogil:
    # The block of [lo, hi) that starts at b, or ends at hi: returns its start and sets m to
    # its length. Once the range holds _LANES values every block is whole vectors, the last
    # one overlapping the one before (its outputs come out the same again), so the vectorised
    # loops never run their scalar tails.
    m[0] = min(_BLOCK, hi - b)
    if hi - lo < _LANES or m[0] % _LANES == 0:
        return b
    if m[0] > _LANES:
        m[0] -= m[0] % _LANES
        return b
    m[0] = _LANES
    return hi - _LANES


cdef inline key _select3(key c0, key c1, key c2, key c3, key t0, key t1, key t2) noexcept nogil:
    # Rank 3 of the union of two sorted lists c0..c3 and t0..t2: the largest of
    # min(c[i], t[3 - i]) over i (t[3] counting as +inf). On 0/1 inputs: some pair has both 1
    # iff at most 3 zeros in all.
    return _hi(_hi(c0, _lo(c1, t2)), _hi(_lo(c2, t1), _lo(c3, t0)))


cdef void _median9_rows(
    const key* a0,            # IN keys of the row above the shared rows
    const key* a1,            # IN keys of the two shared rows
    const key* a2,
    const key* a3,            # IN keys of the row below the shared rows
    Py_ssize_t lo,            # IN outputs lo .. hi - 1, whose windows lie inside the rows
    Py_ssize_t hi,
    Py_ssize_t step,          # IN C: from one column to the next
    key* out0,                # OUT (W * C,) upper output row
    key* out1,                # OUT (W * C,) lower output row
) noexcept nogil:
    # The inner loop of _network_pair3, straight from rows of keys (the image's own rows for
    # integers); outputs go through local blocks, which the compiler knows apart from the
    # inputs (too many run-time alias checks to vectorise otherwise). Each window sorts its
    # three shared columns itself: two min/max more per column than sorting them once into a
    # buffer, but no pass over buffers.
    cdef key blk0[_BLOCK]
    cdef key blk1[_BLOCK]
    cdef Py_ssize_t b, i, j, m
    cdef key v0, v1, v2, v3, v4, v5, t0, t1, t2
    b = lo
    while b < hi:
        b = _block(b, lo, hi, &m)
        for i in range(m):
            j = b + i
            v0 = a1[j - step]
            v1 = a2[j - step]
            v2 = a1[j]
            v3 = a2[j]
            v4 = a1[j + step]
            v5 = a2[j + step]
            v0, v1 = _lo(v0, v1), _hi(v0, v1)
            v2, v3 = _lo(v2, v3), _hi(v2, v3)
            v4, v5 = _lo(v4, v5), _hi(v4, v5)
            v0, v2 = _lo(v0, v2), _hi(v0, v2)
            v1, v3 = _lo(v1, v3), _hi(v1, v3)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v4 = _hi(v0, v4)
            v1, v5 = _lo(v1, v5), _hi(v1, v5)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3 = _lo(v3, v5)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            t0 = a0[j - step]; t1 = a0[j]; t2 = a0[j + step]
            t0, t1 = _lo(t0, t1), _hi(t0, t1)
            t1, t2 = _lo(t1, t2), _hi(t1, t2)
            t0, t1 = _lo(t0, t1), _hi(t0, t1)
            blk0[i] = _from_key(_select3(v1, v2, v3, v4, t0, t1, t2))
            t0 = a3[j - step]; t1 = a3[j]; t2 = a3[j + step]
            t0, t1 = _lo(t0, t1), _hi(t0, t1)
            t1, t2 = _lo(t1, t2), _hi(t1, t2)
            t0, t1 = _lo(t0, t1), _hi(t0, t1)
            blk1[i] = _from_key(_select3(v1, v2, v3, v4, t0, t1, t2))
        memcpy(out0 + b, blk0, m * sizeof(key))
        memcpy(out1 + b, blk1, m * sizeof(key))
        b += m


cdef int _network_pair3(
    const key** rows,         # IN 4 padded rows: the windows of output rows y and y + 1
    const int64_t* colmap,    # IN (W + 2,) source column of each padded column
    Py_ssize_t width,         # IN W
    Py_ssize_t channels,      # IN C
    key cval,                 # IN
    Py_ssize_t y,             # IN the pair's first output row (even)
    bint fresh,               # IN this thread did not just do the pair above (y - 2)
    key* buf,                 # SCRATCH 4 rows of W * C, then 4 of 3 * C and 2 of 2 * C
    key* out0,                # OUT (W * C,) output row y
    key* out1,                # OUT (W * C,) output row y + 1
) noexcept nogil:
    # k = 3, two output rows at once: the windows share 2 rows; of their 6
    # values only ranks 1..4 can be either median; a network over the 3 sorted shared columns
    # (Batcher, pruned, reduced on column-sorted input, 0-1 checked) gives those 4 in order,
    # and each window merges in its own sorted row. The interior comes straight from the rows
    # (_median9_rows): the image's for integers, for floats rows of keys in a ring of four that
    # carries the two rows a pair shares with the next one; the first and last pixel go through
    # padded three-column rows. Returns nonzero on a float NaN.
    cdef Py_ssize_t n = width * channels, j, p, c, e, i
    cdef key* edge = buf + 4 * n          # the 4 padded rows around an edge pixel, 3 columns
    cdef key* edge_out = edge + 12 * channels
    cdef const key* a[4]
    cdef key* ring
    cdef key v0
    cdef int nan = 0
    for i in range(4):
        if key is uint8_t or key is uint16_t or key is int16_t:
            a[i] = rows[i]
        else:   # each row becomes keys once per run of pairs, every value checked for NaN
            ring = buf + ((y + i) % 4) * n
            if fresh or i >= 2:
                for j in range(n):
                    v0 = _to_key(rows[i][j])
                    nan |= _nan_keys(v0, v0)
                    ring[j] = v0
            a[i] = ring
    if width > 2:
        _median9_rows(a[0], a[1], a[2], a[3], channels, n - channels, channels, out0, out1)
    for e in range(2):
        e = e * (width - 1)
        for i in range(4):
            for p in range(e, e + 3):
                for c in range(channels):
                    edge[i * 3 * channels + (p - e) * channels + c] = _border_value(
                        rows, colmap, i, p, c, channels, cval)
        _median9_rows(edge, edge + 3 * channels, edge + 6 * channels, edge + 9 * channels,
                      channels, 2 * channels, channels, edge_out, edge_out + 2 * channels)
        memcpy(out0 + e * channels, edge_out + channels, channels * sizeof(key))
        memcpy(out1 + e * channels, edge_out + 3 * channels, channels * sizeof(key))
    return nan


cdef extern from "_median_wide.h" nogil:
    int SHX_ALL_KEYS_MAX_SIDE
    bint shx_has_network(Py_ssize_t k, Py_ssize_t key_bytes)
    # one template, declared for each key type
    int shx_median_pair(int k, const uint8_t** rows, const int64_t* colmap, Py_ssize_t width,
                        Py_ssize_t channels, uint8_t cval, uint8_t* buf, uint8_t* out0, uint8_t* out1)
    int shx_median_pair(int k, const uint16_t** rows, const int64_t* colmap, Py_ssize_t width,
                        Py_ssize_t channels, uint16_t cval, uint16_t* buf, uint16_t* out0, uint16_t* out1)
    int shx_median_pair(int k, const int16_t** rows, const int64_t* colmap, Py_ssize_t width,
                        Py_ssize_t channels, int16_t cval, int16_t* buf, int16_t* out0, int16_t* out1)
    int shx_median_pair(int k, const uint32_t** rows, const int64_t* colmap, Py_ssize_t width,
                        Py_ssize_t channels, uint32_t cval, uint32_t* buf, uint32_t* out0, uint32_t* out1)
    int shx_median_pair(int k, const uint64_t** rows, const int64_t* colmap, Py_ssize_t width,
                        Py_ssize_t channels, uint64_t cval, uint64_t* buf, uint64_t* out0, uint64_t* out1)

#: Window sides with a min/max network: 3 (hand-made) and the generated ones
#: (core/_median_wide.h: 5 and 7 in every CPU variant, 9 and up not in the baseline).
NETWORK_SIDES = (3,) + tuple(k for k in range(5, 256, 2) if shx_has_network(k, 2))
#: Largest side with networks for every key type; beyond it, 16- and 32-bit keys only.
ALL_KEYS_MAX_SIDE = SHX_ALL_KEYS_MAX_SIDE


def median_network(
    const key[:, ::1] image,        # IN (H, W * C); float32 / float64 as uint32 / uint64 bits
    const int64_t[::1] rowmap,      # IN (H + ksize - 1,) source row of each padded row, -1 = cval
    const int64_t[::1] colmap,      # IN (W + ksize - 1,) source column of each padded column
    Py_ssize_t ksize,               # IN one of NETWORK_SIDES, for 8- and 64-bit keys up to
                                    #    ALL_KEYS_MAX_SIDE; beyond 3, rows of >= 64 bytes
    Py_ssize_t channels,            # IN C
    key cval,                       # IN value of the constant border (bits, for floats)
    key[:, ::1] out,                # OUT (H, W * C)
):
    """Returns True when a float image held NaN (``out`` is then meaningless)."""
    cdef Py_ssize_t height = out.shape[0], n = out.shape[1], width = n // channels
    cdef Py_ssize_t r = ksize // 2, wp = (width + 2 * r) * channels, t, y, i, chunk
    cdef Py_ssize_t pairs = (height + 1) // 2
    cdef const key** rows
    cdef key* cvalrow
    cdef key* buf
    cdef key* out1
    cdef Py_ssize_t failed = 0   # a sum over threads (an assignment would be lastprivate)
    cdef int nan_rows = 0
    if ksize != 3 and not shx_has_network(ksize, sizeof(key)):
        raise ValueError(f"ksize={ksize}: this build has no network of that side for "
                         f"{8 * sizeof(key)}-bit keys")
    if height == 0 or n == 0:
        return False
    # Output rows in pairs (0, 1), (2, 3), ...: image rows y and y + 1 are among the rows the
    # pair's windows share, so the shared rows' column sorts see every value (and detect NaN);
    # the rows above and below are not checked again. A pair reads one padded row more than the
    # last one: an odd height's last pair writes its second row to scratch and reads the last
    # padded row again.
    rows = <const key**>_alloc((height + 2 * r + 1) * sizeof(key*) + n * sizeof(key))
    cvalrow = <key*>(rows + height + 2 * r + 1)
    for i in range(n):
        cvalrow[i] = cval
    for i in range(height + 2 * r):
        rows[i] = &image[rowmap[i], 0] if rowmap[i] >= 0 else cvalrow
    rows[height + 2 * r] = rows[height + 2 * r - 1]
    # Chunks of row pairs taken as threads come free (a thread slowed by another program's
    # thread on its core does less of the work); within a chunk, pairs run top to bottom.
    with nogil, parallel(use_threads_if=height * n * ksize * ksize > PARALLEL_MIN):
        # k + 1 rows (k = 3: four rows and six small ones), then a scratch output row; on a
        # cache line, as the generated networks load its rows in whole vectors (with malloc's
        # 16 bytes, u8 1080p k15 measured 25 ms in some processes and 20 ms in others)
        if posix_memalign(<void**>&buf, 64, ((ksize + 2) * (wp + 64) + 16 * channels) * sizeof(key)):
            buf = NULL
        for chunk in prange((pairs + _CHUNK - 1) // _CHUNK, schedule="dynamic"):
            if buf == NULL:
                failed += 1
                continue
            for t in range(chunk * _CHUNK, min(chunk * _CHUNK + _CHUNK, pairs)):
                y = 2 * t
                out1 = (&out[y + 1, 0] if y + 1 < height
                        else buf + (ksize + 1) * (wp + 64) + 16 * channels)
                if ksize == 3:
                    nan_rows += _network_pair3(rows + y, &colmap[0], width, channels, cval, y,
                                               t == chunk * _CHUNK, buf, &out[y, 0], out1)
                else:
                    nan_rows += shx_median_pair(ksize, rows + y, &colmap[0], width, channels,
                                                cval, buf, &out[y, 0], out1)
        free(buf)
    free(rows)
    _check_threads(failed)
    return nan_rows > 0
