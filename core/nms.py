"""Non-maximum suppression: NMS, batched (per-class) NMS and Soft-NMS.

Boxes are ``(N, 4)`` arrays of ``x1, y1, x2, y2`` (see :mod:`shouxie.core.boxes`). A box is
suppressed when its IoU with a kept box is strictly greater than ``iou_threshold`` (torchvision's
rule). Boxes are visited in decreasing score order; equal scores are visited lower index first,
so the result is deterministic (torchvision's sort is not stable, so on exact ties the two can
differ).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _nms
from ._validation import choice, common_float_dtype, float_array, label_array, real_number
from .boxes import as_boxes

_DECAY_CODES = {"gaussian": 0, "linear": 1}   # the kernel's codes; "hard" is plain NMS
SOFT_NMS_METHODS = (*_DECAY_CODES, "hard")


def _boxes_scores(boxes, scores) -> tuple[np.ndarray, np.ndarray]:
    b = as_boxes(boxes, "boxes")
    s = float_array(scores, "scores", ndim=1)
    if s.shape[0] != b.shape[0]:
        raise ValueError(f"scores must have one entry per box: {s.shape[0]} scores for {b.shape[0]} boxes")
    return b, s


def _threshold(x, name: str) -> float:
    return real_number(x, name, low=0.0, high=1.0)


def _score_order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score, lower index first on ties.

    float32 scores: one SIMD sort of unique uint64 keys (order-reversed score bits above the
    index), several times faster than numpy's stable argsort; float64: the stable argsort.
    """
    n = scores.shape[0]
    if scores.dtype != np.float32 or n >= 2 ** 32:
        return np.argsort(-scores, kind="stable")
    bits = (scores + np.float32(0)).view(np.uint32)  # + 0 turns -0.0 into 0.0
    ascending = np.where(bits >> 31, ~bits, bits | np.uint32(1 << 31))  # orders like the floats
    keys = (~ascending).astype(np.uint64) << np.uint64(32) | np.arange(n, dtype=np.uint64)
    return (np.sort(keys) & np.uint64(0xFFFFFFFF)).astype(np.int64)


def _group_by_class(classes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Positions into ``order`` grouping ``classes[order]`` by class, stable inside each class."""
    c = classes[order]
    n = c.shape[0]
    if n == 0 or n >= 2 ** 32 or int(c.max()) - int(c.min()) >= 2 ** 31:
        return np.argsort(c, kind="stable")
    keys = (c - c.min()).astype(np.uint64) << np.uint64(32) | np.arange(n, dtype=np.uint64)
    return (np.sort(keys) & np.uint64(0xFFFFFFFF)).astype(np.int64)


def _segment_nms(boxes, order, starts, iou_threshold) -> np.ndarray:
    """Run the kernel on ``boxes[order]`` split into segments; kept positions into ``order``."""
    boxes_t = np.ascontiguousarray(boxes[order].T)
    keep = np.empty(order.shape[0], dtype=np.int64)
    count = _nms.nms_segments(boxes_t, starts, iou_threshold, keep)
    return keep[:count]


def nms(boxes: ArrayLike, scores: ArrayLike, iou_threshold: float) -> NDArray[np.int64]:
    """Greedy non-maximum suppression, the same kept list as ``torchvision.ops.nms``.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Boxes ``x1, y1, x2, y2`` with ``x2 >= x1``, ``y2 >= y1``; finite.
    scores : array_like, shape (N,)
        One finite score per box.
    iou_threshold : float in [0, 1]
        A box is discarded when its IoU with an already kept box is strictly greater.

    Returns
    -------
    keep : ndarray of int64, shape (K,)
        Indices of the kept boxes in decreasing score order (lower index first on equal
        scores). Empty input gives an empty array. IoU is computed in the boxes' dtype
        (float32 stays float32), exactly as torchvision does; a degenerate box has IoU 0 with
        everything and is never suppressed by, nor suppresses, anything.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, ``x2 < x1``, mismatched lengths, threshold outside [0, 1].
    """
    b, s = _boxes_scores(boxes, scores)
    thr = _threshold(iou_threshold, "iou_threshold")
    order = _score_order(s)
    starts = np.array([0, b.shape[0]], dtype=np.int64)
    return order[_segment_nms(b, order, starts, thr)]


def batched_nms(boxes: ArrayLike, scores: ArrayLike, classes: ArrayLike,
                iou_threshold: float) -> NDArray[np.int64]:
    """NMS within each class, the same result as ``torchvision.ops.batched_nms``.

    Boxes of different classes never suppress each other. All classes run in one compiled
    pass over the boxes grouped by class (no coordinate offsets, so no rounding is added).

    Parameters
    ----------
    boxes, scores : array_like, shapes (N, 4) and (N,)
        As in :func:`nms`.
    classes : array_like of int, shape (N,)
        Class (category) of each box; any integers (floats holding integers are accepted).
    iou_threshold : float in [0, 1]
        Suppress when IoU with a kept box of the same class is strictly greater.

    Returns
    -------
    keep : ndarray of int64, shape (K,)
        Kept indices in decreasing score order, lower index first on equal scores.
    """
    b, s = _boxes_scores(boxes, scores)
    c = label_array(classes, "classes", b.shape[0], kinds="biuf", like=" to match boxes")
    thr = _threshold(iou_threshold, "iou_threshold")
    order = _score_order(s)
    by_class = _group_by_class(c, order)  # classes grouped, each in score order
    grouped = order[by_class]
    cs = c[grouped]
    starts = np.concatenate(([0], np.flatnonzero(cs[1:] != cs[:-1]) + 1, [cs.shape[0]])).astype(np.int64)
    kept = _segment_nms(b, grouped, starts, thr)
    return order[np.sort(by_class[kept])]


def nms_detections(dets: ArrayLike, iou_threshold: float) -> NDArray[np.floating]:
    """Per-class NMS on the ``(N, 6)`` detection layout ``x1, y1, x2, y2, score, class``.

    Parameters
    ----------
    dets : array_like, shape (N, 6)
        One detection per row; the class column must hold integer values.
    iou_threshold : float in [0, 1]
        As in :func:`batched_nms`.

    Returns
    -------
    kept : ndarray, shape (K, 6)
        The kept rows in decreasing score order, same dtype as ``dets`` (float32 stays
        float32, other input float64).
    """
    d = float_array(dets, "dets")
    if d.ndim != 2 or d.shape[1] != 6:
        raise ValueError(f"dets must have shape (N, 6), got {d.shape}")
    return d[batched_nms(d[:, :4], d[:, 4], d[:, 5], iou_threshold)]


def soft_nms(boxes: ArrayLike, scores: ArrayLike, *, method: str = "gaussian", sigma: float = 0.5,
             iou_threshold: float = 0.3,
             score_threshold: float = 0.001) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Soft-NMS (Bodla et al. 2017): decay the scores of overlapping boxes instead of dropping them.

    Repeatedly select the box with the highest remaining score (lower index first on ties) and
    decay every remaining box ``j`` by a weight of its IoU with the selected box:
    ``exp(-iou**2 / sigma)`` (``"gaussian"``), ``1 - iou`` when ``iou > iou_threshold``
    (``"linear"``), or 0 when ``iou > iou_threshold`` (``"hard"``, plain NMS). A box whose score
    is, or falls, below ``score_threshold`` is dropped. Scores are decayed in float64.

    Parameters
    ----------
    boxes, scores : array_like, shapes (N, 4) and (N,)
        As in :func:`nms`.
    method : {"gaussian", "linear", "hard"}
        The decay.
    sigma : float > 0
        Width of the gaussian decay.
    iou_threshold : float in [0, 1]
        Overlap above which "linear" decays and "hard" drops (unused by "gaussian").
    score_threshold : float in [0, 1]
        Boxes scoring below it are dropped.

    Returns
    -------
    indices : ndarray of int64, shape (K,)
        Selected boxes in selection order.
    scores : ndarray, shape (K,)
        Their (decayed) scores when selected, non-increasing; float32 for float32 scores,
        float64 otherwise.
    """
    b, s = _boxes_scores(boxes, scores)
    method = choice(method, "method", SOFT_NMS_METHODS)
    sigma = real_number(sigma, "sigma", low=0.0, low_open=True)
    iou_thr = _threshold(iou_threshold, "iou_threshold")
    score_thr = _threshold(score_threshold, "score_threshold")
    dtype = common_float_dtype(s)
    if method == "hard":  # no decay: greedy NMS (in float64) over the boxes above the threshold
        live = np.flatnonzero(s >= score_thr)
        order = live[_score_order(s[live])]
        starts = np.array([0, order.shape[0]], dtype=np.int64)
        kept = order[_segment_nms(b.astype(np.float64), order, starts, iou_thr)]
        return kept, s[kept].astype(dtype)
    n = b.shape[0]
    # horizontal bands of equally many boxes by y1, each sorted by x1 (see _nms.soft_nms); about
    # sqrt(N) / 9 bands (8 for 5000 boxes) balances the per-band searches against the boxes
    # they skip
    bands = int(min(64, max(1, round(np.sqrt(n) / 9))))
    b_t = np.ascontiguousarray(b.T)  # gathering columns of (4, N) is several times faster than rows
    band = np.empty(n, dtype=np.int64)
    band[np.argsort(b_t[1])] = np.arange(n) * bands // max(n, 1)
    order = np.argsort(b_t[0])
    order = order[np.argsort(band[order].astype(np.int16), kind="stable")]  # int16: a radix sort
    indices = np.empty(n, dtype=np.int64)
    kept_scores = np.empty(n, dtype=np.float64)
    sorted_t = np.take(b_t, order, axis=1).astype(np.float64, copy=False)
    count = _nms.soft_nms(sorted_t, band[order], bands, order, s[order].astype(np.float64),
                          _DECAY_CODES[method], sigma, iou_thr, score_thr, indices, kept_scores)
    return indices[:count], kept_scores[:count].astype(dtype)
