"""Compiled median filter, min/max networks: ``median_network``. Chosen by :mod:`shouxie.core.median`.

Every dtype (floats as order-preserving integer keys of their bits, see ``_median_keys.pxd``), two
output rows at once. Their windows share k - 1 rows; those rows' columns are sorted (each sorted
column serves the k window pairs that contain it), a min/max network over the sorted columns
keeps the only k + 1 values that can be either median, and each window merges in its own sorted
k-th row. k = 3, 5 and 7 are hand-made here: the inner loops run over a whole row so the
compiler vectorises them; loops that would need too many run-time alias checks write through
small local blocks instead. Larger k (``NETWORK_SIDES``) are generated at build time by
``tools/median_networks.py`` (pruned Batcher merges) and run on GCC vectors in
``_median_wide_kernel.h`` (not in the baseline CPU variant: see CMakeLists.txt).
"""
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from _common cimport PARALLEL_MIN, _alloc, _check_threads
from _median_keys cimport _from_key, _nan_keys, _to_key, key


cdef inline key _lo(key a, key b) noexcept nogil:
    return a if a < b else b


cdef inline key _hi(key a, key b) noexcept nogil:
    return b if a < b else a

cdef inline void _sort5(key* a, key* b, key* c, key* d, key* e) noexcept nogil:
    # Knuth's optimal 9-comparator network for 5 inputs.
    cdef key v0 = a[0], v1 = b[0], v2 = c[0], v3 = d[0], v4 = e[0]
    v0, v1 = _lo(v0, v1), _hi(v0, v1)
    v3, v4 = _lo(v3, v4), _hi(v3, v4)
    v2, v4 = _lo(v2, v4), _hi(v2, v4)
    v2, v3 = _lo(v2, v3), _hi(v2, v3)
    v0, v3 = _lo(v0, v3), _hi(v0, v3)
    v0, v2 = _lo(v0, v2), _hi(v0, v2)
    v1, v4 = _lo(v1, v4), _hi(v1, v4)
    v1, v3 = _lo(v1, v3), _hi(v1, v3)
    v1, v2 = _lo(v1, v2), _hi(v1, v2)
    a[0] = v0; b[0] = v1; c[0] = v2; d[0] = v3; e[0] = v4


cdef inline void _cmpswap(key* a, key* b) noexcept nogil:
    cdef key x = a[0], y = b[0]
    a[0] = _lo(x, y)
    b[0] = _hi(x, y)


cdef inline void _sort4(key* v0, key* v1, key* v2, key* v3) noexcept nogil:
    _cmpswap(v0, v1); _cmpswap(v2, v3)
    _cmpswap(v0, v2); _cmpswap(v1, v3)
    _cmpswap(v1, v2)


cdef inline void _sort6(key* v0, key* v1, key* v2, key* v3, key* v4, key* v5) noexcept nogil:
    # An optimal 12-comparator network for 6 inputs (Knuth, TAOCP 5.3.4).
    _cmpswap(v0, v5); _cmpswap(v1, v3); _cmpswap(v2, v4)
    _cmpswap(v1, v2); _cmpswap(v3, v4)
    _cmpswap(v0, v3); _cmpswap(v2, v5)
    _cmpswap(v0, v1); _cmpswap(v2, v3); _cmpswap(v4, v5)
    _cmpswap(v1, v2); _cmpswap(v3, v4)


cdef inline void _sort7(key* v0, key* v1, key* v2, key* v3, key* v4, key* v5, key* v6) noexcept nogil:
    # An optimal 16-comparator network for 7 inputs (Knuth, TAOCP 5.3.4).
    _cmpswap(v0, v6); _cmpswap(v2, v3); _cmpswap(v4, v5)
    _cmpswap(v0, v2); _cmpswap(v1, v4); _cmpswap(v3, v6)
    _cmpswap(v0, v1); _cmpswap(v2, v5); _cmpswap(v3, v4)
    _cmpswap(v1, v2); _cmpswap(v4, v6)
    _cmpswap(v2, v3); _cmpswap(v4, v5)
    _cmpswap(v1, v2); _cmpswap(v3, v4); _cmpswap(v5, v6)


cdef inline key _border_value(
    const key** rows, const int64_t* colmap, Py_ssize_t dy, Py_ssize_t p, Py_ssize_t c,
    Py_ssize_t channels, key cval,
) noexcept nogil:
    cdef int64_t q = colmap[p]
    return _to_key(cval if q < 0 else rows[dy][q * channels + c])


cdef enum:
    _BLOCK = 1024   # values per block of the k = 3, 5, 7 loops, a multiple of every vector's lanes
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


cdef int _sort_rows(
    const key** rows,       # IN ksize padded rows
    Py_ssize_t ksize,       # IN 4 or 6
    Py_ssize_t n,           # IN W * C
    Py_ssize_t wp,          # IN length of a row of buf
    Py_ssize_t edge,        # IN where the image's first column goes in buf
    key* buf,               # OUT ksize rows of wp: ranks 0..ksize-1 of every column
) noexcept nogil:
    # Column sorts, in blocks through a local array: the compiler cannot prove 4 or 6 input and
    # output rows apart (too many run-time alias checks to vectorise), but it knows a local
    # apart from both. Returns nonzero when a float NaN was among the rows.
    cdef key block[6 * _BLOCK]
    cdef key v0, v1, v2, v3, v4, v5
    cdef const key* a0 = rows[0]
    cdef const key* a1 = rows[1]
    cdef const key* a2 = rows[2]
    cdef const key* a3 = rows[3]
    cdef const key* a4 = rows[4] if ksize == 6 else NULL
    cdef const key* a5 = rows[5] if ksize == 6 else NULL
    cdef Py_ssize_t b, j, m, dy
    cdef int nan = 0
    b = 0
    while b < n:
        b = _block(b, 0, n, &m)
        if ksize == 6:
            for j in range(m):
                v0 = _to_key(a0[b + j]); v1 = _to_key(a1[b + j]); v2 = _to_key(a2[b + j])
                v3 = _to_key(a3[b + j]); v4 = _to_key(a4[b + j]); v5 = _to_key(a5[b + j])
                _sort6(&v0, &v1, &v2, &v3, &v4, &v5)
                nan |= _nan_keys(v0, v5)
                block[j] = v0; block[_BLOCK + j] = v1; block[2 * _BLOCK + j] = v2
                block[3 * _BLOCK + j] = v3; block[4 * _BLOCK + j] = v4; block[5 * _BLOCK + j] = v5
        else:
            for j in range(m):
                v0 = _to_key(a0[b + j]); v1 = _to_key(a1[b + j]); v2 = _to_key(a2[b + j])
                v3 = _to_key(a3[b + j])
                _sort4(&v0, &v1, &v2, &v3)
                nan |= _nan_keys(v0, v3)
                block[j] = v0; block[_BLOCK + j] = v1; block[2 * _BLOCK + j] = v2
                block[3 * _BLOCK + j] = v3
        for dy in range(ksize):
            memcpy(buf + dy * wp + edge + b, &block[dy * _BLOCK], m * sizeof(key))
        b += m
    return nan


cdef inline key _select7(
    key c0, key c1, key c2, key c3, key c4, key c5, key c6, key c7,
    key t0, key t1, key t2, key t3, key t4, key t5, key t6,
) noexcept nogil:
    # Rank 7 of the union of two sorted lists c0..c7 and t0..t6: the largest of
    # min(c[i], t[7 - i]) over i (t[7] counting as +inf). On 0/1 inputs: some pair has both 1
    # iff at most 7 zeros in all.
    return _hi(_hi(_hi(c0, _lo(c1, t6)), _hi(_lo(c2, t5), _lo(c3, t4))),
               _hi(_hi(_lo(c4, t3), _lo(c5, t2)), _hi(_lo(c6, t1), _lo(c7, t0))))


cdef inline key _select5(
    key c0, key c1, key c2, key c3, key c4, key c5, key t0, key t1, key t2, key t3, key t4,
) noexcept nogil:
    # Rank 5 of the union of the sorted c0..c5 and t0..t4 (see _select7).
    return _hi(_hi(c0, _lo(c1, t4)),
               _hi(_hi(_lo(c2, t3), _lo(c3, t2)), _hi(_lo(c4, t1), _lo(c5, t0))))


cdef void _median25_pair(
    const key* s0, const key* s1, const key* s2,
    const key* s3,            # IN ranks 0..3 of the sorted padded columns of the 4 shared rows
    const key* top,           # IN padded first row of the upper windows (keys)
    const key* bottom,        # IN padded last row of the lower windows (keys)
    Py_ssize_t n,             # IN W * C
    Py_ssize_t step,          # IN C: from one column to the next
    key* out0,                # OUT (W * C,) upper output row
    key* out1,                # OUT (W * C,) lower output row
) noexcept nogil:
    # k = 5 as _median49_pair: of the 20 values two windows share, ranks 7..12 (network checked
    # on all 5**5 column-sorted 0/1 inputs), then each window's own sorted row, rank 5 of 11.
    cdef key blk0[_BLOCK]
    cdef key blk1[_BLOCK]
    cdef Py_ssize_t b, i, j, m
    cdef key v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19
    cdef key t0, t1, t2, t3, t4
    b = 0
    while b < n:
        b = _block(b, 0, n, &m)
        for i in range(m):
            j = b + i
            v0 = s0[j + 0 * step]
            v4 = s0[j + 1 * step]
            v8 = s0[j + 2 * step]
            v12 = s0[j + 3 * step]
            v16 = s0[j + 4 * step]
            v1 = s1[j + 0 * step]
            v5 = s1[j + 1 * step]
            v9 = s1[j + 2 * step]
            v13 = s1[j + 3 * step]
            v17 = s1[j + 4 * step]
            v2 = s2[j + 0 * step]
            v6 = s2[j + 1 * step]
            v10 = s2[j + 2 * step]
            v14 = s2[j + 3 * step]
            v18 = s2[j + 4 * step]
            v3 = s3[j + 0 * step]
            v7 = s3[j + 1 * step]
            v11 = s3[j + 2 * step]
            v15 = s3[j + 3 * step]
            v19 = s3[j + 4 * step]
            v0, v4 = _lo(v0, v4), _hi(v0, v4)
            v1, v5 = _lo(v1, v5), _hi(v1, v5)
            v2, v6 = _lo(v2, v6), _hi(v2, v6)
            v3, v7 = _lo(v3, v7), _hi(v3, v7)
            v8, v12 = _lo(v8, v12), _hi(v8, v12)
            v9, v13 = _lo(v9, v13), _hi(v9, v13)
            v10, v14 = _lo(v10, v14), _hi(v10, v14)
            v11, v15 = _lo(v11, v15), _hi(v11, v15)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3, v5 = _lo(v3, v5), _hi(v3, v5)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11, v13 = _lo(v11, v13), _hi(v11, v13)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            v5, v6 = _lo(v5, v6), _hi(v5, v6)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            v13, v14 = _lo(v13, v14), _hi(v13, v14)
            v0, v8 = _lo(v0, v8), _hi(v0, v8)
            v1, v9 = _lo(v1, v9), _hi(v1, v9)
            v2, v10 = _lo(v2, v10), _hi(v2, v10)
            v3, v11 = _lo(v3, v11), _hi(v3, v11)
            v4, v12 = _lo(v4, v12), _hi(v4, v12)
            v5, v13 = _lo(v5, v13), _hi(v5, v13)
            v6, v14 = _lo(v6, v14), _hi(v6, v14)
            v7 = _lo(v7, v15)
            v4, v8 = _lo(v4, v8), _hi(v4, v8)
            v5, v9 = _lo(v5, v9), _hi(v5, v9)
            v6, v10 = _lo(v6, v10), _hi(v6, v10)
            v7, v11 = _lo(v7, v11), _hi(v7, v11)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3, v5 = _lo(v3, v5), _hi(v3, v5)
            v6, v8 = _lo(v6, v8), _hi(v6, v8)
            v7, v9 = _lo(v7, v9), _hi(v7, v9)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11, v13 = _lo(v11, v13), _hi(v11, v13)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            v5, v6 = _lo(v5, v6), _hi(v5, v6)
            v7, v8 = _lo(v7, v8), _hi(v7, v8)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            v13 = _lo(v13, v14)
            v16 = _hi(v0, v16)
            v17 = _hi(v1, v17)
            v18 = _hi(v2, v18)
            v19 = _hi(v3, v19)
            v8, v16 = _lo(v8, v16), _hi(v8, v16)
            v9, v17 = _lo(v9, v17), _hi(v9, v17)
            v10 = _lo(v10, v18)
            v11 = _lo(v11, v19)
            v8 = _hi(v4, v8)
            v9 = _hi(v5, v9)
            v6, v10 = _lo(v6, v10), _hi(v6, v10)
            v7, v11 = _lo(v7, v11), _hi(v7, v11)
            v12 = _lo(v12, v16)
            v13 = _lo(v13, v17)
            v8 = _hi(v6, v8)
            v7, v9 = _lo(v7, v9), _hi(v7, v9)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11 = _lo(v11, v13)
            v7, v8 = _lo(v7, v8), _hi(v7, v8)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            t0 = top[j]; t1 = top[j + step]; t2 = top[j + 2 * step]; t3 = top[j + 3 * step]
            t4 = top[j + 4 * step]
            _sort5(&t0, &t1, &t2, &t3, &t4)
            blk0[i] = _from_key(_select5(v7, v8, v9, v10, v11, v12, t0, t1, t2, t3, t4))
            t0 = bottom[j]; t1 = bottom[j + step]; t2 = bottom[j + 2 * step]
            t3 = bottom[j + 3 * step]; t4 = bottom[j + 4 * step]
            _sort5(&t0, &t1, &t2, &t3, &t4)
            blk1[i] = _from_key(_select5(v7, v8, v9, v10, v11, v12, t0, t1, t2, t3, t4))
        memcpy(out0 + b, blk0, m * sizeof(key))
        memcpy(out1 + b, blk1, m * sizeof(key))
        b += m


cdef void _median49_pair(
    const key* s0, const key* s1, const key* s2, const key* s3, const key* s4,
    const key* s5,            # IN ranks 0..5 of the sorted padded columns of the 6 shared rows
    const key* top,           # IN padded first row of the upper windows (keys)
    const key* bottom,        # IN padded last row of the lower windows (keys)
    Py_ssize_t n,             # IN W * C
    Py_ssize_t step,          # IN C: from one column to the next
    key* out0,                # OUT (W * C,) upper output row
    key* out1,                # OUT (W * C,) lower output row
) noexcept nogil:
    # Two vertically adjacent 7 x 7 windows share 6 rows: 42 values whose ranks 17..24 are the
    # only ones that can be either median (17 of them lie below, 17 above, whatever the other
    # 7 values are). A network over the 7 sorted shared columns (wire 6 * dx + dy holds rank dy
    # of column dx) gives those 8 in order: Batcher's odd-even merge sort for 64 wires restricted
    # to 42, pruned to the outputs 17..24, then to the comparators that can still exchange
    # anything on column-sorted input (dropped together, then pruned again); the 0-1 principle
    # checked it on all 7**7 column-sorted 0/1 inputs, and tests/test_median.py repeats that
    # check through the filter); each window then sorts its own 7th row and takes rank 7 of the
    # 15. Outputs go through local blocks, which the compiler knows apart from the inputs.
    cdef key blk0[_BLOCK]
    cdef key blk1[_BLOCK]
    cdef Py_ssize_t b, i, j, m
    cdef key v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13
    cdef key v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27
    cdef key v28, v29, v30, v31, v32, v33, v34, v35, v36, v37, v38, v39, v40, v41
    cdef key t0, t1, t2, t3, t4, t5, t6
    b = 0
    while b < n:
        b = _block(b, 0, n, &m)
        for i in range(m):
            j = b + i
            v0 = s0[j + 0 * step]
            v6 = s0[j + 1 * step]
            v12 = s0[j + 2 * step]
            v18 = s0[j + 3 * step]
            v24 = s0[j + 4 * step]
            v30 = s0[j + 5 * step]
            v36 = s0[j + 6 * step]
            v1 = s1[j + 0 * step]
            v7 = s1[j + 1 * step]
            v13 = s1[j + 2 * step]
            v19 = s1[j + 3 * step]
            v25 = s1[j + 4 * step]
            v31 = s1[j + 5 * step]
            v37 = s1[j + 6 * step]
            v2 = s2[j + 0 * step]
            v8 = s2[j + 1 * step]
            v14 = s2[j + 2 * step]
            v20 = s2[j + 3 * step]
            v26 = s2[j + 4 * step]
            v32 = s2[j + 5 * step]
            v38 = s2[j + 6 * step]
            v3 = s3[j + 0 * step]
            v9 = s3[j + 1 * step]
            v15 = s3[j + 2 * step]
            v21 = s3[j + 3 * step]
            v27 = s3[j + 4 * step]
            v33 = s3[j + 5 * step]
            v39 = s3[j + 6 * step]
            v4 = s4[j + 0 * step]
            v10 = s4[j + 1 * step]
            v16 = s4[j + 2 * step]
            v22 = s4[j + 3 * step]
            v28 = s4[j + 4 * step]
            v34 = s4[j + 5 * step]
            v40 = s4[j + 6 * step]
            v5 = s5[j + 0 * step]
            v11 = s5[j + 1 * step]
            v17 = s5[j + 2 * step]
            v23 = s5[j + 3 * step]
            v29 = s5[j + 4 * step]
            v35 = s5[j + 5 * step]
            v41 = s5[j + 6 * step]
            v4, v6 = _lo(v4, v6), _hi(v4, v6)
            v5, v7 = _lo(v5, v7), _hi(v5, v7)
            v16, v18 = _lo(v16, v18), _hi(v16, v18)
            v17, v19 = _lo(v17, v19), _hi(v17, v19)
            v28, v30 = _lo(v28, v30), _hi(v28, v30)
            v29, v31 = _lo(v29, v31), _hi(v29, v31)
            v5, v6 = _lo(v5, v6), _hi(v5, v6)
            v17, v18 = _lo(v17, v18), _hi(v17, v18)
            v29, v30 = _lo(v29, v30), _hi(v29, v30)
            v0, v4 = _lo(v0, v4), _hi(v0, v4)
            v1, v5 = _lo(v1, v5), _hi(v1, v5)
            v8, v12 = _lo(v8, v12), _hi(v8, v12)
            v9, v13 = _lo(v9, v13), _hi(v9, v13)
            v10, v14 = _lo(v10, v14), _hi(v10, v14)
            v11, v15 = _lo(v11, v15), _hi(v11, v15)
            v18, v22 = _lo(v18, v22), _hi(v18, v22)
            v19, v23 = _lo(v19, v23), _hi(v19, v23)
            v24, v28 = _lo(v24, v28), _hi(v24, v28)
            v25, v29 = _lo(v25, v29), _hi(v25, v29)
            v32, v36 = _lo(v32, v36), _hi(v32, v36)
            v33, v37 = _lo(v33, v37), _hi(v33, v37)
            v34, v38 = _lo(v34, v38), _hi(v34, v38)
            v35, v39 = _lo(v35, v39), _hi(v35, v39)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3, v5 = _lo(v3, v5), _hi(v3, v5)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11, v13 = _lo(v11, v13), _hi(v11, v13)
            v18, v20 = _lo(v18, v20), _hi(v18, v20)
            v19, v21 = _lo(v19, v21), _hi(v19, v21)
            v26, v28 = _lo(v26, v28), _hi(v26, v28)
            v27, v29 = _lo(v27, v29), _hi(v27, v29)
            v34, v36 = _lo(v34, v36), _hi(v34, v36)
            v35, v37 = _lo(v35, v37), _hi(v35, v37)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            v13, v14 = _lo(v13, v14), _hi(v13, v14)
            v19, v20 = _lo(v19, v20), _hi(v19, v20)
            v21, v22 = _lo(v21, v22), _hi(v21, v22)
            v25, v26 = _lo(v25, v26), _hi(v25, v26)
            v27, v28 = _lo(v27, v28), _hi(v27, v28)
            v33, v34 = _lo(v33, v34), _hi(v33, v34)
            v35, v36 = _lo(v35, v36), _hi(v35, v36)
            v37, v38 = _lo(v37, v38), _hi(v37, v38)
            v0, v8 = _lo(v0, v8), _hi(v0, v8)
            v1, v9 = _lo(v1, v9), _hi(v1, v9)
            v2, v10 = _lo(v2, v10), _hi(v2, v10)
            v3, v11 = _lo(v3, v11), _hi(v3, v11)
            v4, v12 = _lo(v4, v12), _hi(v4, v12)
            v5, v13 = _lo(v5, v13), _hi(v5, v13)
            v6, v14 = _lo(v6, v14), _hi(v6, v14)
            v7, v15 = _lo(v7, v15), _hi(v7, v15)
            v16, v24 = _lo(v16, v24), _hi(v16, v24)
            v17, v25 = _lo(v17, v25), _hi(v17, v25)
            v18, v26 = _lo(v18, v26), _hi(v18, v26)
            v19, v27 = _lo(v19, v27), _hi(v19, v27)
            v20, v28 = _lo(v20, v28), _hi(v20, v28)
            v21, v29 = _lo(v21, v29), _hi(v21, v29)
            v22, v30 = _lo(v22, v30), _hi(v22, v30)
            v23, v31 = _lo(v23, v31), _hi(v23, v31)
            v4, v8 = _lo(v4, v8), _hi(v4, v8)
            v5, v9 = _lo(v5, v9), _hi(v5, v9)
            v6, v10 = _lo(v6, v10), _hi(v6, v10)
            v7, v11 = _lo(v7, v11), _hi(v7, v11)
            v20, v24 = _lo(v20, v24), _hi(v20, v24)
            v21, v25 = _lo(v21, v25), _hi(v21, v25)
            v22, v26 = _lo(v22, v26), _hi(v22, v26)
            v23, v27 = _lo(v23, v27), _hi(v23, v27)
            v36, v40 = _lo(v36, v40), _hi(v36, v40)
            v37, v41 = _lo(v37, v41), _hi(v37, v41)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3, v5 = _lo(v3, v5), _hi(v3, v5)
            v6, v8 = _lo(v6, v8), _hi(v6, v8)
            v7, v9 = _lo(v7, v9), _hi(v7, v9)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11, v13 = _lo(v11, v13), _hi(v11, v13)
            v18, v20 = _lo(v18, v20), _hi(v18, v20)
            v19, v21 = _lo(v19, v21), _hi(v19, v21)
            v22, v24 = _lo(v22, v24), _hi(v22, v24)
            v23, v25 = _lo(v23, v25), _hi(v23, v25)
            v26, v28 = _lo(v26, v28), _hi(v26, v28)
            v27, v29 = _lo(v27, v29), _hi(v27, v29)
            v38, v40 = _lo(v38, v40), _hi(v38, v40)
            v39, v41 = _lo(v39, v41), _hi(v39, v41)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            v5, v6 = _lo(v5, v6), _hi(v5, v6)
            v7, v8 = _lo(v7, v8), _hi(v7, v8)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            v13, v14 = _lo(v13, v14), _hi(v13, v14)
            v17, v18 = _lo(v17, v18), _hi(v17, v18)
            v19, v20 = _lo(v19, v20), _hi(v19, v20)
            v21, v22 = _lo(v21, v22), _hi(v21, v22)
            v23, v24 = _lo(v23, v24), _hi(v23, v24)
            v25, v26 = _lo(v25, v26), _hi(v25, v26)
            v27, v28 = _lo(v27, v28), _hi(v27, v28)
            v29, v30 = _lo(v29, v30), _hi(v29, v30)
            v37, v38 = _lo(v37, v38), _hi(v37, v38)
            v39, v40 = _lo(v39, v40), _hi(v39, v40)
            v0, v16 = _lo(v0, v16), _hi(v0, v16)
            v1, v17 = _lo(v1, v17), _hi(v1, v17)
            v2, v18 = _lo(v2, v18), _hi(v2, v18)
            v3, v19 = _lo(v3, v19), _hi(v3, v19)
            v4, v20 = _lo(v4, v20), _hi(v4, v20)
            v5, v21 = _lo(v5, v21), _hi(v5, v21)
            v6, v22 = _lo(v6, v22), _hi(v6, v22)
            v7, v23 = _lo(v7, v23), _hi(v7, v23)
            v8, v24 = _lo(v8, v24), _hi(v8, v24)
            v9, v25 = _lo(v9, v25), _hi(v9, v25)
            v10, v26 = _lo(v10, v26), _hi(v10, v26)
            v11, v27 = _lo(v11, v27), _hi(v11, v27)
            v12, v28 = _lo(v12, v28), _hi(v12, v28)
            v13, v29 = _lo(v13, v29), _hi(v13, v29)
            v14 = _lo(v14, v30)
            v15 = _lo(v15, v31)
            v8, v16 = _lo(v8, v16), _hi(v8, v16)
            v9, v17 = _lo(v9, v17), _hi(v9, v17)
            v10, v18 = _lo(v10, v18), _hi(v10, v18)
            v11, v19 = _lo(v11, v19), _hi(v11, v19)
            v12, v20 = _lo(v12, v20), _hi(v12, v20)
            v13, v21 = _lo(v13, v21), _hi(v13, v21)
            v14, v22 = _lo(v14, v22), _hi(v14, v22)
            v15, v23 = _lo(v15, v23), _hi(v15, v23)
            v4, v8 = _lo(v4, v8), _hi(v4, v8)
            v5, v9 = _lo(v5, v9), _hi(v5, v9)
            v6, v10 = _lo(v6, v10), _hi(v6, v10)
            v7, v11 = _lo(v7, v11), _hi(v7, v11)
            v12, v16 = _lo(v12, v16), _hi(v12, v16)
            v13, v17 = _lo(v13, v17), _hi(v13, v17)
            v14, v18 = _lo(v14, v18), _hi(v14, v18)
            v15, v19 = _lo(v15, v19), _hi(v15, v19)
            v20, v24 = _lo(v20, v24), _hi(v20, v24)
            v21, v25 = _lo(v21, v25), _hi(v21, v25)
            v22, v26 = _lo(v22, v26), _hi(v22, v26)
            v23, v27 = _lo(v23, v27), _hi(v23, v27)
            v2, v4 = _lo(v2, v4), _hi(v2, v4)
            v3, v5 = _lo(v3, v5), _hi(v3, v5)
            v6, v8 = _lo(v6, v8), _hi(v6, v8)
            v7, v9 = _lo(v7, v9), _hi(v7, v9)
            v10, v12 = _lo(v10, v12), _hi(v10, v12)
            v11, v13 = _lo(v11, v13), _hi(v11, v13)
            v14, v16 = _lo(v14, v16), _hi(v14, v16)
            v15, v17 = _lo(v15, v17), _hi(v15, v17)
            v18, v20 = _lo(v18, v20), _hi(v18, v20)
            v19, v21 = _lo(v19, v21), _hi(v19, v21)
            v22, v24 = _lo(v22, v24), _hi(v22, v24)
            v23, v25 = _lo(v23, v25), _hi(v23, v25)
            v26, v28 = _lo(v26, v28), _hi(v26, v28)
            v27 = _lo(v27, v29)
            v1, v2 = _lo(v1, v2), _hi(v1, v2)
            v3, v4 = _lo(v3, v4), _hi(v3, v4)
            v5, v6 = _lo(v5, v6), _hi(v5, v6)
            v7, v8 = _lo(v7, v8), _hi(v7, v8)
            v9, v10 = _lo(v9, v10), _hi(v9, v10)
            v11, v12 = _lo(v11, v12), _hi(v11, v12)
            v13, v14 = _lo(v13, v14), _hi(v13, v14)
            v15, v16 = _lo(v15, v16), _hi(v15, v16)
            v17, v18 = _lo(v17, v18), _hi(v17, v18)
            v19, v20 = _lo(v19, v20), _hi(v19, v20)
            v21, v22 = _lo(v21, v22), _hi(v21, v22)
            v23, v24 = _lo(v23, v24), _hi(v23, v24)
            v25, v26 = _lo(v25, v26), _hi(v25, v26)
            v27 = _lo(v27, v28)
            v32 = _hi(v0, v32)
            v33 = _hi(v1, v33)
            v34 = _hi(v2, v34)
            v35 = _hi(v3, v35)
            v36 = _hi(v4, v36)
            v37 = _hi(v5, v37)
            v38 = _hi(v6, v38)
            v39 = _hi(v7, v39)
            v40 = _hi(v8, v40)
            v9, v41 = _lo(v9, v41), _hi(v9, v41)
            v32 = _hi(v16, v32)
            v17, v33 = _lo(v17, v33), _hi(v17, v33)
            v18, v34 = _lo(v18, v34), _hi(v18, v34)
            v19, v35 = _lo(v19, v35), _hi(v19, v35)
            v20 = _lo(v20, v36)
            v21 = _lo(v21, v37)
            v22 = _lo(v22, v38)
            v23 = _lo(v23, v39)
            v24 = _lo(v24, v40)
            v25 = _lo(v25, v41)
            v17 = _hi(v9, v17)
            v18 = _hi(v10, v18)
            v19 = _hi(v11, v19)
            v20 = _hi(v12, v20)
            v13, v21 = _lo(v13, v21), _hi(v13, v21)
            v14, v22 = _lo(v14, v22), _hi(v14, v22)
            v15, v23 = _lo(v15, v23), _hi(v15, v23)
            v24 = _lo(v24, v32)
            v25 = _lo(v25, v33)
            v26 = _lo(v26, v34)
            v27 = _lo(v27, v35)
            v17 = _hi(v13, v17)
            v18 = _hi(v14, v18)
            v15, v19 = _lo(v15, v19), _hi(v15, v19)
            v20, v24 = _lo(v20, v24), _hi(v20, v24)
            v21, v25 = _lo(v21, v25), _hi(v21, v25)
            v22 = _lo(v22, v26)
            v23 = _lo(v23, v27)
            v17 = _hi(v15, v17)
            v18, v20 = _lo(v18, v20), _hi(v18, v20)
            v19, v21 = _lo(v19, v21), _hi(v19, v21)
            v22, v24 = _lo(v22, v24), _hi(v22, v24)
            v23 = _lo(v23, v25)
            v17, v18 = _lo(v17, v18), _hi(v17, v18)
            v19, v20 = _lo(v19, v20), _hi(v19, v20)
            v21, v22 = _lo(v21, v22), _hi(v21, v22)
            v23, v24 = _lo(v23, v24), _hi(v23, v24)
            t0 = top[j]; t1 = top[j + step]; t2 = top[j + 2 * step]; t3 = top[j + 3 * step]
            t4 = top[j + 4 * step]; t5 = top[j + 5 * step]; t6 = top[j + 6 * step]
            _sort7(&t0, &t1, &t2, &t3, &t4, &t5, &t6)
            blk0[i] = _from_key(_select7(v17, v18, v19, v20, v21, v22, v23, v24,
                                         t0, t1, t2, t3, t4, t5, t6))
            t0 = bottom[j]; t1 = bottom[j + step]; t2 = bottom[j + 2 * step]
            t3 = bottom[j + 3 * step]; t4 = bottom[j + 4 * step]; t5 = bottom[j + 5 * step]
            t6 = bottom[j + 6 * step]
            _sort7(&t0, &t1, &t2, &t3, &t4, &t5, &t6)
            blk1[i] = _from_key(_select7(v17, v18, v19, v20, v21, v22, v23, v24,
                                         t0, t1, t2, t3, t4, t5, t6))
        memcpy(out0 + b, blk0, m * sizeof(key))
        memcpy(out1 + b, blk1, m * sizeof(key))
        b += m


cdef int _network_pair(
    const key** rows,         # IN ksize + 1 padded rows: the windows of output rows y and y + 1
    const int64_t* colmap,    # IN (W + ksize - 1,) source column of each padded column
    Py_ssize_t width,         # IN W
    Py_ssize_t channels,      # IN C
    Py_ssize_t ksize,         # IN 5 or 7
    key cval,                 # IN
    key* buf,                 # SCRATCH ksize + 1 rows of (W + ksize - 1) * C
    key* out0,                # OUT (W * C,) output row y
    key* out1,                # OUT (W * C,) output row y + 1
) noexcept nogil:
    # k = 5 and 7, two output rows at once (see _median49_pair). Returns nonzero on a float NaN.
    cdef Py_ssize_t r = ksize // 2, n = width * channels, wp = (width + 2 * r) * channels
    cdef Py_ssize_t edge = r * channels, j, p, c, dy
    cdef key* top = buf + (ksize - 1) * wp
    cdef key* bottom = buf + ksize * wp
    cdef const key* a0 = rows[0]
    cdef const key* ak = rows[ksize]
    cdef int nan = _sort_rows(rows + 1, ksize - 1, n, wp, edge, buf)
    for j in range(n):
        top[edge + j] = _to_key(a0[j])
    for j in range(n):
        bottom[edge + j] = _to_key(ak[j])
    for p in range(2 * r):
        if p >= r:
            p += width
        for c in range(channels):
            j = p * channels + c
            top[j] = _border_value(rows, colmap, 0, p, c, channels, cval)
            bottom[j] = _border_value(rows, colmap, ksize, p, c, channels, cval)
            for dy in range(ksize - 1):
                buf[dy * wp + j] = _border_value(rows, colmap, 1 + dy, p, c, channels, cval)
            if ksize == 7:
                _sort6(&buf[j], &buf[wp + j], &buf[2 * wp + j], &buf[3 * wp + j],
                       &buf[4 * wp + j], &buf[5 * wp + j])
            else:
                _sort4(&buf[j], &buf[wp + j], &buf[2 * wp + j], &buf[3 * wp + j])
    if ksize == 7:
        _median49_pair(buf, buf + wp, buf + 2 * wp, buf + 3 * wp, buf + 4 * wp, buf + 5 * wp,
                       top, bottom, n, channels, out0, out1)
    else:
        _median25_pair(buf, buf + wp, buf + 2 * wp, buf + 3 * wp, top, bottom, n, channels,
                       out0, out1)
    return nan


cdef inline key _select3(key c0, key c1, key c2, key c3, key t0, key t1, key t2) noexcept nogil:
    # Rank 3 of the union of the sorted c0..c3 and t0..t2 (see _select7).
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
    # integers); outputs go through local blocks (see _median49_pair). Each window sorts its
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
    # k = 3, two output rows at once, as _median49_pair: the windows share 2 rows; of their 6
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
    bint shx_has_network(Py_ssize_t k)
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

#: Window sides with a min/max network: 3, 5, 7 (hand-made, two rows at once) and the
#: generated ones (core/_median_wide.h; none in the baseline CPU variant).
NETWORK_SIDES = (3, 5, 7) + tuple(k for k in range(9, 256, 2) if shx_has_network(k))


def median_network(
    const key[:, ::1] image,        # IN (H, W * C); float32 / float64 as uint32 / uint64 bits
    const int64_t[::1] rowmap,      # IN (H + ksize - 1,) source row of each padded row, -1 = cval
    const int64_t[::1] colmap,      # IN (W + ksize - 1,) source column of each padded column
    Py_ssize_t ksize,               # IN one of NETWORK_SIDES; beyond 7, rows of >= 64 bytes
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
        # k + 1 rows (k = 3: four rows and six small ones), then a scratch output row
        buf = <key*>malloc(((ksize + 2) * (wp + 64) + 16 * channels) * sizeof(key))
        for chunk in prange((pairs + _CHUNK - 1) // _CHUNK, schedule="dynamic"):
            if buf == NULL:
                failed += 1
                continue
            for t in range(chunk * _CHUNK, min(chunk * _CHUNK + _CHUNK, pairs)):
                y = 2 * t
                out1 = (&out[y + 1, 0] if y + 1 < height
                        else buf + (ksize + 1) * (wp + 64) + 16 * channels)
                if ksize > 7:
                    nan_rows += shx_median_pair(ksize, rows + y, &colmap[0], width, channels,
                                                cval, buf, &out[y, 0], out1)
                elif ksize == 3:
                    nan_rows += _network_pair3(rows + y, &colmap[0], width, channels, cval, y,
                                               t == chunk * _CHUNK, buf, &out[y, 0], out1)
                else:
                    nan_rows += _network_pair(rows + y, &colmap[0], width, channels, ksize,
                                              cval, buf, &out[y, 0], out1)
        free(buf)
    free(rows)
    _check_threads(failed)
    return nan_rows > 0
