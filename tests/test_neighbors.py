import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shouxie.core import knn_classify, knn_search


def plain_knn(queries, data, k):
    """Definition: sort every query's exact distances by (distance, index)."""
    q = np.asarray(queries, np.float64)
    x = np.asarray(data, np.float64)
    dist = np.sqrt(((q[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    idx = np.array([np.lexsort((np.arange(len(x)), row))[:k] for row in dist], dtype=np.intp).reshape(len(q), k)
    return np.take_along_axis(dist, idx, axis=1), idx


def plain_classify(queries, data, labels, k):
    """Definition: most frequent label among the k nearest; ties to the nearest such label."""
    _, idx = plain_knn(queries, data, k)
    out = []
    for row in idx:
        votes = [labels[i] for i in row]
        counts = {c: votes.count(c) for c in votes}
        best = max(counts.values())
        out.append(next(c for c in votes if counts[c] == best))
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_sklearn_brute(dtype):
    neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2003, 7)).astype(dtype)  # n not a multiple of 8, q not of 4
    queries = rng.normal(size=(101, 7)).astype(dtype)
    ref_d, ref_i = neighbors.NearestNeighbors(n_neighbors=6, algorithm="brute").fit(data).kneighbors(queries)
    dist, idx = knn_search(queries, data, 6)
    assert dist.dtype == dtype and idx.shape == (101, 6)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_matches_definition_and_ascending():
    rng = np.random.default_rng(1)
    data, queries = rng.normal(size=(300, 3)), rng.normal(size=(37, 3))
    dist, idx = knn_search(queries, data, 10)
    ref_d, ref_i = plain_knn(queries, data, 10)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-10, atol=1e-12)
    assert (np.diff(dist, axis=1) >= 0).all()


def test_ties_smaller_index_first_and_kept():
    # Every data point is at distance 1 from the query: the first k indices win, in order.
    data = np.array([[1, 0], [0, 1], [-1, 0], [0, -1], [0, 0]] * 3, dtype=np.float64)
    dist, idx = knn_search([[0, 0]], data, 7)
    np.testing.assert_array_equal(idx[0], [4, 9, 14, 0, 1, 2, 3])
    np.testing.assert_array_equal(dist[0], [0, 0, 0, 1, 1, 1, 1])


def test_tie_set_matches_sklearn():
    neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(2)
    data = rng.integers(0, 4, size=(400, 2)).astype(np.float64)  # many exact ties
    queries = rng.integers(0, 4, size=(30, 2)).astype(np.float64)
    ref_d, ref_i = neighbors.NearestNeighbors(n_neighbors=5, algorithm="brute").fit(data).kneighbors(queries)
    dist, idx = knn_search(queries, data, 5)
    np.testing.assert_allclose(dist, ref_d)
    # scikit-learn keeps the same tied candidates (the smallest indices) in a possibly other order
    np.testing.assert_array_equal(np.sort(idx, axis=1), np.sort(ref_i, axis=1))


def test_k_equals_n_and_self_query():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(9, 4))
    dist, idx = knn_search(data, data, 9)
    np.testing.assert_array_equal(idx[:, 0], np.arange(9))
    np.testing.assert_allclose(dist[:, 0], 0, atol=1e-7)
    np.testing.assert_array_equal(np.sort(idx, axis=1), np.tile(np.arange(9), (9, 1)))


def test_empty_queries_and_non_contiguous_input():
    rng = np.random.default_rng(4)
    dist, idx = knn_search(np.zeros((0, 3)), rng.normal(size=(5, 3)), 2)
    assert dist.shape == (0, 2) and idx.shape == (0, 2)
    big = rng.normal(size=(80, 6))
    data, queries = np.asfortranarray(big[::2, ::2]), big[::-7, 1::2]
    dist, idx = knn_search(queries, data, 4)
    ref_d, ref_i = plain_knn(queries, data, 4)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "queries, data, k, error, match",
    [
        (np.zeros((2, 3)), np.zeros((4, 3)), 5, ValueError, r"k must be <= the number of data points \(4\)"),
        (np.zeros((2, 3)), np.zeros((4, 3)), 0, ValueError, "k must be >= 1"),
        (np.zeros((2, 3)), np.zeros((4, 3)), 1.5, TypeError, "k must be an integer"),
        (np.zeros((2, 2)), np.zeros((4, 3)), 1, ValueError, "same number of features"),
        ([[np.nan, 0, 0]], np.zeros((4, 3)), 1, ValueError, "queries contains NaN"),
        (np.zeros((2, 3)), [[0, np.inf, 0]], 1, ValueError, "data contains NaN or infinity"),
        (np.zeros(3), np.zeros((4, 3)), 1, ValueError, r"queries must have shape \(n_samples, n_features\)"),
        (np.zeros((2, 3)), np.zeros((0, 3)), 1, ValueError, "k must be <="),
        (np.zeros((2, 3)), [[1e200, 0, 0]], 1, ValueError, "data has points too far from the origin"),
    ],
)
def test_bad_input(queries, data, k, error, match):
    with pytest.raises(error, match=match):
        knn_search(queries, data, k)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(
    arrays(np.float64, st.tuples(st.integers(0, 9), st.just(d)), elements=st.integers(-3, 3).map(float)),
    arrays(np.float64, st.tuples(st.integers(1, 20), st.just(d)), elements=st.integers(-3, 3).map(float)))),
    st.integers(1, 20))
def test_fuzz_against_definition(arrs, k):
    queries, data = arrs
    k = min(k, len(data))
    dist, idx = knn_search(queries, data, k)
    ref_d, ref_i = plain_knn(queries, data, k)
    np.testing.assert_array_equal(idx, ref_i)  # integer coordinates: exact distances, exact tie order
    np.testing.assert_allclose(dist, ref_d, rtol=1e-12, atol=1e-12)


def test_classify_matches_definition():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(200, 2))
    labels = (data[:, 0] > 0).astype(int) + 2 * (data[:, 1] > 0)
    queries = rng.normal(size=(50, 2))
    for k in (1, 4, 7):
        np.testing.assert_array_equal(knn_classify(queries, data, labels, k),
                                      plain_classify(queries, data, labels, k))


def test_classify_tie_goes_to_nearest_and_keeps_label_dtype():
    data = [[0.0], [1.0], [2.0], [3.0]]
    labels = np.array(["far", "near", "far", "near"])
    # neighbours of 0.9: 1 (near), 0 (far), 2 (far), 3 (near) -> 2 vs 2, nearest is "near"
    assert knn_classify([[0.9]], data, labels, 4).tolist() == ["near"]
    assert knn_classify([[0.1]], data, labels, 2).tolist() == ["far"]
    assert knn_classify([[0.1]], data, labels, 3).tolist() == ["far"]


def test_classify_agrees_with_sklearn_without_ties():
    neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(6)
    data = rng.normal(size=(300, 3))
    labels = rng.integers(0, 2, size=300)
    queries = rng.normal(size=(40, 3))
    ref = neighbors.KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(data, labels).predict(queries)
    np.testing.assert_array_equal(knn_classify(queries, data, labels, 5), ref)  # odd k, 2 classes: no ties


def test_classify_bad_labels():
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        knn_classify(np.zeros((1, 2)), np.zeros((3, 2)), [0, 1], 1)
