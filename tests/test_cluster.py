import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shouxie.core import anchor_kmeans, kmeans, mean_shift


def blob_data(n=3000, d=4, centers=5, std=1.0, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-8, 8, size=(centers, d))
    return means[rng.integers(0, centers, n)] + rng.normal(scale=std, size=(n, d))


def sklearn_lloyd(X, init, max_iter, tol):
    cluster = pytest.importorskip("sklearn.cluster")
    return cluster.KMeans(len(init), init=init, n_init=1, max_iter=max_iter, tol=tol, algorithm="lloyd").fit(X)


# --------------------------------------------------------------------------- k-means
@pytest.mark.parametrize("max_iter", [1, 5, 300])
def test_kmeans_equals_sklearn_lloyd_float64(max_iter):
    X = blob_data(seed=1)
    init = X[:6] + 0.1
    ref = sklearn_lloyd(X, init, max_iter, 0)
    got = kmeans(X, 6, init=init, max_iter=max_iter, tol=0)
    np.testing.assert_array_equal(got.labels, ref.labels_)
    np.testing.assert_allclose(got.centers, ref.cluster_centers_, rtol=1e-6, atol=1e-12)
    assert got.n_iter == ref.n_iter_
    assert got.inertia == pytest.approx(ref.inertia_, rel=1e-9)


def test_kmeans_float32_close_to_sklearn():
    X = blob_data(seed=2).astype(np.float32)
    init = X[:5].copy()
    ref = sklearn_lloyd(X, init, 50, 0)
    got = kmeans(X, 5, init=init, max_iter=50, tol=0)
    assert got.centers.dtype == np.float32
    assert (got.labels == ref.labels_).mean() > 0.999  # float32 sums: order-dependent rounding
    np.testing.assert_allclose(got.centers, ref.cluster_centers_, rtol=1e-4, atol=1e-4)


def test_kmeans_relative_tol_matches_sklearn():
    X = blob_data(seed=3)
    init = X[:4].copy()
    ref = sklearn_lloyd(X, init, 300, 1e-2)
    got = kmeans(X, 4, init=init, tol=1e-2)
    assert got.n_iter == ref.n_iter_
    np.testing.assert_array_equal(got.labels, ref.labels_)


def test_kmeans_empty_cluster_is_relocated_like_sklearn():
    X = blob_data(n=500, d=2, centers=3, seed=4)
    init = np.array([[0.0, 0.0], [1.0, 1.0], [1e3, 1e3], [-1e3, 5.0]])  # two far centres get no samples
    ref = sklearn_lloyd(X, init, 20, 0)
    got = kmeans(X, 4, init=init, max_iter=20, tol=0)
    assert np.isfinite(got.centers).all()
    np.testing.assert_array_equal(got.labels, ref.labels_)
    np.testing.assert_allclose(got.centers, ref.cluster_centers_, rtol=1e-6, atol=1e-9)


def test_kmeans_inertia_and_labels_are_consistent():
    X = blob_data(seed=5)
    got = kmeans(X, 5, seed=0)
    d2 = ((X[:, None, :] - got.centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(got.labels, d2.argmin(1))
    assert got.inertia == pytest.approx(d2.min(1).sum(), rel=1e-9)
    assert got.labels.dtype == np.int32


def test_kmeans_plusplus_finds_separated_blobs():
    rng = np.random.default_rng(6)
    means = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], float)
    X = means[np.repeat(np.arange(4), 50)] + rng.normal(size=(200, 2))
    got = kmeans(X, 4, seed=1)
    np.testing.assert_allclose(np.sort(got.centers, axis=0), np.sort(means, axis=0), atol=0.5)
    assert got.inertia < 200 * 4


def test_kmeans_far_from_origin_is_translation_invariant():
    X = blob_data(seed=12)
    near, far = kmeans(X, 5, seed=4), kmeans(X + 1e6, 5, seed=4)
    np.testing.assert_array_equal(near.labels, far.labels)
    np.testing.assert_allclose(far.centers - 1e6, near.centers, atol=1e-6)
    assert far.inertia == pytest.approx(near.inertia, rel=1e-6)


def test_kmeans_random_init_without_replacement():
    X = np.arange(10.0).reshape(5, 2)
    got = kmeans(X, 5, init="random", seed=3)  # any duplicate draw would leave a cluster empty
    assert got.inertia == 0 and sorted(got.labels.tolist()) == [0, 1, 2, 3, 4]


def test_kmeans_duplicate_points_never_nan():
    X = np.repeat([[1.0, 2.0], [3.0, 4.0]], 10, axis=0)
    got = kmeans(X, 3, init="random", seed=0)
    assert np.isfinite(got.centers).all() and got.inertia == 0
    got = kmeans(np.ones((6, 3)), 2, seed=0)
    assert np.isfinite(got.centers).all() and got.inertia == 0


def test_kmeans_seed_is_deterministic_and_views_work():
    X = blob_data(seed=7)
    a, b = kmeans(X, 3, seed=11), kmeans(X, 3, seed=11)
    np.testing.assert_array_equal(a.labels, b.labels)
    view = np.asfortranarray(X)[::-1]
    c = kmeans(view, 3, init=X[::-1][:3], max_iter=10, tol=0)
    d = kmeans(np.ascontiguousarray(view), 3, init=X[::-1][:3], max_iter=10, tol=0)
    np.testing.assert_array_equal(c.labels, d.labels)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(X=np.zeros((3, 2)), k=4), ValueError, r"k must be <= the number of samples in X \(3\)"),
        (dict(X=np.zeros((3, 2)), k=0), ValueError, "k must be >= 1"),
        (dict(X=np.zeros((0, 2)), k=1), ValueError, "k must be <="),
        (dict(X=[[0, np.nan]], k=1), ValueError, "X contains NaN"),
        (dict(X=np.zeros(3), k=1), ValueError, r"X must have shape \(n_samples, n_features\)"),
        (dict(X=np.zeros((3, 0)), k=1), ValueError, "with n_features >= 1"),
        (dict(X=np.zeros((3, 2)), k=2, init=np.zeros((3, 2))), ValueError, r"init must have shape \(k, n_features\)"),
        (dict(X=np.zeros((3, 2)), k=2, init="kmeans"), ValueError, "init must be one of"),
        (dict(X=np.zeros((3, 2)), k=2, tol=-1), ValueError, "tol must be >= 0"),
        (dict(X=np.zeros((3, 2)), k=2, max_iter=0), ValueError, "max_iter must be >= 1"),
    ],
)
def test_kmeans_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        kmeans(**kwargs)


# --------------------------------------------------------------------------- anchor k-means
def corner_iou(wh, anchors):
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    return inter / (wh[:, None, 0] * wh[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter)


def box_groups(seed=0):
    rng = np.random.default_rng(seed)
    sizes = np.array([[10, 12], [40, 30], [120, 200]], float)
    return sizes[np.repeat(np.arange(3), 100)] * rng.uniform(0.9, 1.1, size=(300, 2))


@pytest.mark.parametrize("update", ["median", "mean"])
def test_anchor_kmeans_finds_groups_sorted_by_area(update):
    wh = box_groups()
    got = anchor_kmeans(wh, 3, update=update, seed=0)
    np.testing.assert_allclose(got.anchors, [[10, 12], [40, 30], [120, 200]], rtol=0.05)
    groups = [wh[i * 100:(i + 1) * 100] for i in range(3)]
    agg = np.median if update == "median" else np.mean
    np.testing.assert_allclose(got.anchors, [agg(g, axis=0) for g in groups], rtol=1e-12)
    np.testing.assert_array_equal(got.labels, np.repeat(np.arange(3), 100))


def test_anchor_kmeans_labels_and_mean_iou_match_definition():
    rng = np.random.default_rng(1)
    wh = np.exp(rng.normal(3, 0.8, size=(2000, 2)))
    got = anchor_kmeans(wh, 9, seed=2)
    iou = corner_iou(wh, got.anchors)
    np.testing.assert_array_equal(got.labels, iou.argmax(1))
    assert got.mean_iou == pytest.approx(iou.max(1).mean(), rel=1e-12)
    areas = got.anchors.prod(1)
    assert (np.diff(areas) >= 0).all()
    # medians of the final assignment (converged: labels no longer change)
    for j in range(9):
        np.testing.assert_allclose(got.anchors[j], np.median(wh[got.labels == j], axis=0))


def test_anchor_kmeans_iteration_cap_and_float32():
    rng = np.random.default_rng(2)
    wh = np.exp(rng.normal(3, 0.8, size=(500, 2))).astype(np.float32)
    got = anchor_kmeans(wh, 5, max_iter=1, init="random", seed=0)
    assert got.n_iter == 1 and got.anchors.dtype == np.float32
    np.testing.assert_array_equal(got.labels, corner_iou(wh, got.anchors).argmax(1))


def test_anchor_kmeans_empty_cluster_never_nan():
    wh = np.array([[10, 10]] * 5 + [[50, 20]] * 5, float)  # 2 distinct sizes, 3 anchors
    got = anchor_kmeans(wh, 3, seed=0)
    assert np.isfinite(got.anchors).all() and got.mean_iou == pytest.approx(1.0)
    # a given anchor that no box picks is moved onto the worst-fitting box
    wh = box_groups(3)
    got = anchor_kmeans(wh, 3, init=[[10, 12], [11, 13], [1000, 1000]], seed=0)
    assert np.isfinite(got.anchors).all() and got.mean_iou > 0.8


@pytest.mark.parametrize(
    "wh, k, error, match",
    [
        ([[1, 2], [0, 3]], 1, ValueError, r"wh\[1\] must have width > 0 and height > 0"),
        ([[1, 2], [-1, 3]], 1, ValueError, r"wh\[1\] must have width > 0"),
        ([[1, 2, 3]], 1, ValueError, r"wh must have shape \(n, 2\)"),
        ([[1, np.nan]], 1, ValueError, "wh contains NaN"),
        ([[1, 2]], 2, ValueError, "k must be <= the number of samples in wh"),
        ([[1, 2]], 0, ValueError, "k must be >= 1"),
    ],
)
def test_anchor_kmeans_bad_input(wh, k, error, match):
    with pytest.raises(error, match=match):
        anchor_kmeans(wh, k)


# --------------------------------------------------------------------------- mean shift
def sklearn_mean_shift(X, bandwidth, **kwargs):
    cluster = pytest.importorskip("sklearn.cluster")
    return cluster.MeanShift(bandwidth=bandwidth, **kwargs).fit(X)


@pytest.mark.parametrize("kwargs", [
    {}, {"bin_seeding": True}, {"bin_seeding": True, "min_bin_freq": 5}, {"cluster_all": False},
    {"max_iter": 2},
])
def test_mean_shift_equals_sklearn(kwargs):
    X = blob_data(n=400, d=2, centers=4, std=0.7, seed=8)
    ref = sklearn_mean_shift(X, 1.0, **kwargs)
    centers, labels = mean_shift(X, 1.0, **kwargs)
    assert centers.shape == ref.cluster_centers_.shape
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6, atol=1e-9)  # same order too
    np.testing.assert_array_equal(labels, ref.labels_)


def test_mean_shift_equals_sklearn_in_5d_with_seeds():
    X = blob_data(n=300, d=5, centers=3, std=0.5, seed=9)
    seeds = X[::7]
    ref = sklearn_mean_shift(X, 2.0, seeds=seeds)
    centers, labels = mean_shift(X, 2.0, seeds=seeds)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)


def test_mean_shift_huge_spread_and_float32():
    rng = np.random.default_rng(10)
    X = np.concatenate([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 1e12])
    ref = sklearn_mean_shift(X, 3.0)
    centers, labels = mean_shift(X, 3.0)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(labels, ref.labels_)
    c32, _ = mean_shift(X[:50].astype(np.float32), 3.0)
    assert c32.dtype == np.float32
    # a spread too wide for any grid: every sample in one cell
    X = np.concatenate([X[:50], rng.normal(size=(20, 2)) * 1e100 + 1e120])
    ref = sklearn_mean_shift(X, 3.0)
    centers, labels = mean_shift(X, 3.0)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(labels, ref.labels_)


def plain_gaussian_mode(X, seed, bandwidth, max_iter=300):
    mean = np.asarray(seed, float)
    for it in range(max_iter + 1):
        r = np.sqrt(((X - mean) ** 2).sum(1))
        w = np.where(r <= 3 * bandwidth, np.exp(-r ** 2 / (2 * bandwidth ** 2)), 0)
        new = (w[:, None] * X).sum(0) / w.sum()
        if np.linalg.norm(new - mean) <= 1e-3 * bandwidth or it == max_iter:
            return new
        mean = new


def test_mean_shift_gaussian_matches_plain_definition():
    X = blob_data(n=300, d=2, centers=3, std=0.5, seed=11)
    seeds = X[:3]
    centers, labels = mean_shift(X, 0.8, kernel="gaussian", seeds=seeds)
    modes = np.array([plain_gaussian_mode(X, s, 0.8) for s in seeds])
    for c in centers:
        assert np.abs(modes - c).max(axis=1).min() < 1e-9
    d2 = ((X[:, None] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, d2.argmin(1))


def test_mean_shift_empty_input():
    centers, labels = mean_shift(np.zeros((0, 3)), 1.0)
    assert centers.shape == (0, 3) and labels.shape == (0,)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(bandwidth=0), ValueError, "bandwidth must be > 0"),
        (dict(bandwidth=-1.0), ValueError, "bandwidth must be > 0"),
        (dict(bandwidth=np.nan), ValueError, "bandwidth must be finite"),
        (dict(bandwidth=1.0, kernel="epanechnikov"), ValueError, "kernel must be one of"),
        (dict(bandwidth=1.0, seeds=np.zeros((2, 3))), ValueError, "seeds must have 2 features"),
        (dict(bandwidth=1.0, seeds=[[100.0, 100.0]]), ValueError, "no sample is within bandwidth"),
        (dict(bandwidth=1.0, min_bin_freq=0), ValueError, "min_bin_freq must be >= 1"),
        (dict(bandwidth=1.0, max_iter=-1), ValueError, "max_iter must be >= 0"),
    ],
)
def test_mean_shift_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        mean_shift(np.zeros((4, 2)), **kwargs)


def test_mean_shift_nan_rejected():
    with pytest.raises(ValueError, match="X contains NaN"):
        mean_shift([[0.0, np.nan]], 1.0)


def test_plugin_ops_agree_with_references():
    pytest.importorskip("sklearn")
    from shouxie.plugins import collect_ops, get_plugin_manager

    ops = {op.name: op for op in collect_ops(get_plugin_manager(load_entrypoints=False))}
    data = ops["data.blobs"](n=500, n_features=3, centers=3, seed=0)
    ours = ops["cluster.kmeans"](X=data["X"], k=3, init=data["init"], max_iter=10, tol=0)
    ref = ops["ref.sklearn_kmeans"](X=data["X"], k=3, init=data["init"], max_iter=10, tol=0)
    assert ours.keys() == ref.keys()
    np.testing.assert_array_equal(ours["labels"], ref["labels"])
    ours = ops["neighbors.knn_search"](queries=data["X"][:20], data=data["X"], k=3)
    ref = ops["ref.sklearn_knn"](queries=data["X"][:20], data=data["X"], k=3)
    np.testing.assert_array_equal(ours["indices"], ref["indices"])
    ours = ops["cluster.mean_shift"](X=data["X"], bandwidth=3.0, bin_seeding=True)
    ref = ops["ref.sklearn_mean_shift"](X=data["X"], bandwidth=3.0, bin_seeding=True)
    np.testing.assert_allclose(ours["centers"], ref["centers"], rtol=1e-6)
    wh = ops["data.box_sizes"](n=1000, seed=0)["wh"]
    assert wh.shape == (1000, 2) and (wh >= 1).all()
    assert 0 < ops["cluster.anchor_kmeans"](wh=wh, k=9, seed=0)["mean_iou"] <= 1


@pytest.mark.parametrize("seed", range(4))
def test_mean_shift_samples_exactly_on_the_bandwidth(seed):
    # integer grid, bandwidth 1: dozens of samples exactly at distance 1 from a seed; from 12
    # samples scikit-learn uses a KD-tree (sum of squares <= r^2), the rule we follow
    X = np.random.default_rng(seed).integers(-4, 5, size=(40, 2)).astype(float)
    ref = sklearn_mean_shift(X, 1.0)
    centers, labels = mean_shift(X, 1.0)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(12, 30), st.integers(1, 3)), elements=st.integers(-4, 4).map(float)),
       st.sampled_from([0.5, 1.0, 2.0]), st.booleans())
def test_mean_shift_fuzz_against_sklearn(X, bandwidth, bin_seeding):
    # integer coordinates: many equal modes and bin seeds. The bandwidth is nudged by 2^-10 so no
    # two modes (means of integers) are exactly a bandwidth apart: scikit-learn merges fewer than
    # 12 modes by brute force, whose rounding decides such exact ties differently (documented)
    bandwidth += 2.0 ** -10
    ref = sklearn_mean_shift(X, bandwidth, bin_seeding=bin_seeding)
    centers, labels = mean_shift(X, bandwidth, bin_seeding=bin_seeding)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=st.integers(-5, 5).map(float)),
       st.integers(1, 6), st.integers(0, 3))
def test_kmeans_fuzz_invariants(X, k, seed):
    k = min(k, len(X))
    got = kmeans(X, k, seed=seed, max_iter=50)
    assert np.isfinite(got.centers).all() and got.labels.min() >= 0 and got.labels.max() < k
    d2 = ((X[:, None, :] - got.centers[None]) ** 2).sum(-1)
    assert np.allclose(d2[np.arange(len(X)), got.labels], d2.min(1))  # nearest centre (up to ties)
    assert got.inertia == pytest.approx(d2.min(1).sum(), rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.just(2)), elements=st.integers(1, 6).map(float)),
       st.integers(1, 5), st.sampled_from(["median", "mean"]))
def test_anchor_kmeans_fuzz_invariants(wh, k, update):
    k = min(k, len(wh))
    got = anchor_kmeans(wh, k, update=update, seed=0, max_iter=100)
    assert np.isfinite(got.anchors).all() and (got.anchors > 0).all()
    iou = corner_iou(wh, got.anchors)
    np.testing.assert_allclose(iou[np.arange(len(wh)), got.labels], iou.max(1), rtol=1e-12)
    assert got.mean_iou == pytest.approx(iou.max(1).mean(), rel=1e-12)


@pytest.mark.parametrize("wh, dtype", [([[1e308, 2.0], [3, 4]], np.float64),      # area overflows
                                       ([[1e-200, 1e-200], [3, 4]], np.float64),   # area underflows to 0
                                       ([[1e20, 1e20], [3, 4]], np.float32)])
def test_anchor_kmeans_refuses_areas_the_iou_cannot_hold(wh, dtype):
    # Such a box used to get NaN IoUs and silently the wrong anchor.
    with pytest.raises(ValueError, match=r"wh\[0\] must have an area w \* h"):
        anchor_kmeans(np.array(wh, dtype=dtype), 1, seed=0)
