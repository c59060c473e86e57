"""Nearest neighbours by brute force: k-nearest search and a majority-vote classifier.

Distances are Euclidean, computed as ``|q|^2 - 2 q.x + |x|^2`` in float64 (float32 input is
upcast, as scikit-learn does, and the distances are returned as float32). One compiled pass
computes the dot products with a register-blocked GEMM micro-kernel (4 queries x 8 data rows),
cache-blocked over the data, and keeps every query's k best as it goes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _neighbors
from ._validation import as_array, common_float_dtype, float_array, integer

def samples(x, name: str) -> np.ndarray:
    """Validate an ``(n, d)`` array of finite samples (float32 kept, other reals as float64)."""
    arr = float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n_samples, n_features) with n_features >= 1, "
                         f"got {arr.shape}")
    return arr


def _search_args(queries, data, k):
    Q = samples(queries, "queries")
    D = samples(data, "data")
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"queries and data must have the same number of features, "
                         f"got {Q.shape[1]} and {D.shape[1]}")
    k = integer(k, "k", low=1)
    if k > D.shape[0]:
        raise ValueError(f"k must be <= the number of data points ({D.shape[0]}), got {k}")
    return Q, D, k


def _search(Q: np.ndarray, D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated search: squared distances (float64) and indices, both (len(Q), k)."""
    best_sq = np.full((Q.shape[0], k), np.inf)
    best_idx = np.full((Q.shape[0], k), -1, dtype=np.intp)
    if Q.shape[0] == 0:
        return best_sq, best_idx
    queries = np.zeros((-(-Q.shape[0] // 4) * 4, Q.shape[1]))  # padded to whole quads
    queries[: Q.shape[0]] = Q
    q_norms = np.einsum("ij,ij->i", queries, queries)
    n_panels = -(-D.shape[0] // 8)
    panels = np.empty((n_panels, D.shape[1], 8))
    d_norms = np.empty(n_panels * 8)
    _neighbors.pack_panels(D, panels, d_norms)
    for name, norms in (("queries", q_norms), ("data", d_norms[: D.shape[0]])):
        if not np.isfinite(norms).all():
            raise ValueError(f"{name} has points too far from the origin: their squared norm "
                             "overflows float64 (|x| above ~1e154)")
    _neighbors.knn_sq(queries, q_norms, panels, d_norms, best_sq, best_idx)
    return best_sq, best_idx


def knn_search(queries: ArrayLike, data: ArrayLike, k: int) -> tuple[NDArray[np.floating], NDArray[np.int64]]:
    """The k nearest data points of every query (brute force, Euclidean).

    Parameters
    ----------
    queries : array_like, shape (q, d)
        Finite query points.
    data : array_like, shape (n, d)
        Finite data points.
    k : int
        Neighbours per query, ``1 <= k <= n``.

    Returns
    -------
    distances : ndarray, shape (q, k)
        Ascending Euclidean distances; float32 when both inputs are float32, else float64.
    indices : ndarray, shape (q, k)
        Their rows in ``data`` (intp).

    Notes
    -----
    Equal to ``sklearn.neighbors.NearestNeighbors(algorithm="brute").kneighbors``: the same
    ``|q|^2 - 2 q.x + |x|^2`` formula in float64. Ties: among equal distances the smaller data
    index comes first, and when ties straddle the k-th place the smaller indices are kept.
    (scikit-learn keeps the same set but may order equal distances differently.)
    """
    Q, D, k = _search_args(queries, data, k)
    best_sq, best_idx = _search(Q, D, k)
    dtype = common_float_dtype(Q, D)
    return np.sqrt(best_sq).astype(dtype, copy=False), best_idx


def knn_classify(queries: ArrayLike, data: ArrayLike, labels: ArrayLike, k: int) -> NDArray[Any]:
    """Label every query by a majority vote of its k nearest data points.

    Parameters
    ----------
    queries : array_like, shape (q, d)
    data : array_like, shape (n, d)
    labels : array_like, shape (n,)
        Class of every data point (any sortable dtype: integers, strings, ...).
    k : int
        Voters per query, ``1 <= k <= n``.

    Returns
    -------
    predicted : ndarray, shape (q,)
        The most frequent class among the neighbours, in the dtype of ``labels``; a tie between
        classes goes to the one whose member is nearest (the first in :func:`knn_search` order).
    """
    Q, D, k = _search_args(queries, data, k)
    labels = as_array(labels, "labels")
    if labels.ndim != 1 or labels.shape[0] != D.shape[0]:
        raise ValueError(f"labels must have shape ({D.shape[0]},) like the rows of data, got {labels.shape}")
    classes, codes = np.unique(labels, return_inverse=True)
    _, idx = _search(Q, D, k)
    winners = np.empty(Q.shape[0], dtype=np.intp)
    _neighbors.vote(np.ascontiguousarray(codes.astype(np.intp)[idx]), winners)
    return classes[winners]
