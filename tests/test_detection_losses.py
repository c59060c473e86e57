import math

import numpy as np
import pytest

from shouxie.core import (
    focal_bias_init,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
    yolov3_loss,
    yolov3_targets,
)
from shouxie.core.detection_losses import YOLOV3_ANCHORS
from shouxie.plugins import detection as plugin

# ---------------------------------------------------------------------------------- focal loss


def torch_focal(x, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, written out in torch; returns loss and d(sum)/dx."""
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    p = torch.sigmoid(xt)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(xt, tt, reduction="none")
    p_t = p * tt + (1 - p) * (1 - tt)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * tt + (1 - alpha) * (1 - tt)) * loss
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("alpha", [0.25, 0.9, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.5])
def test_focal_loss_and_grad_equal_torch_autograd(alpha, gamma):
    rng = np.random.default_rng(0)
    x = rng.uniform(-15, 15, (40, 5))
    t = np.where(rng.random((40, 5)) < 0.3, 1.0, 0.0)
    t[0] = [0.1, 0.5, 0.9, 0.3, 0.7]  # soft targets too
    loss, grad = torch_focal(x, t, alpha, gamma)
    np.testing.assert_allclose(sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma), loss, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(sigmoid_focal_loss_grad(x, t, alpha=alpha, gamma=gamma), grad, rtol=1e-7, atol=1e-12)


def test_focal_reductions():
    rng = np.random.default_rng(1)
    x, t = rng.normal(0, 3, 50), (rng.random(50) < 0.5).astype(float)
    elementwise = sigmoid_focal_loss(x, t)
    assert sigmoid_focal_loss(x, t, reduction="sum") == pytest.approx(elementwise.sum())
    assert sigmoid_focal_loss(x, t, reduction="mean") == pytest.approx(elementwise.mean())
    assert math.isnan(sigmoid_focal_loss([], [], reduction="mean"))
    assert sigmoid_focal_loss([], [], reduction="sum") == 0.0
    assert sigmoid_focal_loss(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0, 3)


def test_focal_hand_computed():
    # x = 0: p = 1/2, CE = log 2, (1 - p_t)^2 = 1/4
    assert sigmoid_focal_loss([0.0], [1.0])[0] == pytest.approx(0.25 * math.log(2) / 4)
    assert sigmoid_focal_loss([0.0], [0.0])[0] == pytest.approx(0.75 * math.log(2) / 4)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_stable_at_large_logits(gamma):
    x = np.array([-100.0, 100.0, -100.0, 100.0, -700.0, 700.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    loss = sigmoid_focal_loss(x, t, gamma=gamma)
    grad = sigmoid_focal_loss_grad(x, t, gamma=gamma)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    # confidently wrong: p_t -> 0, so the loss is alpha_t * |x|
    np.testing.assert_allclose(loss[[0, 1, 4, 5]], [25.0, 75.0, 175.0, 525.0], rtol=1e-12)
    np.testing.assert_allclose(grad[[0, 1]], [-0.25, 0.75], rtol=1e-12)
    # confidently right: essentially zero, never negative
    assert (loss[[2, 3]] >= 0).all() and (loss[[2, 3]] < 1e-40).all()
    assert (np.abs(grad[[2, 3]]) < 1e-40).all()


def test_focal_grad_matches_numerical_gradient():
    rng = np.random.default_rng(2)
    x = rng.uniform(-6, 6, 30)
    t = rng.random(30)
    h = 1e-6
    numerical = (sigmoid_focal_loss(x + h, t, gamma=1.5) - sigmoid_focal_loss(x - h, t, gamma=1.5)) / (2 * h)
    np.testing.assert_allclose(sigmoid_focal_loss_grad(x, t, gamma=1.5), numerical, rtol=1e-6, atol=1e-9)


def test_focal_dtypes():
    x32, t32 = np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)
    assert sigmoid_focal_loss(x32, t32).dtype == np.float32
    assert sigmoid_focal_loss_grad(x32, t32).dtype == np.float32
    assert sigmoid_focal_loss(x32, t32.astype(np.float64)).dtype == np.float64
    assert sigmoid_focal_loss(np.zeros((4, 2))[::2].T, np.ones((2, 2))).shape == (2, 2)  # views


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(logits=[0.0, np.nan]), ValueError, "logits contains NaN"),
    (dict(targets=[0.0]), ValueError, "targets must have the shape of logits"),
    (dict(targets=[0.0, 1.5]), ValueError, r"targets must lie in \[0, 1\]"),
    (dict(alpha=1.5), ValueError, "alpha must be <= 1"),
    (dict(gamma=-1.0), ValueError, "gamma must be >= 0"),
    (dict(reduction="max"), ValueError, "reduction must be one of"),
])
def test_focal_bad_input(kwargs, error, match):
    args = dict(logits=[0.0, 1.0], targets=[0.0, 1.0]) | kwargs
    with pytest.raises(error, match=match):
        sigmoid_focal_loss(args.pop("logits"), args.pop("targets"), **args)


def test_focal_bias_init():
    b = focal_bias_init(0.01)
    assert b == pytest.approx(-math.log(99))
    assert 1 / (1 + math.exp(-b)) == pytest.approx(0.01)
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="prior"):
            focal_bias_init(bad)


def test_focal_op_matches_torch_reference():
    pytest.importorskip("torch")
    data = plugin.random_logits(200, 10, seed=4)
    ours = plugin.focal_loss(**data)["loss"]
    assert ours == pytest.approx(plugin.torch_sigmoid_focal_loss(**data)["loss"], rel=1e-6)


# -------------------------------------------------------------------------------------- YOLOv3

SMALL = dict(anchors=[[4, 4], [8, 6], [6, 12], [16, 16], [24, 20], [20, 40]],
             anchor_masks=[[3, 4, 5], [0, 1, 2]], strides=[16, 8])  # input 64: grids 4 and 8


def test_targets_of_a_single_box():
    # centre (208, 208), 116 x 90: exactly anchor 6, the first anchor of the stride-32 output
    targets = yolov3_targets([[150, 163, 266, 253]], [2], num_classes=3)
    assert [t["object_mask"].shape for t in targets] == [(1, 13, 13, 3), (1, 26, 26, 3), (1, 52, 52, 3)]
    assert [t["object_mask"].sum() for t in targets] == [1, 0, 0]
    t = targets[0]
    assert t["object_mask"][0, 6, 6, 0] == 1
    np.testing.assert_allclose(t["txy"][0, 6, 6, 0], [0.5, 0.5])
    np.testing.assert_allclose(t["twh"][0, 6, 6, 0], [0.0, 0.0], atol=1e-15)
    np.testing.assert_array_equal(t["class"][0, 6, 6, 0], [0, 0, 1])
    assert t["box_loss_scale"][0, 6, 6, 0] == pytest.approx(2 - 116 * 90 / 416 ** 2)


def test_targets_anchor_choice_cell_and_offsets():
    # a 20 x 30 box centred at (100, 50) of image 1: best (w, h) IoU is anchor 1 (16 x 30), stride 8
    targets = yolov3_targets([[90, 35, 110, 65]], [0], [1], batch_size=2, num_classes=1)
    t = targets[2]
    (b, row, col, k), = np.argwhere(t["object_mask"])
    assert (b, row, col, k) == (1, 6, 12, 1)  # 50 / 8 = 6.25 -> row 6; 100 / 8 = 12.5 -> column 12
    np.testing.assert_allclose(t["txy"][1, 6, 12, 1], [0.5, 0.25])
    np.testing.assert_allclose(t["twh"][1, 6, 12, 1], [math.log(20 / 16), 0.0], atol=1e-15)
    anchors = np.array(YOLOV3_ANCHORS, float)
    inter = np.minimum(20, anchors[:, 0]) * np.minimum(30, anchors[:, 1])
    assert np.argmax(inter / (600 + anchors.prod(1) - inter)) == 1


def perfect_outputs(targets, num_classes, big=40.0):
    """Raw outputs decoding exactly to the targets: conf and classes at +/- big."""
    outputs = []
    for t in targets:
        shape = t["object_mask"].shape
        raw = np.zeros(shape + (5 + num_classes,))
        txy = np.clip(t["txy"], 1e-12, 1 - 1e-12)
        raw[..., 0:2] = np.where(t["object_mask"][..., None] > 0, np.log(txy / (1 - txy)), 0)
        raw[..., 2:4] = t["twh"]
        raw[..., 4] = np.where(t["object_mask"] > 0, big, -big)
        raw[..., 5:] = np.where(t["class"] > 0, big, -big)
        outputs.append(raw)
    return outputs


def test_loss_of_perfect_predictions():
    boxes, classes = [[150, 163, 266, 253]], [2]
    targets = yolov3_targets(boxes, classes, num_classes=3)
    loss = yolov3_loss(perfect_outputs(targets, 3), boxes, classes)
    # a BCE against the soft target 1/2 cannot go below log 2: that is all that is left
    scale = 2 - 116 * 90 / 416 ** 2
    assert loss["xy"] == pytest.approx(2 * scale * math.log(2), rel=1e-12)
    assert loss["wh"] == pytest.approx(0.0, abs=1e-20)
    assert loss["confidence"] < 1e-12 and loss["class"] < 1e-12
    assert loss["total"] == pytest.approx(loss["xy"] + loss["wh"] + loss["confidence"] + loss["class"])


def test_loss_of_a_single_box_hand_computed():
    # all-zero outputs: every sigmoid is 1/2, every BCE is log 2; one box at anchor 6, cell (6, 6)
    outputs = [np.zeros((1, s, s, 3, 7)) for s in (13, 26, 52)]
    box = [[150, 163, 266, 253]]
    loss = yolov3_loss(outputs, box, [0], ignore_thresh=1.0)  # nothing ignored
    scale = 2 - 116 * 90 / 416 ** 2
    cells = 3 * (13 * 13 + 26 * 26 + 52 * 52)
    assert loss["xy"] == pytest.approx(2 * scale * math.log(2))
    assert loss["wh"] == pytest.approx(0.0)
    assert loss["confidence"] == pytest.approx(cells * math.log(2))
    assert loss["class"] == pytest.approx(2 * math.log(2))
    # with the default ignore threshold, predictions overlapping the box by > 0.5 are not background
    ignored = yolov3_loss(outputs, box, [0])["confidence"]
    assert ignored < loss["confidence"]
    assert (loss["confidence"] - ignored) / math.log(2) == pytest.approx(round((loss["confidence"] - ignored)
                                                                              / math.log(2)))


def test_loss_without_boxes_is_background_only():
    rng = np.random.default_rng(5)
    outputs = [rng.normal(size=(2, s, s, 3, 6)) for s in (4, 8)]
    loss = yolov3_loss(outputs, np.zeros((0, 4)), np.zeros(0, int), np.zeros(0, int), **SMALL)
    expected = sum(float((np.maximum(o[..., 4], 0) + np.log1p(np.exp(-abs(o[..., 4])))).sum()) for o in outputs) / 2
    assert loss["confidence"] == pytest.approx(expected)
    assert loss["xy"] == loss["wh"] == loss["class"] == 0


def test_loss_gradient_matches_numerical_gradient():
    rng = np.random.default_rng(6)
    outputs = [rng.normal(0, 0.7, (2, s, s, 3, 7)) for s in (4, 8)]
    boxes = [[5, 6, 30, 40], [30, 10, 50, 22], [12, 40, 20, 60], [40, 40, 63, 63]]
    classes, images = [0, 1, 1, 0], [0, 0, 1, 1]
    args = dict(ignore_thresh=0.5, **SMALL)
    result = yolov3_loss(outputs, boxes, classes, images, return_grad=True, **args)
    h = 1e-6
    for l, raw in enumerate(outputs):
        assert result["grad"][l].shape == raw.shape
        for flat in rng.choice(raw.size, 60, replace=False):
            idx = np.unravel_index(flat, raw.shape)
            plus, minus = [o.copy() for o in outputs], [o.copy() for o in outputs]
            plus[l][idx] += h
            minus[l][idx] -= h
            numerical = (yolov3_loss(plus, boxes, classes, images, **args)["total"]
                         - yolov3_loss(minus, boxes, classes, images, **args)["total"]) / (2 * h)
            assert result["grad"][l][idx] == pytest.approx(numerical, rel=1e-5, abs=1e-7)


def test_loss_op_and_data():
    data = plugin.yolov3_batch(batch_size=2, num_classes=3, input_size=64, seed=1)
    assert [data[f"output_{s}"].shape for s in (32, 16, 8)] == [(2, 2, 2, 3, 8), (2, 4, 4, 3, 8), (2, 8, 8, 3, 8)]
    loss = plugin.yolov3_loss(**data)
    assert set(loss) == {"xy", "wh", "confidence", "class", "total"}
    assert all(np.isfinite(v) and v >= 0 for v in loss.values())


@pytest.mark.parametrize("change, error, match", [
    (dict(boxes=[[10, 10, 10, 20]]), ValueError, "positive width and height"),
    (dict(boxes=[[70, 70, 90, 90]]), ValueError, "centres must lie inside"),
    (dict(boxes=[[0, 0, np.nan, 4]]), ValueError, "gt_boxes contains NaN"),
    (dict(classes=[5]), ValueError, r"gt_classes must be in \[0, 1\], got 5"),
    (dict(classes=[0.5]), TypeError, "gt_classes must be an integer array"),
    (dict(images=[3]), ValueError, r"image_index must be in \[0, 1\], got 3"),
    (dict(outputs_drop=True), ValueError, "outputs must hold 2 head outputs"),
    (dict(outputs_shape=(2, 8, 8, 2, 7)), ValueError, r"outputs\[1\] must have shape"),
    (dict(ignore=1.5), ValueError, "ignore_thresh must be <= 1"),
])
def test_yolo_bad_input(change, error, match):
    outputs = [np.zeros((2, s, s, 3, 7)) for s in (4, 8)]
    if change.get("outputs_drop"):
        outputs = outputs[:1]
    if "outputs_shape" in change:
        outputs[1] = np.zeros(change["outputs_shape"])
    with pytest.raises(error, match=match):
        yolov3_loss(outputs, change.get("boxes", [[10, 10, 20, 20]]), change.get("classes", [1]),
                    change.get("images", [0]), ignore_thresh=change.get("ignore", 0.5), **SMALL)


def test_yolo_config_validation():
    with pytest.raises(ValueError, match="every anchor exactly once"):
        yolov3_targets([[1, 1, 2, 2]], [0], num_classes=1, input_size=64, anchors=SMALL["anchors"],
                       anchor_masks=[[0, 1, 2], [0, 1, 2]], strides=[16, 8])
    with pytest.raises(ValueError, match="multiple of every stride"):
        yolov3_targets([[1, 1, 2, 2]], [0], num_classes=1, input_size=100)
