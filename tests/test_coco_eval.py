"""coco_evaluate against pycocotools' COCOeval (bbox), and faster-coco-eval where the two agree."""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

from shouxie.core import coco_evaluate
from shouxie.core.coco import COCO_AREA_RANGES, STAT_NAMES

DATA = Path(__file__).parent / "data"


def synthetic(seed: int, n_images: int = 300, n_categories: int = 80):
    """Random ground truth and detections in both input forms (arrays x1y1x2y2, COCO xywh).

    Covers crowd boxes, images without ground truth (and without detections), categories without
    detections and without ground truth, images with more than 100 detections, exact score ties,
    every area range and zero-area boxes. The COCO boxes are the arrays' (w = x2 - x1 in float64),
    so both forms describe the same data to the bit.
    """
    rng = np.random.default_rng(seed)
    gt_cats = rng.choice(np.arange(1, n_categories + 1), size=n_categories - 5, replace=False)
    dt_cats = np.concatenate([rng.choice(gt_cats, size=n_categories - 15, replace=False), [n_categories + 1]])
    gts, dts = [], []
    for i in range(n_images):
        g = 0 if rng.random() < 0.15 else int(rng.integers(1, 12))
        side = rng.choice([8.0, 24.0, 50.0, 90.0, 150.0, 300.0], size=(g, 2)) * rng.uniform(0.6, 1.4, (g, 2))
        side[rng.random((g, 2)) < 0.03] = 0.0  # zero-area boxes
        x1 = rng.uniform(0, 400, (g, 2))
        boxes = np.concatenate([x1, x1 + side], axis=1)
        labels = rng.choice(gt_cats, size=g)
        crowd = rng.random(g) < 0.1
        area = side[:, 0] * side[:, 1] * rng.uniform(0.5, 1.0, g)  # gt area is the annotation's, not the box's
        gts.append({"boxes": boxes, "labels": labels, "iscrowd": crowd, "area": area})
        n = 0 if rng.random() < 0.05 else int(rng.choice([5, 30, 120]))
        src = rng.integers(0, max(g, 1), n)
        d = np.empty((n, 4))
        near = (rng.random(n) < 0.6) & (g > 0)
        if g:
            jitter = rng.normal(0, 0.08, (n, 4)) * np.tile(np.maximum(side[src], 1.0), 2)
            d[near] = (boxes[src] + jitter)[near]
        xy = rng.uniform(0, 450, (n, 2))
        d[~near] = np.concatenate([xy, xy + rng.uniform(0, 200, (n, 2))], axis=1)[~near]
        d[:, 2:] = np.maximum(d[:, 2:], d[:, :2])
        d_labels = np.where(near & (rng.random(n) < 0.85), labels[src] if g else 0, rng.choice(dt_cats, size=n))
        scores = np.round(rng.random(n) * 20) / 20  # exact ties
        dts.append({"boxes": d, "scores": scores, "labels": d_labels})
    return gts, dts


def to_coco(gts, dts, categories=None):
    """The COCO dicts of the array form: ground truth (images 1.., annotation ids 1..) and results."""
    cats = categories if categories is not None else np.unique(
        np.concatenate([p["labels"] for p in gts + dts]).astype(np.int64))
    images, anns, results = [], [], []
    for i, (g, d) in enumerate(zip(gts, dts)):
        images.append({"id": i + 1, "width": 640, "height": 480})
        for b, c, crowd, area in zip(g["boxes"], g["labels"], g.get("iscrowd", np.zeros(len(g["boxes"]))),
                                     g.get("area", [None] * len(g["boxes"]))):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c),
                         "bbox": [float(b[0]), float(b[1]), float(w), float(h)],
                         "area": float(w * h if area is None else area), "iscrowd": int(crowd)})
        for b, s, c in zip(d["boxes"], d["scores"], d["labels"]):
            results.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    gt = {"images": images, "annotations": anns, "categories": [{"id": int(c), "name": str(c)} for c in cats]}
    return gt, results


def pycocotools_eval(gt: dict, results: list, *, iou_thresholds=None, area_ranges=None, max_dets=None):
    """COCOeval (bbox) evaluate + accumulate + summarize; returns the COCOeval object."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        E = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), "bbox")
        if iou_thresholds is not None:
            E.params.iouThrs = np.asarray(iou_thresholds, dtype=np.float64)
        if area_ranges is not None:
            E.params.areaRng = [list(r) for r in area_ranges]
        if max_dets is not None:
            E.params.maxDets = list(max_dets)
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E


def assert_same(result, E):
    """Stats, precision and recall equal to the bit."""
    np.testing.assert_array_equal(result.precision, E.eval["precision"])
    np.testing.assert_array_equal(result.recall, E.eval["recall"])
    np.testing.assert_array_equal(result.stats, np.asarray(E.stats, dtype=np.float64))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arrays_equal_pycocotools(seed):
    gts, dts = synthetic(seed)
    result = coco_evaluate(gts, dts)
    E = pycocotools_eval(*to_coco(gts, dts))
    assert_same(result, E)
    assert result.precision.shape == (10, 101, len(result.category_ids), 4, 3)
    assert (result.stats > 0).all()  # every area range and limit is exercised
    assert (result.precision == -1).any()  # a category without ground truth


@pytest.mark.parametrize("seed", [3, 4])
def test_coco_dicts_equal_pycocotools(seed):
    gts, dts = synthetic(seed)
    gt, results = to_coco(gts, dts, categories=np.arange(1, 82))  # categories listed but never seen too
    result = coco_evaluate(gt, results)
    assert_same(result, pycocotools_eval(gt, results))
    np.testing.assert_array_equal(result.category_ids, np.arange(1, 82))


def test_flat_arrays_equal_per_image_lists():
    gts, dts = synthetic(5, n_images=60)

    def flat(parts, keys):
        out = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in keys}
        out["image_index"] = np.repeat(np.arange(len(parts)) * 7 + 3, [len(p["boxes"]) for p in parts])
        return out

    a = coco_evaluate(gts, dts)
    b = coco_evaluate(flat(gts, ("boxes", "labels", "iscrowd", "area")), flat(dts, ("boxes", "scores", "labels")))
    np.testing.assert_array_equal(a.precision, b.precision)
    np.testing.assert_array_equal(a.stats, b.stats)


def test_float32_input_is_evaluated_in_float64():
    gts, dts = synthetic(6, n_images=80)
    dts32 = [{k: np.asarray(v, dtype=np.float32) if k != "labels" else v for k, v in d.items()} for d in dts]
    gts32 = [{**g, "boxes": g["boxes"].astype(np.float32)} for g in gts]
    result = coco_evaluate(gts32, dts32)
    up = lambda parts: [{k: np.asarray(v, np.float64) if k != "labels" else v for k, v in p.items()} for p in parts]
    assert_same(result, pycocotools_eval(*to_coco(up(gts32), up(dts32))))


def test_custom_parameters_equal_pycocotools():
    gts, dts = synthetic(7, n_images=150)
    params = dict(iou_thresholds=[0.3, 0.5, 0.75, 0.9, 1.0], max_dets=(5, 1, 20),
                  area_ranges=[(0, 1e10), (0, 400), (400, 5000), (5000, 1e10), (100, 2000)])
    result = coco_evaluate(gts, dts, **params)
    E = pycocotools_eval(*to_coco(gts, dts), **params)
    assert_same(result, E)
    assert result.max_dets == (1, 5, 20)
    assert result.stats[0] == -1  # AP reads the limit 100, which is not there (as pycocotools)


def test_fewer_ranges_and_limits_give_minus_one():
    gts, dts = synthetic(8, n_images=40)
    full = coco_evaluate(gts, dts)
    part = coco_evaluate(gts, dts, area_ranges=COCO_AREA_RANGES[:1], max_dets=(100,))
    assert part.stats[0] == full.stats[0]
    np.testing.assert_array_equal(part.precision[..., 0, 0], full.precision[..., 0, 2])
    assert (part.stats[[1, 2, 3, 4, 5, 7, 8, 9, 10, 11]] == -1).all()  # no third limit, no small/medium/large
    assert part.stats[6] == full.stats[8]  # the "first limit" recall is the one at 100


def test_per_class_ap():
    gts, dts = synthetic(9, n_images=100)
    result = coco_evaluate(gts, dts, per_class=True)
    E = pycocotools_eval(*to_coco(gts, dts))
    for k in range(len(result.category_ids)):
        s = E.eval["precision"][:, :, k, 0, -1]
        expected = np.mean(s[s > -1]) if (s > -1).any() else -1
        assert result.per_class_ap[k] == pytest.approx(expected, abs=1e-12)
    assert (result.per_class_ap == -1).any() and (result.per_class_ap > 0).any()
    assert set(result.as_dict()) == set(STAT_NAMES)


def test_annotation_id_zero_is_no_match_as_in_pycocotools():
    gts, dts = synthetic(10, n_images=30)
    gt, results = to_coco(gts, dts)
    for ann in gt["annotations"][:40]:
        ann["id"] -= 1  # the first annotation gets id 0
    assert_same(coco_evaluate(gt, results), pycocotools_eval(gt, results))


def test_hand_written_json_files_equal_pycocotools():
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt_path, dt_path = DATA / "coco_tiny_instances.json", DATA / "coco_tiny_results.json"
    result = coco_evaluate(gt_path, str(dt_path), per_class=True)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        E = COCOeval(coco_gt, coco_gt.loadRes(str(dt_path)), "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    assert_same(result, E)
    # hand-computed: see the fixture's "info" for the reasoning behind each number
    info = json.loads(gt_path.read_text())["info"]["expected"]
    for name, value in info.items():
        assert result.as_dict()[name] == pytest.approx(value, abs=1e-12), name


def test_faster_coco_eval_agrees():
    pytest.importorskip("faster_coco_eval")
    from faster_coco_eval import COCO, COCOeval_faster
    gts, dts = synthetic(11, n_images=200)
    gt, results = to_coco(gts, dts)
    E = COCOeval_faster(COCO(copy.deepcopy(gt)), COCO(copy.deepcopy(gt)).loadRes(copy.deepcopy(results)), "bbox",
                        print_function=lambda *a: None)
    E.evaluate()
    E.accumulate()
    E.summarize()
    result = coco_evaluate(gt, results)
    np.testing.assert_allclose(result.stats, E.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.precision, E.eval["precision"], rtol=0, atol=1e-12)


def test_no_detections_and_no_ground_truth():
    gts, dts = synthetic(12, n_images=10)
    empty = [{"boxes": np.zeros((0, 4)), "scores": [], "labels": []} for _ in gts]
    r = coco_evaluate(gts, empty)
    assert (r.stats[r.stats > -1] == 0).all() and (r.stats == 0).any()
    none = [{"boxes": np.zeros((0, 4)), "labels": []} for _ in gts]
    r = coco_evaluate(none, dts)
    assert (r.stats == -1).all() and (r.precision == -1).all()
    r = coco_evaluate([], [])
    assert r.precision.shape == (10, 101, 0, 4, 3) and (r.stats == -1).all()


def test_bad_input_names_what_and_where():
    gts, dts = synthetic(13, n_images=5)
    gt, results = to_coco(gts, dts)
    bad = copy.deepcopy(results)
    bad[3]["image_id"] = 999
    with pytest.raises(ValueError, match=r"results\[3\] has image_id 999"):
        coco_evaluate(gt, bad)
    bad = copy.deepcopy(results)
    bad[2]["category_id"] = 12345
    with pytest.raises(ValueError, match=r"results\[2\] has category_id 12345"):
        coco_evaluate(gt, bad)
    bad = copy.deepcopy(results)
    bad[4]["bbox"][1] = float("nan")
    with pytest.raises(ValueError, match=r"results\[4\]\['bbox'\] contains NaN"):
        coco_evaluate(gt, bad)
    bad = copy.deepcopy(results)
    bad[1]["bbox"][2] = -1.0
    with pytest.raises(ValueError, match=r"results\[1\]\['bbox'\] has a negative width"):
        coco_evaluate(gt, bad)
    bad = copy.deepcopy(results)
    del bad[0]["score"]
    with pytest.raises(ValueError, match=r"results\[0\] must be a dict with 'score'"):
        coco_evaluate(gt, bad)
    with pytest.raises(ValueError, match="dt must be a results list"):
        coco_evaluate(gt, {"annotations": results})
    bad = copy.deepcopy(gt)
    bad["annotations"][0]["bbox"] = [1, 2, 3]
    with pytest.raises(ValueError, match=r"gt\['annotations'\]\[0\]\['bbox'\] must be \[x, y, w, h\]"):
        coco_evaluate(bad, results)
    arrays = copy.deepcopy(dts)
    arrays[1]["boxes"][0, 2] = arrays[1]["boxes"][0, 0] - 1
    with pytest.raises(ValueError, match=r"dt\[1\]\['boxes'\]\[0\] has x2 < x1"):
        coco_evaluate(gts, arrays)
    arrays[1]["boxes"][0, 2] = np.nan
    with pytest.raises(ValueError, match=r"dt\[1\]\['boxes'\] contains NaN"):
        coco_evaluate(gts, arrays)
    with pytest.raises(ValueError, match="same images"):
        coco_evaluate(gts, dts[:-1])
    with pytest.raises(ValueError, match=r"dt\[0\]\['scores'\] must have one entry per box"):
        coco_evaluate(gts, [{**dts[0], "scores": dts[0]["scores"][:-1]}] + dts[1:])
    with pytest.raises(ValueError, match="iou_thresholds"):
        coco_evaluate(gts, dts, iou_thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="gt must be a per-image list"):
        coco_evaluate(5, dts)
    with pytest.raises(ValueError, match="both be flat dicts"):
        coco_evaluate({"boxes": np.zeros((0, 4)), "labels": [], "image_index": []}, dts)


def test_plugin_ops_agree_with_the_references_on_nms_output(tmp_path):
    pytest.importorskip("pycocotools")
    from shouxie.core import batched_nms
    from shouxie.plugins import detection
    data = detection.synthetic_detections(n_images=40, num_categories=5, seed=1, path=str(tmp_path))
    assert abs(data["recall"] - 0.8) < 0.1 and abs(data["precision"] - 0.7) < 0.05
    arrays = {k: data[k] for k in ("gt_boxes", "gt_labels", "gt_image_index", "gt_iscrowd", "gt_area",
                                   "dt_boxes", "dt_scores", "dt_labels", "dt_image_index")}
    keep = batched_nms(data["dt_boxes"], data["dt_scores"], data["groups"], 0.5)
    ours = detection.coco_evaluate(**arrays, keep=keep)
    theirs = detection.pycocotools_eval(**arrays, keep=keep)
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key])
    # the JSON files of the same data give the same numbers, with either library
    files = {"gt_file": data["gt_file"], "dt_file": data["dt_file"]}
    raw, from_files = detection.coco_evaluate(**arrays), detection.coco_evaluate(**files)
    assert from_files["AP"] == raw["AP"] == detection.pycocotools_eval(**files)["AP"]
    assert ours["AP"] > raw["AP"]  # duplicates are false positives until NMS removes them
