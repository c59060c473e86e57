"""Ranking metrics of a binary classifier: ROC AUC, the ROC and precision-recall curves,
average precision.

All of them rank the scores once: the positive and the negative scores are sorted separately
(numpy's sort; with weights, a compiled radix sort that carries the weights along), then a
compiled kernel merges the two lists from the highest score down, visiting each distinct
score once. Tied scores form one threshold, so a positive tied with a negative
counts 1/2 towards AUC. Results equal scikit-learn's ``roc_auc_score``, ``roc_curve``,
``precision_recall_curve`` and ``average_precision_score`` (binary case).

Labels may be bool, integer, integral float or strings (also in an object array); scores must
be finite. Sample weights
must be finite and non-negative; samples of weight 0 are dropped before ranking (as in
scikit-learn), so they never create a threshold.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _metrics
from ._validation import float_array, label_array, real_number

_UNIT = np.empty(0)  # "no weights" / "no curve output" for the kernel
_DEFAULT_POS_LABELS = ([0, 1], [-1, 1], [0], [-1], [1])


class UndefinedMetricWarning(UserWarning):
    """A curve is undefined because one class has no (weighted) samples; it is filled with NaN."""


def _scores(scores) -> np.ndarray:
    return float_array(scores, "scores", ndim=1)


def _weights(sample_weight, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = float_array(sample_weight, "sample_weight", ndim=1).astype(np.float64, copy=False)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight and scores must have the same length, got {w.shape[0]} and {n}")
    if (w < 0).any():
        raise ValueError("sample_weight must be non-negative")
    return w


def _inputs(labels, scores, sample_weight) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    s = _scores(scores)
    y = label_array(labels, "labels", s.shape[0], kinds="biufUS", like=" like scores")
    return y, s, _weights(sample_weight, s.shape[0])


def _split(is_pos: np.ndarray, scores: np.ndarray, weights: np.ndarray | None):
    """Positive and negative scores, each sorted ascending, with their weights in that order.

    Zero-weight samples are dropped. Returns ``pos, neg, w_pos, w_neg``; without weights
    ``w_pos`` and ``w_neg`` are empty (unit weights for the kernel).
    """
    n_pos = int(np.count_nonzero(is_pos if weights is None else is_pos & (weights != 0)))
    n_neg = (is_pos.size if weights is None else int(np.count_nonzero(weights))) - n_pos
    pos, neg = np.empty(n_pos + 1, scores.dtype), np.empty(n_neg + 1, scores.dtype)
    if weights is None:
        _metrics.split_by_class(scores, is_pos.view(np.uint8), _UNIT, pos, neg, _UNIT, _UNIT)
        pos, neg = pos[:-1], neg[:-1]
        pos.sort()
        neg.sort()
        return pos, neg, _UNIT, _UNIT
    w_pos, w_neg = np.empty(n_pos + 1), np.empty(n_neg + 1)
    _metrics.split_by_class(scores, is_pos.view(np.uint8), weights, pos, neg, w_pos, w_neg)
    pos, neg, w_pos, w_neg = pos[:-1], neg[:-1], w_pos[:-1], w_neg[:-1]
    _metrics.sort_weighted(pos, w_pos)
    _metrics.sort_weighted(neg, w_neg)
    return pos, neg, w_pos, w_neg


def _classes(labels: np.ndarray) -> np.ndarray:
    """The sorted distinct labels; numeric labels with at most two classes skip the sort."""
    if labels.dtype.kind not in "US" and labels.size:
        lo, hi = labels.min(), labels.max()
        if lo == hi:
            return np.array([lo])
        if ((labels == lo) | (labels == hi)).all():
            return np.array([lo, hi])
    return np.unique(labels)


def _greater_class(labels: np.ndarray) -> np.ndarray:
    """``labels == the greater class``; a ``ValueError`` unless there are exactly two classes."""
    classes = _classes(labels)
    if classes.size != 2:
        shown = f" {classes[:5].tolist()}" if classes.size else ""
        why = "; ROC AUC is not defined with one class" if classes.size == 1 else ""
        raise ValueError(f"labels must contain exactly two classes, got {classes.size}{shown}{why}")
    return labels == classes[1]


def _positives(labels: np.ndarray, pos_label) -> np.ndarray:
    """``labels == pos_label``; without ``pos_label`` the labels must be {0, 1} or {-1, 1}."""
    if pos_label is None:
        classes = _classes(labels)
        if classes.dtype.kind in "US" or not any(np.array_equal(classes, c) for c in _DEFAULT_POS_LABELS):
            raise ValueError(
                f"labels take values in {classes[:5].tolist()} and pos_label is not given: "
                "use labels in {0, 1} or {-1, 1}, or pass pos_label"
            )
        pos_label = 1
    return labels == pos_label


def auc(labels: ArrayLike, scores: ArrayLike, *, sample_weight: ArrayLike | None = None,
        max_fpr: float | None = None) -> float:
    """Area under the ROC curve of a binary classifier.

    The probability that a random positive scores higher than a random negative, ties counting
    1/2 (weighted by ``sample_weight``). O(n log n); equal to
    ``sklearn.metrics.roc_auc_score`` for binary labels, ``max_fpr`` included.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Exactly two classes; the greater one (1, True, the later string) is positive.
    scores : array_like, shape (n,)
        Finite scores, higher meaning more positive.
    sample_weight : array_like, shape (n,), optional
        Finite non-negative weights.
    max_fpr : float in (0, 1], optional
        Partial AUC: the area under the ROC curve up to this false positive rate (the curve
        closed by linear interpolation at ``max_fpr``), standardised by McClish's correction
        ``(1 + (A - min) / (max - min)) / 2`` with ``min = max_fpr**2 / 2`` (chance) and
        ``max = max_fpr`` (a perfect ranking), so that chance gives 0.5 and perfection 1.
        ``max_fpr=1`` is the full AUC.

    Returns
    -------
    auc : float
        In [0, 1].

    Raises
    ------
    ValueError
        Labels with one class only (AUC is undefined; scikit-learn >= 1.8 warns and returns
        NaN instead), more than two classes, non-finite scores or weights, negative weights,
        mismatched lengths, a class whose weights are all 0, or ``max_fpr`` outside (0, 1].
    """
    y, s, w = _inputs(labels, scores, sample_weight)
    if max_fpr is not None:
        max_fpr = real_number(max_fpr, "max_fpr", low=0.0, high=1.0, low_open=True)
    is_pos = _greater_class(y)
    pos, neg, w_pos, w_neg = _split(is_pos, s, w)
    total = (pos.size * neg.size) if w is None else (w_pos.sum() * w_neg.sum())
    if total == 0:
        raise ValueError("sample_weight is 0 for every sample of one class; ROC AUC is not defined")
    if max_fpr is not None and max_fpr < 1:
        return _partial_auc(*_clf_curve(is_pos, s, w)[:2], max_fpr)
    area, _ = _metrics.rank_walk(pos, neg, w_pos, w_neg, _UNIT, _UNIT, pos[:0])
    return float(area / total)


def _partial_auc(tps: np.ndarray, fps: np.ndarray, max_fpr: float) -> float:
    """McClish's standardised area under the ROC curve (cumulative counts) up to ``max_fpr``."""
    fpr, tpr = np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1]
    stop = int(np.searchsorted(fpr, max_fpr, side="right"))   # fpr[stop - 1] <= max_fpr < fpr[stop]
    x = np.r_[fpr[:stop], max_fpr]
    y = np.r_[tpr[:stop], np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1])]
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2)
    chance, perfect = max_fpr ** 2 / 2, max_fpr
    return 0.5 * (1 + (area - chance) / (perfect - chance))


def _clf_curve(is_pos, s, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (weighted) true and false positives at each distinct score, descending."""
    pos, neg, w_pos, w_neg = _split(is_pos, s, w)
    n = pos.size + neg.size
    if n == 0:
        raise ValueError("no samples of non-zero weight: the curve is not defined")
    tps, fps, thresholds = np.empty(n), np.empty(n), np.empty(n, s.dtype)
    _, m = _metrics.rank_walk(pos, neg, w_pos, w_neg, tps, fps, thresholds)
    return tps[:m], fps[:m], thresholds[:m]


def _rate(counts: np.ndarray, what: str) -> np.ndarray:
    if counts[-1] <= 0:
        warnings.warn(f"No {what} samples in labels: the rate is undefined (NaN)", UndefinedMetricWarning,
                      stacklevel=3)
        return np.full(counts.shape, np.nan)
    return counts / counts[-1]


def roc_curve(labels: ArrayLike, scores: ArrayLike, *, pos_label: object = None,
              sample_weight: ArrayLike | None = None,
              drop_intermediate: bool = True) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Receiver operating characteristic: false and true positive rates at every threshold.

    Equal to ``sklearn.metrics.roc_curve``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Class labels; positives are ``labels == pos_label``.
    scores : array_like, shape (n,)
        Finite scores, higher meaning more positive.
    pos_label : scalar or str, optional
        The positive class; required unless the labels are in {0, 1} or {-1, 1}.
    sample_weight : array_like, shape (n,), optional
        Finite non-negative weights; zero-weight samples are ignored.
    drop_intermediate : bool
        Drop thresholds whose point is collinear with its neighbours (corners are kept), as
        scikit-learn does; the area under the curve does not change.

    Returns
    -------
    fpr, tpr : ndarray, shape (m + 1,), float64
        Rates at each threshold, starting at (0, 0). When a class is absent its rate is all NaN
        and an :class:`UndefinedMetricWarning` is issued.
    thresholds : ndarray, shape (m + 1,)
        Decreasing; ``thresholds[0]`` is ``inf``; the scores' dtype (float32 stays float32).
    """
    y, s, w = _inputs(labels, scores, sample_weight)
    tps, fps, thresholds = _clf_curve(_positives(y, pos_label), s, w)
    if drop_intermediate and fps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    thresholds = np.r_[np.array([np.inf], thresholds.dtype), thresholds]
    return _rate(fps, "negative"), _rate(tps, "positive"), thresholds


def precision_recall_curve(labels: ArrayLike, scores: ArrayLike, *, pos_label: object = None,
                           sample_weight: ArrayLike | None = None, drop_intermediate: bool = False
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Precision and recall at every threshold.

    Equal to ``sklearn.metrics.precision_recall_curve``.

    Parameters
    ----------
    labels, scores, pos_label, sample_weight
        As in :func:`roc_curve`.
    drop_intermediate : bool
        Keep only the first and last threshold of each run of equal recall.

    Returns
    -------
    precision, recall : ndarray, shape (m + 1,), float64
        Recall decreasing; the last point is precision 1, recall 0. Precision is 0 where
        nothing is predicted positive. Without positive labels recall is 1 everywhere (with
        an :class:`UndefinedMetricWarning`).
    thresholds : ndarray, shape (m,)
        Increasing; the scores' dtype.
    """
    y, s, w = _inputs(labels, scores, sample_weight)
    return _precision_recall(*_clf_curve(_positives(y, pos_label), s, w), drop_intermediate)


def _precision_recall(tps, fps, thresholds, drop_intermediate):
    if drop_intermediate and fps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn("No positive samples in labels: recall is set to 1 for all thresholds",
                      UndefinedMetricWarning, stacklevel=3)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(labels: ArrayLike, scores: ArrayLike, *, pos_label: object = 1,
                      sample_weight: ArrayLike | None = None) -> float:
    """Average precision: the precision-recall curve's step integral ``sum (R_k - R_k-1) P_k``.

    Equal to ``sklearn.metrics.average_precision_score`` for binary labels (no interpolation).

    Parameters
    ----------
    labels : array_like, shape (n,)
        At most two classes; positives are ``labels == pos_label``.
    scores : array_like, shape (n,)
        Finite scores.
    pos_label : scalar or str
        The positive class (default 1); must be one of the labels when there are two.
    sample_weight : array_like, shape (n,), optional
        Finite non-negative weights.

    Returns
    -------
    ap : float
        In [0, 1]; 0 (with an :class:`UndefinedMetricWarning`) without positive labels.
    """
    y, s, w = _inputs(labels, scores, sample_weight)
    present = _classes(y)
    if present.size > 2:
        raise ValueError(f"labels must have at most two classes, got {present.size}")
    if present.size == 2 and pos_label not in present.tolist():
        raise ValueError(f"pos_label={pos_label!r} is not a valid label; it should be one of {present.tolist()}")
    precision, recall, _ = _precision_recall(*_clf_curve(_positives(y, pos_label), s, w), False)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
