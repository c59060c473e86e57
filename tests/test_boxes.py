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
        ([[-1e300, -1e300, 1e300, 1e300]], ValueError, r"boxes1\[0\] is too large: its area overflows float64"),
        (np.array([[0, 0, 1e20, 1e20]], np.float32), ValueError, "area overflows float32"),
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


# ----------------------------------------------------------------- generalized / distance / complete IoU

from shouxie.core import complete_box_iou, distance_box_iou, generalized_box_iou  # noqa: E402

EPS = 1e-7


def plain_variants(a, b, eps=EPS):
    """GIoU, DIoU and CIoU of every pair, written from the papers one pair at a time."""
    n, m = len(a), len(b)
    giou, diou, ciou = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    iou = plain_iou(a, b)
    for i, (ax1, ay1, ax2, ay2) in enumerate(np.asarray(a, float)):
        for j, (bx1, by1, bx2, by2) in enumerate(np.asarray(b, float)):
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - iw * ih
            cw, ch = max(ax2, bx2) - min(ax1, bx1), max(ay2, by2) - min(ay1, by1)
            enclosing = cw * ch
            giou[i, j] = iou[i, j] - ((enclosing - union) / enclosing if enclosing > 0 else 0.0)
            d2 = ((ax1 + ax2) / 2 - (bx1 + bx2) / 2) ** 2 + ((ay1 + ay2) / 2 - (by1 + by2) / 2) ** 2
            diou[i, j] = iou[i, j] - d2 / (cw ** 2 + ch ** 2 + eps)
            v = 4 / np.pi ** 2 * (np.arctan2(ax2 - ax1, ay2 - ay1) - np.arctan2(bx2 - bx1, by2 - by1)) ** 2
            ciou[i, j] = diou[i, j] - v / (1 - iou[i, j] + v + eps) * v
    return {"giou": giou, "diou": diou, "ciou": ciou}


VARIANTS = {"giou": generalized_box_iou, "diou": distance_box_iou, "ciou": complete_box_iou}


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variants_match_plain_definition(name, dtype):
    rng = np.random.default_rng(3)
    a, b = random_boxes(rng, 23).astype(dtype), random_boxes(rng, 31).astype(dtype)
    got = VARIANTS[name](a, b)
    assert got.dtype == dtype and got.shape == (23, 31)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, plain_variants(a, b)[name], rtol=tol, atol=tol)


def test_variants_hand_computed():
    a, b = [[0, 0, 2, 2]], [[1, 1, 3, 3], [3, 0, 4, 2]]
    # enclosing box of the first pair is 3 x 3 = 9, union 7: GIoU = 1/7 - 2/9
    np.testing.assert_allclose(generalized_box_iou(a, b)[0, 0], 1 / 7 - 2 / 9)
    # disjoint pair: IoU 0, enclosing 4 x 2 = 8, union 6
    np.testing.assert_allclose(generalized_box_iou(a, b)[0, 1], -2 / 8)
    # centres (1, 1) and (2, 2): d² = 2; diagonal² = 9 + 9
    np.testing.assert_allclose(distance_box_iou(a, b)[0, 0], 1 / 7 - 2 / (18 + EPS))
    # same aspect ratio: v = 0 so CIoU = DIoU
    np.testing.assert_allclose(complete_box_iou(a, b)[0, 0], distance_box_iou(a, b)[0, 0])


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_of_degenerate_boxes_are_finite(name):
    boxes = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 5], [0, 0, 5, 0], [2, 2, 4, 4]], np.float32)
    got = VARIANTS[name](boxes, boxes)
    assert np.isfinite(got).all()
    assert got[0, 1] == 0  # two identical points: no overlap, no distance, no aspect difference
    assert ((got >= -1 - 1e-6) & (got <= 1 + 1e-6)).all()


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_identical_boxes_give_one(name):
    boxes = np.array([[0, 0, 3, 1], [2, 2, 4, 9]])
    np.testing.assert_allclose(np.diag(VARIANTS[name](boxes, boxes)), 1.0)


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_empty_and_views(name):
    f = VARIANTS[name]
    assert f(np.zeros((0, 4)), np.zeros((2, 4))).shape == (0, 2)
    big = random_boxes(np.random.default_rng(4), 30)
    np.testing.assert_allclose(f(big[::-2], np.asfortranarray(big[1::3])), f(big[::-2].copy(), big[1::3].copy()))


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("boxes, match", [([[0, 0, np.nan, 1]], "boxes2 contains NaN"),
                                          ([[2, 0, 1, 1]], r"boxes2\[0\] has x2 < x1"),
                                          (np.zeros((2, 3)), r"boxes2 must have shape \(N, 4\)")])
def test_variants_bad_input(name, boxes, match):
    with pytest.raises(ValueError, match=match):
        VARIANTS[name](np.zeros((1, 4)), boxes)


@pytest.mark.parametrize("f", [distance_box_iou, complete_box_iou])
@pytest.mark.parametrize("eps, error", [(0, ValueError), (-1e-7, ValueError), ("1", TypeError)])
def test_eps_must_be_positive(f, eps, error):
    with pytest.raises(error, match="eps"):
        f(np.zeros((1, 4)), np.zeros((1, 4)), eps=eps)


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_equal_torchvision(name):
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(5)
    a, b = random_boxes(rng, 30).astype(np.float32), random_boxes(rng, 20).astype(np.float32)
    expected = getattr(ops, VARIANTS[name].__name__)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(VARIANTS[name](a, b), expected, rtol=1e-5, atol=1e-6)


def test_parallel_path_matches_serial_rows():
    # 4100 x 4100 pairs is above the kernels' threading threshold; rows computed alone are serial
    rng = np.random.default_rng(6)
    a, b = random_boxes(rng, 4100).astype(np.float32), random_boxes(rng, 4100).astype(np.float32)
    for f in (box_iou, generalized_box_iou):
        full = f(a, b)
        np.testing.assert_array_equal(full[::97], f(a[::97], b))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 5), st.just(4)), elements=st.floats(0, 20, allow_nan=False)),
       arrays(np.float64, st.tuples(st.integers(0, 5), st.just(4)), elements=st.floats(0, 20, allow_nan=False)))
def test_variants_fuzz_against_definition(a, b):
    a = np.concatenate([np.minimum(a[:, :2], a[:, 2:]), np.maximum(a[:, :2], a[:, 2:])], axis=1)
    b = np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], axis=1)
    expected = plain_variants(a, b)
    for name, f in VARIANTS.items():
        got = f(a, b)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, expected[name], rtol=1e-9, atol=1e-9)
