"""COCO bounding-box evaluation: the ``COCOeval`` (bbox) protocol, equal to pycocotools to the bit.

:func:`coco_evaluate` matches detections to ground truth per image and category (compiled, in
parallel over the groups), then accumulates precision and recall for every category, area range
and detection limit at once with numpy. Every rule is pycocotools': detections visited by
decreasing score (stable, so ties keep their input order), at most ``max(max_dets)`` per image and
category; ground truth ignored when crowd or its area outside the range, the ignored ones tried last;
a crowd box never consumed by a match and its IoU taken over the detection's area; an unmatched
detection outside the area range ignored; 101-point interpolated precision, -1 where a category
has no ground truth, and the 12 summary numbers averaged over the entries above -1.

Two input forms. Arrays, boxes ``x1, y1, x2, y2``: per-image lists of dicts (torchmetrics' layout)
or one flat dict per side with an ``image_index`` column. COCO files, boxes ``x, y, w, h``: an
``instances_*.json`` ground truth (path or loaded dict) and a results list (path or list).
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _coco
from ._validation import float_array, integer, label_array
from .boxes import as_boxes

#: pycocotools' defaults: IoU 0.50:0.05:0.95, recall 0:0.01:1 (its linspace, to the bit).
COCO_IOU_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
COCO_RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
#: all, small, medium, large (object area in pixels², closed ranges).
COCO_AREA_RANGES = ((0.0, 1e10), (0.0, 32.0 ** 2), (32.0 ** 2, 96.0 ** 2), (96.0 ** 2, 1e10))
COCO_MAX_DETS = (1, 10, 100)
#: The 12 summary numbers in pycocotools' order.
#: One side of :func:`coco_evaluate`: a COCO file's path or its loaded JSON (a dict; a results
#: list for the detections), a flat dict of arrays, or a per-image list of dicts of arrays.
Annotations = str | os.PathLike | Mapping[str, Any] | Sequence[Mapping[str, Any]]

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@dataclass(frozen=True)
class COCOEvalResult:
    """What :func:`coco_evaluate` measured.

    Attributes
    ----------
    stats : ndarray of float64, shape (12,)
        AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (see ``STAT_NAMES``);
        -1 where nothing could be measured.
    precision : ndarray of float64, shape (T, R, K, A, M)
        Interpolated precision per IoU threshold, recall threshold, category, area range and
        detection limit; -1 where the category has no ground truth in the area range.
    recall : ndarray of float64, shape (T, K, A, M)
        Final recall; -1 as for ``precision``.
    category_ids : ndarray, shape (K,)
        The categories along K, sorted.
    iou_thresholds, recall_thresholds : ndarray of float64, shapes (T,), (R,)
    area_ranges : ndarray of float64, shape (A, 2)
    max_dets : tuple of int, length M (sorted)
    per_class_ap : ndarray of float64, shape (K,), or None
        AP of each category (mean precision over IoU and recall thresholds, area range 0, the
        largest detection limit), -1 for a category without ground truth; when requested.
    """

    stats: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    category_ids: np.ndarray
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray
    area_ranges: np.ndarray
    max_dets: tuple[int, ...]
    per_class_ap: np.ndarray | None = None

    def as_dict(self) -> dict[str, float]:
        """The 12 summary numbers by name (``"AP"``, ``"AP50"``, ...)."""
        return dict(zip(STAT_NAMES, map(float, self.stats)))


class _Side(NamedTuple):
    """One side (ground truth or detections) in evaluation form; rows in input order."""
    image: np.ndarray    # (N,) int64 rank of the image
    category: np.ndarray  # (N,) int64 rank of the category
    boxes: np.ndarray    # (N, 4) float64 x, y, w, h
    area: np.ndarray     # (N,) float64: the annotations' area (gt), w * h (detections)
    extra: np.ndarray    # (N,) float64 scores (detections); uint8 crowd flags (gt)
    counted: np.ndarray | None = None  # (N,) uint8, gt only: 0 where the annotation id is 0


# ------------------------------------------------------------------------------------------ inputs


def _xywh(x1y1x2y2: np.ndarray) -> np.ndarray:
    b = x1y1x2y2.astype(np.float64, copy=False)
    return np.ascontiguousarray(np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1))


def _flag_array(x, name: str, n: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biu" or arr.shape != (n,):
        raise ValueError(f"{name} must be a boolean or integer array of shape ({n},), got {arr.dtype} {arr.shape}")
    return (arr != 0).astype(np.uint8)


_INT64_MAX = np.iinfo(np.int64).max


def _ids(x, name: str, n: int) -> np.ndarray:
    """Non-negative integer ids (labels, image indices), one per box."""
    if np.size(x) == 0 and n == 0:
        return np.zeros(0, dtype=np.int64)
    return label_array(x, name, n, bound=_INT64_MAX)


def _array_part(part, name: str, detections: bool) -> tuple[np.ndarray, ...]:
    """(boxes x, y, w, h, labels, scores or crowd flags, area) of one dict of arrays."""
    if not isinstance(part, dict):
        raise ValueError(f"{name} must be a dict of arrays, got {type(part).__name__}")
    missing = [k for k in ("boxes", "labels", "scores")[:3 if detections else 2] if k not in part]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(map(repr, missing))}")
    boxes = as_boxes(part["boxes"], f"{name}['boxes']") if np.size(part["boxes"]) else np.zeros((0, 4))
    xywh = _xywh(boxes)
    n = xywh.shape[0]
    labels = _ids(part["labels"], f"{name}['labels']", n)
    area = xywh[:, 2] * xywh[:, 3]
    if detections:
        return xywh, labels, _per_box(part["scores"], f"{name}['scores']", n), area
    crowd = _flag_array(part["iscrowd"], f"{name}['iscrowd']", n) if "iscrowd" in part else np.zeros(n, np.uint8)
    if "area" in part:
        area = _per_box(part["area"], f"{name}['area']", n)
    return xywh, labels, crowd, area


def _per_box(x, name: str, n: int) -> np.ndarray:
    arr = float_array(x, name, ndim=1).astype(np.float64, copy=False)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one entry per box: {arr.shape[0]} for {n} boxes")
    return arr


def _array_side(x, name: str, detections: bool) -> list[np.ndarray]:
    """[image, labels, boxes x, y, w, h, area, scores or crowd flags] of one side of the array form."""
    if isinstance(x, dict):
        xywh, labels, extra, area = _array_part(x, name, detections)
        if "image_index" not in x:
            raise ValueError(f"{name} lacks 'image_index'")
        return [_ids(x["image_index"], f"{name}['image_index']", xywh.shape[0]), labels, xywh, area, extra]
    if not isinstance(x, (list, tuple)):
        raise ValueError(f"{name} must be a per-image list of dicts or a dict with 'image_index', "
                         f"got {type(x).__name__}")
    empty = (np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, np.float64 if detections else np.uint8),
             np.zeros(0))
    parts = [empty] + [_array_part(p, f"{name}[{i}]", detections) for i, p in enumerate(x)]
    xywh, labels, extra, area = (np.concatenate([p[k] for p in parts]) for k in range(4))
    image = np.repeat(np.arange(len(parts) - 1), [p[0].shape[0] for p in parts[1:]])
    return [image.astype(np.int64), labels, xywh, area, extra]


def _from_arrays(gt, dt) -> tuple[_Side, _Side, np.ndarray]:
    if isinstance(gt, dict) != isinstance(dt, dict):
        raise ValueError("gt and dt must both be flat dicts (with 'image_index') or both per-image lists")
    if all(isinstance(x, (list, tuple)) for x in (gt, dt)) and len(gt) != len(dt):
        raise ValueError(f"gt and dt must list the same images: {len(gt)} and {len(dt)} entries")
    g, d = _array_side(gt, "gt", False), _array_side(dt, "dt", True)
    images = np.unique(np.concatenate([g[0], d[0]]))
    categories = np.unique(np.concatenate([g[1], d[1]]))
    for side in (g, d):
        side[0] = np.searchsorted(images, side[0]).astype(np.int64)
        side[1] = np.searchsorted(categories, side[1]).astype(np.int64)
    return _Side(*g)._replace(counted=np.ones(g[0].shape[0], np.uint8)), _Side(*d), categories


def _load(x):
    if isinstance(x, (str, os.PathLike)):
        with open(x, encoding="utf-8") as f:
            return json.load(f)
    return x


_REQUIRED = object()


def _field(records: list, key: str, name: str, default=_REQUIRED) -> list:
    """``[r[key] for r in records]``; a missing key names the record unless ``default`` fills it."""
    try:
        if default is _REQUIRED:
            return [r[key] for r in records]
        return [r.get(key, default) for r in records]
    except (KeyError, TypeError, AttributeError):
        for i, r in enumerate(records):
            if not isinstance(r, dict) or (default is _REQUIRED and key not in r):
                raise ValueError(f"{name}[{i}] must be a dict with {key!r}, got {r!r:.80}") from None
        raise


def _ranks(ids: list, known: np.ndarray, name: str, what: str) -> np.ndarray:
    """Positions of ``ids`` in the sorted ``known`` ids; an unknown id names the record."""
    arr = np.asarray(ids) if ids else np.zeros(0, dtype=known.dtype)
    if arr.ndim != 1 or arr.dtype.kind not in "iuU":
        raise ValueError(f"{name}: every {what} must be an integer (or string) id")
    if known.size == 0:
        pos = np.zeros(arr.shape[0], dtype=np.int64)
        bad = np.ones(arr.shape[0], dtype=bool)
    else:
        pos = np.minimum(np.searchsorted(known, arr), known.size - 1)
        bad = known[pos] != arr
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] has {what} {ids[i]!r}, which the ground truth does not list")
    return pos.astype(np.int64)


def _coco_boxes(records: list, name: str) -> np.ndarray:
    """The ``bbox`` fields as an (N, 4) float64 x, y, w, h array; finite, w and h >= 0."""
    bboxes = _field(records, "bbox", name)
    try:
        xywh = np.array(bboxes, dtype=np.float64).reshape(len(bboxes), 4)
    except (ValueError, TypeError):
        for i, b in enumerate(bboxes):
            if not (isinstance(b, (list, tuple)) and len(b) == 4):
                raise ValueError(f"{name}[{i}]['bbox'] must be [x, y, w, h], got {b!r:.80}") from None
        raise ValueError(f"{name}: every 'bbox' must hold 4 numbers") from None
    bad = ~np.isfinite(xywh).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}]['bbox'] contains NaN or infinity: {bboxes[i]}")
    bad = (xywh[:, 2] < 0) | (xywh[:, 3] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}]['bbox'] has a negative width or height: {bboxes[i]}")
    return np.ascontiguousarray(xywh)


def _numbers(values: list, name: str, key: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.shape != (len(values),) or not np.isfinite(arr).all():
        for i, v in enumerate(values):
            if not isinstance(v, (int, float)) or v != v or v in (np.inf, -np.inf):
                raise ValueError(f"{name}[{i}][{key!r}] must be a finite number, got {v!r:.80}") from None
    assert arr is not None   # np.array only fails on a value the loop rejects
    return arr


def _from_coco(gt, dt) -> tuple[_Side, _Side, np.ndarray]:
    gt = _load(gt)
    dt = _load(dt)
    if not isinstance(gt, dict) or not all(k in gt for k in ("images", "annotations", "categories")):
        raise ValueError("gt must be a COCO ground truth (a path or dict with 'images', 'annotations', "
                         "'categories')")
    if not isinstance(dt, list):
        raise ValueError(f"dt must be a results list (or a path to one), got {type(dt).__name__}")
    images = np.unique(np.asarray(_field(gt["images"], "id", "gt['images']")))
    categories = np.unique(np.asarray(_field(gt["categories"], "id", "gt['categories']")))
    anns = gt["annotations"]
    name = "gt['annotations']"
    ann_ids = _field(anns, "id", name, default=None)
    present = [i for i in ann_ids if i is not None]
    if len(set(present)) != len(present):
        raise ValueError(f"{name}: annotation ids must be unique")
    g_box = _coco_boxes(anns, name)
    areas = _field(anns, "area", name, default=None)
    missing = np.array([a is None for a in areas], dtype=bool)
    g_area = _numbers([0 if a is None else a for a in areas], name, "area")
    g_area[missing] = g_box[missing, 2] * g_box[missing, 3]
    g = _Side(_ranks(_field(anns, "image_id", name), images, name, "image_id"),
              _ranks(_field(anns, "category_id", name), categories, name, "category_id"),
              g_box, g_area,
              (_numbers(_field(anns, "iscrowd", name, default=0), name, "iscrowd") != 0).astype(np.uint8),
              (np.array([i != 0 for i in ann_ids], dtype=bool)).astype(np.uint8))
    d_box = _coco_boxes(dt, "results")
    d = _Side(_ranks(_field(dt, "image_id", "results"), images, "results", "image_id"),
              _ranks(_field(dt, "category_id", "results"), categories, "results", "category_id"),
              d_box, d_box[:, 2] * d_box[:, 3], _numbers(_field(dt, "score", "results"), "results", "score"))
    return g, d, categories


# -------------------------------------------------------------------------------------- evaluation


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in ``keys`` (a sorted array)."""
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if keys.size else np.zeros(0, np.int64)


def _by_key_then_score(key: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices by increasing ``key`` (>= 0), then decreasing ``score``, then position.

    Two stable sorts, several times faster than ``np.lexsort``; a key below 2**15 (a category)
    is sorted as int16, which numpy radix-sorts.
    """
    by_score = np.argsort(-score, kind="stable")
    key = key[by_score]
    if key.size and key.max() < 2 ** 15:
        key = key.astype(np.int16)
    return by_score[np.argsort(key, kind="stable")]


def _match(g: _Side, d: _Side, num_categories: int, thresholds: np.ndarray, area_ranges: np.ndarray,
           max_det: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match every (image, category) group; outcomes in pycocotools' accumulation order.

    Detections are grouped by (image, category), by decreasing score inside a group (stable) and
    cut to ``max_det`` per group. Their outcomes ``(A, T, D)`` are stored in the order the
    accumulation reads them: by category, then decreasing score, ties by image and by rank in the
    image (pycocotools concatenates the images in order, then sorts stably by score). Returns the
    outcomes and, in that order, each detection's category and rank in its group.
    """
    dkey = d.image * num_categories + d.category
    order = _by_key_then_score(dkey, d.extra)
    starts = _runs(dkey[order])
    rank = np.arange(order.shape[0]) - np.repeat(starts, np.diff(np.append(starts, order.shape[0])))
    order, rank = order[rank < max_det], rank[rank < max_det]
    dkey = dkey[order]
    by_score = _by_key_then_score(d.category[order], d.extra[order])
    column = np.empty(order.shape[0], dtype=np.intp)
    column[by_score] = np.arange(order.shape[0])
    d0 = _runs(dkey)
    d1 = np.append(d0[1:], dkey.shape[0])[:d0.shape[0]]
    gkey = g.image * num_categories + g.category
    gorder = np.argsort(gkey, kind="stable")
    gkey = gkey[gorder]
    g0 = np.searchsorted(gkey, dkey[d0], side="left")
    g1 = np.searchsorted(gkey, dkey[d0], side="right")
    groups = np.ascontiguousarray(np.stack([d0, d1, g0, g1], axis=1), dtype=np.intp)
    sizes = (d1 - d0) * (g1 - g0)
    iou_offset = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp) if sizes.size else np.zeros(0, np.intp)
    ng, counted = g.image.shape[0], g.counted
    assert counted is not None   # ground truth always has it
    status = np.empty((area_ranges.shape[0], thresholds.shape[0], order.shape[0]), dtype=np.int8)
    _coco.match(np.ascontiguousarray(d.boxes[order]), np.ascontiguousarray(d.area[order]),
                np.ascontiguousarray(g.boxes[gorder]), np.ascontiguousarray(g.area[gorder]),
                np.ascontiguousarray(g.extra[gorder]), np.ascontiguousarray(counted[gorder]),
                groups, iou_offset, np.minimum(thresholds, 1 - 1e-10), area_ranges, column,
                np.empty(int(sizes.sum()), np.float64), np.empty(ng, np.intp), np.empty(ng, np.uint8),
                np.empty(ng, np.uint8), status)
    return status, d.category[order][by_score], rank[by_score]


def _accumulate_one(outcome: np.ndarray, within: np.ndarray | None, category: np.ndarray, positives: np.ndarray,
                    recall_thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, K) and recall (T, K) of one area range and detection limit.

    ``outcome`` (T, N) holds the detections of every category, grouped by category and by
    decreasing score inside (pycocotools' order); ``within`` (N,) marks those inside the
    detection limit (None: all); ``category`` (N,) is their category (sorted),
    ``positives`` (K,) the non-ignored ground truths per category. pycocotools' interpolated
    precision at recall threshold r is the largest precision at any point of recall >= r (0 when
    none). That largest precision is always reached at a true positive (a false positive repeats
    the recall before it at a lower precision, an ignored detection repeats the point before it),
    so only the true positives are visited, their precision ``tp / (fp + tp + eps)`` computed from
    the running counts exactly as pycocotools computes it.
    """
    T, n = outcome.shape
    K, R = positives.shape[0], recall_thresholds.shape[0]
    flat = outcome.reshape(-1)
    live = outcome != _coco.Outcome.IGNORED
    if within is not None:
        live &= within
    counted = np.flatnonzero(live)  # flat positions, by threshold then column
    hit = np.flatnonzero(flat[counted] == _coco.Outcome.TRUE_POSITIVE)  # positions in `counted`
    t, col = np.divmod(counted[hit], n) if n else (hit, hit)
    k = category[col]
    seg = t * K + k
    # detections counted (not ignored) up to each true positive, from its category's first column
    seg_start = np.searchsorted(counted, t * n + np.searchsorted(category, np.arange(K))[k])
    starts = _runs(seg)
    lengths = np.diff(np.append(starts, seg.shape[0]))
    tp = np.arange(1, seg.shape[0] + 1) - np.repeat(starts, lengths)
    tp_sum = tp.astype(np.float64)
    fp_sum = (hit - seg_start + 1 - tp).astype(np.float64)
    rc = tp_sum / positives[k]
    pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    block = seg * R + np.searchsorted(recall_thresholds, rc, side="right") - 1
    firsts = _runs(block)
    best = np.zeros(T * K * R)
    if firsts.size:
        best[block[firsts]] = np.maximum.reduceat(pr, firsts)
    best = np.maximum.accumulate(best.reshape(T, K, R)[:, :, ::-1], axis=2)[:, :, ::-1]
    has_gt = positives > 0
    precision = np.where(has_gt[None, :, None], best, -1.0).transpose(0, 2, 1)
    recall = np.where(has_gt, 0.0, -1.0) * np.ones((T, 1))
    if starts.size:
        ends = np.append(starts[1:], seg.shape[0]) - 1
        recall.reshape(-1)[seg[ends]] = rc[ends]
    return precision, recall


def _accumulate(g: _Side, status: np.ndarray, category: np.ndarray, rank: np.ndarray, num_categories: int,
                area_ranges: np.ndarray, max_dets: tuple[int, ...],
                recall_thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, K, A, M) and recall (T, K, A, M) from the outcomes in accumulation order."""
    A, T = status.shape[:2]
    K, R, M = num_categories, recall_thresholds.shape[0], len(max_dets)
    precision = np.empty((T, R, K, A, M))
    recall = np.empty((T, K, A, M))
    within = [None if max_det > rank.max(initial=-1) else rank < max_det for max_det in max_dets]
    not_crowd = g.extra == 0
    for a, (lo, hi) in enumerate(area_ranges):
        inside = not_crowd & (g.area >= lo) & (g.area <= hi)
        positives = np.bincount(g.category[inside], minlength=K)
        for m, mask in enumerate(within):
            precision[:, :, :, a, m], recall[:, :, a, m] = _accumulate_one(
                status[a], mask, category, positives, recall_thresholds)
    return precision, recall


def _summarize(precision: np.ndarray, recall: np.ndarray, iou_thresholds: np.ndarray,
               max_dets: tuple[int, ...]) -> np.ndarray:
    """The 12 numbers of ``COCOeval.summarize`` (its slicing, so its summation order)."""
    A, M = precision.shape[3], len(max_dets)

    def mean(ap: bool, iou: float | None = None, area: int = 0, limit: int | None = 100) -> float:
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == iou_thresholds)[0]]
        aind = [area] if area < A else []
        mind = [i for i, m in enumerate(max_dets) if m == limit]
        s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
        return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0

    def nth(i: int) -> int | None:
        return max_dets[i] if i < M else None

    return np.array([mean(True), mean(True, .5, 0, nth(2)), mean(True, .75, 0, nth(2)),
                     mean(True, None, 1, nth(2)), mean(True, None, 2, nth(2)), mean(True, None, 3, nth(2)),
                     mean(False, None, 0, nth(0)), mean(False, None, 0, nth(1)), mean(False, None, 0, nth(2)),
                     mean(False, None, 1, nth(2)), mean(False, None, 2, nth(2)), mean(False, None, 3, nth(2))])


def _per_class_ap(precision: np.ndarray) -> np.ndarray:
    s = precision[:, :, :, 0, -1]
    valid = s > -1
    count = valid.sum(axis=(0, 1))
    total = np.where(valid, s, 0).sum(axis=(0, 1))
    return np.where(count > 0, total / np.maximum(count, 1), -1.0)


def _thresholds(x, name: str) -> np.ndarray:
    arr = float_array(x, name, ndim=1).astype(np.float64, copy=False)
    if arr.size == 0 or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must be a non-empty list of values in [0, 1], got {arr.tolist()}")
    return arr


def _area_ranges(x) -> np.ndarray:
    arr = float_array(x, "area_ranges").astype(np.float64, copy=False)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"area_ranges must be a non-empty list of (low, high) pairs, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _max_dets(x) -> tuple[int, ...]:
    values = [integer(v, "max_dets", low=1) for v in (x if isinstance(x, (list, tuple, np.ndarray)) else [x])]
    if not values:
        raise ValueError("max_dets must list at least one detection limit")
    return tuple(sorted(values))


def coco_evaluate(gt: Annotations, dt: Annotations, *, iou_thresholds: ArrayLike = COCO_IOU_THRESHOLDS,
                  area_ranges: ArrayLike = COCO_AREA_RANGES, max_dets: int | Sequence[int] = COCO_MAX_DETS,
                  per_class: bool = False) -> COCOEvalResult:
    """COCO bounding-box mAP and mAR, equal to pycocotools' ``COCOeval(gt, dt, "bbox")``.

    Runs ``evaluate``, ``accumulate`` and ``summarize`` of pycocotools in one compiled pass:
    the 12 summary numbers, the precision and recall arrays are pycocotools' to the bit.

    Parameters
    ----------
    gt, dt : arrays (boxes x1, y1, x2, y2) or COCO files (boxes x, y, w, h)
        *Per-image lists*: ``gt[i]`` a dict of ``"boxes"`` (G_i, 4), ``"labels"`` (G_i,) and
        optionally ``"iscrowd"`` (G_i,) and ``"area"`` (G_i,) (default: the box area);
        ``dt[i]`` a dict of ``"boxes"`` (D_i, 4), ``"scores"`` (D_i,), ``"labels"`` (D_i,); both
        lists one entry per image. *Flat*: one such dict per side, with an ``"image_index"``
        column (non-negative ints) in both. Labels are non-negative integer category ids; the
        categories are those present on either side. *COCO*: ``gt`` an ``instances_*.json`` path
        or its loaded dict (``images``, ``annotations`` with ``bbox``, ``category_id``,
        ``image_id``, ``area``, ``iscrowd``, ``categories``), ``dt`` a results list or the path
        of one (``image_id``, ``category_id``, ``bbox``, ``score``). A missing ``iscrowd`` is 0,
        a missing ``area`` the box area (pycocotools requires both).
    iou_thresholds : sequence of float in [0, 1], default 0.50:0.05:0.95
        IoU needed for a match (at least ``t``, capped at ``1 - 1e-10``).
    area_ranges : sequence of (low, high), default COCO's all, small, medium, large
        Closed object-area ranges; the summary reads entries 0-3 as all, small, medium, large.
    max_dets : sequence of int, default (1, 10, 100)
        Detection limits per image and category (sorted); AP reads the limit 100, the others
        the first three limits, as pycocotools does.
    per_class : bool
        Also report the AP of each category.

    Returns
    -------
    COCOEvalResult
        ``stats`` (12,), ``precision`` (T, 101, K, A, M), ``recall`` (T, K, A, M),
        ``category_ids`` (K,), ``per_class_ap`` (K,) when requested. A summary number that the
        given thresholds, ranges or limits do not define is -1 (pycocotools raises there).

    Raises
    ------
    ValueError
        A detection or annotation for an image or category the ground truth does not list;
        NaN or infinite boxes; negative widths or heights; a results list that is not a list;
        missing keys, mismatched lengths.
    """
    iou_thr = _thresholds(iou_thresholds, "iou_thresholds")
    ranges = _area_ranges(area_ranges)
    limits = _max_dets(max_dets)
    if isinstance(gt, (str, os.PathLike)) or (isinstance(gt, dict) and "annotations" in gt):
        g, d, categories = _from_coco(gt, dt)
    else:
        g, d, categories = _from_arrays(gt, dt)
    K = categories.shape[0]
    status, category, rank = _match(g, d, K, iou_thr, ranges, limits[-1])
    precision, recall = _accumulate(g, status, category, rank, K, ranges, limits, COCO_RECALL_THRESHOLDS)
    return COCOEvalResult(
        stats=_summarize(precision, recall, iou_thr, limits), precision=precision, recall=recall,
        category_ids=categories, iou_thresholds=iou_thr, recall_thresholds=COCO_RECALL_THRESHOLDS.copy(),
        area_ranges=ranges, max_dets=limits, per_class_ap=_per_class_ap(precision) if per_class else None)
