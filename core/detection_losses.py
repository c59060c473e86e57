"""Detection losses: sigmoid focal loss (with its gradient) and the YOLOv3 loss.

The focal loss runs in a compiled elementwise kernel (:mod:`._detection_losses`); the YOLOv3
loss is numpy. Everything is computed in float64 with overflow-free formulas (``log1p(exp(-|x|))``, sigmoids
that never exponentiate a positive number), so logits of any finite size, ±100 included, give
finite losses and gradients.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _detection_losses
from ._validation import (allocation, choice, common_float_dtype, float_array, integer, label_array, real_number,
                          sequence)
from .boxes import box_iou

REDUCTIONS = ("none", "mean", "sum")

#: YOLOv3's nine COCO anchors (width, height) in pixels of a 416 x 416 input.
YOLOV3_ANCHORS = ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119), (116, 90), (156, 198), (373, 326))
#: Anchors used by each head output: the first (coarsest, stride 32) takes the largest three.
YOLOV3_ANCHOR_MASKS = ((6, 7, 8), (3, 4, 5), (0, 1, 2))
#: Stride of each head output: a grid of input_size / stride cells.
YOLOV3_STRIDES = (32, 16, 8)


# ------------------------------------------------------------------------- shared primitives


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _bce_with_logits(targets: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Elementwise binary cross-entropy of sigmoid(logits) against targets, stable."""
    return np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))


# ------------------------------------------------------------------------------- focal loss


def _focal_inputs(logits, targets, alpha, gamma):
    x = float_array(logits, "logits")
    t = float_array(targets, "targets")
    if t.shape != x.shape:
        raise ValueError(f"targets must have the shape of logits {x.shape}, got {t.shape}")
    if t.size and ((t < 0) | (t > 1)).any():
        raise ValueError("targets must lie in [0, 1]")
    alpha = real_number(alpha, "alpha", high=1.0)
    gamma = real_number(gamma, "gamma", low=0.0)
    dtype = common_float_dtype(x, t)
    return x.astype(dtype, copy=False), t.astype(dtype, copy=False), alpha, gamma, dtype


def sigmoid_focal_loss(logits: ArrayLike, targets: ArrayLike, *, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> NDArray[np.floating] | float:
    """Sigmoid focal loss (Lin et al. 2017), equal to ``torchvision.ops.sigmoid_focal_loss``.

    ``FL = alpha_t (1 - p_t)**gamma BCE(sigmoid(logits), targets)`` elementwise, with
    ``p_t = p t + (1 - p)(1 - t)`` and ``alpha_t = alpha t + (1 - alpha)(1 - t)``.

    Parameters
    ----------
    logits : array_like, any shape
        Raw scores; finite.
    targets : array_like, same shape
        Labels in [0, 1] (0/1, or soft).
    alpha : float <= 1
        Weight of positives; a negative value (torchvision uses -1) disables the weighting.
    gamma : float >= 0
        Focusing exponent; 0 gives the (alpha-weighted) cross-entropy.
    reduction : {"none", "mean", "sum"}
        ``"none"`` returns the elementwise loss; ``"mean"`` of an empty input is NaN, as in
        torch.

    Returns
    -------
    loss : ndarray (shape of logits) or float
        float32 when both inputs are float32, float64 otherwise.
    """
    x, t, alpha, gamma, dtype = _focal_inputs(logits, targets, alpha, gamma)
    reduction = choice(reduction, "reduction", REDUCTIONS)
    loss = np.empty(x.size, dtype=dtype if reduction == "none" else np.float64)
    _detection_losses.sigmoid_focal_loss(x.ravel(), t.ravel(), alpha, gamma, False, loss)
    if reduction == "sum":
        return float(loss.sum())
    if reduction == "mean":
        return float(loss.mean()) if x.size else math.nan
    return loss.reshape(x.shape)


def sigmoid_focal_loss_grad(logits: ArrayLike, targets: ArrayLike, *, alpha: float = 0.25,
                            gamma: float = 2.0) -> NDArray[np.floating]:
    """Gradient of the elementwise sigmoid focal loss with respect to the logits.

    With ``p = sigmoid(x)``, ``q = 1 - p`` and ``m = 1 - p_t = p (1 - t) + q t``::

        dFL/dx = alpha_t [ (p - t) m**gamma + gamma m**gamma (p q / m) (1 - 2 t) CE ]

    ``p q / m`` is evaluated as such only where ``m > 0``; where ``m`` underflows to 0 (then
    ``t`` is 0 or 1) it is its limit ``p t + q (1 - t)``, so ``gamma < 1`` never gives NaN.

    Parameters
    ----------
    logits, targets, alpha, gamma
        As in :func:`sigmoid_focal_loss`.

    Returns
    -------
    grad : ndarray, shape of logits
        float32 when both inputs are float32, float64 otherwise. The gradient of a reduction
        is this array (``"sum"``) or this array divided by its size (``"mean"``).
    """
    x, t, alpha, gamma, dtype = _focal_inputs(logits, targets, alpha, gamma)
    grad = np.empty(x.size, dtype=dtype)
    _detection_losses.sigmoid_focal_loss(x.ravel(), t.ravel(), alpha, gamma, True, grad)
    return grad.reshape(x.shape)


def focal_bias_init(prior: float = 0.01) -> float:
    """Bias of a classification head's last layer so that it initially predicts ``prior``.

    ``b = -log((1 - prior) / prior)``, i.e. ``sigmoid(b) == prior`` (RetinaNet: prior 0.01,
    b ≈ -4.595).

    Parameters
    ----------
    prior : float in (0, 1)
        Initial foreground probability.
    """
    prior = real_number(prior, "prior", low=0.0, high=1.0, low_open=True, high_open=True)
    return math.log(prior) - math.log1p(-prior)   # not log((1 - p) / p): 1 / p overflows for tiny p


# ------------------------------------------------------------------------------------ YOLOv3


def _yolo_config(anchors: ArrayLike, anchor_masks: Sequence[Sequence[int]], strides: Sequence[int]
                 ) -> tuple[NDArray[np.float64], list[tuple[int, ...]], tuple[int, ...]]:
    a = float_array(anchors, "anchors")
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] == 0 or (a <= 0).any():
        raise ValueError(f"anchors must be a (K, 2) array of positive widths and heights, got {a.shape}")
    masks = [tuple(integer(k, "anchor_masks entry", low=0, high=a.shape[0] - 1) for k in mask)
             for mask in anchor_masks]
    strides = tuple(integer(s, "strides entry", low=1) for s in strides)
    if len(masks) != len(strides) or not masks:
        raise ValueError(f"anchor_masks and strides must have one entry per head output, "
                         f"got {len(masks)} and {len(strides)}")
    flat = [k for mask in masks for k in mask]
    if sorted(flat) != list(range(a.shape[0])):
        raise ValueError("anchor_masks must use every anchor exactly once")
    return a.astype(np.float64), masks, strides


def _yolo_ground_truth(gt_boxes, gt_classes, image_index, batch_size, num_classes, input_size):
    boxes = float_array(gt_boxes, "gt_boxes").astype(np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"gt_boxes must have shape (G, 4), got {boxes.shape}")
    g = boxes.shape[0]
    classes = label_array(gt_classes, "gt_classes", g, bound=num_classes)
    images = (np.zeros(g, dtype=np.int64) if image_index is None
              else label_array(image_index, "image_index", g, bound=batch_size))
    wh = boxes[:, 2:] - boxes[:, :2]
    if (wh <= 0).any():
        raise ValueError("gt_boxes must have x2 > x1 and y2 > y1 (positive width and height)")
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    if ((centre < 0) | (centre > input_size)).any():
        raise ValueError(f"gt_boxes centres must lie inside the {input_size} x {input_size} input")
    return centre, wh, classes, images


def _best_anchor(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Index of the anchor whose (w, h) has the highest IoU with each box's (w, h), both centred."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    union = wh[:, None, 0] * wh[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter
    return np.argmax(inter / union, axis=1)


def yolov3_targets(gt_boxes: ArrayLike, gt_classes: ArrayLike, image_index: ArrayLike | None = None, *,
                   batch_size: int = 1, num_classes: int,
                   input_size: int = 416, anchors: ArrayLike = YOLOV3_ANCHORS,
                   anchor_masks: Sequence[Sequence[int]] = YOLOV3_ANCHOR_MASKS,
                   strides: Sequence[int] = YOLOV3_STRIDES) -> list[dict[str, NDArray[Any]]]:
    """Training targets of the YOLOv3 head outputs from ground-truth boxes.

    Conventions (those of the Keras implementation the notes quote): the input is a square
    ``input_size`` image (a multiple of every stride); head output ``l`` is a grid of
    ``S = input_size / strides[l]`` cells with the anchors ``anchor_masks[l]``, laid out
    (N, S, S, A, 5 + C) with axis 1 the row (y) and axis 2 the column (x). Each box goes to
    the single anchor (over all nine) whose (w, h) IoU with it is highest (first on ties), in
    the cell holding its centre (clamped to the grid). If two boxes land on the same cell and
    anchor, the later one wins.

    Parameters
    ----------
    gt_boxes : array_like, shape (G, 4)
        Boxes ``x1, y1, x2, y2`` in input pixels, positive size, centre inside the input.
    gt_classes : array_like of int, shape (G,)
        Class of each box, in ``[0, num_classes)``.
    image_index : array_like of int, shape (G,), optional
        Image of the batch each box belongs to (default: all image 0).
    batch_size, num_classes, input_size : int
        N, C and the input side.
    anchors : array_like, shape (K, 2)
        Anchor (w, h) in input pixels.
    anchor_masks : sequence of sequences of int
        Anchors of each head output; together they use every anchor once.
    strides : sequence of int
        Stride of each head output.

    Returns
    -------
    targets : list of dict, one per head output, each with
        ``object_mask`` (N, S, S, A) 1 where a box is assigned; ``txy`` (N, S, S, A, 2) centre
        offset inside the cell in [0, 1]; ``twh`` (N, S, S, A, 2) ``log(w / anchor_w)``,
        ``log(h / anchor_h)``; ``class`` (N, S, S, A, C) one-hot; ``box_loss_scale``
        (N, S, S, A) ``2 - w h / input_size²``. All float64, zero where nothing is assigned.
    """
    batch_size = integer(batch_size, "batch_size", low=1)
    num_classes = integer(num_classes, "num_classes", low=1)
    input_size = integer(input_size, "input_size", low=1)
    anchors, masks, strides = _yolo_config(anchors, anchor_masks, strides)
    for s in strides:
        if input_size % s:
            raise ValueError(f"input_size {input_size} must be a multiple of every stride {strides}")
    centre, wh, classes, images = _yolo_ground_truth(gt_boxes, gt_classes, image_index, batch_size,
                                                     num_classes, input_size)
    cells = sum(batch_size * (input_size // s) ** 2 * len(m) for m, s in zip(masks, strides))
    allocation(cells * (6 + num_classes) * 8,
               f"batch_size={batch_size}, num_classes={num_classes}, input_size={input_size}: the targets")
    best = _best_anchor(wh, anchors)
    targets = []
    for mask, stride in zip(masks, strides):
        size = input_size // stride
        shape = (batch_size, size, size, len(mask))
        t = {"object_mask": np.zeros(shape), "txy": np.zeros(shape + (2,)), "twh": np.zeros(shape + (2,)),
             "class": np.zeros(shape + (num_classes,)), "box_loss_scale": np.zeros(shape)}
        for g in np.flatnonzero(np.isin(best, mask)):
            k = mask.index(int(best[g]))
            grid = centre[g] / stride                       # centre in cells
            col, row = np.minimum(np.floor(grid), size - 1).astype(np.int64)
            at = (images[g], row, col, k)
            t["object_mask"][at] = 1
            t["txy"][at] = grid - (col, row)
            t["twh"][at] = np.log(wh[g] / anchors[best[g]])
            t["class"][at] = 0
            t["class"][at + (classes[g],)] = 1
            t["box_loss_scale"][at] = 2 - wh[g, 0] * wh[g, 1] / input_size ** 2
        targets.append(t)
    return targets


def yolov3_loss(outputs: Sequence[ArrayLike], gt_boxes: ArrayLike, gt_classes: ArrayLike,
                image_index: ArrayLike | None = None, *, ignore_thresh: float = 0.5,
                anchors: ArrayLike = YOLOV3_ANCHORS, anchor_masks: Sequence[Sequence[int]] = YOLOV3_ANCHOR_MASKS,
                strides: Sequence[int] = YOLOV3_STRIDES, return_grad: bool = False) -> dict[str, Any]:
    """The YOLOv3 loss from raw head outputs and ground-truth boxes (the notes' Keras loss, whole).

    Targets are built by :func:`yolov3_targets` (conventions there); ``input_size`` is
    ``S * stride`` of the outputs. Per head output, with ``obj`` the object mask and
    ``scale = 2 - w h`` (normalised box size)::

        xy         = sum obj scale BCE(txy, raw[..., 0:2])          (BCE on logits)
        wh         = sum obj scale 0.5 (twh - raw[..., 2:4])²
        confidence = sum obj BCE(1, raw[..., 4]) + (1 - obj) ignore BCE(0, raw[..., 4])
        class      = sum obj BCE(one_hot, raw[..., 5:])

    each divided by the batch size N and summed over the outputs. ``ignore`` is 0 for a
    prediction whose decoded box (``(sigmoid(txy) + cell) / S``, ``exp(twh) anchor /
    input_size``) has IoU > ``ignore_thresh`` with any ground-truth box of its image (all boxes
    of the image, not only those assigned to this output, unlike the Keras code), 1 otherwise.
    The ignore mask is a constant for the gradient, as in Keras.

    Parameters
    ----------
    outputs : sequence of array_like, each (N, S_l, S_l, A_l, 5 + C)
        Raw head outputs ``tx, ty, tw, th, objectness, class logits``, one per stride.
    gt_boxes, gt_classes, image_index
        As in :func:`yolov3_targets`.
    ignore_thresh : float in [0, 1]
        IoU above which a non-assigned prediction is not penalised as background.
    anchors, anchor_masks, strides
        As in :func:`yolov3_targets`.
    return_grad : bool
        Also return ``grad``: the gradient of ``total`` w.r.t. each output (float64 arrays).

    Returns
    -------
    losses : dict
        ``xy``, ``wh``, ``confidence``, ``class``, ``total`` (floats), and ``grad`` (list of
        arrays) when asked.
    """
    anchors, masks, strides = _yolo_config(anchors, anchor_masks, strides)
    raws = [float_array(o, f"outputs[{i}]").astype(np.float64)
            for i, o in enumerate(sequence(outputs, "outputs"))]
    if len(raws) != len(masks):
        raise ValueError(f"outputs must hold {len(masks)} head outputs (one per stride), got {len(raws)}")
    first = raws[0]
    if first.ndim != 5 or first.shape[-1] < 6:
        raise ValueError(f"outputs[0] must have shape (N, S, S, A, 5 + C), got {first.shape}")
    batch, num_classes, input_size = first.shape[0], first.shape[-1] - 5, first.shape[1] * strides[0]
    for i, (raw, mask, stride) in enumerate(zip(raws, masks, strides)):
        size = input_size // stride
        expected = (batch, size, size, len(mask), 5 + num_classes)
        if raw.shape != expected or size * stride != input_size:
            raise ValueError(f"outputs[{i}] must have shape {expected} (input {input_size}, stride {stride}), "
                             f"got {raw.shape}")
    ignore_thresh = real_number(ignore_thresh, "ignore_thresh", low=0.0, high=1.0)
    targets = yolov3_targets(gt_boxes, gt_classes, image_index, batch_size=batch, num_classes=num_classes,
                             input_size=input_size, anchors=anchors, anchor_masks=masks, strides=strides)
    centre, wh, _, images = _yolo_ground_truth(gt_boxes, gt_classes, image_index, batch, num_classes, input_size)
    gt_corners = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1) / input_size
    parts = {"xy": 0.0, "wh": 0.0, "confidence": 0.0, "class": 0.0}
    grads = []
    for raw, t, mask in zip(raws, targets, masks):
        size = raw.shape[1]
        obj, scale = t["object_mask"][..., None], t["box_loss_scale"][..., None]
        # decoded predictions, normalised to the input; exp is clipped only to keep it finite
        cells = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="xy"), axis=-1)[None, :, :, None, :]
        pred_xy = (_sigmoid(raw[..., 0:2]) + cells) / size
        pred_wh = np.exp(np.clip(raw[..., 2:4], -50, 50)) * anchors[list(mask)] / input_size
        pred = np.concatenate([pred_xy - pred_wh / 2, pred_xy + pred_wh / 2], axis=-1)
        ignore = np.ones(raw.shape[:4] + (1,))
        for b in range(batch):
            own = gt_corners[images == b]
            if own.shape[0]:
                best = box_iou(pred[b].reshape(-1, 4), own).max(axis=1)
                ignore[b] = (best <= ignore_thresh).reshape(ignore[b].shape)
        conf_weight = obj + (1 - obj) * ignore
        parts["xy"] += float((obj * scale * _bce_with_logits(t["txy"], raw[..., 0:2])).sum()) / batch
        parts["wh"] += float((obj * scale * 0.5 * (t["twh"] - raw[..., 2:4]) ** 2).sum()) / batch
        parts["confidence"] += float((conf_weight * _bce_with_logits(obj, raw[..., 4:5])).sum()) / batch
        parts["class"] += float((obj * _bce_with_logits(t["class"], raw[..., 5:])).sum()) / batch
        if return_grad:
            grad = np.empty_like(raw)
            grad[..., 0:2] = obj * scale * (_sigmoid(raw[..., 0:2]) - t["txy"])
            grad[..., 2:4] = obj * scale * (raw[..., 2:4] - t["twh"])
            grad[..., 4:5] = conf_weight * (_sigmoid(raw[..., 4:5]) - obj)
            grad[..., 5:] = obj * (_sigmoid(raw[..., 5:]) - t["class"])
            grads.append(grad / batch)
    result: dict[str, Any] = dict(parts, total=sum(parts.values()))
    if return_grad:
        result["grad"] = grads
    return result
