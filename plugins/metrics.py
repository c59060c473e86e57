"""Built-in plugin: binary-classifier ranking metrics, their data and their scikit-learn references."""
from __future__ import annotations

import numpy as np

from shouxie import core

from ._optional import require
from .hookspecs import hookimpl


def scores(n: int = 10000, separability: float = 1.0, positive_fraction: float = 0.5,
           decimals: int | None = None, seed: int = 0) -> dict:
    """Binary labels with classifier scores: N(0, 1) for negatives, N(separability, 1) for positives.

    The expected AUC is ``Phi(separability / sqrt(2))`` (0.5 at 0, 0.76 at 1, 0.92 at 2).

    Parameters
    ----------
    n : int
        Number of samples.
    separability : float
        Distance between the two classes' score means, in noise standard deviations.
    positive_fraction : float
        Probability that a sample is positive.
    decimals : int, optional
        Round the scores to this many decimals, which creates tied scores.
    seed : int
        Seed of the numpy Generator.

    Returns
    -------
    dict
        ``labels`` (n,) int64 in {0, 1} and ``scores`` (n,) float64.
    """
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_fraction).astype(np.int64)
    s = rng.standard_normal(n) + separability * labels
    if decimals is not None:
        s = np.round(s, decimals)
    return {"labels": labels, "scores": s}


def auc(labels, scores, sample_weight=None, max_fpr=None) -> float:
    """Area under the ROC curve (ties count 1/2); with max_fpr the standardised partial AUC."""
    return core.auc(labels, scores, sample_weight=sample_weight, max_fpr=max_fpr)


def roc_curve(labels, scores, pos_label=None, sample_weight=None, drop_intermediate=True) -> dict:
    """ROC curve: false and true positive rates at each distinct threshold."""
    fpr, tpr, thresholds = core.roc_curve(labels, scores, pos_label=pos_label, sample_weight=sample_weight,
                                          drop_intermediate=drop_intermediate)
    return {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}


def precision_recall_curve(labels, scores, pos_label=None, sample_weight=None, drop_intermediate=False) -> dict:
    """Precision-recall curve at each distinct threshold."""
    precision, recall, thresholds = core.precision_recall_curve(
        labels, scores, pos_label=pos_label, sample_weight=sample_weight, drop_intermediate=drop_intermediate)
    return {"precision": precision, "recall": recall, "thresholds": thresholds}


def average_precision(labels, scores, pos_label=1, sample_weight=None) -> float:
    """Average precision (step integral of the precision-recall curve)."""
    return core.average_precision(labels, scores, pos_label=pos_label, sample_weight=sample_weight)


def _sklearn_metrics():
    return require("sklearn.metrics", needed_by="the ref.sklearn_* ops", install="pip install scikit-learn")


def sklearn_roc_auc(labels, scores, sample_weight=None, max_fpr=None) -> float:
    """scikit-learn's roc_auc_score (reference for metrics.auc)."""
    return float(_sklearn_metrics().roc_auc_score(labels, scores, sample_weight=sample_weight, max_fpr=max_fpr))


def sklearn_roc_curve(labels, scores, pos_label=None, sample_weight=None, drop_intermediate=True) -> dict:
    """scikit-learn's roc_curve (reference for metrics.roc_curve)."""
    fpr, tpr, thresholds = _sklearn_metrics().roc_curve(
        labels, scores, pos_label=pos_label, sample_weight=sample_weight, drop_intermediate=drop_intermediate)
    return {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}


def sklearn_precision_recall_curve(labels, scores, pos_label=None, sample_weight=None,
                                   drop_intermediate=False) -> dict:
    """scikit-learn's precision_recall_curve (reference for metrics.precision_recall_curve)."""
    precision, recall, thresholds = _sklearn_metrics().precision_recall_curve(
        labels, scores, pos_label=pos_label, sample_weight=sample_weight, drop_intermediate=drop_intermediate)
    return {"precision": precision, "recall": recall, "thresholds": thresholds}


def sklearn_average_precision(labels, scores, pos_label=1, sample_weight=None) -> float:
    """scikit-learn's average_precision_score (reference for metrics.average_precision)."""
    return float(_sklearn_metrics().average_precision_score(labels, scores, pos_label=pos_label,
                                                            sample_weight=sample_weight))


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.scores", scores)
    registry.add("metrics.auc", auc)
    registry.add("metrics.roc_curve", roc_curve)
    registry.add("metrics.precision_recall_curve", precision_recall_curve)
    registry.add("metrics.average_precision", average_precision)
    registry.add("ref.sklearn_roc_auc", sklearn_roc_auc)
    registry.add("ref.sklearn_roc_curve", sklearn_roc_curve)
    registry.add("ref.sklearn_precision_recall_curve", sklearn_precision_recall_curve)
    registry.add("ref.sklearn_average_precision", sklearn_average_precision)
