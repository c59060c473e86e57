"""Built-in plugin: the clustering family (k-means, anchor k-means, mean shift), its data and
the scikit-learn references it is compared with."""
from __future__ import annotations

import numpy as np

from shouxie import core

from ._optional import require
from .hookspecs import hookimpl


def blobs(n: int = 1000, n_features: int = 2, centers: int = 4, cluster_std: float = 1.0,
          box: float = 10.0, seed: int = 0) -> dict:
    """Gaussian blobs: X (n, n_features), true labels and centres, and a fixed k-means init.

    Parameters
    ----------
    n : int
        Number of samples.
    n_features : int
        Dimension.
    centers : int
        Number of blobs; their centres are uniform in ``[-box, box]^n_features``.
    cluster_std : float
        Standard deviation of every blob.
    box : float
        Half side of the cube the centres are drawn in.
    seed : int
        Seed of the numpy Generator.

    Returns ``X``, ``labels`` (int64), ``centers`` and ``init`` (the first ``centers`` samples:
    a deterministic starting point for comparing k-means implementations).
    """
    rng = np.random.default_rng(seed)
    true_centers = rng.uniform(-box, box, size=(centers, n_features))
    labels = rng.integers(0, centers, size=n)
    X = true_centers[labels] + rng.normal(scale=cluster_std, size=(n, n_features))
    return {"X": X, "labels": labels, "centers": true_centers, "init": X[:centers].copy()}


def box_sizes(n: int = 10000, image_size: int = 640, seed: int = 0) -> dict:
    """Box widths and heights shaped like a detection dataset: wh (n, 2) float64, in pixels.

    Sizes are log-normal (median ~ image_size / 10, many small boxes, a long tail of large
    ones), aspect ratios log-normal around 1, rounded to whole pixels and clipped to
    ``[1, image_size]`` (so, as in real labels, many boxes share a size).
    """
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.normal(np.log(image_size / 10), 0.9, size=n))
    aspect = np.exp(rng.normal(0.0, 0.5, size=n))
    wh = np.stack([scale * np.sqrt(aspect), scale / np.sqrt(aspect)], axis=1)
    return {"wh": np.clip(np.round(wh), 1, image_size)}


def kmeans(X, k, init="k-means++", max_iter=300, tol=1e-4, seed=None) -> dict:
    """k-means (Lloyd): centres, labels, inertia and iterations."""
    r = core.kmeans(X, k, init=init, max_iter=max_iter, tol=tol, seed=seed)
    return {"centers": r.centers, "labels": r.labels, "inertia": r.inertia, "n_iter": r.n_iter}


def anchor_kmeans(wh, k, update="median", init="k-means++", max_iter=300, seed=None) -> dict:
    """YOLO anchors by k-means with the 1 - IoU distance: anchors, labels, mean best IoU."""
    r = core.anchor_kmeans(wh, k, update=update, init=init, max_iter=max_iter, seed=seed)
    return {"anchors": r.anchors, "labels": r.labels, "mean_iou": r.mean_iou, "n_iter": r.n_iter}


def mean_shift(X, bandwidth, kernel="flat", seeds=None, bin_seeding=False, min_bin_freq=1,
               max_iter=300, cluster_all=True) -> dict:
    """Mean-shift clustering: centres (by decreasing intensity), labels, number of clusters."""
    centers, labels = core.mean_shift(X, bandwidth, kernel=kernel, seeds=seeds, bin_seeding=bin_seeding,
                                      min_bin_freq=min_bin_freq, max_iter=max_iter, cluster_all=cluster_all)
    return {"centers": centers, "labels": labels, "n_clusters": len(centers)}


def _sklearn_cluster():
    return require("sklearn.cluster", needed_by="this reference op", install="pip install scikit-learn")


def sklearn_kmeans(X, k, init="k-means++", max_iter=300, tol=1e-4, seed=None) -> dict:
    """scikit-learn KMeans(algorithm="lloyd", n_init=1), the reference for cluster.kmeans."""
    km = _sklearn_cluster().KMeans(k, init=init, n_init=1, max_iter=max_iter, tol=tol,
                                   algorithm="lloyd", random_state=seed).fit(X)
    return {"centers": km.cluster_centers_, "labels": km.labels_, "inertia": float(km.inertia_),
            "n_iter": int(km.n_iter_)}


def sklearn_mean_shift(X, bandwidth, kernel="flat", seeds=None, bin_seeding=False, min_bin_freq=1,
                       max_iter=300, cluster_all=True) -> dict:
    """scikit-learn MeanShift (flat kernel only), the reference for cluster.mean_shift."""
    if kernel != "flat":
        raise ValueError(f"scikit-learn's MeanShift has only the flat kernel, got kernel={kernel!r}")
    ms = _sklearn_cluster().MeanShift(bandwidth=bandwidth, seeds=seeds, bin_seeding=bin_seeding,
                                      min_bin_freq=min_bin_freq, max_iter=max_iter,
                                      cluster_all=cluster_all).fit(X)
    return {"centers": ms.cluster_centers_, "labels": ms.labels_, "n_clusters": len(ms.cluster_centers_)}


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.blobs", blobs)
    registry.add("data.box_sizes", box_sizes)
    registry.add("cluster.kmeans", kmeans)
    registry.add("cluster.anchor_kmeans", anchor_kmeans)
    registry.add("cluster.mean_shift", mean_shift)
    registry.add("ref.sklearn_kmeans", sklearn_kmeans)
    registry.add("ref.sklearn_mean_shift", sklearn_mean_shift)
