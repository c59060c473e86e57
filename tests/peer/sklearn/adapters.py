"""scikit-learn's ranking metrics and KMeans, mapped onto shouxie.core.

Every adapter takes scikit-learn's signature and calls the shouxie function; what shouxie does
not offer (multiclass and multilabel input, sample weights for k-means, sparse matrices) raises :class:`Unsupported`, so that the peer tests that need it fail for that
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
    if np.ndim(y_true) != 1:
        raise Unsupported("roc_auc_score: multilabel y_true")
    return core.auc(y_true, _binary_scores(y_score, "roc_auc_score"), sample_weight=sample_weight, max_fpr=max_fpr)


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


class KMeans:
    """``sklearn.cluster.KMeans(algorithm="lloyd")`` on :func:`shouxie.core.kmeans`.

    ``fit`` runs ``n_init`` initialisations (``"auto"``: 1 for k-means++ and given centres, 10
    for random, as scikit-learn) with seeds drawn from ``random_state`` and keeps the lowest
    inertia; ``predict`` and ``score`` use :func:`shouxie.core.knn_search` on the centres. No
    sample weights, sparse input, callable init, ``transform`` or the Elkan algorithm.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, verbose=0,
                 random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters, self.init, self.n_init, self.max_iter, self.tol = n_clusters, init, n_init, max_iter, tol
        self.verbose, self.random_state, self.copy_x, self.algorithm = verbose, random_state, copy_x, algorithm

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _seeds(self, count: int):
        state = self.random_state
        if isinstance(state, np.random.RandomState):
            return [int(s) for s in state.randint(np.iinfo(np.int32).max, size=count)]
        return np.random.SeedSequence(state).generate_state(count).tolist()

    def fit(self, X, y=None, sample_weight=None):
        import scipy.sparse
        if sample_weight is not None:
            raise Unsupported("KMeans: sample_weight")
        if scipy.sparse.issparse(X):
            raise Unsupported("KMeans: sparse X")
        if self.algorithm != "lloyd":
            raise Unsupported(f"KMeans: algorithm={self.algorithm!r}")
        if callable(self.init):
            raise Unsupported("KMeans: a callable init")
        init = self.init if isinstance(self.init, str) else np.asarray(self.init)
        random_init = isinstance(init, str) and init == "random"
        self._n_init = self.n_init if self.n_init != "auto" else (10 if random_init else 1)
        runs = [core.kmeans(X, self.n_clusters, init=init, max_iter=self.max_iter, tol=self.tol, seed=seed)
                for seed in self._seeds(self._n_init)]
        best = min(runs, key=lambda run: run.inertia)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.n_features_in_ = self.cluster_centers_.shape[1]
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        return core.knn_search(X, self.cluster_centers_, 1)[1][:, 0].astype(np.int32)

    def score(self, X, y=None, sample_weight=None):
        return -float((core.knn_search(X, self.cluster_centers_, 1)[0][:, 0] ** 2).sum())


def k_means(X, n_clusters, *, sample_weight=None, init="k-means++", n_init="auto", max_iter=300, verbose=False,
            tol=1e-4, random_state=None, copy_x=True, algorithm="lloyd", return_n_iter=False):
    """``sklearn.cluster.k_means``: :class:`KMeans` as a function."""
    est = KMeans(n_clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol, random_state=random_state,
                 algorithm=algorithm).fit(X, sample_weight=sample_weight)
    result = est.cluster_centers_, est.labels_, est.inertia_
    return (*result, est.n_iter_) if return_n_iter else result


CLUSTERING = {"KMeans": KMeans, "k_means": k_means}
