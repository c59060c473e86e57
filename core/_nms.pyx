"""Compiled non-maximum suppression kernels. Inputs are validated by :mod:`shouxie.core.nms`."""
from libc.math cimport INFINITY, frexp
from libc.stdint cimport INT64_MAX, int32_t, int64_t
from libcpp.vector cimport vector

from _common cimport _exp_neg, _exp_neg_moderate, _max, _min, floating

cdef extern from *:
    """
    /* maximum of a[0..n-1] and -1; a max-reduction GCC only vectorises when told it may */
    static inline double _shouxie_max_or_minus_one(const double* a, Py_ssize_t n) {
        double top = -1.0;
        #pragma omp simd reduction(max:top)
        for (Py_ssize_t i = 0; i < n; ++i) top = a[i] > top ? a[i] : top;
        return top;
    }
    """
    double _max_or_minus_one "_shouxie_max_or_minus_one"(const double* a, Py_ssize_t n) noexcept nogil


cdef enum:
    GAUSSIAN = 0
    LINEAR = 1


def nms_segments(
    const floating[:, ::1] boxes_t,    # IN (4, N) x1, y1, x2, y2 rows, each segment sorted by decreasing score
    const int64_t[::1] starts,     # IN (G + 1,) segment g is [starts[g], starts[g + 1]); NMS runs per segment
    double iou_threshold,          # IN suppress when IoU > iou_threshold
    int64_t[::1] keep,             # OUT (N,) positions of the kept boxes, ascending
):
    """Greedy NMS inside each segment; returns how many positions were written to ``keep``."""
    cdef Py_ssize_t n = boxes_t.shape[1], g, i, j, stop, count = 0
    cdef const floating[::1] x1 = boxes_t[0]
    cdef const floating[::1] y1 = boxes_t[1]
    cdef const floating[::1] x2 = boxes_t[2]
    cdef const floating[::1] y2 = boxes_t[3]
    cdef vector[floating] area
    # 32-bit flags, not bytes: a vectorised loop steps over as many flags as 32-bit floats, so a
    # class of a few hundred boxes does not fall to the scalar tail (64 lanes of bytes at AVX-512)
    cdef vector[int32_t] suppressed
    cdef floating ix1, iy1, ix2, iy2, iarea, w, h, inter, ovr
    if n == 0:
        return 0
    with nogil:
        area.resize(n)
        suppressed.resize(n, 0)
        for i in range(n):
            area[i] = (x2[i] - x1[i]) * (y2[i] - y1[i])
        for g in range(starts.shape[0] - 1):
            stop = starts[g + 1]
            for i in range(starts[g], stop):
                if suppressed[i]:
                    continue
                keep[count] = i
                count += 1
                ix1 = x1[i]
                iy1 = y1[i]
                ix2 = x2[i]
                iy2 = y2[i]
                iarea = area[i]
                # branch-free so that it vectorises; 0 / 0 is NaN, and NaN > t is false
                for j in range(i + 1, stop):
                    w = _max(_min(ix2, x2[j]) - _max(ix1, x1[j]), <floating>0)
                    h = _max(_min(iy2, y2[j]) - _max(iy1, y1[j]), <floating>0)
                    inter = w * h
                    ovr = inter / (iarea + area[j] - inter)
                    suppressed[j] |= <double>ovr > iou_threshold
    return count


cdef enum:
    LANES = 8    # soft_nms stores boxes in groups of LANES slots (one AVX-512 vector of doubles)
    BLOCK = 64   # and keeps the maximum score of every BLOCK slots


def soft_nms(
    const double[:, ::1] boxes_t,  # IN (4, N) x1, y1, x2, y2 rows, boxes sorted by (band, x1)
    const int64_t[::1] band,       # IN (N,) band of each box (non-decreasing), in [0, bands)
    Py_ssize_t bands,              # IN number of bands
    const int64_t[::1] ids,        # IN (N,) original index of each (sorted) box
    const double[::1] scores,      # IN (N,) scores (sorted order)
    int method,                    # IN 0 gaussian, 1 linear
    double sigma,                  # IN gaussian: weight exp(-iou² / sigma)
    double iou_threshold,          # IN linear: decay only when IoU > iou_threshold
    double score_threshold,        # IN a box whose score falls below this is dropped
    int64_t[::1] selected,         # OUT (N,) original indices in selection order
    double[::1] selected_scores,   # OUT (N,) their scores when selected
):
    """Soft-NMS (Bodla et al. 2017); returns how many boxes were selected.

    Live boxes sit in slots (see Slots): horizontal bands (by y1), each sorted by x1 and padded
    to whole groups of LANES slots. The groups of a band that a selected box can overlap form
    one contiguous range, found by two binary searches over group bounds (the first x1 of each
    group, the band's running maximum of x2); bands entirely above or below the box are
    skipped. Only those ranges are decayed, in branch-free loops that vectorise; a box outside
    the selected one has IoU 0, hence weight 1, so whole groups can be decayed. Selected and
    dropped boxes get score -1 and are compacted away once they are a quarter of the live ones.
    The maximum score of every BLOCK slots is cached and refreshed for the blocks a range
    touches, so finding the next selection (highest score, lowest original index on ties)
    scans N / BLOCK maxima.
    """
    cdef Slots s
    cdef Py_ssize_t q, g, p, b, first, stop, lo, hi, live = 0, dead = 0, count = 0
    cdef double px1, py1, px2, py2, parea, top
    cdef int64_t best_id
    cdef vector[Py_ssize_t] fill
    # with a power of two, iou² * (1 / sigma) is exactly iou² / sigma, and cheaper
    cdef int exponent
    cdef bint exact_inverse = frexp(sigma, &exponent) == 0.5 and -1000 < exponent < 1000
    for q in range(boxes_t.shape[1]):
        live += scores[q] >= score_threshold
    if live == 0:
        return 0
    with nogil:
        # lay the boxes above the threshold out in slots, each band padded to whole groups
        s.band_start.resize(bands + 1, 0)
        for q in range(boxes_t.shape[1]):
            if scores[q] >= score_threshold:
                s.band_start[band[q] + 1] += 1
        for g in range(bands):
            s.band_start[g + 1] = s.band_start[g] + _whole(s.band_start[g + 1], LANES)
        s.allocate(s.band_start[bands])
        fill.assign(s.band_start.begin(), s.band_start.end())
        for q in range(boxes_t.shape[1]):
            if scores[q] >= score_threshold:
                p = fill[band[q]]
                fill[band[q]] += 1
                s.x1[p] = boxes_t[0, q]
                s.y1[p] = boxes_t[1, q]
                s.x2[p] = boxes_t[2, q]
                s.y2[p] = boxes_t[3, q]
                s.area[p] = (boxes_t[2, q] - boxes_t[0, q]) * (boxes_t[3, q] - boxes_t[1, q])
                s.sc[p] = scores[q]
                s.box_id[p] = ids[q]
        s.index()
        while True:
            if 4 * dead >= live:
                s.compact()
                live -= dead
                dead = 0
            top = _max_or_minus_one(s.block_max.data(), s.block_max.size())
            if top < 0:
                break
            best_id = INT64_MAX
            p = 0
            for b in range(s.block_max.size()):
                if s.block_max[b] == top:
                    for q in range(b * BLOCK, b * BLOCK + BLOCK):
                        if s.sc[q] == top and s.box_id[q] < best_id:
                            best_id = s.box_id[q]
                            p = q
            selected[count] = best_id
            selected_scores[count] = top
            count += 1
            dead += 1
            s.sc[p] = -1
            s.refresh(p, p + 1)
            px1 = s.x1[p]
            py1 = s.y1[p]
            px2 = s.x2[p]
            py2 = s.y2[p]
            parea = s.area[p]
            for g in range(bands):
                first = s.band_start[g] // LANES
                stop = s.band_start[g + 1] // LANES
                if first == stop or s.band_y1_min[g] >= py2 or s.band_y2_max[g] <= py1:
                    continue  # empty, or entirely below / above the selected box
                # groups before lo end left of px1, groups from hi on start right of px2
                lo = LANES * (first + _search(&s.group_x2_max[first], stop - first, px1, True))
                hi = LANES * (first + _search(&s.group_x1[first], stop - first, px2, False))
                if lo >= hi:
                    continue
                dead += _decay(s.sc.data(), s.x1.data(), s.y1.data(), s.x2.data(), s.y2.data(), s.area.data(),
                               lo, hi, px1, py1, px2, py2, parea, method, sigma, exact_inverse, iou_threshold,
                               score_threshold)
                s.refresh(lo, hi)
    return count


cdef inline Py_ssize_t _whole(Py_ssize_t n, Py_ssize_t unit) noexcept nogil:
    """n rounded up to a multiple of unit."""
    return (n + unit - 1) // unit * unit


cdef cppclass Slots:
    """Soft-NMS's live boxes: bands one after the other, each sorted by x1 and padded to whole
    groups of LANES slots by dead dummies (x1 = inf, x2 = -inf, area 0, score -1: IoU 0 with
    any box). Scores and ids are padded to whole BLOCKs."""
    vector[double] x1, y1, x2, y2, area, sc
    vector[int64_t] box_id
    vector[Py_ssize_t] band_start       # band g is slots band_start[g] .. band_start[g + 1] - 1
    vector[double] band_y1_min, band_y2_max
    vector[double] group_x1             # x1 of each group's first slot
    vector[double] group_x2_max         # largest x2 in the band up to each group's end
    vector[double] block_max            # largest score of each BLOCK slots, -1 when none

    void allocate(Py_ssize_t m) noexcept nogil:
        """m dummy slots."""
        this.x1.assign(m, INFINITY)
        this.x2.assign(m, -INFINITY)
        this.y1.assign(m, 0.0)
        this.y2.assign(m, 0.0)
        this.area.assign(m, 0.0)
        this.sc.assign(_whole(m, BLOCK), -1.0)
        this.box_id.assign(_whole(m, BLOCK), INT64_MAX)

    void index() noexcept nogil:
        """Rebuild the band extents, group bounds and block maxima."""
        cdef Py_ssize_t g, q
        cdef Py_ssize_t bands = this.band_start.size() - 1, m = this.band_start[bands]
        cdef double running
        this.band_y1_min.assign(bands, INFINITY)
        this.band_y2_max.assign(bands, -INFINITY)
        this.group_x1.resize(m // LANES)
        this.group_x2_max.resize(m // LANES)
        for g in range(bands):
            running = -INFINITY
            for q in range(this.band_start[g], this.band_start[g + 1]):
                if this.sc[q] >= 0:
                    this.band_y1_min[g] = _min(this.band_y1_min[g], this.y1[q])
                    this.band_y2_max[g] = _max(this.band_y2_max[g], this.y2[q])
                running = _max(running, this.x2[q])
                if q % LANES == 0:
                    this.group_x1[q // LANES] = this.x1[q]
                if q % LANES == LANES - 1:
                    this.group_x2_max[q // LANES] = running
        this.block_max.resize(_whole(m, BLOCK) // BLOCK)
        if m > 0:
            this.refresh(0, m)

    void refresh(Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
        """Recompute the maxima of the blocks that slots lo .. hi - 1 touch."""
        cdef Py_ssize_t b
        for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
            this.block_max[b] = _max_or_minus_one(&this.sc[b * BLOCK], BLOCK)

    void compact() noexcept nogil:
        """Drop the dead slots (score < 0), pad the bands again, re-index."""
        cdef Py_ssize_t g, q, w = 0, first = 0
        cdef Py_ssize_t bands = this.band_start.size() - 1
        for g in range(bands):
            for q in range(first, this.band_start[g + 1]):
                if this.sc[q] >= 0:
                    this.x1[w] = this.x1[q]
                    this.y1[w] = this.y1[q]
                    this.x2[w] = this.x2[q]
                    this.y2[w] = this.y2[q]
                    this.area[w] = this.area[q]
                    this.sc[w] = this.sc[q]
                    this.box_id[w] = this.box_id[q]
                    w += 1
            first = this.band_start[g + 1]
            while w % LANES:
                this.x1[w] = INFINITY
                this.x2[w] = -INFINITY
                this.area[w] = 0
                this.sc[w] = -1
                w += 1
            this.band_start[g + 1] = w
        for q in range(w, _whole(w, BLOCK)):
            this.sc[q] = -1
        this.index()


cdef inline Py_ssize_t _settle(double* sc, Py_ssize_t q, double s, double score_threshold) noexcept nogil:
    """Store slot q's decayed score ``s``, or -1 below the threshold; 1 when that drops a live box."""
    cdef Py_ssize_t dropped = (s < score_threshold) & (sc[q] >= 0)
    sc[q] = s if (s >= score_threshold) & (sc[q] >= 0) else -1
    return dropped


cdef inline Py_ssize_t _decay(
    double* sc, const double* x1, const double* y1, const double* x2, const double* y2, const double* area,
    Py_ssize_t lo, Py_ssize_t hi, double px1, double py1, double px2, double py2, double parea,
    int method, double sigma, bint exact_inverse, double iou_threshold, double score_threshold,
) noexcept nogil:
    """Decay slots lo .. hi - 1 by their IoU with the selected box; -1 marks a dropped box.

    Returns how many boxes were dropped. One fused, branch-free loop per method (and per way of
    dividing by sigma, and whether exp must guard against underflow), so that each vectorises.
    """
    cdef Py_ssize_t q, dropped = 0
    cdef double iou, inverse = 1 / sigma
    if method == GAUSSIAN and exact_inverse and inverse <= 512:  # then iou² / sigma <= 512
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            dropped += _settle(sc, q, sc[q] * _exp_neg_moderate((iou * iou) * inverse), score_threshold)
    elif method == GAUSSIAN and inverse <= 512:
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            dropped += _settle(sc, q, sc[q] * _exp_neg_moderate((iou * iou) / sigma), score_threshold)
    elif method == GAUSSIAN:
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            dropped += _settle(sc, q, sc[q] * _exp_neg((iou * iou) / sigma), score_threshold)
    else:
        for q in range(lo, hi):
            iou = _iou(px1, py1, px2, py2, parea, x1[q], y1[q], x2[q], y2[q], area[q])
            dropped += _settle(sc, q, sc[q] * (1 - iou if iou > iou_threshold else 1.0), score_threshold)
    return dropped


cdef inline double _iou(double ax1, double ay1, double ax2, double ay2, double area_a,
                        double bx1, double by1, double bx2, double by2, double area_b) noexcept nogil:
    """IoU of two boxes, 0 when they do not overlap; the same operations as ref.numpy_soft_nms."""
    cdef double inter = (_max(_min(ax2, bx2) - _max(ax1, bx1), 0.0)
                         * _max(_min(ay2, by2) - _max(ay1, by1), 0.0))
    cdef double union = area_a + area_b - inter
    return inter / (union if union > 0 else 1.0)


cdef inline bint _before(double x, double v, bint strict) noexcept nogil:
    return x <= v if strict else x < v


cdef inline Py_ssize_t _search(const double* a, Py_ssize_t n, double v, bint strict) noexcept nogil:
    """First position whose (non-decreasing) value is > v (>= v unless ``strict``); n when none.
    Branch-free halving (calls pass a constant ``strict``, which the compiler folds)."""
    cdef Py_ssize_t base = 0, half
    if n == 0:
        return 0
    while n > 1:
        half = n // 2
        base = base + half if _before(a[base + half - 1], v, strict) else base
        n -= half
    return base + _before(a[base], v, strict)
