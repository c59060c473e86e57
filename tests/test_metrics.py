import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shouxie.core import auc, average_precision, precision_recall_curve, roc_curve
from shouxie.core import _metrics
from shouxie.core.metrics import UndefinedMetricWarning

skm = pytest.importorskip("sklearn.metrics")


def pairwise_auc(labels, scores, weights=None):
    """AUC straight from its definition: every (positive, negative) pair, ties count 1/2."""
    labels, scores = np.asarray(labels), np.asarray(scores, float)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, float)
    pos, neg = labels == labels.max(), labels != labels.max()
    total = 0.0
    for sp, wp in zip(scores[pos], weights[pos]):
        for sn, wn in zip(scores[neg], weights[neg]):
            total += wp * wn * (1.0 if sp > sn else 0.5 if sp == sn else 0.0)
    return total / (weights[pos].sum() * weights[neg].sum())


def scored(rng, n, decimals=1, dtype=np.float64):
    labels = rng.integers(0, 2, n)
    scores = np.round(rng.normal(size=n) + labels, decimals).astype(dtype)
    return labels, scores


def assert_curves_equal(ours, ref, rtol=1e-12):
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-15)


def test_notes_example_against_hand_count():
    labels = [1, 0, 0, 0, 1, 0, 1, 0]
    scores = [0.9, 0.8, 0.3, 0.1, 0.4, 0.9, 0.66, 0.7]
    # positives 0.9, 0.4, 0.66 against negatives 0.8 0.3 0.1 0.9 0.7:
    # 0.9 beats 3 and ties 1 -> 4.5; 0.4 beats 2; 0.66 beats 2 -> 8.5 / 15
    assert auc(labels, scores) == pytest.approx(8.5 / 15, abs=1e-15)


@pytest.mark.parametrize("weighted", [False, True])
def test_matches_pairwise_definition(weighted):
    rng = np.random.default_rng(0)
    labels, scores = scored(rng, 120)
    weights = rng.random(120) if weighted else None
    assert auc(labels, scores, sample_weight=weights) == pytest.approx(
        pairwise_auc(labels, scores, weights), abs=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, decimals", [(2, 1), (50, 0), (1000, 1), (20000, 3), (20000, 12)])
def test_matches_sklearn_roc_auc(dtype, n, decimals):
    rng = np.random.default_rng(n + decimals)
    labels, scores = scored(rng, n, decimals, dtype)
    labels[:2] = [0, 1]
    weights = rng.random(n)
    assert abs(auc(labels, scores) - skm.roc_auc_score(labels, scores)) <= 1e-12
    assert abs(auc(labels, scores, sample_weight=weights)
               - skm.roc_auc_score(labels, scores, sample_weight=weights)) <= 1e-12


@pytest.mark.parametrize("max_fpr", [1e-4, 0.05, 0.3, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("n, decimals", [(2, 1), (60, 0), (1000, 1), (5000, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_auc_matches_sklearn(max_fpr, n, decimals, weighted):
    rng = np.random.default_rng(n + decimals)
    labels, scores = scored(rng, n, decimals)
    labels[:2] = [0, 1]
    weights = rng.random(n) if weighted else None
    got = auc(labels, scores, sample_weight=weights, max_fpr=max_fpr)
    assert got == pytest.approx(skm.roc_auc_score(labels, scores, sample_weight=weights, max_fpr=max_fpr),
                                abs=1e-12)


def test_string_labels_in_an_object_array():
    # a pandas column of strings arrives as an object array: same results as a str array
    labels, scores = ["no", "yes", "yes", "no", "yes"], [0.1, 0.9, 0.4, 0.5, 0.7]
    as_object = np.array(labels, dtype=object)
    assert auc(as_object, scores) == auc(np.array(labels), scores) == pytest.approx(5 / 6, abs=1e-15)
    for got, want in zip(roc_curve(as_object, scores, pos_label="yes"),
                         skm.roc_curve(as_object, scores, pos_label="yes")):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(TypeError, match="labels must be bool, integer"):
        auc(np.array(["no", 1, "yes", 0, "yes"], dtype=object), scores)


def test_partial_auc_by_hand():
    # one positive ranked first, then a negative, a positive, a negative: ROC (0,0) (0,.5) (.5,.5)
    # (.5,1) (1,1); up to fpr 0.5 the area is 0.25, chance 0.125, perfect 0.5
    labels, scores = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6]
    assert auc(labels, scores, max_fpr=0.5) == pytest.approx(0.5 * (1 + (0.25 - 0.125) / (0.5 - 0.125)))
    assert auc(labels, scores, max_fpr=1) == auc(labels, scores) == 0.75
    for bad in (0, -0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="max_fpr"):
            auc(labels, scores, max_fpr=bad)


@pytest.mark.parametrize("labels", [
    [False, True, True, False, True],
    [-1, 1, 1, -1, 1],
    [1, 2, 2, 1, 2],
    [0.0, 1.0, 1.0, 0.0, 1.0],
    ["cat", "dog", "dog", "cat", "dog"],
])
def test_label_encodings_positive_is_greater_class(labels):
    scores = [0.1, 0.4, 0.35, 0.8, 0.8]
    assert auc(labels, scores) == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-15)
    assert auc(labels, scores) == pytest.approx(pairwise_auc([0, 1, 1, 0, 1], scores), abs=1e-15)


def test_all_ties_and_perfect_rankings():
    assert auc([0, 1, 0, 1], [0.5] * 4) == 0.5
    assert auc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0
    assert auc([0, 1], [-0.0, 0.0]) == 0.5  # -0.0 == 0.0 is a tie
    assert auc([0, 1, 1], [-1e308, 1e308, 5e-324]) == 1.0


def test_zero_weights_are_ignored():
    labels, scores = [0, 1, 0, 1, 1], [0.1, 0.9, 0.95, 0.2, 0.5]
    w = [1, 1, 0, 1, 0]
    assert auc(labels, scores, sample_weight=w) == auc([0, 1, 1], [0.1, 0.9, 0.2])
    assert_curves_equal(roc_curve(labels, scores, sample_weight=w),
                        skm.roc_curve(labels, scores, sample_weight=w))


def test_non_contiguous_and_negative_stride():
    rng = np.random.default_rng(3)
    labels, scores = scored(rng, 400)
    w = rng.random(400)
    got = auc(labels[::-2], scores[::-2], sample_weight=w[::-2])
    assert got == pytest.approx(skm.roc_auc_score(labels[::-2], scores[::-2], sample_weight=w[::-2]), abs=1e-12)
    assert_curves_equal(roc_curve(labels[::3], scores[::3]), skm.roc_curve(labels[::3], scores[::3]))
    for a in (labels, scores, w):
        a.flags.writeable = False  # read-only input is fine: the kernels never write to it
    assert auc(labels, scores, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(labels, scores, sample_weight=w), abs=1e-12)
    assert auc([0, 1, 0], np.broadcast_to(np.float32(2), (3,))) == 0.5


@pytest.mark.parametrize("drop_intermediate", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("decimals", [0, 1, 6])
def test_roc_curve_matches_sklearn(drop_intermediate, weighted, decimals):
    rng = np.random.default_rng(decimals)
    labels, scores = scored(rng, 3000, decimals)
    w = rng.random(3000) if weighted else None
    ours = roc_curve(labels, scores, sample_weight=w, drop_intermediate=drop_intermediate)
    ref = skm.roc_curve(labels, scores, sample_weight=w, drop_intermediate=drop_intermediate)
    assert_curves_equal(ours, ref)
    assert ours[2][0] == np.inf


@pytest.mark.parametrize("drop_intermediate", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("decimals", [0, 1, 6])
def test_precision_recall_curve_and_ap_match_sklearn(drop_intermediate, weighted, decimals):
    rng = np.random.default_rng(10 + decimals)
    labels, scores = scored(rng, 3000, decimals)
    w = rng.random(3000) if weighted else None
    assert_curves_equal(
        precision_recall_curve(labels, scores, sample_weight=w, drop_intermediate=drop_intermediate),
        skm.precision_recall_curve(labels, scores, sample_weight=w, drop_intermediate=drop_intermediate))
    assert average_precision(labels, scores, sample_weight=w) == pytest.approx(
        skm.average_precision_score(labels, scores, sample_weight=w), abs=1e-12)


def test_float32_thresholds_keep_dtype():
    labels, scores = [0, 1, 1, 0], np.array([0.1, 0.7, 0.4, 0.4], np.float32)
    fpr, tpr, thr = roc_curve(labels, scores)
    assert thr.dtype == np.float32 and fpr.dtype == np.float64
    assert precision_recall_curve(labels, scores)[2].dtype == np.float32
    assert_curves_equal((fpr, tpr, thr), skm.roc_curve(labels, scores))


def test_pos_label_and_string_labels():
    labels, scores = np.array(["b", "a", "b", "a", "a"]), [0.9, 0.1, 0.3, 0.3, 0.8]
    assert_curves_equal(roc_curve(labels, scores, pos_label="b"), skm.roc_curve(labels, scores, pos_label="b"))
    assert_curves_equal(precision_recall_curve(labels, scores, pos_label="a"),
                        skm.precision_recall_curve(labels, scores, pos_label="a"))
    assert average_precision(labels, scores, pos_label="b") == pytest.approx(
        skm.average_precision_score(labels, scores, pos_label="b"))
    # a third class is fine for the curves once pos_label is given
    three = [0, 1, 2, 2, 1]
    assert_curves_equal(roc_curve(three, scores, pos_label=2), skm.roc_curve(three, scores, pos_label=2))


def test_curves_with_one_class_warn_like_sklearn():
    labels, scores = [1, 1, 1], [0.2, 0.5, 0.5]
    with pytest.warns(UndefinedMetricWarning, match="No negative samples"):
        ours = roc_curve(labels, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = skm.roc_curve(labels, scores)
        ref_pr = skm.precision_recall_curve([0, 0, 0], scores)
        ref_ap = skm.average_precision_score([0, 0, 0], scores)
    assert_curves_equal(ours, ref)
    with pytest.warns(UndefinedMetricWarning, match="recall is set to 1"):
        assert_curves_equal(precision_recall_curve([0, 0, 0], scores), ref_pr)
    with pytest.warns(UndefinedMetricWarning):
        assert average_precision([0, 0, 0], scores) == ref_ap == 0.0
    assert average_precision([1, 1], [0.3, 0.1]) == skm.average_precision_score([1, 1], [0.3, 0.1]) == 1.0


def test_single_sample_curve():
    assert_curves_equal(precision_recall_curve([1], [0.5]), skm.precision_recall_curve([1], [0.5]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 3), st.integers(0, 3)), min_size=2, max_size=40))
def test_fuzz_against_definition_and_sklearn(rows):
    labels = np.array([r[0] for r in rows])
    scores = np.array([r[1] for r in rows], float) / 2
    weights = np.array([r[2] for r in rows], float)
    if labels.all() or not labels.any():
        with pytest.raises(ValueError, match="exactly two classes"):
            auc(labels, scores)
        return
    assert auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores), abs=1e-12)
    assert_curves_equal(roc_curve(labels, scores), skm.roc_curve(labels, scores))
    assert_curves_equal(precision_recall_curve(labels, scores), skm.precision_recall_curve(labels, scores))
    if weights[labels].sum() > 0 and weights[~labels].sum() > 0:
        assert auc(labels, scores, sample_weight=weights) == pytest.approx(
            skm.roc_auc_score(labels, scores, sample_weight=weights), abs=1e-12)
        assert_curves_equal(roc_curve(labels, scores, sample_weight=weights),
                            skm.roc_curve(labels, scores, sample_weight=weights))


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([np.float32, np.float64]).flatmap(
    lambda dt: arrays(dt, st.integers(0, 300), elements=st.floats(
        allow_nan=False, allow_infinity=False, width=32 if dt == np.float32 else 64))))
def test_fuzz_radix_sort_carries_weights(scores):
    """The weighted path's radix sort: same order as numpy, each value keeps its weights."""
    weights = np.arange(1, scores.size + 1, dtype=np.float64)
    s, w = scores.copy(), weights.copy()
    _metrics.sort_weighted(s, w)
    np.testing.assert_array_equal(s, np.sort(scores))  # -0.0 == 0.0 for array_equal
    for value in np.unique(scores)[:20]:
        assert w[s == value].sum() == weights[scores == value].sum()


@pytest.mark.parametrize(
    "func, labels, scores, kwargs, error, match",
    [
        (auc, [1, 1, 1], [0.1, 0.2, 0.3], {}, ValueError, "exactly two classes.*one class"),
        (auc, [], [], {}, ValueError, "exactly two classes, got 0"),
        (auc, [0, 1, 2], [0.1, 0.2, 0.3], {}, ValueError, "exactly two classes, got 3"),
        (auc, ["a", "a"], [0.1, 0.2], {}, ValueError, "exactly two classes, got 1"),
        (auc, [0, 1], [0.1, np.nan], {}, ValueError, "scores contains NaN"),
        (auc, [0, 1], [0.1, np.inf], {}, ValueError, "scores contains NaN or infinity"),
        (auc, [0, np.nan], [0.1, 0.2], {}, ValueError, "labels contains NaN"),
        (auc, [0, 0.5], [0.1, 0.2], {}, ValueError, "labels must hold integer values"),
        (auc, [0, 1, 1], [0.1, 0.2], {}, ValueError, r"labels must have shape \(2,\) like scores, got \(3,\)"),
        (auc, [[0, 1]], [0.1, 0.2], {}, ValueError, "labels must be 1-D"),
        (auc, [0, 1], [[0.1, 0.2]], {}, ValueError, "scores must be 1-D"),
        (auc, [0, 1], ["a", "b"], {}, TypeError, "scores must be a real numeric array"),
        (auc, np.array([0, 1], object), [0.1, 0.2], {}, TypeError, "labels must be bool, integer"),
        (auc, [0, 1], [0.1, 0.2], {"sample_weight": [1.0]}, ValueError, "sample_weight and scores"),
        (auc, [0, 1], [0.1, 0.2], {"sample_weight": [1.0, -1.0]}, ValueError, "non-negative"),
        (auc, [0, 1], [0.1, 0.2], {"sample_weight": [1.0, np.nan]}, ValueError, "sample_weight contains NaN"),
        (auc, [0, 1], [0.1, 0.2], {"sample_weight": [1.0, 0.0]}, ValueError, "weight.*0 for every sample"),
        (roc_curve, [1, 2], [0.1, 0.2], {}, ValueError, "pos_label is not given"),
        (roc_curve, ["a", "b"], [0.1, 0.2], {}, ValueError, "pos_label is not given"),
        (roc_curve, [], [], {}, ValueError, "pos_label is not given"),
        (roc_curve, [], [], {"pos_label": 1}, ValueError, "no samples of non-zero weight"),
        (roc_curve, [0, 1], [0.1, 0.2], {"sample_weight": [0, 0]}, ValueError, "no samples of non-zero weight"),
        (precision_recall_curve, [0, 1], [0.1, np.nan], {}, ValueError, "scores contains NaN"),
        (average_precision, [0, 2], [0.1, 0.2], {}, ValueError, "pos_label=1 is not a valid label"),
        (average_precision, [0, 1, 2], [0.1, 0.2, 0.3], {}, ValueError, "at most two classes"),
    ],
)
def test_bad_input(func, labels, scores, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(labels, scores, **kwargs)


def test_plugin_ops_agree_with_their_sklearn_references(pm):
    from shouxie.plugins import collect_ops
    ops = collect_ops(pm)
    data = ops.get("data.scores")(n=2000, separability=2.0, decimals=1, seed=3)
    again = ops.get("data.scores")(n=2000, separability=2.0, decimals=1, seed=3)
    np.testing.assert_array_equal(data["scores"], again["scores"])
    args = {"labels": data["labels"], "scores": data["scores"]}
    # Phi(2 / sqrt(2)) = 0.921 for well-separated classes
    assert ops.get("metrics.auc")(**args) == pytest.approx(0.921, abs=0.02)
    for ours, ref in [("metrics.auc", "ref.sklearn_roc_auc"),
                      ("metrics.average_precision", "ref.sklearn_average_precision")]:
        assert ops.get(ours)(**args) == pytest.approx(ops.get(ref)(**args), abs=1e-12)
    assert ops.get("metrics.auc")(**args, max_fpr=0.1) == pytest.approx(
        ops.get("ref.sklearn_roc_auc")(**args, max_fpr=0.1), abs=1e-12)
    for ours, ref in [("metrics.roc_curve", "ref.sklearn_roc_curve"),
                      ("metrics.precision_recall_curve", "ref.sklearn_precision_recall_curve")]:
        got, want = ops.get(ours)(**args), ops.get(ref)(**args)
        assert got.keys() == want.keys()
        assert_curves_equal(list(got.values()), list(want.values()))
