import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shouxie.core import box_iou


def plain_iou(a, b):
    """IoU written straight from the definition, one pair at a time."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(np.asarray(a, float)):
        for j, (bx1, by1, bx2, by2) in enumerate(np.asarray(b, float)):
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def random_boxes(rng, n, size=100.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(0, size / 3, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def test_hand_computed():
    a = [[0, 0, 2, 2]]
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [2, 2, 4, 4], [0, 0, 1, 1]]
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 1.0, 0.0, 0.25]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_plain_definition(dtype):
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 37).astype(dtype), random_boxes(rng, 53).astype(dtype)
    got = box_iou(a, b)
    assert got.dtype == dtype and got.shape == (37, 53)
    np.testing.assert_allclose(got, plain_iou(a, b), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)


def test_dtype_promotion():
    f32 = np.zeros((1, 4), np.float32)
    assert box_iou(f32, f32).dtype == np.float32
    assert box_iou(f32, f32.astype(np.float64)).dtype == np.float64
    assert box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]]).dtype == np.float64  # int lists -> float64


def test_degenerate_boxes_give_zero_not_nan():
    points = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 5]], np.float32)
    got = box_iou(points, points)
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(got, 0)


def test_empty_inputs_give_empty_outputs():
    assert box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert box_iou(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)


def test_non_contiguous_and_negative_stride_views():
    rng = np.random.default_rng(1)
    big = random_boxes(rng, 40)
    a = np.asfortranarray(big[::2])
    b = big[::-3]
    np.testing.assert_allclose(box_iou(a, b), plain_iou(a, b), rtol=1e-12)


@pytest.mark.parametrize(
    "boxes, error, match",
    [
        (np.zeros((3, 5)), ValueError, r"boxes1 must have shape \(N, 4\)"),
        (np.zeros(4), ValueError, r"boxes1 must have shape \(N, 4\)"),
        ([[0, 0, np.nan, 1]], ValueError, "boxes1 contains NaN"),
        ([[0, 0, np.inf, 1]], ValueError, "boxes1 contains NaN or infinity"),
        ([[2, 0, 1, 1]], ValueError, r"boxes1\[0\] has x2 < x1"),
        (np.array([["a", "b", "c", "d"]]), TypeError, "boxes1 must be a real numeric array"),
        (np.zeros((1, 4), complex), TypeError, "boxes1 must be a real numeric array"),
    ],
)
def test_bad_input(boxes, error, match):
    with pytest.raises(error, match=match):
        box_iou(boxes, np.zeros((1, 4)))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 6), st.just(4)),
              elements=st.floats(0, 50, allow_nan=False)),
       arrays(np.float64, st.tuples(st.integers(0, 6), st.just(4)),
              elements=st.floats(0, 50, allow_nan=False)))
def test_fuzz_against_definition(a, b):
    a = np.concatenate([np.minimum(a[:, :2], a[:, 2:]), np.maximum(a[:, :2], a[:, 2:])], axis=1)
    b = np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], axis=1)
    got = box_iou(a, b)
    np.testing.assert_allclose(got, plain_iou(a, b), rtol=1e-9, atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()


def test_equals_torchvision():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(2)
    a, b = random_boxes(rng, 30).astype(np.float32), random_boxes(rng, 20).astype(np.float32)
    expected = ops.box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(box_iou(a, b), expected, rtol=1e-5, atol=1e-6)
