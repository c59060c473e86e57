"""Built-in plugin: the detection family's ops, the data they run on, and the references they race."""
from __future__ import annotations

import numpy as np

from shouxie import core
from shouxie.core.detection_losses import YOLOV3_ANCHOR_MASKS, YOLOV3_STRIDES

from ._optional import TORCH_INSTALL, TORCHVISION_INSTALL, require
from .hookspecs import hookimpl

# --------------------------------------------------------------------------------------- data


def random_boxes(n: int = 1000, image_size: int = 640, num_classes: int = 80, seed: int = 0,
                 mode: str = "uniform", boxes_per_object: int = 20) -> dict:
    """Random detections: boxes (n, 4) float32 inside the image, distinct scores in [0, 1), classes.

    Scores are all distinct, so every library visits boxes in the same order (torchvision's
    sort is not stable on ties).

    Parameters
    ----------
    n : int
        Number of boxes.
    image_size : int
        Side of the square image the boxes lie in.
    num_classes : int
        Classes are drawn uniformly from ``0 .. num_classes - 1``.
    seed : int
        Seed of the numpy Generator.
    mode : {"uniform", "clustered"}
        ``"uniform"``: independent boxes, 2-30 % of the image wide. ``"clustered"``: what a
        detector emits, about ``boxes_per_object`` jittered copies (5 % of the object's size)
        around each of ``n / boxes_per_object`` objects, one class per object.
    boxes_per_object : int
        Cluster size of the clustered mode.
    """
    rng = np.random.default_rng(seed)
    if mode == "uniform":
        centres = rng.uniform(0, image_size, size=(n, 2))
        sizes = rng.uniform(0.02, 0.3, size=(n, 2)) * image_size
        classes = rng.integers(0, num_classes, size=n, dtype=np.int64)
    elif mode == "clustered":
        objects = max(1, n // max(1, boxes_per_object))
        owner = rng.integers(0, objects, size=n)
        obj_centres = rng.uniform(0, image_size, size=(objects, 2))
        obj_sizes = rng.uniform(0.05, 0.4, size=(objects, 2)) * image_size
        sizes = obj_sizes[owner] * rng.normal(1.0, 0.05, size=(n, 2)).clip(0.5, 1.5)
        centres = obj_centres[owner] + rng.normal(0.0, 0.05, size=(n, 2)) * obj_sizes[owner]
        classes = rng.integers(0, num_classes, size=objects, dtype=np.int64)[owner]
    else:
        raise ValueError(f"mode must be 'uniform' or 'clustered', got {mode!r}")
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    boxes = np.clip(boxes, 0, image_size).astype(np.float32)
    scores = ((rng.permutation(n) + rng.random(n)) / n).astype(np.float32)
    return {"boxes": boxes, "scores": scores, "classes": classes}


def random_logits(n: int = 10000, num_classes: int = 80, positive_fraction: float = 0.01, scale: float = 4.0,
                  seed: int = 0) -> dict:
    """Random classification-head logits (n, num_classes) float32 and 0/1 targets, for focal loss."""
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, num_classes)) * scale).astype(np.float32)
    targets = (rng.random((n, num_classes)) < positive_fraction).astype(np.float32)
    return {"logits": logits, "targets": targets}


def yolov3_batch(batch_size: int = 2, num_classes: int = 3, input_size: int = 416, boxes_per_image: int = 4,
                 seed: int = 0) -> dict:
    """Random YOLOv3 head outputs (strides 32, 16, 8; default anchors) and ground-truth boxes.

    Returns ``output_32``, ``output_16``, ``output_8`` (N, S, S, 3, 5 + C) with S = input_size /
    stride, and ``gt_boxes`` (G, 4) in input pixels, ``gt_classes`` and ``image_index`` (G,).
    """
    rng = np.random.default_rng(seed)
    data = {f"output_{s}": rng.normal(0, 0.5, (batch_size, input_size // s, input_size // s, len(m), 5 + num_classes))
            for s, m in zip(YOLOV3_STRIDES, YOLOV3_ANCHOR_MASKS)}
    g = batch_size * boxes_per_image
    centres = rng.uniform(0.1, 0.9, (g, 2)) * input_size
    sizes = rng.uniform(0.05, 0.5, (g, 2)) * input_size
    return data | {"gt_boxes": np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1),
                   "gt_classes": rng.integers(0, num_classes, g),
                   "image_index": np.repeat(np.arange(batch_size), boxes_per_image)}


# ---------------------------------------------------------------------------------------- ops


def box_iou(boxes1, boxes2) -> dict:
    """Pairwise IoU of two box sets; reports the IoU matrix and its mean."""
    iou = core.box_iou(boxes1, boxes2)
    return {"iou": iou, "mean_iou": float(iou.mean()) if iou.size else 0.0}


def generalized_box_iou(boxes1, boxes2) -> dict:
    """Pairwise generalized IoU of two box sets; reports the matrix and its mean."""
    giou = core.generalized_box_iou(boxes1, boxes2)
    return {"giou": giou, "mean_giou": float(giou.mean()) if giou.size else 0.0}


def _kept(keep: np.ndarray) -> dict:
    return {"keep": keep, "num_kept": int(keep.shape[0])}


def nms(boxes, scores, iou_threshold: float = 0.5) -> dict:
    """Greedy NMS (suppress IoU > threshold); kept indices in decreasing score order."""
    return _kept(core.nms(boxes, scores, iou_threshold))


def batched_nms(boxes, scores, classes, iou_threshold: float = 0.5) -> dict:
    """Per-class NMS; kept indices in decreasing score order."""
    return _kept(core.batched_nms(boxes, scores, classes, iou_threshold))


def soft_nms(boxes, scores, method: str = "gaussian", sigma: float = 0.5, iou_threshold: float = 0.3,
             score_threshold: float = 0.001) -> dict:
    """Soft-NMS (gaussian / linear / hard); selected indices and their decayed scores."""
    indices, decayed = core.soft_nms(boxes, scores, method=method, sigma=sigma,
                                     iou_threshold=iou_threshold, score_threshold=score_threshold)
    return {"indices": indices, "scores": decayed, "num_selected": int(indices.shape[0])}


def focal_loss(logits, targets, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> dict:
    """Sigmoid focal loss (torchvision semantics) with the chosen reduction."""
    return {"loss": core.sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma, reduction=reduction)}


def yolov3_loss(output_32, output_16, output_8, gt_boxes, gt_classes, image_index=None,
                ignore_thresh: float = 0.5) -> dict:
    """YOLOv3 loss of the three head outputs (strides 32, 16, 8): xy, wh, confidence, class, total."""
    return core.yolov3_loss([output_32, output_16, output_8], gt_boxes, gt_classes, image_index,
                            ignore_thresh=ignore_thresh)


# --------------------------------------------------------------------------------- references


def numpy_box_iou(boxes1, boxes2) -> dict:
    """Reference: pairwise IoU by numpy broadcasting (the vectorised textbook version)."""
    a, b = np.asarray(boxes1), np.asarray(boxes2)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    union = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None] + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0).astype(np.result_type(a, b))
    return {"iou": iou, "mean_iou": float(iou.mean()) if iou.size else 0.0}


def numpy_nms(boxes, scores, iou_threshold: float = 0.5) -> dict:
    """Reference: the textbook numpy NMS loop (one vectorised IoU row per kept box)."""
    b = np.asarray(boxes)
    s = np.asarray(scores)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-s, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > np.float64(iou_threshold))]
    return _kept(np.asarray(keep, dtype=np.int64))


def numpy_batched_nms(boxes, scores, classes, iou_threshold: float = 0.5) -> dict:
    """Reference: numpy NMS per class (a Python loop over the classes), merged by score."""
    b, s, c = np.asarray(boxes), np.asarray(scores), np.asarray(classes)
    kept = [idx[numpy_nms(b[idx], s[idx], iou_threshold)["keep"]]
            for idx in (np.flatnonzero(c == k) for k in np.unique(c))]
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return _kept(keep[np.lexsort((keep, -s[keep]))])


def cv2_nms_boxes(boxes, scores, iou_threshold: float = 0.5) -> dict:
    """Reference: OpenCV's ``cv2.dnn.NMSBoxes`` (boxes converted to x, y, w, h).

    OpenCV only considers boxes scoring strictly above 0 (its score threshold must be >= 0).
    """
    cv2 = require("cv2", needed_by="ref.cv2_nms_boxes", install="pip install opencv-python-headless")
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), np.asarray(scores, dtype=np.float64).tolist(),
                            0.0, float(iou_threshold))
    return _kept(np.asarray(keep, dtype=np.int64).reshape(-1))


def numpy_soft_nms(boxes, scores, method: str = "gaussian", sigma: float = 0.5, iou_threshold: float = 0.3,
                   score_threshold: float = 0.001) -> dict:
    """Reference: a straightforward numpy Soft-NMS (argmax, IoU row, decay, filter, repeat)."""
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores)
    remaining = np.flatnonzero(s >= score_threshold)
    live = s[remaining].astype(np.float64)
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    indices, decayed = [], []
    while remaining.size:
        k = int(np.argmax(live))
        i = remaining[k]
        indices.append(i)
        decayed.append(live[k])
        remaining, live = np.delete(remaining, k), np.delete(live, k)
        w = np.maximum(0, np.minimum(b[i, 2], b[remaining, 2]) - np.maximum(b[i, 0], b[remaining, 0]))
        h = np.maximum(0, np.minimum(b[i, 3], b[remaining, 3]) - np.maximum(b[i, 1], b[remaining, 1]))
        inter = w * h
        union = areas[i] + areas[remaining] - inter
        iou = np.where(inter > 0, inter / np.where(inter > 0, union, 1), 0)
        if method == "gaussian":
            live = live * np.exp(-(iou * iou) / sigma)
        elif method == "linear":
            live = live * np.where(iou > iou_threshold, 1 - iou, 1)
        else:
            live = np.where(iou > iou_threshold, -1, live)
        alive = live >= score_threshold
        remaining, live = remaining[alive], live[alive]
    out_dtype = np.float32 if s.dtype == np.float32 else np.float64
    return {"indices": np.asarray(indices, dtype=np.int64), "scores": np.asarray(decayed, dtype=out_dtype),
            "num_selected": len(indices)}


def torch_sigmoid_focal_loss(logits, targets, alpha: float = 0.25, gamma: float = 2.0,
                             reduction: str = "mean") -> dict:
    """Reference: torchvision's ``sigmoid_focal_loss`` formula written in torch (no torchvision needed)."""
    torch = require("torch", needed_by="ref.torch_sigmoid_focal_loss", install=TORCH_INSTALL)
    x, t = torch.as_tensor(np.asarray(logits)), torch.as_tensor(np.asarray(targets))
    p = torch.sigmoid(x)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    loss = loss * (1 - (p * t + (1 - p) * (1 - t))) ** gamma
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    if reduction == "none":
        return {"loss": loss.numpy()}
    return {"loss": float(loss.mean() if reduction == "mean" else loss.sum())}


def _torchvision():
    ops = require("torchvision.ops", needed_by="this reference op", install=TORCHVISION_INSTALL)
    return require("torch", needed_by="torchvision", install=TORCH_INSTALL), ops


def torchvision_box_iou(boxes1, boxes2) -> dict:
    """Reference: ``torchvision.ops.box_iou``."""
    torch, ops = _torchvision()
    iou = ops.box_iou(torch.as_tensor(np.asarray(boxes1)), torch.as_tensor(np.asarray(boxes2))).numpy()
    return {"iou": iou, "mean_iou": float(iou.mean()) if iou.size else 0.0}


def torchvision_nms(boxes, scores, iou_threshold: float = 0.5) -> dict:
    """Reference: ``torchvision.ops.nms``."""
    torch, ops = _torchvision()
    keep = ops.nms(torch.as_tensor(np.asarray(boxes)), torch.as_tensor(np.asarray(scores)), iou_threshold)
    return _kept(keep.numpy())


def torchvision_batched_nms(boxes, scores, classes, iou_threshold: float = 0.5) -> dict:
    """Reference: ``torchvision.ops.batched_nms``."""
    torch, ops = _torchvision()
    keep = ops.batched_nms(torch.as_tensor(np.asarray(boxes)), torch.as_tensor(np.asarray(scores)),
                           torch.as_tensor(np.asarray(classes)), iou_threshold)
    return _kept(keep.numpy())


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.random_boxes", random_boxes)
    registry.add("data.random_logits", random_logits)
    registry.add("data.yolov3_batch", yolov3_batch)
    registry.add("detection.box_iou", box_iou)
    registry.add("detection.generalized_box_iou", generalized_box_iou)
    registry.add("detection.nms", nms)
    registry.add("detection.batched_nms", batched_nms)
    registry.add("detection.soft_nms", soft_nms)
    registry.add("detection.focal_loss", focal_loss)
    registry.add("detection.yolov3_loss", yolov3_loss)
    registry.add("ref.numpy_box_iou", numpy_box_iou)
    registry.add("ref.numpy_nms", numpy_nms)
    registry.add("ref.numpy_batched_nms", numpy_batched_nms)
    registry.add("ref.cv2_nms_boxes", cv2_nms_boxes)
    registry.add("ref.numpy_soft_nms", numpy_soft_nms)
    registry.add("ref.torch_sigmoid_focal_loss", torch_sigmoid_focal_loss)
    registry.add("ref.torchvision_box_iou", torchvision_box_iou)
    registry.add("ref.torchvision_nms", torchvision_nms)
    registry.add("ref.torchvision_batched_nms", torchvision_batched_nms)
