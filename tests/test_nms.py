import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouxie.core import batched_nms, nms, nms_detections, soft_nms
from shouxie.plugins import detection as plugin


def pair_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def plain_nms(boxes, scores, thr):
    """Greedy NMS from the definition: visit by score (lower index first), keep unless IoU > thr."""
    boxes = np.asarray(boxes, float)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(pair_iou(boxes[i], boxes[k]) <= thr for k in keep):
            keep.append(i)
    return keep


def plain_soft_nms(boxes, scores, method, sigma, thr, score_thr):
    """Soft-NMS from Bodla et al., one box at a time."""
    boxes = np.asarray(boxes, float)
    live = {i: float(s) for i, s in enumerate(scores) if s >= score_thr}
    indices, out = [], []
    while live:
        best = min(live, key=lambda i: (-live[i], i))
        indices.append(best)
        out.append(live.pop(best))
        for j in list(live):
            iou = pair_iou(boxes[best], boxes[j])
            if method == "gaussian":
                live[j] *= math.exp(-(iou * iou) / sigma)
            elif iou > thr:
                live[j] = live[j] * (1 - iou) if method == "linear" else -1.0
            if live[j] < score_thr:
                del live[j]
    return indices, out


def random_case(seed, n, clustered=False):
    d = plugin.random_boxes(n, image_size=100, num_classes=4, seed=seed,
                            mode="clustered" if clustered else "uniform", boxes_per_object=5)
    return d["boxes"], d["scores"], d["classes"]


# ------------------------------------------------------------------------------------------ nms


def test_nms_hand_computed():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]]
    scores = [0.9, 0.8, 0.7, 0.95]
    # box 3 (best) overlaps box 0 with IoU 0.9 and box 1 with IoU 72 / 118 > 0.5
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [3, 2])
    np.testing.assert_array_equal(nms(boxes, scores, 0.95), [3, 0, 1, 2])


def test_nms_suppresses_only_strictly_above_threshold():
    boxes = [[0, 0, 2, 1], [0, 0, 1, 1]]  # IoU exactly 0.5
    assert nms(boxes, [0.9, 0.8], 0.5).tolist() == [0, 1]
    assert nms(boxes, [0.9, 0.8], 0.49).tolist() == [0]
    assert nms(boxes, [0.9, 0.8], 0.0).tolist() == [0]
    assert nms(boxes, [0.9, 0.8], 1.0).tolist() == [0, 1]


def test_nms_equal_scores_lower_index_first():
    boxes = [[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [9, 9, 10, 10]]
    assert nms(boxes, [0.5, 0.5, 0.5, 0.5], 0.5).tolist() == [0, 1, 3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_score_order_ties_signed_zeros_and_negatives(dtype):
    rng = np.random.default_rng(11)
    scores = rng.choice(np.array([-2.5, -0.0, 0.0, 0.25, 0.25, 1e-40, 3e38], dtype), 60)
    boxes = np.repeat([[0, 0, 1, 1]], 60, axis=0) + 2 * np.arange(60)[:, None]  # disjoint: all kept
    expected = sorted(range(60), key=lambda i: (-float(scores[i]), i))
    assert nms(boxes, scores, 0.5).tolist() == expected
    classes = rng.integers(-3, 3, 60)
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == expected


def test_nms_degenerate_boxes_never_suppress():
    boxes = [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 2]]
    assert nms(boxes, [0.9, 0.8, 0.7], 0.0).tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("clustered", [False, True])
def test_nms_matches_plain_definition(dtype, clustered):
    boxes, scores, _ = random_case(1, 300, clustered)
    boxes = (boxes * (10 if dtype == np.int64 else 1)).astype(dtype)
    got = nms(boxes, scores, 0.4)
    assert got.dtype == np.int64
    assert got.tolist() == plain_nms(boxes, scores, 0.4)


def test_nms_matches_opencv():
    pytest.importorskip("cv2")
    boxes, scores, _ = random_case(2, 500)
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), plugin.cv2_nms_boxes(boxes, scores, 0.5)["keep"])


def test_nms_matches_torchvision():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    for clustered in (False, True):
        boxes, scores, _ = random_case(3, 2000, clustered)
        expected = ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).numpy()
        np.testing.assert_array_equal(nms(boxes, scores, 0.5), expected)


def test_nms_empty_and_views():
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).dtype == np.int64
    boxes, scores, _ = random_case(4, 200)
    np.testing.assert_array_equal(nms(np.asfortranarray(boxes[::-1]), scores[::-1], 0.3),
                                  nms(boxes[::-1].copy(), scores[::-1].copy(), 0.3))


BAD = [
    (dict(boxes=np.zeros((2, 3))), ValueError, r"boxes must have shape \(N, 4\)"),
    (dict(boxes=[[0, 0, np.inf, 1], [0, 0, 1, 1]]), ValueError, "boxes contains NaN or infinity"),
    (dict(boxes=[[0, 0, 1, 1], [3, 0, 1, 1]]), ValueError, r"boxes\[1\] has x2 < x1"),
    (dict(scores=[0.5, np.nan]), ValueError, "scores contains NaN"),
    (dict(scores=[0.5]), ValueError, "scores must have one entry per box"),
    (dict(scores=[[0.5, 0.4]]), ValueError, "scores must be 1-D"),
    (dict(iou_threshold=1.5), ValueError, "iou_threshold must be <= 1"),
    (dict(iou_threshold=-0.1), ValueError, "iou_threshold must be >= 0"),
    (dict(iou_threshold=float("nan")), ValueError, "iou_threshold must be finite"),
    (dict(iou_threshold="0.5"), TypeError, "iou_threshold must be a real number"),
]


@pytest.mark.parametrize("f", ["nms", "batched_nms", "soft_nms"])
@pytest.mark.parametrize("override, error, match", BAD)
def test_bad_input(f, override, error, match):
    args = dict(boxes=[[0, 0, 1, 1], [0, 0, 2, 2]], scores=[0.5, 0.4], iou_threshold=0.5) | override
    with pytest.raises(error, match=match):
        if f == "nms":
            nms(**args)
        elif f == "batched_nms":
            batched_nms(args["boxes"], args["scores"], [0, 1], args["iou_threshold"])
        else:
            soft_nms(args["boxes"], args["scores"], method="linear", iou_threshold=args["iou_threshold"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 4), st.integers(0, 4),
                          st.integers(0, 3)), max_size=12),
       st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_nms_fuzz(rows, thr):
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in rows], float).reshape(-1, 4)
    scores = np.array([s for *_, s in rows], float)  # few distinct scores: ties are common
    assert nms(boxes, scores, thr).tolist() == plain_nms(boxes, scores, thr)


# ---------------------------------------------------------------------------------- batched nms


def plain_batched(boxes, scores, classes, thr):
    kept = []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        kept += [int(idx[k]) for k in plain_nms(boxes[idx], scores[idx], thr)]
    return sorted(kept, key=lambda i: (-scores[i], i))


@pytest.mark.parametrize("clustered", [False, True])
def test_batched_nms_matches_per_class_definition(clustered):
    boxes, scores, classes = random_case(5, 400, clustered)
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == plain_batched(boxes, scores, classes, 0.5)


def test_batched_nms_classes_never_suppress_each_other():
    boxes = [[0, 0, 1, 1]] * 3
    assert batched_nms(boxes, [0.3, 0.9, 0.5], [7, -2, 7], 0.5).tolist() == [1, 2]


def test_batched_nms_matches_torchvision():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    boxes, scores, classes = random_case(6, 3000, True)
    expected = ops.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), 0.5)
    np.testing.assert_array_equal(batched_nms(boxes, scores, classes, 0.5), expected.numpy())


def test_batched_nms_classes_validation_and_empty():
    assert batched_nms(np.zeros((0, 4)), [], np.zeros(0, int), 0.5).shape == (0,)
    assert batched_nms([[0, 0, 1, 1]], [1.0], [2.0], 0.5).tolist() == [0]  # integral floats are fine
    with pytest.raises(ValueError, match="classes must hold integer values"):
        batched_nms([[0, 0, 1, 1]], [1.0], [0.5], 0.5)
    with pytest.raises(ValueError, match=r"classes must have shape \(1,\)"):
        batched_nms([[0, 0, 1, 1]], [1.0], [0, 1], 0.5)
    with pytest.raises(TypeError, match="classes must be an integer array"):
        batched_nms([[0, 0, 1, 1]], [1.0], ["a"], 0.5)


def test_nms_detections_layout():
    dets = np.array([[0, 0, 10, 10, 0.9, 1], [1, 1, 10, 10, 0.8, 1], [1, 1, 10, 10, 0.85, 2],
                     [50, 50, 60, 60, 0.1, 1]], np.float32)
    kept = nms_detections(dets, 0.5)
    assert kept.dtype == np.float32
    np.testing.assert_array_equal(kept, dets[[0, 2, 3]])
    assert nms_detections(np.zeros((0, 6)), 0.5).shape == (0, 6)
    with pytest.raises(ValueError, match=r"dets must have shape \(N, 6\)"):
        nms_detections(np.zeros((3, 5)), 0.5)


# ------------------------------------------------------------------------------------- soft-nms


@pytest.mark.parametrize("method, sigma", [("gaussian", 0.5), ("gaussian", 0.05), ("gaussian", 0.002),
                                           ("linear", 0.5), ("hard", 0.5)])
@pytest.mark.parametrize("clustered", [False, True])
def test_soft_nms_matches_plain_definition(method, sigma, clustered):
    boxes, scores, _ = random_case(7, 250, clustered)
    indices, decayed = soft_nms(boxes, scores, method=method, sigma=sigma, iou_threshold=0.3, score_threshold=0.01)
    exp_idx, exp_scores = plain_soft_nms(boxes, scores, method, sigma, 0.3, 0.01)
    assert indices.tolist() == exp_idx
    assert decayed.dtype == np.float32
    np.testing.assert_allclose(decayed, exp_scores, rtol=1e-6)
    assert (np.diff(decayed) <= 0).all()


@pytest.mark.parametrize("sigma", [0.5, 0.25, 0.3, 2.0 ** -10, 0.001])
@pytest.mark.parametrize("mode", ["uniform", "clustered"])
def test_soft_nms_many_boxes_matches_numpy_reference(sigma, mode):
    # enough boxes for several bands, padded groups and repeated compaction; power-of-two sigmas
    # multiply by 1 / sigma, the others divide, and 1 / sigma > 512 guards exp against underflow
    d = plugin.random_boxes(2000, image_size=300, seed=3, mode=mode)
    indices, decayed = soft_nms(d["boxes"], d["scores"], method="gaussian", sigma=sigma)
    ref = plugin.numpy_soft_nms(d["boxes"], d["scores"], method="gaussian", sigma=sigma)
    np.testing.assert_array_equal(indices, ref["indices"])
    np.testing.assert_allclose(decayed, ref["scores"], rtol=1e-12)


def test_soft_nms_hand_computed():
    boxes = [[0, 0, 2, 2], [1, 1, 3, 3], [10, 10, 11, 11]]  # IoU(0, 1) = 1/7
    idx, s = soft_nms(boxes, [0.9, 0.8, 0.5], method="gaussian", sigma=0.5)
    assert idx.tolist() == [0, 1, 2]
    np.testing.assert_allclose(s, [0.9, 0.8 * math.exp(-(1 / 49) / 0.5), 0.5])
    idx, s = soft_nms(boxes, [0.9, 0.8, 0.5], method="linear", iou_threshold=0.1)
    np.testing.assert_allclose(s, [0.9, 0.8 * (1 - 1 / 7), 0.5])
    idx, s = soft_nms(boxes, [0.9, 0.8, 0.5], method="hard", iou_threshold=0.1)
    assert idx.tolist() == [0, 2]


def test_soft_nms_hard_equals_nms():
    boxes, scores, _ = random_case(8, 400, True)
    idx, _ = soft_nms(boxes, scores, method="hard", iou_threshold=0.5, score_threshold=0.0)
    np.testing.assert_array_equal(idx, nms(boxes, scores, 0.5))


def test_soft_nms_score_threshold_drops_low_boxes():
    idx, s = soft_nms([[0, 0, 1, 1], [5, 5, 6, 6]], [0.9, 0.0005])
    assert idx.tolist() == [0] and s.dtype == np.float64


def test_soft_nms_agrees_with_numpy_reference_op():
    boxes, scores, _ = random_case(9, 600, True)
    for method in ("gaussian", "linear", "hard"):
        ours = plugin.soft_nms(boxes, scores, method=method)
        ref = plugin.numpy_soft_nms(boxes, scores, method=method)
        np.testing.assert_array_equal(ours["indices"], ref["indices"])
        np.testing.assert_allclose(ours["scores"], ref["scores"], rtol=1e-6)


def test_soft_nms_empty_and_parameters():
    idx, s = soft_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert idx.shape == (0,) and s.shape == (0,) and s.dtype == np.float32
    with pytest.raises(ValueError, match="method must be one of"):
        soft_nms([[0, 0, 1, 1]], [1.0], method="cosine")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        soft_nms([[0, 0, 1, 1]], [1.0], sigma=0)
    with pytest.raises(ValueError, match="score_threshold must be <= 1"):
        soft_nms([[0, 0, 1, 1]], [1.0], score_threshold=2)


def test_soft_nms_tiny_sigma_underflows_to_zero_not_nan():
    boxes = [[0, 0, 2, 2], [0, 0, 2, 2.1]]
    idx, s = soft_nms(boxes, [0.9, 0.8], sigma=1e-6, score_threshold=0.0)
    assert idx.tolist() == [0, 1]
    np.testing.assert_array_equal(s, [0.9, 0.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 4), st.integers(0, 4),
                          st.integers(0, 4)), max_size=12),
       st.sampled_from(["gaussian", "linear", "hard"]))
def test_soft_nms_fuzz(rows, method):
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in rows], float).reshape(-1, 4)
    scores = np.array([s / 4 for *_, s in rows], float)
    idx, s = soft_nms(boxes, scores, method=method, sigma=0.5, iou_threshold=0.3, score_threshold=0.1)
    exp_idx, exp_scores = plain_soft_nms(boxes, scores, method, 0.5, 0.3, 0.1)
    assert idx.tolist() == exp_idx
    np.testing.assert_allclose(s, exp_scores, rtol=1e-12)


# ---------------------------------------------------------------------------- ops and references


def test_reference_ops_agree(pm):
    from shouxie.plugins.manager import collect_ops

    ops = collect_ops(pm)
    data = ops.get("data.random_boxes")(n=800, image_size=200, seed=1, mode="clustered")
    args = dict(boxes=data["boxes"], scores=data["scores"], iou_threshold=0.5)
    ours = ops.get("detection.nms")(**args)
    assert ours["keep"].tolist() == ops.get("ref.numpy_nms")(**args)["keep"].tolist()
    assert ours["num_kept"] == len(ours["keep"])
    b_ours = ops.get("detection.batched_nms")(classes=data["classes"], **args)["keep"]
    b_ref = ops.get("ref.numpy_batched_nms")(classes=data["classes"], **args)["keep"]
    np.testing.assert_array_equal(b_ours, b_ref)


def test_random_boxes_modes():
    u = plugin.random_boxes(500, seed=3)
    c = plugin.random_boxes(500, seed=3, mode="clustered")
    assert c["boxes"].dtype == np.float32 and c["classes"].dtype == np.int64
    assert len(nms(c["boxes"], c["scores"], 0.5)) < len(nms(u["boxes"], u["scores"], 0.5))
    np.testing.assert_array_equal(plugin.random_boxes(50, seed=3, mode="clustered")["boxes"],
                                  plugin.random_boxes(50, seed=3, mode="clustered")["boxes"])
    with pytest.raises(ValueError, match="mode must be"):
        plugin.random_boxes(5, mode="gaussian")


def test_torchvision_refs_explain_missing_dependency():
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs torchvision"):
            plugin.torchvision_nms(np.zeros((1, 4)), np.ones(1), 0.5)
    else:
        assert plugin.torchvision_nms(np.zeros((1, 4), np.float32), np.ones(1, np.float32), 0.5)["num_kept"] == 1
