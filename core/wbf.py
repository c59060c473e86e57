"""Weighted Boxes Fusion (Solovyev et al. 2019): ensemble the detections of several models.

Each label is clustered on its own: boxes visited by decreasing weighted score join the cluster
whose fused box overlaps them most when that IoU exceeds ``iou_thr``, else start a cluster; a
fused box is the score-weighted mean of its members. Equal to ``ensemble_boxes.weighted_boxes_fusion``
to the bit (its float32 accumulation included); the clustering is compiled, in parallel over labels.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _wbf
from ._validation import as_array, choice, float_array, label_array, real_number
from .boxes import as_boxes

CONF_TYPES = ("avg", "max", "box_and_model_avg", "absent_model_aware_avg")


def _models(boxes_list, scores_list, labels_list, weights) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray]:
    """Rows of every model: boxes clamped to [0, 1], score, label, model index; and the weights."""
    if not all(isinstance(x, (list, tuple)) for x in (boxes_list, scores_list, labels_list)):
        raise ValueError("boxes_list, scores_list and labels_list must be lists (one entry per model)")
    m = len(boxes_list)
    if len(scores_list) != m or len(labels_list) != m:
        raise ValueError(f"boxes_list, scores_list and labels_list must have one entry per model: "
                         f"{m}, {len(scores_list)}, {len(labels_list)}")
    w = np.ones(m) if weights is None else float_array(weights, "weights", ndim=1).astype(np.float64)
    if w.shape[0] != m:
        raise ValueError(f"weights must have one entry per model: {w.shape[0]} for {m} models")
    if (w <= 0).any():
        raise ValueError("weights must be positive")
    rows: list[tuple[np.ndarray, ...]] = []
    for t in range(m):
        name = f"boxes_list[{t}]"
        b = as_boxes(boxes_list[t], name) if as_array(boxes_list[t], name).size else np.zeros((0, 4))
        n = b.shape[0]
        s = float_array(scores_list[t], f"scores_list[{t}]", ndim=1) if n else np.zeros(0)
        if s.shape[0] != n:
            raise ValueError(f"scores_list[{t}] must have one score per box: {s.shape[0]} for {n} boxes")
        labels = label_array(labels_list[t], f"labels_list[{t}]", n, bound=np.iinfo(np.int64).max) if n else \
            np.zeros(0, np.int64)
        rows.append((b.astype(np.float64), s, labels, np.full(n, t)))
    return rows, w


def weighted_boxes_fusion(boxes_list: Sequence[ArrayLike], scores_list: Sequence[ArrayLike],
                          labels_list: Sequence[ArrayLike], *, weights: ArrayLike | None = None,
                          iou_thr: float = 0.55, skip_box_thr: float = 0.0, conf_type: str = "avg",
                          allows_overflow: bool = False
                          ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Fuse the boxes of several models, equal to ``ensemble_boxes.weighted_boxes_fusion``.

    Parameters
    ----------
    boxes_list : list of array_like, each shape (N_t, 4)
        Per model, boxes ``x1, y1, x2, y2`` normalised to [0, 1] (values outside are clamped, as
        ensemble-boxes does); boxes of zero area after clamping are dropped.
    scores_list : list of array_like, each shape (N_t,)
        Per model, one finite score per box.
    labels_list : list of array_like of int, each shape (N_t,)
        Per model, a non-negative integer label per box; only boxes of one label are fused.
    weights : array_like, shape (M,), optional
        Positive weight of each model (default 1); a box's weighted score is score * weight.
    iou_thr : float in [0, 1]
        A box joins the cluster it overlaps most when that IoU is strictly greater.
    skip_box_thr : float
        Boxes scoring below it are dropped first.
    conf_type : {"avg", "max", "box_and_model_avg", "absent_model_aware_avg"}
        How a fused box's confidence is formed (ensemble-boxes' four rules).
    allows_overflow : bool
        With ``"avg"``, let a cluster of more boxes than models score above 1.

    Returns
    -------
    boxes : ndarray of float64, shape (K, 4)
        Fused boxes by decreasing confidence (ties: the later cluster first).
    scores : ndarray of float64, shape (K,)
    labels : ndarray of int64, shape (K,)

    Raises
    ------
    ValueError
        Mismatched lengths, NaN/inf, ``x2 < x1`` (ensemble-boxes swaps them with a warning),
        non-positive weights, an unknown ``conf_type``.
    """
    rows, w = _models(boxes_list, scores_list, labels_list, weights)
    iou_thr = real_number(iou_thr, "iou_thr", low=0.0, high=1.0)
    skip_box_thr = real_number(skip_box_thr, "skip_box_thr")
    choice(conf_type, "conf_type", CONF_TYPES)
    kept = []
    for b, s, labels, model in rows:
        b = np.clip(b, 0.0, 1.0)
        keep = ~(s < s.dtype.type(skip_box_thr)) & ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) != 0.0)
        kept.append((b[keep], s[keep].astype(np.float64) * w[model[keep]], labels[keep], model[keep]))
    boxes, scores, labels, model = (np.concatenate([k[i] for k in kept]) if kept else np.zeros((0, 4) if i == 0 else 0)
                                    for i in range(4))
    if boxes.shape[0] == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    # labels in order of first appearance; inside one, decreasing score, ties later box first
    uniq, first, label_of = np.unique(labels, return_index=True, return_inverse=True)
    label_rank = np.argsort(np.argsort(first))[label_of]
    order = np.lexsort((-np.arange(labels.shape[0]), -scores, label_rank))
    boxes, scores, model, label_rank = boxes[order], scores[order], model[order], label_rank[order]
    starts = np.searchsorted(label_rank, np.arange(uniq.shape[0] + 1)).astype(np.intp)
    n = boxes.shape[0]
    fused, fused_score, fused_weight = np.empty((n, 4)), np.empty(n), np.empty(n)
    count, assignment, clusters = np.empty(n, np.intp), np.empty(n, np.intp), np.empty(uniq.shape[0], np.intp)
    _wbf.cluster(np.ascontiguousarray(boxes), scores, np.ascontiguousarray(w[model]), starts, iou_thr,
                 conf_type == "max", np.empty((n, 4), np.float32), np.empty(n), np.empty(n), np.empty(n),
                 fused, fused_score, fused_weight, count, assignment, clusters)
    slots = np.concatenate([np.arange(a, a + c) for a, c in zip(starts[:-1], clusters)])
    present = np.zeros((n, w.shape[0]), dtype=bool)  # the models in each cluster
    present[assignment, model] = True
    score = _rescale(fused_score[slots], fused_weight[slots], count[slots], present[slots], w, conf_type,
                     allows_overflow)
    final = np.argsort(score, kind="stable")[::-1]
    slots = slots[final]
    by_rank = uniq[np.argsort(first)]  # label of each segment
    return fused[slots], score[final], by_rank[np.searchsorted(starts, slots, side="right") - 1]


def _rescale(score, weight, count, present, w, conf_type, allows_overflow) -> np.ndarray:
    """ensemble-boxes' final confidence of each cluster, its operations in its order."""
    if conf_type == "max":
        return score / w.max()
    if conf_type == "avg":
        return score * (count if allows_overflow else np.minimum(w.shape[0], count)) / w.sum()
    if conf_type == "box_and_model_avg":
        return score * count / weight * _ordered_sum(np.where(present, w, 0.0)) / w.sum()
    return score * count / (weight + _ordered_sum(np.where(present, 0.0, w)))


def _ordered_sum(values: np.ndarray) -> np.ndarray:
    """Row sums added left to right (numpy's own order for rows of fewer than 8 models)."""
    total = np.zeros(values.shape[0])
    for column in values.T:
        total = total + column
    return total
