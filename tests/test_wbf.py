"""weighted_boxes_fusion against ensemble-boxes' weighted_boxes_fusion (every conf_type), bit for bit."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from shouxie.core import weighted_boxes_fusion
from shouxie.core.wbf import CONF_TYPES


def models(seed: int, n_models: int = 5, n_boxes: int = 300, n_labels: int = 4):
    """Detections of several models around shared objects (so they cluster), normalised to [0, 1].

    Scores are distinct multiples of 2**-20 (exact in float32), so both implementations visit
    boxes in the same order. A few boxes stick out of [0, 1] (clamped) or have zero area (dropped).
    """
    rng = np.random.default_rng(seed)
    objects = rng.uniform(0.05, 0.8, (n_boxes // 6, 2))
    sizes = rng.uniform(0.02, 0.3, (objects.shape[0], 2))
    object_labels = rng.integers(0, n_labels, objects.shape[0])
    scores = rng.permutation(2 ** 20)[: n_models * n_boxes].reshape(n_models, n_boxes) / 2 ** 20
    boxes_list, scores_list, labels_list = [], [], []
    for t in range(n_models):
        k = rng.integers(0, objects.shape[0], n_boxes)
        centre = objects[k] + rng.normal(0, 0.02, (n_boxes, 2))
        size = sizes[k] * rng.uniform(0.8, 1.2, (n_boxes, 2))
        b = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        flat = rng.random(n_boxes) < 0.02
        b[flat, 2] = b[flat, 0]  # some zero widths
        b[:, 2:] = np.maximum(b[:, 2:], b[:, :2])
        labels = np.where(rng.random(n_boxes) < 0.9, object_labels[k], rng.integers(0, n_labels, n_boxes))
        boxes_list.append(b if t % 2 else b.astype(np.float32))
        scores_list.append(scores[t] if t % 2 else scores[t].astype(np.float32))
        labels_list.append(labels)
    return boxes_list, scores_list, labels_list


def reference(*args, **kwargs):
    eb = pytest.importorskip("ensemble_boxes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its warnings on clamped and zero-area boxes
        return eb.weighted_boxes_fusion(*args, **kwargs)


def assert_same(ours, theirs):
    boxes, scores, labels = ours
    rb, rs, rl = theirs
    np.testing.assert_array_equal(scores, rs)
    if np.unique(rs).size == rs.size:  # no tied confidences: the order is defined, compare as is
        np.testing.assert_array_equal(boxes, rb)
        np.testing.assert_array_equal(labels, rl)
    else:  # ensemble-boxes' final sort is not stable: compare the same multiset
        key = lambda b, s, lab: np.lexsort((*b.T, lab, s))
        i, j = key(boxes, scores, labels), key(rb, rs, rl)
        np.testing.assert_array_equal(boxes[i], rb[j])
        np.testing.assert_array_equal(labels[i], rl[j])


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_equal_to_ensemble_boxes(conf_type, seed):
    boxes, scores, labels = models(seed)
    weights = [2, 1, 1, 3, 1.5]
    for kw in (dict(), dict(weights=weights, iou_thr=0.4, skip_box_thr=0.2)):
        ours = weighted_boxes_fusion(boxes, scores, labels, conf_type=conf_type, **kw)
        assert_same(ours, reference(boxes, scores, labels, conf_type=conf_type, **kw))
        assert ours[0].shape[0] > 10 and ours[0].shape[0] < sum(b.shape[0] for b in boxes)


def test_defaults_and_overflow():
    boxes, scores, labels = models(2, n_models=3, n_boxes=200)
    assert_same(weighted_boxes_fusion(boxes, scores, labels), reference(boxes, scores, labels))
    ours = weighted_boxes_fusion(boxes, scores, labels, allows_overflow=True)
    assert_same(ours, reference(boxes, scores, labels, allows_overflow=True))


def test_clamps_outside_and_drops_zero_area():
    boxes = [np.array([[-0.1, 0.2, 0.5, 1.3], [0.3, 0.3, 0.3, 0.6], [0.0, 0.2, 0.5, 0.9]])]
    scores, labels = [np.array([0.9, 0.8, 0.7])], [np.array([1, 1, 1])]
    ours = weighted_boxes_fusion(boxes, scores, labels)
    assert_same(ours, reference(boxes, scores, labels))
    # hand-computed: the clamped first box [0, .2, .5, 1] and the third (IoU 0.7/0.8 = .875) fuse,
    # weighted by their scores; the zero-width box is dropped; confidence (0.9 + 0.7)/2 * min(1, 2) / 1
    np.testing.assert_allclose(ours[0], [[0, 0.2, 0.5, (0.9 * 1 + 0.7 * 0.9) / 1.6]], rtol=1e-6)
    np.testing.assert_allclose(ours[1], [0.8], rtol=1e-6)


def test_empty_and_bad_input():
    out = weighted_boxes_fusion([np.zeros((0, 4))], [np.zeros(0)], [np.zeros(0, int)])
    assert out[0].shape == (0, 4) and out[1].shape == (0,) and out[2].shape == (0,)
    b, s, lab = models(3, n_models=2, n_boxes=20)
    with pytest.raises(ValueError, match="one entry per model"):
        weighted_boxes_fusion(b, s[:1], lab)
    with pytest.raises(ValueError, match=r"scores_list\[1\] must have one score per box"):
        weighted_boxes_fusion(b, [s[0], s[1][:-1]], lab)
    bad = [b[0].copy(), b[1]]
    bad[0][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"boxes_list\[0\] contains NaN"):
        weighted_boxes_fusion(bad, s, lab)
    with pytest.raises(ValueError, match="weights must have one entry per model"):
        weighted_boxes_fusion(b, s, lab, weights=[1, 2, 3])
    with pytest.raises(ValueError, match="weights must be positive"):
        weighted_boxes_fusion(b, s, lab, weights=[1, 0])
    with pytest.raises(ValueError, match="conf_type"):
        weighted_boxes_fusion(b, s, lab, conf_type="median")
    with pytest.raises(ValueError, match="must be lists"):
        weighted_boxes_fusion(b[0], s[0], lab[0])


def test_plugin_op_agrees_with_the_reference():
    pytest.importorskip("ensemble_boxes")
    from shouxie.plugins import detection
    data = detection.model_ensemble(n_models=3, n_boxes=200, seed=4)
    assert data["boxes"].shape == (3, 200, 4)
    ours, theirs = detection.wbf(**data), detection.ensemble_boxes_wbf(**data)
    assert_same((ours["boxes"], ours["scores"], ours["labels"]), (theirs["boxes"], theirs["scores"], theirs["labels"]))
    assert ours["num_boxes"] == theirs["num_boxes"] < 600
