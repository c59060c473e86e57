"""scikit-learn's ranking metrics and KMeans, mapped onto shouxie.core.

Every adapter takes scikit-learn's signature and calls the shouxie function; what shouxie does
not offer (multiclass and multilabel input, ``max_fpr``, sample weights for k-means, sparse
matrices) raises :class:`Unsupported`, so that the peer tests that need it fail for that
reason only (see ``PEER_XFAIL`` in the test modules).
"""
from __future__ import annotations

import numpy as np

from shouxie import core


class Unsupported(NotImplementedError):
    """The reference's feature has no shouxie counterpart (a documented difference)."""


def _binary_scores(y_score, what: str):
    if np.ndim(y_score) != 1:
        raise Unsupported(f"{what}: shouxie ranks 1-D binary scores only (no multiclass or multilabel)")
    return y_score


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None,
                  multi_class="raise", labels=None):
    """``sklearn.metrics.roc_auc_score`` for binary labels: :func:`shouxie.core.auc`."""
    if max_fpr is not None:
        raise Unsupported("roc_auc_score: max_fpr (partial AUC)")
    if np.ndim(y_true) != 1:
        raise Unsupported("roc_auc_score: multilabel y_true")
    return core.auc(y_true, _binary_scores(y_score, "roc_auc_score"), sample_weight=sample_weight)


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """``sklearn.metrics.roc_curve``: :func:`shouxie.core.roc_curve`."""
    return core.roc_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                          drop_intermediate=drop_intermediate)


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    """``sklearn.metrics.precision_recall_curve``: :func:`shouxie.core.precision_recall_curve`."""
    return core.precision_recall_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                                       drop_intermediate=drop_intermediate)


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    """``sklearn.metrics.average_precision_score`` for binary labels: :func:`shouxie.core.average_precision`."""
    if np.ndim(y_true) != 1:
        raise Unsupported("average_precision_score: multilabel y_true")
    return core.average_precision(y_true, _binary_scores(y_score, "average_precision_score"),
                                  pos_label=pos_label, sample_weight=sample_weight)


RANKING = {
    "roc_auc_score": roc_auc_score,
    "roc_curve": roc_curve,
    "precision_recall_curve": precision_recall_curve,
    "average_precision_score": average_precision_score,
}
