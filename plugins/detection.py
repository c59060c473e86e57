"""Built-in plugin: the detection family's ops, the data they run on, and the references they race."""
from __future__ import annotations

import contextlib
import io

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


def synthetic_detections(n_images: int = 200, num_categories: int = 10, objects_per_image: float = 5.0,
                         recall: float = 0.8, precision: float = 0.7, duplicates: int = 3,
                         dets_per_image: int | None = None, crowd_fraction: float = 0.01, seed: int = 0,
                         path: str | None = None) -> dict:
    """Ground truth and noisy detections with a known recall and precision (arrays; COCO files on request).

    Each non-crowd object is found with probability ``recall``; a found object gets ``duplicates``
    jittered boxes (IoU mostly 0.6-0.95 with it, so NMS has work to do) scoring 0.5-1; false
    positives (random boxes, scores 0-0.8) are added so that, after a perfect NMS, the precision is
    ``precision``, or to fill every image to ``dets_per_image`` detections when that is given.
    Object sides are log-uniform in 6-320 px (every COCO area range), images 640 x 480.

    Returns ``gt_boxes``, ``gt_labels``, ``gt_image_index``, ``gt_iscrowd``, ``gt_area`` and
    ``dt_boxes``, ``dt_scores``, ``dt_labels``, ``dt_image_index`` (boxes x1, y1, x2, y2), ``groups``
    (image * categories + label, for per-image per-class NMS), ``separated_boxes`` (the detections
    shifted so that different groups never overlap: Soft-NMS over all groups at once), the realised
    ``recall`` and ``precision``; with ``path`` (a directory) also ``gt_file`` and ``dt_file``, the
    same data as COCO ``instances`` and results JSON (boxes x, y, w, h) written there.
    """
    rng = np.random.default_rng(seed)
    g_img = np.repeat(np.arange(n_images), rng.poisson(objects_per_image, n_images))
    g = g_img.shape[0]
    side = np.exp(rng.uniform(np.log(6), np.log(320), g))[:, None] * rng.uniform(0.6, 1.4, (g, 2))
    g_xy = rng.uniform(0, 1, (g, 2)) * np.maximum([640, 480] - side, 0)
    g_labels = rng.integers(0, num_categories, g) + 1
    crowd = rng.random(g) < crowd_fraction
    found = np.flatnonzero(~crowd & (rng.random(g) < recall))
    src = np.repeat(found, duplicates)
    t_xywh = np.concatenate([g_xy[src], side[src]], axis=1) + rng.normal(0, 0.06, (src.shape[0], 4)) * np.tile(side[src], 2)
    if dets_per_image is None:
        n_fp = int(round(found.shape[0] * (1 - precision) / precision)) if precision > 0 else 0
        f_img = rng.integers(0, max(n_images, 1), n_fp)
    else:
        f_img = np.repeat(np.arange(n_images),
                          np.maximum(dets_per_image - np.bincount(g_img[src], minlength=n_images), 0))
    f = f_img.shape[0]
    f_side = np.exp(rng.uniform(np.log(6), np.log(320), f))[:, None] * rng.uniform(0.6, 1.4, (f, 2))
    f_xywh = np.concatenate([rng.uniform(0, 1, (f, 2)) * np.maximum([640, 480] - f_side, 0), f_side], axis=1)
    d_xywh = np.concatenate([t_xywh, f_xywh])
    d_xywh[:, 2:] = np.maximum(d_xywh[:, 2:], 0)
    d_img = np.concatenate([g_img[src], f_img])
    order = np.argsort(d_img, kind="stable")
    d_xywh, d_img = d_xywh[order], d_img[order]
    d_labels = np.concatenate([g_labels[src], rng.integers(0, num_categories, f) + 1])[order]
    d_scores = np.concatenate([rng.uniform(0.5, 1.0, src.shape[0]), rng.uniform(0.0, 0.8, f)])[order]
    d_boxes = np.concatenate([d_xywh[:, :2], d_xywh[:, :2] + d_xywh[:, 2:]], axis=1)
    groups = d_img * num_categories + d_labels
    out = {"gt_boxes": np.concatenate([g_xy, g_xy + side], axis=1), "gt_labels": g_labels, "gt_image_index": g_img,
           "gt_iscrowd": crowd, "gt_area": side[:, 0] * side[:, 1],
           "dt_boxes": d_boxes, "dt_scores": d_scores, "dt_labels": d_labels, "dt_image_index": d_img,
           "groups": groups, "separated_boxes": d_boxes + (groups * 1000.0)[:, None],
           "recall": found.shape[0] / max(int((~crowd).sum()), 1),
           "precision": found.shape[0] / max(found.shape[0] + f, 1)}
    if path is not None:
        gt, dt = _as_coco(out, np.arange(n_images))
        out["gt_file"], out["dt_file"] = _write_json(path, "gt.json", gt), _write_json(path, "results.json", dt)
    return out


def _write_json(directory: str, name: str, data) -> str:
    import json
    from pathlib import Path
    target = Path(directory) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data), encoding="utf-8")
    return str(target)


def model_ensemble(n_models: int = 5, n_boxes: int = 1000, num_classes: int = 10, seed: int = 0) -> dict:
    """Normalised detections of several models of the same objects, for Weighted Boxes Fusion.

    Every model sees the same ``n_boxes / 4`` objects (x1, y1, x2, y2 in [0, 1]) with its own
    jitter, label noise and distinct scores. Returns ``boxes`` (M, N, 4), ``scores`` (M, N) and
    ``labels`` (M, N): row ``t`` is model ``t``.
    """
    rng = np.random.default_rng(seed)
    objects = max(1, n_boxes // 4)
    centre = rng.uniform(0.1, 0.9, (objects, 2))
    size = rng.uniform(0.02, 0.2, (objects, 2))
    object_labels = rng.integers(0, num_classes, objects)
    k = rng.integers(0, objects, (n_models, n_boxes))
    c = centre[k] + rng.normal(0, 0.01, (n_models, n_boxes, 2))
    half = size[k] * rng.uniform(0.9, 1.1, (n_models, n_boxes, 2)) / 2
    noisy = rng.random((n_models, n_boxes)) < 0.1
    return {"boxes": np.clip(np.concatenate([c - half, c + half], axis=2), 0, 1),
            "scores": (rng.permutation(n_models * n_boxes) / (n_models * n_boxes)).reshape(n_models, n_boxes),
            "labels": np.where(noisy, rng.integers(0, num_classes, (n_models, n_boxes)), object_labels[k])}

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


def _coco_outputs(stats, precision, recall) -> dict:
    return dict(zip(core.coco.STAT_NAMES, map(float, stats))) | {"precision": precision, "recall": recall}


def _coco_inputs(gt_file, dt_file, gt_boxes, gt_labels, gt_image_index, gt_iscrowd, gt_area, dt_boxes, dt_scores,
                 dt_labels, dt_image_index, keep, scores) -> tuple:
    """``(gt, dt)`` for :func:`shouxie.core.coco_evaluate`: two COCO JSON paths, or flat-array dicts.

    ``keep`` (indices, e.g. an NMS result) selects the detections evaluated and ``scores`` (aligned
    with ``keep``, e.g. Soft-NMS's decayed scores) replaces theirs.
    """
    if gt_file is not None or dt_file is not None:
        if keep is not None or scores is not None:
            raise ValueError("keep and scores select from array detections, not from dt_file")
        return gt_file, dt_file
    gt = {"boxes": gt_boxes, "labels": gt_labels, "image_index": gt_image_index}
    gt |= {k: v for k, v in (("iscrowd", gt_iscrowd), ("area", gt_area)) if v is not None}
    keep = slice(None) if keep is None else np.asarray(keep)
    dt = {"boxes": np.asarray(dt_boxes)[keep], "labels": np.asarray(dt_labels)[keep],
          "image_index": np.asarray(dt_image_index)[keep],
          "scores": np.asarray(dt_scores)[keep] if scores is None else np.asarray(scores)}
    return gt, dt


def coco_evaluate(gt_file=None, dt_file=None, gt_boxes=None, gt_labels=None, gt_image_index=None, gt_iscrowd=None,
                  gt_area=None, dt_boxes=None, dt_scores=None, dt_labels=None, dt_image_index=None, keep=None,
                  scores=None, iou_thresholds=None, max_dets=(1, 10, 100)) -> dict:
    """COCO bbox evaluation: the 12 summary numbers (AP, AP50, ..., ARl), precision and recall.

    From COCO JSON files (``gt_file``, ``dt_file``) or arrays (boxes x1, y1, x2, y2 with an image
    index per box); ``keep`` / ``scores`` select and rescore array detections (NMS, Soft-NMS).
    """
    gt, dt = _coco_inputs(gt_file, dt_file, gt_boxes, gt_labels, gt_image_index, gt_iscrowd, gt_area, dt_boxes,
                          dt_scores, dt_labels, dt_image_index, keep, scores)
    kw = {} if iou_thresholds is None else {"iou_thresholds": iou_thresholds}
    r = core.coco_evaluate(gt, dt, max_dets=max_dets, **kw)
    return _coco_outputs(r.stats, r.precision, r.recall)


def wbf(boxes, scores, labels, weights=None, iou_thr: float = 0.55, skip_box_thr: float = 0.0,
        conf_type: str = "avg") -> dict:
    """Weighted Boxes Fusion of several models' detections (row t of each array is model t)."""
    fused, fused_scores, fused_labels = core.weighted_boxes_fusion(
        list(boxes), list(scores), list(labels), weights=weights, iou_thr=iou_thr, skip_box_thr=skip_box_thr,
        conf_type=conf_type)
    return {"boxes": fused, "scores": fused_scores, "labels": fused_labels, "num_boxes": int(fused.shape[0])}

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


def _as_coco(arrays: dict, images) -> tuple[dict, list]:
    """COCO ground truth and results (boxes x, y, w, h) of flat arrays named as ``coco_evaluate``'s params."""
    def xywh(boxes):
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).tolist()

    g_boxes = xywh(arrays["gt_boxes"])
    n = len(g_boxes)
    area = arrays.get("gt_area")
    areas = np.asarray(area, dtype=np.float64).tolist() if area is not None else [w * h for _, _, w, h in g_boxes]
    crowd = arrays.get("gt_iscrowd")
    crowd = np.zeros(n, int).tolist() if crowd is None else np.asarray(crowd).astype(int).tolist()
    columns = (np.asarray(arrays["gt_image_index"]).tolist(), np.asarray(arrays["gt_labels"]).tolist(), g_boxes,
               areas, crowd)
    annotations = [{"id": k + 1, "image_id": i, "category_id": c, "bbox": b, "area": a, "iscrowd": z}
                   for k, (i, c, b, a, z) in enumerate(zip(*columns))]
    results = [{"image_id": i, "category_id": c, "bbox": b, "score": s} for i, c, b, s in zip(
        np.asarray(arrays["dt_image_index"]).tolist(), np.asarray(arrays["dt_labels"]).tolist(),
        xywh(arrays["dt_boxes"]), np.asarray(arrays["dt_scores"], dtype=np.float64).tolist())]
    categories = np.union1d(arrays["gt_labels"], arrays["dt_labels"]).tolist()
    return ({"images": [{"id": i} for i in np.asarray(images).tolist()],
             "categories": [{"id": c} for c in categories], "annotations": annotations}, results)


def _reference_inputs(**params) -> tuple:
    """The references' ``(gt, dt)``: COCO JSON paths as given, arrays converted to COCO dicts."""
    gt, dt = _coco_inputs(**params)
    if isinstance(gt, dict):
        arrays = {f"gt_{k}": v for k, v in gt.items()} | {f"dt_{k}": v for k, v in dt.items()}
        arrays["gt_iscrowd"], arrays["gt_area"] = gt.get("iscrowd"), gt.get("area")
        return _as_coco(arrays, np.union1d(gt["image_index"], dt["image_index"]))
    return gt, dt


def _cocoeval(coco_gt, evaluator, dt, iou_thresholds, max_dets, **kwargs) -> dict:
    """loadRes + evaluate + accumulate + summarize of a pycocotools-style ``COCOeval`` (bbox), quiet.

    pycocotools adds fields to the dicts it is given (the runner hands compare steps copies).
    """
    with contextlib.redirect_stdout(io.StringIO()):
        E = evaluator(coco_gt, coco_gt.loadRes(dt), "bbox", **kwargs)
        if iou_thresholds is not None:
            E.params.iouThrs = np.asarray(iou_thresholds, dtype=np.float64)
        E.params.maxDets = list(max_dets)
        E.evaluate()
        E.accumulate()
        E.summarize()
    return _coco_outputs(E.stats, E.eval["precision"], E.eval["recall"])


def pycocotools_eval(gt_file=None, dt_file=None, gt_boxes=None, gt_labels=None, gt_image_index=None,
                     gt_iscrowd=None, gt_area=None, dt_boxes=None, dt_scores=None, dt_labels=None,
                     dt_image_index=None, keep=None, scores=None, iou_thresholds=None, max_dets=(1, 10, 100)) -> dict:
    """Reference: pycocotools' ``COCOeval`` (bbox) on ``detection.coco_evaluate``'s inputs."""
    inputs = {k: v for k, v in locals().items() if k in _COCO_INPUTS}
    install = "pip install pycocotools"
    coco = require("pycocotools.coco", needed_by="ref.pycocotools_eval", install=install)
    cocoeval = require("pycocotools.cocoeval", needed_by="ref.pycocotools_eval", install=install)
    gt, dt = _reference_inputs(**inputs)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco.COCO(gt if isinstance(gt, str) else None)
        if not isinstance(gt, str):
            coco_gt.dataset = gt
            coco_gt.createIndex()
    return _cocoeval(coco_gt, cocoeval.COCOeval, dt, iou_thresholds, max_dets)


def faster_coco_eval(gt_file=None, dt_file=None, gt_boxes=None, gt_labels=None, gt_image_index=None,
                     gt_iscrowd=None, gt_area=None, dt_boxes=None, dt_scores=None, dt_labels=None,
                     dt_image_index=None, keep=None, scores=None, iou_thresholds=None, max_dets=(1, 10, 100)) -> dict:
    """Reference: faster-coco-eval's ``COCOeval_faster`` (bbox) on ``detection.coco_evaluate``'s inputs."""
    inputs = {k: v for k, v in locals().items() if k in _COCO_INPUTS}
    fce = require("faster_coco_eval", needed_by="ref.faster_coco_eval", install="pip install faster-coco-eval")
    gt, dt = _reference_inputs(**inputs)
    return _cocoeval(fce.COCO(gt), fce.COCOeval_faster, dt, iou_thresholds, max_dets,
                     print_function=lambda *args: None)


_COCO_INPUTS = ("gt_file", "dt_file", "gt_boxes", "gt_labels", "gt_image_index", "gt_iscrowd", "gt_area",
                "dt_boxes", "dt_scores", "dt_labels", "dt_image_index", "keep", "scores")


def ensemble_boxes_wbf(boxes, scores, labels, weights=None, iou_thr: float = 0.55, skip_box_thr: float = 0.0,
                       conf_type: str = "avg") -> dict:
    """Reference: ``ensemble_boxes.weighted_boxes_fusion`` (row t of each array is model t)."""
    eb = require("ensemble_boxes", needed_by="ref.ensemble_boxes_wbf", install="pip install ensemble-boxes")
    fused, fused_scores, fused_labels = eb.weighted_boxes_fusion(
        list(boxes), list(scores), list(labels), weights=weights, iou_thr=iou_thr, skip_box_thr=skip_box_thr,
        conf_type=conf_type)
    return {"boxes": fused, "scores": fused_scores, "labels": fused_labels.astype(np.int64),
            "num_boxes": int(fused.shape[0])}

@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.random_boxes", random_boxes)
    registry.add("data.random_logits", random_logits)
    registry.add("data.yolov3_batch", yolov3_batch)
    registry.add("data.synthetic_detections", synthetic_detections)
    registry.add("data.model_ensemble", model_ensemble)
    registry.add("detection.box_iou", box_iou)
    registry.add("detection.generalized_box_iou", generalized_box_iou)
    registry.add("detection.nms", nms)
    registry.add("detection.batched_nms", batched_nms)
    registry.add("detection.soft_nms", soft_nms)
    registry.add("detection.focal_loss", focal_loss)
    registry.add("detection.yolov3_loss", yolov3_loss)
    registry.add("detection.coco_evaluate", coco_evaluate)
    registry.add("detection.wbf", wbf)
    registry.add("ref.numpy_box_iou", numpy_box_iou)
    registry.add("ref.numpy_nms", numpy_nms)
    registry.add("ref.numpy_batched_nms", numpy_batched_nms)
    registry.add("ref.cv2_nms_boxes", cv2_nms_boxes)
    registry.add("ref.numpy_soft_nms", numpy_soft_nms)
    registry.add("ref.torch_sigmoid_focal_loss", torch_sigmoid_focal_loss)
    registry.add("ref.torchvision_box_iou", torchvision_box_iou)
    registry.add("ref.torchvision_nms", torchvision_nms)
    registry.add("ref.torchvision_batched_nms", torchvision_batched_nms)
    registry.add("ref.pycocotools_eval", pycocotools_eval)
    registry.add("ref.faster_coco_eval", faster_coco_eval)
    registry.add("ref.ensemble_boxes_wbf", ensemble_boxes_wbf)
