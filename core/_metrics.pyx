"""Compiled ranking kernels for AUC and the ROC / precision-recall curves.

Inputs are validated by :mod:`shouxie.core.metrics` (finite scores, finite non-negative
weights, output sizes). ``split_by_class`` partitions the samples by class, ``sort_weighted``
radix-sorts one class's scores carrying their weights (unweighted scores are sorted by numpy),
and ``rank_walk`` merges the two ascending lists from the top, visiting every distinct score
once: AUC and the curves cost one O(n) pass after the O(n log n) sorts.
"""
from libc.stdint cimport uint64_t
from libc.stdlib cimport free
from libc.string cimport memcpy, memset

from _common cimport _alloc, floating



cdef double _walk(
    const floating* pos,      # IN (P,) positive scores, ascending
    Py_ssize_t n_pos,
    const floating* neg,      # IN (N,) negative scores, ascending
    Py_ssize_t n_neg,
    const double* w_pos,  # IN (P,) weights in the order of `pos`, or NULL for unit weights
    const double* w_neg,  # IN (N,) weights in the order of `neg`, or NULL
    double* tps,          # OUT (m,) weighted true positives at each distinct score, or NULL
    double* fps,          # OUT (m,) weighted false positives, or NULL
    floating* thresholds,     # OUT (m,) the distinct scores, descending, or NULL
    Py_ssize_t* m,        # OUT number of distinct scores
) noexcept nogil:
    """Walk the distinct scores from the highest; return the unnormalised area under ROC.

    A group of tied scores holding weight ``gp`` of positives and ``gn`` of negatives adds
    ``gn * (tp + gp / 2)``: every positive above it beats those negatives, tied ones count 1/2.
    """
    cdef Py_ssize_t i = n_pos - 1, j = n_neg - 1, k = 0
    cdef double tp = 0, fp = 0, gp, gn, area = 0
    cdef floating v
    while i >= 0 or j >= 0:
        if j < 0 or (i >= 0 and pos[i] > neg[j]):
            v = pos[i]
        else:
            v = neg[j]
        gp = 0
        while i >= 0 and pos[i] == v:
            gp += 1 if w_pos == NULL else w_pos[i]
            i -= 1
        gn = 0
        while j >= 0 and neg[j] == v:
            gn += 1 if w_neg == NULL else w_neg[j]
            j -= 1
        area += gn * (tp + 0.5 * gp)
        tp += gp
        fp += gn
        if tps != NULL:
            tps[k] = tp
            fps[k] = fp
            thresholds[k] = v
        k += 1
    m[0] = k
    return area


def rank_walk(
    const floating[::1] pos,      # IN (P,) positive scores, ascending
    const floating[::1] neg,      # IN (N,) negative scores, ascending
    const double[::1] w_pos,  # IN (P,) or (0,) for unit weights
    const double[::1] w_neg,  # IN (N,) or (0,)
    double[::1] tps,          # OUT (P + N,) cumulative true positives per distinct score, or (0,)
    double[::1] fps,          # OUT (P + N,) cumulative false positives, or (0,)
    floating[::1] thresholds,     # OUT (P + N,) distinct scores, descending, or (0,)
):
    """Return ``(area, m)``: the unnormalised area under the ROC curve (the weight product of
    every (positive, negative) pair where the positive scores higher, half of it on a tie) and
    the number m of distinct scores. When the outputs are non-empty their first m entries are
    filled; empty outputs ask for the area only."""
    cdef Py_ssize_t m = 0
    cdef double area
    cdef const double* wp = &w_pos[0] if w_pos.shape[0] else NULL
    cdef const double* wn = &w_neg[0] if w_neg.shape[0] else NULL
    cdef const floating* p = &pos[0] if pos.shape[0] else NULL
    cdef const floating* q = &neg[0] if neg.shape[0] else NULL
    cdef double* tp_out = &tps[0] if tps.shape[0] else NULL
    cdef double* fp_out = &fps[0] if tps.shape[0] else NULL
    cdef floating* thr_out = &thresholds[0] if tps.shape[0] else NULL
    with nogil:
        area = _walk(p, pos.shape[0], q, neg.shape[0], wp, wn, tp_out, fp_out, thr_out, &m)
    return area, m


def split_by_class(
    const floating[::1] scores,           # IN (n,) scores
    const unsigned char[::1] is_pos,  # IN (n,) 1 for a positive, 0 for a negative
    const double[::1] weights,        # IN (n,) weights, or (0,) for unit weights
    floating[::1] pos,                    # OUT (P + 1,) positive scores in input order, then slack
    floating[::1] neg,                    # OUT (N + 1,) negative scores, then slack
    double[::1] w_pos,                # OUT (P + 1,) their weights, or (0,) without weights
    double[::1] w_neg,                # OUT (N + 1,) or (0,)
):
    """Branch-free partition of the samples by class, dropping zero-weight samples.

    P and N count the positives and negatives of non-zero weight (sized by the caller). Every
    sample is written to both outputs and only its own class's cursor advances (neither for a
    zero weight), so the other output's next slot, at most its slack slot, is overwritten later.
    """
    cdef Py_ssize_t n = scores.shape[0], i, p = 0, q = 0
    cdef bint weighted = weights.shape[0] != 0
    cdef unsigned char b, keep = 1
    with nogil:
        for i in range(n):
            b = is_pos[i]
            pos[p] = scores[i]
            neg[q] = scores[i]
            if weighted:
                keep = weights[i] != 0
                w_pos[p] = weights[i]
                w_neg[q] = weights[i]
            p += b & keep
            q += (1 - b) & keep


cdef enum:
    RADIX_BITS = 11
    RADIX_SIZE = 1 << RADIX_BITS
    RADIX_PASSES = 6  # ceil(64 / RADIX_BITS)


cdef inline uint64_t _sort_key(double x) noexcept nogil:
    """Map a finite double to a uint64 with the same order (-0.0 and 0.0 map alike)."""
    cdef uint64_t u
    x = x + 0.0  # -0.0 -> +0.0
    memcpy(&u, &x, 8)
    return ~u if u >> 63 else u | (<uint64_t>1 << 63)


cdef inline double _sort_value(uint64_t k) noexcept nogil:
    cdef double x
    k = k ^ (<uint64_t>1 << 63) if k >> 63 else ~k
    memcpy(&x, &k, 8)
    return x


def sort_weighted(
    floating[::1] scores,      # IN/OUT (n,) finite scores, sorted ascending on return
    double[::1] weights,   # IN/OUT (n,) weights, permuted along with the scores
):
    """LSD radix sort (11-bit digits) of the scores carrying their weights.

    Scores are sorted as order-preserving uint64 keys of their double value; a pass whose digit
    is the same for every key is skipped (float32 scores skip the low mantissa passes).
    """
    cdef Py_ssize_t n = scores.shape[0], i, p, total, count
    cdef char* block
    cdef uint64_t* keys
    cdef uint64_t* keys_tmp
    cdef uint64_t* src_k
    cdef uint64_t* dst_k
    cdef double* w_tmp
    cdef double* src_w
    cdef double* dst_w
    cdef Py_ssize_t* hist
    cdef Py_ssize_t* h
    cdef uint64_t k
    cdef int shift
    if n < 2:
        return
    block = <char*>_alloc(RADIX_PASSES * RADIX_SIZE * sizeof(Py_ssize_t)
                          + n * (2 * sizeof(uint64_t) + sizeof(double)))
    hist = <Py_ssize_t*>block
    memset(hist, 0, RADIX_PASSES * RADIX_SIZE * sizeof(Py_ssize_t))
    keys = <uint64_t*>(hist + RADIX_PASSES * RADIX_SIZE)
    keys_tmp = keys + n
    w_tmp = <double*>(keys_tmp + n)
    with nogil:
        for i in range(n):
            k = _sort_key(scores[i])
            keys[i] = k
            for p in range(RADIX_PASSES):
                hist[p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))] += 1
        src_k, dst_k, src_w, dst_w = keys, keys_tmp, &weights[0], w_tmp
        for p in range(RADIX_PASSES):
            shift = p * RADIX_BITS
            h = hist + p * RADIX_SIZE
            if h[(src_k[0] >> shift) & (RADIX_SIZE - 1)] == n:
                continue  # every key has this digit: the pass would not move anything
            total = 0
            for i in range(RADIX_SIZE):
                count = h[i]
                h[i] = total
                total += count
            for i in range(n):
                k = src_k[i]
                count = h[(k >> shift) & (RADIX_SIZE - 1)]
                h[(k >> shift) & (RADIX_SIZE - 1)] = count + 1
                dst_k[count] = k
                dst_w[count] = src_w[i]
            src_k, dst_k = dst_k, src_k
            src_w, dst_w = dst_w, src_w
        for i in range(n):
            scores[i] = <floating> _sort_value(src_k[i])
        if src_w != &weights[0]:
            memcpy(&weights[0], src_w, n * sizeof(double))
    free(block)
