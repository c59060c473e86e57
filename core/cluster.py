"""Clustering: k-means (Lloyd), YOLO anchor k-means and mean shift.

Samples are ``(n, d)`` arrays. float32 input stays float32, any other real input is computed in
float64. Every function validates its input completely before the compiled kernels
(:mod:`shouxie.core._cluster`) run: NaN or infinity, ``k < 1``, ``k > n``, ``bandwidth <= 0`` and
shape mismatches are ``ValueError`` / ``TypeError`` naming the argument.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _cluster
from ._validation import Seed, choice, float_array, generator, integer, real_number
from .neighbors import samples

KMEANS_INITS = ("k-means++", "random")


class KMeansResult(NamedTuple):
    """Result of :func:`kmeans`."""

    centers: np.ndarray  #: (k, d) final centres
    labels: np.ndarray   #: (n,) int32 index of each sample's centre
    inertia: float       #: sum of squared distances of the samples to their centres
    n_iter: int          #: Lloyd iterations run


class AnchorResult(NamedTuple):
    """Result of :func:`anchor_kmeans`."""

    anchors: np.ndarray  #: (k, 2) anchor widths and heights, ascending area
    labels: np.ndarray   #: (n,) int32 index of each box's best anchor
    mean_iou: float      #: mean over boxes of the IoU with their best anchor
    n_iter: int          #: update steps run


def n_clusters(k, n: int, name: str) -> int:
    """Validate a cluster count: ``1 <= k <= n`` (``n`` samples in argument ``name``)."""
    k = integer(k, "k", low=1)
    if k > n:
        raise ValueError(f"k must be <= the number of samples in {name} ({n}), got {k}")
    return k


def _sq_distances(a: np.ndarray, b: np.ndarray, b_sq_norms: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), len(b))`` through one GEMM, clipped at 0."""
    out = np.einsum("ij,ij->i", a, a)[:, None] - 2 * (a @ b.T) + b_sq_norms[None, :]
    return np.maximum(out, 0, out=out)


def _pick_weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probability proportional to ``weights`` (uniform if all 0)."""
    cumulative = np.cumsum(weights, dtype=np.float64)
    if cumulative[-1] <= 0:
        return rng.integers(len(weights), size=size)
    picks = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return np.minimum(picks, len(weights) - 1)


def _kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ (scikit-learn's variant: ``2 + ln k`` candidates per centre)."""
    n_trials = 2 + int(np.log(k))
    sq_norms = np.einsum("ij,ij->i", X, X)
    first = int(rng.integers(len(X)))
    chosen = [first]
    closest = _sq_distances(X[first:first + 1], X, sq_norms)[0]
    for _ in range(1, k):
        candidates = _pick_weighted(rng, closest, n_trials)
        dist = np.minimum(closest, _sq_distances(X[candidates], X, sq_norms))
        best = int(np.argmin(dist.sum(axis=1)))
        closest = dist[best]
        chosen.append(int(candidates[best]))
    return X[chosen].copy()


def _initial_centers(Xc: np.ndarray, mean: np.ndarray, k: int, init, rng: np.random.Generator) -> np.ndarray:
    """Initial centres in the frame of the centred samples ``Xc = X - mean``."""
    if isinstance(init, str):
        if choice(init, "init", KMEANS_INITS) == "k-means++":
            return _kmeans_plusplus(Xc, k, rng)
        return Xc[rng.choice(len(Xc), size=k, replace=False)].copy()
    centers = float_array(init, "init").astype(Xc.dtype)
    if centers.shape != (k, Xc.shape[1]):
        raise ValueError(f"init must have shape (k, n_features) = {(k, Xc.shape[1])}, got {centers.shape}")
    return centers - mean


def _relocate_empty(X, centers_old, sums, counts, labels) -> bool:
    """Move each empty cluster onto one of the samples farthest from their centres (in place).

    The rule of scikit-learn's ``_relocate_empty_clusters_dense``: the farthest samples leave
    their cluster (its sum and count drop) and found the empty ones. When every sample sits on
    its centre there is nothing to move and the empty clusters stay empty. Returns whether a
    sample moved.
    """
    empty = np.flatnonzero(counts == 0)
    if not len(empty):
        return False
    distances = ((X - centers_old[labels]) ** 2).sum(axis=1)
    if distances.max() == 0:
        return False
    far = np.argpartition(distances, -len(empty))[: -len(empty) - 1: -1]
    for new, idx in zip(empty, far):
        old = labels[idx]
        sums[old] -= X[idx]
        sums[new] = X[idx]
        counts[new] = 1
        counts[old] -= 1
    return True


def kmeans(X: ArrayLike, k: int, *, init: str | ArrayLike = "k-means++", max_iter: int = 300, tol: float = 1e-4,
           seed: Seed = None) -> KMeansResult:
    """k-means clustering by Lloyd's algorithm.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite samples.
    k : int
        Number of clusters, ``1 <= k <= n``.
    init : {"k-means++", "random"} or array_like, shape (k, d)
        Initial centres: greedy k-means++ (``2 + ln k`` candidates per centre), ``k`` distinct
        samples drawn without replacement, or the given centres.
    max_iter : int
        Maximum number of Lloyd iterations (>= 1).
    tol : float
        Convergence when the summed squared centre shift is ``<= tol * mean(var(X, axis=0))``
        (scikit-learn's relative tolerance); ``tol=0`` stops only when the labels stop changing.
    seed : int or None
        Seed of the numpy Generator used by the initialisation.

    Returns
    -------
    KMeansResult
        ``centers`` (k, d) in the dtype of X, ``labels`` (n,) int32, ``inertia``, ``n_iter``.

    Notes
    -----
    The iteration is scikit-learn's ``algorithm="lloyd"``: samples are centred on their mean,
    distances use ``|c|^2 - 2 x.c`` in chunks of 256 samples, empty clusters take the samples
    farthest from their centres (never NaN; if every sample is on its centre, an empty cluster
    sits on the largest one), and unless labels converged strictly a final assignment step makes
    ``labels`` consistent with ``centers``. An iteration that relocated a centre never counts as
    strict convergence (scikit-learn's does, and can then return labels that ignore the relocated
    centre). From the same initial centres with ``tol=0`` the labels equal
    ``sklearn.cluster.KMeans(algorithm="lloyd", n_init=1)`` whenever no cluster empties.
    """
    X = samples(X, "X")
    n, d = X.shape
    k = n_clusters(k, n, "X")
    max_iter = integer(max_iter, "max_iter", low=1)
    tol = real_number(tol, "tol", low=0)
    rng = generator(seed)
    dtype = X.dtype
    mean = X.mean(axis=0)
    Xc = X - mean
    centers = _initial_centers(Xc, mean, k, init, rng)
    tol = float(np.mean(np.var(X, axis=0)) * tol) if tol else 0.0

    n_threads = _cluster.max_threads()
    labels = np.full(n, -1, dtype=np.int32)
    labels_old = labels.copy()
    sums = np.empty((n_threads, k, d), dtype=dtype)
    counts = np.empty((n_threads, k), dtype=dtype)
    strict = False
    for n_iter in range(1, max_iter + 1):
        sums.fill(0)
        counts.fill(0)
        _cluster.lloyd_iter(Xc, centers, np.einsum("ij,ij->i", centers, centers),
                            labels, sums, counts, True)
        total, weight = sums.sum(axis=0), counts.sum(axis=0)
        moved = _relocate_empty(Xc, centers, total, weight, labels)
        filled = weight > 0
        alpha = (1.0 / weight[filled].astype(np.float64)).astype(dtype)
        new = np.empty_like(centers)
        new[filled] = total[filled] * alpha[:, None]
        new[~filled] = new[np.argmax(weight)]
        shift = float((((new - centers) ** 2).sum(axis=1)).sum())
        centers = new
        if not moved and np.array_equal(labels, labels_old):   # a relocated centre moved labels
            strict = True
            break
        if shift <= tol:
            break
        labels_old[:] = labels
    if not strict:
        _cluster.lloyd_iter(Xc, centers, np.einsum("ij,ij->i", centers, centers),
                            labels, sums, counts, False)
    inertia = _cluster.inertia(Xc, centers, labels)
    return KMeansResult((centers + mean).astype(dtype, copy=False), labels, float(inertia), n_iter)


# --------------------------------------------------------------------------- anchor k-means
def box_sizes(x, name: str) -> np.ndarray:
    """Validate an ``(n, 2)`` array of finite, positive box widths and heights."""
    arr = float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) of widths and heights, got {arr.shape}")
    if arr.size and not (arr > 0).all():
        row = int(np.flatnonzero((arr <= 0).any(axis=1))[0])
        raise ValueError(f"{name}[{row}] must have width > 0 and height > 0, got {arr[row].tolist()}")
    limit = np.finfo(arr.dtype).max / 2   # the IoU's union adds two areas
    with np.errstate(over="ignore", under="ignore"):
        area = arr[:, 0] * arr[:, 1]
    bad = ~((area > 0) & (area <= limit))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{row}] must have an area w * h in (0, {limit:.3g}] ({arr.dtype}: the IoU "
                         f"would over- or underflow), got {arr[row].tolist()}")
    return arr


def _corner_iou(wh: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """IoU of every box with one anchor when both share a corner."""
    inter = np.minimum(wh[:, 0], anchor[0]) * np.minimum(wh[:, 1], anchor[1])
    return inter / (wh[:, 0] * wh[:, 1] + anchor[0] * anchor[1] - inter)


def _anchor_plusplus(wh: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ with the distance ``1 - IoU``: each new anchor drawn with probability ~ d^2."""
    chosen = [int(rng.integers(len(wh)))]
    dist = 1 - _corner_iou(wh, wh[chosen[0]])
    for _ in range(1, k):
        chosen.append(int(_pick_weighted(rng, dist * dist, 1)[0]))
        np.minimum(dist, 1 - _corner_iou(wh, wh[chosen[-1]]), out=dist)
    return wh[chosen].copy()


def _anchor_update(wh, labels, anchors, best_iou, update: str) -> np.ndarray:
    """New anchors: per-cluster median or mean; an empty cluster takes the worst-fitting box."""
    k = len(anchors)
    counts = np.bincount(labels, minlength=k)
    new = anchors.copy()
    if update == "median":
        _cluster.cluster_medians(wh, labels, new)
    else:
        filled = counts > 0
        for t in range(2):
            new[filled, t] = (np.bincount(labels, weights=wh[:, t], minlength=k)[filled] / counts[filled])
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        worst = np.argsort(best_iou, kind="stable")[: len(empty)]
        movable = best_iou[worst] < 1
        new[empty[movable]] = wh[worst[movable]]
    return new


def anchor_kmeans(wh: ArrayLike, k: int, *, update: str = "median", init: str | ArrayLike = "k-means++",
                  max_iter: int = 300, seed: Seed = None) -> AnchorResult:
    """YOLO anchor boxes: k-means on box sizes with the distance ``1 - IoU``.

    Parameters
    ----------
    wh : array_like, shape (n, 2)
        Box widths and heights, finite and > 0.
    k : int
        Number of anchors, ``1 <= k <= n``.
    update : {"median", "mean"}
        How an anchor is recomputed from the boxes assigned to it.
    init : {"k-means++", "random"} or array_like, shape (k, 2)
        k-means++ with the ``1 - IoU`` distance, ``k`` distinct boxes drawn without replacement,
        or given anchors.
    max_iter : int
        Cap on update steps (>= 1); the loop also stops when no box changes anchor.
    seed : int or None
        Seed of the numpy Generator used by the initialisation.

    Returns
    -------
    AnchorResult
        ``anchors`` (k, 2) sorted by ascending area, ``labels`` (n,) int32 index of each box's
        best anchor (highest IoU, the smaller index on ties), ``mean_iou`` (mean best IoU) and
        ``n_iter``.

    Notes
    -----
    Boxes and anchors are aligned at a corner, so ``IoU = min(w)min(h) / (wh + w'h' - min(w)min(h))``.
    An anchor left without boxes moves onto the box with the lowest best IoU (never NaN); when
    every box already fits an anchor exactly (fewer distinct sizes than ``k``) it stays put.
    """
    wh = box_sizes(wh, "wh")
    n = wh.shape[0]
    k = n_clusters(k, n, "wh")
    update = choice(update, "update", ("median", "mean"))
    max_iter = integer(max_iter, "max_iter", low=1)
    rng = generator(seed)
    if isinstance(init, str):
        if choice(init, "init", KMEANS_INITS) == "k-means++":
            anchors = _anchor_plusplus(wh, k, rng)
        else:
            anchors = wh[rng.choice(n, size=k, replace=False)].copy()
    else:
        anchors = box_sizes(init, "init").astype(wh.dtype)
        if anchors.shape[0] != k:
            raise ValueError(f"init must have shape (k, 2) = {(k, 2)}, got {anchors.shape}")

    labels = np.empty(n, dtype=np.int32)
    best_iou = np.empty(n, dtype=wh.dtype)
    _cluster.anchor_assign(wh, anchors, labels, best_iou)
    new_labels = np.empty_like(labels)
    n_iter = 0
    while n_iter < max_iter:
        anchors = _anchor_update(wh, labels, anchors, best_iou, update)
        n_iter += 1
        _cluster.anchor_assign(wh, anchors, new_labels, best_iou)
        labels, new_labels = new_labels, labels
        if np.array_equal(labels, new_labels):
            break
    order = np.argsort(anchors[:, 0] * anchors[:, 1], kind="stable")
    rank = np.empty(k, dtype=np.int32)
    rank[order] = np.arange(k, dtype=np.int32)
    return AnchorResult(anchors[order], rank[labels], float(best_iou.mean(dtype=np.float64)), n_iter)


# --------------------------------------------------------------------------- mean shift
#: Largest number of grid cells along one feature, and in total, for the mean-shift grid.
_MAX_CELLS = 2 ** 60


def _bin_seeds(X: np.ndarray, bin_size: float, min_bin_freq: int) -> np.ndarray:
    """scikit-learn's ``get_bin_seeds``: one seed per grid bin holding >= min_bin_freq samples.

    Bins are ``round(x / bin_size)`` in order of first appearance; seeds are float32 bin
    coordinates times ``bin_size``. If every sample has its own bin the samples are the seeds.
    """
    binned = np.round(X / bin_size) + 0.0  # + 0.0 merges -0.0 into 0.0
    uniq, first, counts = np.unique(binned, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    seeds = uniq[order][counts[order] >= min_bin_freq].astype(np.float32)
    if len(seeds) == len(X):
        return X
    return seeds * bin_size


#: Cells per support radius along each grid feature, by the number of grid features.
_SUBDIVISIONS = {0: 1, 1: 8, 2: 4, 3: 2}


class _Grid(NamedTuple):
    """Samples sorted by grid cell over their first ``g <= 3`` features, with per-cell sums and
    bounding boxes (over all features)."""

    order: np.ndarray   # (n,) sample order
    keys: np.ndarray    # (u,) sorted linear keys of the occupied cells
    start: np.ndarray   # (u + 1,) cell i holds sorted samples start[i]:start[i + 1]
    sums: np.ndarray    # (u, d)
    lo: np.ndarray      # (u, d)
    hi: np.ndarray      # (u, d)
    shape: np.ndarray   # (g,) cells per grid feature
    origin: np.ndarray  # (g,)
    side: float
    reach: int          # cells to scan on each side of the mean's cell


def _too_many_cells(span: np.ndarray) -> bool:
    return bool((span > _MAX_CELLS).any()) or np.prod([int(x) for x in span], dtype=object) > _MAX_CELLS


def _grid(X: np.ndarray, radius: float) -> _Grid:
    """Grid of cell side ``radius / s`` over the first features (fewer if the cell count would
    overflow: with g = 0 every sample is in one cell)."""
    origin = X.min(axis=0)
    g = min(X.shape[1], 3)
    while True:
        reach = _SUBDIVISIONS[g]
        side = radius / reach
        span = np.floor((X.max(axis=0)[:g] - origin[:g]) / side) + 1
        if g == 0 or not _too_many_cells(span):
            break
        g -= 1
    shape = span.astype(np.int64)
    cells = np.floor((X[:, :g] - origin[:g]) / side).astype(np.int64)
    np.clip(cells, 0, shape - 1, out=cells)
    keys = np.zeros(len(X), dtype=np.int64)
    for t in range(g):
        keys = keys * shape[t] + cells[:, t]
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    Xs = X[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    start = np.r_[first, len(X)].astype(np.intp)
    return _Grid(order, keys[first], start, np.add.reduceat(Xs, first, axis=0),
                 np.minimum.reduceat(Xs, first, axis=0), np.maximum.reduceat(Xs, first, axis=0),
                 shape, np.ascontiguousarray(origin[:g]), side, reach)


def _merge_modes(means: np.ndarray, counts: np.ndarray, bandwidth: float) -> np.ndarray:
    """scikit-learn's post-processing: modes by decreasing intensity, drop any within bandwidth
    of a stronger one (identical modes are merged first, keeping the last seed's intensity)."""
    intensity = {}
    for mean, count in zip(map(tuple, means), counts.tolist()):
        intensity[mean] = count
    ranked = sorted(intensity.items(), key=lambda item: (item[1], item[0]), reverse=True)
    modes = np.array([mode for mode, _ in ranked], dtype=np.float64)
    unique = np.ones(len(modes), dtype=bool)
    for i in range(len(modes)):
        if unique[i]:
            unique[((modes - modes[i]) ** 2).sum(axis=1) <= bandwidth * bandwidth] = False
            unique[i] = True
    return modes[unique]


def mean_shift(X: ArrayLike, bandwidth: float, *, kernel: str = "flat", seeds: ArrayLike | None = None,
               bin_seeding: bool = False, min_bin_freq: int = 1, max_iter: int = 300,
               cluster_all: bool = True) -> tuple[NDArray[np.floating], NDArray[np.intp]]:
    """Mean-shift clustering.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite samples.
    bandwidth : float
        Kernel bandwidth, > 0: the radius of the flat kernel, the standard deviation of the
        Gaussian one.
    kernel : {"flat", "gaussian"}
        Flat: a step moves to the mean of the samples within ``bandwidth``. Gaussian: to the
        mean weighted by ``exp(-r^2 / (2 bandwidth^2))`` over the samples within
        ``3 * bandwidth`` (the kernel is truncated there).
    seeds : array_like, shape (m, d), optional
        Starting points; default the samples (or the bin seeds with ``bin_seeding``).
    bin_seeding : bool
        Seed from a grid of cell ``bandwidth`` instead of every sample (scikit-learn's rule).
    min_bin_freq : int
        With ``bin_seeding``, only bins with at least this many samples seed.
    max_iter : int
        Iteration cap per seed (>= 0).
    cluster_all : bool
        Label every sample with its nearest centre; if False, samples farther than
        ``bandwidth`` from every centre get label -1.

    Returns
    -------
    centers : ndarray, shape (c, d)
        Modes by decreasing intensity (samples within the kernel's support at convergence);
        a mode within ``bandwidth`` of a stronger one is dropped.
    labels : ndarray, shape (n,)
        Index of each sample's nearest centre (intp; the smaller index on a tie), or -1 as
        described above.

    Raises
    ------
    ValueError
        Bad input, or no sample within reach of any seed.

    Notes
    -----
    With the flat kernel this is ``sklearn.cluster.MeanShift``: same stopping rule (shift
    ``<= 1e-3 * bandwidth``), same merging of near-duplicate modes, same seeds, and the
    neighbourhood rule of its KD-tree (``sum((x - m)^2) <= bandwidth^2``), which it uses from 12
    samples and up to 15 features. Below or above that (and to merge fewer than 12 modes) it
    searches by brute force, ``|a|^2 - 2 a.b + |b|^2``, whose rounding can differ for a pair
    exactly at the bandwidth, and which cancels catastrophically far from the origin; there
    shouxie keeps the exact rule. The samples
    within reach of a mean are found through a grid over the first (up to three) features:
    cells wholly outside the support are skipped, cells wholly inside contribute precomputed
    sums (flat kernel), only boundary cells are checked sample by sample; seeds climb in
    parallel.
    """
    X = samples(X, "X")
    n, d = X.shape
    bandwidth = real_number(bandwidth, "bandwidth", low=0, low_open=True)
    kernel = choice(kernel, "kernel", ("flat", "gaussian"))
    min_bin_freq = integer(min_bin_freq, "min_bin_freq", low=1)
    max_iter = integer(max_iter, "max_iter", low=0, high=np.iinfo(np.intp).max)   # a C index
    if seeds is None:
        seeds = _bin_seeds(X, bandwidth, min_bin_freq) if bin_seeding and n else X
    else:
        seeds = samples(seeds, "seeds")
        if seeds.shape[1] != d:
            raise ValueError(f"seeds must have {d} features like X, got shape {seeds.shape}")
    if n == 0:
        return np.empty((0, d), dtype=X.dtype), np.empty(0, dtype=np.intp)

    gaussian = kernel == "gaussian"
    Xd = X.astype(np.float64)
    grid = _grid(Xd, 3 * bandwidth if gaussian else bandwidth)
    m = len(seeds)
    means = np.empty((m, d))
    counts = np.empty(m, dtype=np.intp)
    n_iter = np.empty(m, dtype=np.intp)
    n_threads = _cluster.max_threads()
    _cluster.mean_shift_seeds(np.ascontiguousarray(Xd[grid.order]), grid.keys, grid.start, grid.sums,
                              grid.lo, grid.hi, grid.shape, grid.origin, grid.side, grid.reach,
                              np.ascontiguousarray(seeds, dtype=np.float64), bandwidth, gaussian,
                              max_iter, means, counts, n_iter, np.empty((n_threads, 3, d)))
    reached = counts > 0
    if not reached.any():
        raise ValueError(f"no sample is within bandwidth={bandwidth} of any seed; "
                         "use other seeds or a larger bandwidth")
    modes = _merge_modes(means[reached], counts[reached], bandwidth)
    labels, distances = _nearest_mode(Xd, modes)
    if not cluster_all:
        labels[distances > bandwidth] = -1
    return modes.astype(X.dtype), labels


def _nearest_mode(X: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of (and distance to) each sample's nearest mode, from exact differences as
    scikit-learn's KD-tree computes them (the smaller index on a tie)."""
    labels = np.empty(len(X), dtype=np.intp)
    distances = np.empty(len(X))
    step = max(1, 2 ** 22 // (len(modes) * X.shape[1]))
    for start in range(0, len(X), step):
        sq = ((X[start:start + step, None, :] - modes[None]) ** 2).sum(axis=2)
        labels[start:start + step] = sq.argmin(axis=1)
        distances[start:start + step] = np.sqrt(sq[np.arange(len(sq)), labels[start:start + step]])
    return labels, distances
