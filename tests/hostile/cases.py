"""One entry per public function of ``shouxie.core``: how to draw a valid call, which of its
parameters take which hostile scalars, what a correct result satisfies (a reference written from
the definition, or invariants), and which inputs it is documented to update in place.

The references are the plain definitions of the kernels' own test modules (imported, not copied).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from shouxie import core
from shouxie.core import conv, layers
from test_boxes import plain_iou, plain_variants
from test_median import plain_median
from test_nms import plain_batched, plain_nms, plain_soft_nms
from test_resize import plain_bilinear


@dataclass(frozen=True)
class Case:
    fn: Callable
    valid: Callable[[], st.SearchStrategy]     #: draws the keyword arguments of a valid call
    scalars: dict = field(default_factory=dict)  #: parameter -> extra hostile values
    check: Callable | None = None              #: check(result, kwargs) of a successful call
    mutable: tuple[str, ...] = ()               #: inputs the function documents updating in place
    fixed: tuple[str, ...] = ()                 #: array inputs whose layout is part of the contract
    internal: tuple[str, ...] = ()              #: arguments of the test's own adapter: never corrupted
    subjects: tuple[str, ...] = ()              #: further words that name what an error is about
    tame: tuple[str, ...] = ()                  #: parameters where huge values mean hours of work


CASES: dict[str, Case] = {}


def case(name: str, fn: Callable, **options):
    def register(valid):
        CASES[name] = Case(fn, valid, **options)
        return valid
    return register


def native(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("=")


def f64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def seeded(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def float_dtype(draw):
    return draw(st.sampled_from((np.float32, np.float64)))


def random_boxes(rng, n, dtype):
    xy = rng.uniform(-10, 100, (n, 2))
    wh = rng.uniform(0, 40, (n, 2)) * (rng.random((n, 2)) > 0.1)   # some degenerate boxes
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


THRESHOLDS = (1.0000001, -1e-12, 0.0, 1.0)


# --------------------------------------------------------------------------- boxes
def _pair_boxes(draw, eps=False):
    rng, dtype = seeded(draw), float_dtype(draw)
    kw = {"boxes1": random_boxes(rng, draw(st.integers(0, 5)), dtype),
          "boxes2": random_boxes(rng, draw(st.integers(0, 5)), dtype)}
    if eps:
        kw["eps"] = draw(st.sampled_from((1e-7, 1e-3, 1.0)))
    return kw


def _check_pair(which):
    def check(result, kw):
        a, b = f64(kw["boxes1"]), f64(kw["boxes2"])
        assert result.shape == (len(a), len(b))
        if which == "iou":
            expected = plain_iou(a, b)
        else:
            expected = plain_variants(a, b, kw.get("eps", 1e-7))[which]
        tol = 1e-5 if result.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)
    return check


for _name, _which, _eps in (("box_iou", "iou", False), ("generalized_box_iou", "giou", False),
                            ("distance_box_iou", "diou", True), ("complete_box_iou", "ciou", True)):
    case(_name, getattr(core, _name), check=_check_pair(_which), scalars={"eps": (1e-300,)})(
        st.composite(lambda draw, e=_eps: _pair_boxes(draw, e)))


# --------------------------------------------------------------------------- nms
def _boxes_scores(draw, n_max=8):
    rng, dtype = seeded(draw), float_dtype(draw)
    n = draw(st.integers(0, n_max))
    boxes = random_boxes(rng, n, dtype) / 4   # crowded: many overlaps
    scores = rng.choice([0.1, 0.5, 0.9], n) if draw(st.booleans()) else rng.random(n)  # ties too
    return rng, boxes, scores.astype(dtype)


def _check_keep(keep, n):
    assert keep.dtype == np.int64 and keep.ndim == 1
    assert len(set(keep.tolist())) == keep.size and ((keep >= 0) & (keep < n)).all()


def _check_nms(keep, kw):
    _check_keep(keep, len(f64(kw["boxes"])))
    if np.asarray(kw["boxes"]).dtype == np.float64:
        assert keep.tolist() == plain_nms(f64(kw["boxes"]), f64(kw["scores"]), kw["iou_threshold"])


@case("nms", core.nms, scalars={"iou_threshold": THRESHOLDS}, check=_check_nms)
@st.composite
def _nms(draw):
    _, boxes, scores = _boxes_scores(draw)
    return {"boxes": boxes, "scores": scores, "iou_threshold": draw(st.sampled_from((0.0, 0.3, 0.5, 1.0)))}


def _check_batched(keep, kw):
    b, s = f64(kw["boxes"]), f64(kw["scores"])
    _check_keep(keep, len(b))
    if np.asarray(kw["boxes"]).dtype == np.float64:
        assert keep.tolist() == plain_batched(b, s, np.asarray(kw["classes"]), kw["iou_threshold"])


@case("batched_nms", core.batched_nms, scalars={"iou_threshold": THRESHOLDS}, check=_check_batched)
@st.composite
def _batched_nms(draw):
    rng, boxes, scores = _boxes_scores(draw)
    classes = rng.integers(-1, 2, len(boxes))
    return {"boxes": boxes, "scores": scores, "classes": classes,
            "iou_threshold": draw(st.sampled_from((0.0, 0.5, 1.0)))}


def _check_detections(kept, kw):
    d = np.asarray(kw["dets"])
    assert kept.ndim == 2 and kept.shape[1] == 6 and kept.shape[0] <= d.shape[0]


@case("nms_detections", core.nms_detections, scalars={"iou_threshold": THRESHOLDS}, check=_check_detections)
@st.composite
def _nms_detections(draw):
    rng, boxes, scores = _boxes_scores(draw)
    dets = np.column_stack([boxes, scores, rng.integers(0, 3, len(boxes))]).astype(boxes.dtype)
    return {"dets": dets, "iou_threshold": draw(st.sampled_from((0.3, 0.7)))}


def _check_soft(result, kw):
    indices, scores = result
    _check_keep(indices, len(f64(kw["boxes"])))
    assert scores.shape == indices.shape and (np.diff(scores) <= 0).all()
    if np.asarray(kw["boxes"]).dtype == np.float64 and np.asarray(kw["scores"]).dtype == np.float64:
        ref_idx, ref_scores = plain_soft_nms(f64(kw["boxes"]), f64(kw["scores"]), kw.get("method", "gaussian"),
                                             kw["sigma"], kw["iou_threshold"], kw["score_threshold"])
        assert indices.tolist() == ref_idx
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-9)


@case("soft_nms", core.soft_nms, check=_check_soft,
      scalars={"method": ("gauss", "HARD", None), "sigma": (1e-300,), "iou_threshold": THRESHOLDS,
               "score_threshold": THRESHOLDS})
@st.composite
def _soft_nms(draw):
    _, boxes, scores = _boxes_scores(draw)
    return {"boxes": boxes, "scores": scores, "method": draw(st.sampled_from(("gaussian", "linear", "hard"))),
            "sigma": draw(st.sampled_from((0.5, 0.1))), "iou_threshold": 0.3,
            "score_threshold": draw(st.sampled_from((0.001, 0.2)))}


# --------------------------------------------------------------------------- detection losses
def _plain_focal(x, t, alpha, gamma):
    p = 1 / (1 + np.exp(-x))
    ce = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    return loss * (alpha * t + (1 - alpha) * (1 - t)) if alpha >= 0 else loss


def _check_focal(result, kw):
    x, t = f64(kw["logits"]), f64(kw["targets"])
    expected = _plain_focal(x, t, kw["alpha"], kw["gamma"])
    reduction = kw.get("reduction", "none")
    if reduction == "none":
        assert result.shape == x.shape
        np.testing.assert_allclose(result, expected, rtol=2e-5, atol=1e-30)
    elif x.size:
        np.testing.assert_allclose(result, getattr(expected, reduction)(), rtol=2e-5)


@st.composite
def _focal(draw, reduction=True):
    rng, dtype = seeded(draw), float_dtype(draw)
    shape = draw(st.sampled_from(((0,), (1,), (7,), (3, 4), (2, 0, 3))))
    kw = {"logits": (rng.normal(0, 5, shape)).astype(dtype),
          "targets": (rng.random(shape) > 0.5).astype(dtype),
          "alpha": draw(st.sampled_from((0.25, -1.0, 1.0))), "gamma": draw(st.sampled_from((0.0, 0.5, 2.0)))}
    if reduction:
        kw["reduction"] = draw(st.sampled_from(("none", "mean", "sum")))
    return kw


FOCAL_SCALARS = {"alpha": (1.0000001, -1e308), "gamma": (-1e-9, 1e308), "reduction": ("avg", None)}
case("sigmoid_focal_loss", core.sigmoid_focal_loss, scalars=FOCAL_SCALARS, check=_check_focal)(_focal)
case("sigmoid_focal_loss_grad", core.sigmoid_focal_loss_grad, scalars=FOCAL_SCALARS,
     check=lambda g, kw: np.testing.assert_(g.shape == f64(kw["logits"]).shape and np.isfinite(g).all()))(
    lambda: _focal(reduction=False))


@case("focal_bias_init", core.focal_bias_init, scalars={"prior": (1e-300, 1 - 1e-16)},
      check=lambda b, kw: np.testing.assert_allclose(b, np.log(kw["prior"]) - np.log1p(-kw["prior"]), rtol=1e-12))
@st.composite
def _focal_bias(draw):
    return {"prior": draw(st.sampled_from((0.01, 0.5, 0.999)))}


INPUT = 64   # small YOLO input: grids of 2, 4 and 8 cells


def _gt(draw, rng, batch, classes):
    g = draw(st.integers(0, 4))
    centre = rng.uniform(0, INPUT, (g, 2))
    wh = rng.uniform(1, 40, (g, 2))
    return {"gt_boxes": np.concatenate([centre - wh / 2, centre + wh / 2], axis=1),
            "gt_classes": rng.integers(0, classes, g), "image_index": rng.integers(0, batch, g)}


def _check_targets(targets, kw):
    assert len(targets) == 3
    for t, stride in zip(targets, (32, 16, 8)):
        s = kw.get("input_size", 416) // stride
        assert t["object_mask"].shape == (kw["batch_size"], s, s, 3)
        assert t["object_mask"].sum() <= len(np.asarray(kw["gt_boxes"]))


@case("yolov3_targets", core.yolov3_targets, check=_check_targets,
      scalars={"batch_size": (10**6,), "num_classes": (10**6,), "input_size": (96, 416 * 2**20)})
@st.composite
def _yolo_targets(draw):
    rng = seeded(draw)
    batch, classes = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return {**_gt(draw, rng, batch, classes), "batch_size": batch, "num_classes": classes, "input_size": INPUT}


def _check_loss(result, kw):
    assert all(np.isfinite(result[k]) and result[k] >= 0 for k in ("xy", "wh", "confidence", "class", "total"))
    if "grad" in result:
        assert [g.shape for g in result["grad"]] == [np.shape(o) for o in kw["outputs"]]


@case("yolov3_loss", core.yolov3_loss, check=_check_loss, scalars={"ignore_thresh": THRESHOLDS})
@st.composite
def _yolo_loss(draw):
    rng = seeded(draw)
    batch, classes = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    outputs = [rng.normal(0, 2, (batch, INPUT // s, INPUT // s, 3, 5 + classes)) for s in (32, 16, 8)]
    return {"outputs": outputs, **_gt(draw, rng, batch, classes), "ignore_thresh": 0.5,
            "return_grad": draw(st.booleans())}


# --------------------------------------------------------------------------- metrics
@st.composite
def _ranking(draw, weights=True):
    rng, dtype = seeded(draw), float_dtype(draw)
    n = draw(st.integers(2, 12))
    labels = rng.integers(0, 2, n)
    labels[:2] = (0, 1)
    rng.shuffle(labels)
    scores = rng.choice([0.0, 0.5, 1.0], n) if draw(st.booleans()) else rng.normal(0, 1, n)
    kw = {"labels": labels, "scores": scores.astype(dtype)}
    if weights and draw(st.booleans()):
        kw["sample_weight"] = rng.choice([0.0, 0.5, 2.0], n) + np.eye(1, n, 0)[0] + np.eye(1, n, n - 1)[0]
    return kw


def _plain_auc(labels, scores, weights):
    """P(score of a positive > score of a negative), ties 1/2, over all weighted pairs."""
    pos, neg = labels == labels.max(), labels != labels.max()
    w = np.ones(len(labels)) if weights is None else f64(weights)
    sp, sn = scores[pos][:, None], scores[neg][None, :]
    pair_w = w[pos][:, None] * w[neg][None, :]
    return ((sp > sn) + 0.5 * (sp == sn)).__mul__(pair_w).sum() / pair_w.sum()


def _check_auc(area, kw):
    labels = np.asarray(kw["labels"])
    if labels.dtype.kind in "biuf" and set(np.unique(labels).tolist()) <= {0, 1}:
        np.testing.assert_allclose(area, _plain_auc(labels, f64(kw["scores"]), kw.get("sample_weight")),
                                   rtol=1e-12)
    assert 0 <= area <= 1


def _check_curve(result, kw):
    a, b, thresholds = result
    assert a.shape == b.shape and a.ndim == 1
    assert ((a >= 0) & (a <= 1)).all() or np.isnan(a).all()
    assert ((b >= 0) & (b <= 1)).all() or np.isnan(b).all()


POS_LABELS = {"pos_label": ("1", 2, np.nan, [1])}
case("auc", core.auc, check=_check_auc)(_ranking)
case("roc_curve", core.roc_curve, check=_check_curve, scalars=POS_LABELS)(_ranking)
case("precision_recall_curve", core.precision_recall_curve, check=_check_curve, scalars=POS_LABELS)(_ranking)
case("average_precision", core.average_precision, check=lambda ap, kw: np.testing.assert_(0 <= ap <= 1),
     scalars=POS_LABELS)(_ranking)


# --------------------------------------------------------------------------- linear models
def _check_lstsq(result, kw):
    coef, intercept = result
    X, y = f64(kw["X"]), f64(kw["y"])
    if kw.get("fit_intercept", True):
        X, y = X - X.mean(axis=0), y - y.mean(axis=0)
    residual = y - X @ coef
    scale = max(1.0, np.abs(X).max(initial=0) ** 2 * max(1.0, np.abs(y).max(initial=0))) * len(X)
    assert np.abs(X.T @ residual).max(initial=0) <= 1e-3 * scale   # the normal equations hold


@case("least_squares", core.least_squares, check=_check_lstsq, scalars={"method": ("svd",)})
@st.composite
def _least_squares(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    n, p = draw(st.integers(1, 8)), draw(st.integers(0, 3))
    y_shape = (n,) if draw(st.booleans()) else (n, 2)
    return {"X": rng.normal(0, 1, (n, p)).astype(dtype), "y": rng.normal(0, 1, y_shape).astype(dtype),
            "fit_intercept": draw(st.booleans()), "method": "lstsq"}


@case("gradient_descent", core.gradient_descent, tame=("max_iter", "batch_size"),
      check=lambda r, kw: np.testing.assert_(np.isfinite(r.losses).all() and r.coef.ndim == 1),
      scalars={"loss": ("hinge",)})
@st.composite
def _gradient_descent(draw):
    rng = seeded(draw)
    n, p = draw(st.integers(1, 8)), draw(st.integers(1, 3))
    loss = draw(st.sampled_from(("mse", "logistic")))
    y = rng.integers(0, 2, n).astype(float) if loss == "logistic" else rng.normal(0, 1, n)
    return {"X": rng.normal(0, 1, (n, p)), "y": y, "loss": loss, "lr": 0.1, "max_iter": 20, "tol": 1e-6,
            "batch_size": draw(st.sampled_from((None, 1, 3))), "seed": 0}


def _check_rf(fields, kw):
    assert len(fields) == len(kw["layers"]) and all(f.receptive_field >= 1 and f.jump >= 1 for f in fields)


@case("receptive_field", core.receptive_field, check=_check_rf)
@st.composite
def _receptive_field(draw):
    layer = st.fixed_dictionaries({"kernel": st.integers(1, 5)},
                                  optional={"stride": st.integers(1, 3), "padding": st.integers(0, 2),
                                            "dilation": st.integers(1, 2), "name": st.just("conv")})
    return {"layers": draw(st.lists(layer, max_size=4))}


# --------------------------------------------------------------------------- clustering, kNN
def _check_kmeans(result, kw):
    X = f64(kw["X"])
    k = kw["k"]
    assert result.centers.shape == (k, X.shape[1]) and result.labels.shape == (len(X),)
    assert ((result.labels >= 0) & (result.labels < k)).all()
    inertia = ((X - f64(result.centers)[result.labels]) ** 2).sum()
    np.testing.assert_allclose(result.inertia, inertia, rtol=1e-3, atol=1e-6)


@case("kmeans", core.kmeans, check=_check_kmeans, scalars={"init": ("kmeans++", None), "tol": (1e308,)})
@st.composite
def _kmeans(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    n, d = draw(st.integers(1, 12)), draw(st.integers(1, 3))
    X = rng.normal(0, 1, (n, d)).round(draw(st.sampled_from((0, 3)))).astype(dtype)  # duplicates too
    k = draw(st.integers(1, n))
    init = draw(st.sampled_from(("k-means++", "random", "given")))
    return {"X": X, "k": k, "init": X[:k].copy() if init == "given" else init, "max_iter": 50, "tol": 1e-4,
            "seed": 1}


def _check_anchors(result, kw):
    wh, k = f64(kw["wh"]), kw["k"]
    assert result.anchors.shape == (k, 2) and ((result.labels >= 0) & (result.labels < k)).all()
    assert 0 < result.mean_iou <= 1 + 1e-6


@case("anchor_kmeans", core.anchor_kmeans, check=_check_anchors, scalars={"update": ("mode",)})
@st.composite
def _anchor_kmeans(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    n = draw(st.integers(1, 12))
    wh = rng.uniform(1, 50, (n, 2)).round(draw(st.sampled_from((0, 2)))).astype(dtype)
    k = draw(st.integers(1, n))
    return {"wh": wh, "k": k, "update": draw(st.sampled_from(("median", "mean"))),
            "init": draw(st.sampled_from(("k-means++", "random"))), "max_iter": 30, "seed": 2}


def _check_mean_shift(result, kw):
    centers, labels = result
    X = f64(kw["X"])
    assert centers.ndim == 2 and centers.shape[1] == X.shape[1] and labels.shape == (len(X),)
    assert ((labels >= -1) & (labels < len(centers))).all()


@case("mean_shift", core.mean_shift, check=_check_mean_shift,
      scalars={"bandwidth": (1e-300, 1e300), "kernel": ("epanechnikov",)}, tame=("max_iter",))
@st.composite
def _mean_shift(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    n, d = draw(st.integers(0, 12)), draw(st.integers(1, 4))
    return {"X": rng.normal(0, 1, (n, d)).astype(dtype), "bandwidth": draw(st.sampled_from((0.5, 1.0, 3.0))),
            "kernel": draw(st.sampled_from(("flat", "gaussian"))), "bin_seeding": draw(st.booleans()),
            "min_bin_freq": 1, "max_iter": 50, "cluster_all": draw(st.booleans())}


def _check_knn(result, kw):
    distances, indices = result
    Q, D, k = f64(kw["queries"]), f64(kw["data"]), kw["k"]
    expected = np.sqrt(((Q[:, None, :] - D[None]) ** 2).sum(axis=2))
    assert distances.shape == indices.shape == (len(Q), k)
    np.testing.assert_allclose(distances, np.sort(expected, axis=1)[:, :k], rtol=1e-4, atol=1e-5)


@st.composite
def _knn(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    n, d = draw(st.integers(1, 10)), draw(st.integers(1, 4))
    return {"queries": rng.normal(0, 1, (draw(st.integers(0, 6)), d)).astype(dtype),
            "data": rng.normal(0, 1, (n, d)).round(1).astype(dtype), "k": draw(st.integers(1, n))}


case("knn_search", core.knn_search, check=_check_knn)(_knn)


@case("knn_classify", core.knn_classify,
      check=lambda p, kw: np.testing.assert_(p.shape == (len(f64(kw["queries"])),)))
@st.composite
def _knn_classify(draw):
    kw = draw(_knn())
    kw["labels"] = np.random.default_rng(0).integers(0, 3, len(kw["data"]))
    return kw


# --------------------------------------------------------------------------- neural networks
def _tensor(draw, shape):
    return seeded(draw).normal(0, 1, shape).astype(float_dtype(draw))


case("relu_forward", core.relu_forward,
     check=lambda r, kw: np.testing.assert_array_equal(r[0], np.maximum(np.asarray(kw["x"]), 0)))(
    st.composite(lambda draw: {"x": _tensor(draw, draw(st.sampled_from(((0,), (5,), (2, 3), (1, 2, 0, 2)))))}))


@case("relu_backward", core.relu_backward, fixed=("cache",))
@st.composite
def _relu_backward(draw):
    out, cache = core.relu_forward(_tensor(draw, (2, 3)))
    return {"dout": np.ones_like(out), "cache": cache}


def _bn_kwargs(draw):
    x = _tensor(draw, draw(st.sampled_from(((4, 3), (2, 3, 2, 2), (0, 3)))))
    c = x.shape[1]
    return {"x": x, "gamma": np.ones(c), "beta": np.zeros(c), "running_mean": np.zeros(c),
            "running_var": np.ones(c), "training": draw(st.booleans()), "momentum": 0.1, "eps": 1e-5}


def _check_bn(result, kw):
    out, _ = result
    x = np.asarray(kw["x"])
    assert out.shape == x.shape and out.dtype == native(x.dtype)


case("batchnorm_forward", core.batchnorm_forward, check=_check_bn, mutable=("running_mean", "running_var"),
     fixed=("running_mean", "running_var"), scalars={"eps": (1e-300,)})(st.composite(_bn_kwargs))


@case("batchnorm_backward", core.batchnorm_backward)
@st.composite
def _bn_backward(draw):
    kw = _bn_kwargs(draw)
    out, cache = core.batchnorm_forward(**kw)
    return {"dout": np.ones_like(out), "cache": cache}


@case("dropout_forward", core.dropout_forward,
      check=lambda r, kw: np.testing.assert_(r[0].shape == np.shape(kw["x"])))
@st.composite
def _dropout(draw):
    return {"x": _tensor(draw, (3, 4)), "p": draw(st.sampled_from((0.0, 0.5, 1.0))),
            "training": draw(st.booleans()), "seed": 3}


@case("dropout_backward", core.dropout_backward, fixed=("cache",))
@st.composite
def _dropout_backward(draw):
    out, cache = core.dropout_forward(_tensor(draw, (3, 4)), 0.5, training=draw(st.booleans()), seed=3)
    return {"dout": np.ones_like(out), "cache": cache}


def _torch_sized(kw) -> bool:
    """Whether torch (C ints) takes this geometry: its own overflow is no reference."""
    values = [kw.get(k) for k in ("stride", "padding", "dilation", "kernel_size")]
    return all(abs(v) < 2**20 for v in np.ravel(np.array(values, dtype=object)) if isinstance(v, int))


def _check_conv(result, kw):
    torch = __import__("pytest").importorskip("torch")
    out, _ = result
    if out.size == 0 or np.size(kw["w"]) == 0:
        assert out.size == 0
        return
    if not _torch_sized(kw):
        return
    b = kw.get("b")
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(f64(kw["x"])), torch.from_numpy(f64(kw["w"])),
        None if b is None else torch.from_numpy(f64(b)), stride=kw["stride"], padding=kw["padding"],
        dilation=kw["dilation"], groups=kw["groups"]).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@st.composite
def _conv_kwargs(draw):
    rng, dtype = seeded(draw), float_dtype(draw)
    groups = draw(st.sampled_from((1, 2)))
    n, c, o = draw(st.integers(0, 2)), groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    h, w = draw(st.integers(k, 6)), draw(st.integers(k, 6))
    return {"x": rng.normal(0, 1, (n, c, h, w)).astype(dtype),
            "w": rng.normal(0, 1, (o, c // groups, k, k)).astype(dtype),
            "b": rng.normal(0, 1, o).astype(dtype) if draw(st.booleans()) else None,
            "stride": draw(st.sampled_from((1, 2, (1, 2)))), "padding": draw(st.sampled_from((0, 1, (1, 0)))),
            "dilation": 1, "groups": groups}


GEOMETRY = {"stride": ((1, 0), (0, 1), (2,), (1, 1, 1), (1.0, 1)), "padding": ((-1, 0),),
            "dilation": ((0, 1),), "groups": (3, 4, 10**9), "kernel_size": ((0, 1), (2, -2))}
case("conv2d_forward", core.conv2d_forward, check=_check_conv, scalars=GEOMETRY)(_conv_kwargs)


def backward_case(backward, forward, forward_kwargs) -> None:
    """The case of ``backward``: its ``dout`` and the cache of a valid ``forward`` call."""
    @st.composite
    def valid(draw):
        out, cache = forward(**draw(forward_kwargs()))
        return {"dout": np.ones_like(out), "cache": cache}
    case(backward.__name__, backward)(valid)


backward_case(core.conv2d_backward, core.conv2d_forward, _conv_kwargs)


def _check_pool(result, kw):
    torch = __import__("pytest").importorskip("torch")
    out, _ = result
    if not _torch_sized(kw):
        return
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(f64(kw["x"])), kw["kernel_size"],
                                              kw["stride"], kw["padding"]).numpy()
    np.testing.assert_allclose(out, expected)


@st.composite
def _pool_kwargs(draw):
    x = _tensor(draw, (draw(st.integers(0, 2)), 2, draw(st.integers(2, 6)), draw(st.integers(2, 6))))
    k = draw(st.integers(1, 2))
    return {"x": x, "kernel_size": k, "stride": draw(st.sampled_from((1, 2))),
            "padding": draw(st.integers(0, k // 2))}


case("max_pool2d_forward", core.max_pool2d_forward, check=_check_pool, scalars=GEOMETRY)(_pool_kwargs)
backward_case(core.max_pool2d_backward, core.max_pool2d_forward, _pool_kwargs)


def _check_softmax(result, kw):
    loss, grad = result
    logits = np.asarray(kw["logits"])
    assert grad.shape == logits.shape
    if len(logits):
        z = f64(logits) - f64(logits).max(axis=1, keepdims=True)
        ref = -(z[np.arange(len(z)), np.asarray(kw["labels"])] - np.log(np.exp(z).sum(axis=1))).mean()
        np.testing.assert_allclose(loss, ref, rtol=1e-4)


@case("softmax_loss", core.softmax_loss, check=_check_softmax)
@st.composite
def _softmax(draw):
    n, k = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    return {"logits": _tensor(draw, (n, k)), "labels": np.random.default_rng(n).integers(0, k, n)}


def _adam(params, grads, **options):
    core.Adam(params, **options).step(grads)


@case("Adam", _adam, mutable=("params",), fixed=("params",),
      scalars={"lr": (1e-300,), "betas": ((0.9,), (0.9, 1.0), (-0.1, 0.9), "ab"), "weight_decay": (-1e-9,)})
@st.composite
def _adam_kwargs(draw):
    shapes = draw(st.lists(st.sampled_from(((3,), (2, 2), (0,))), min_size=1, max_size=2))
    params = [_tensor(draw, s) for s in shapes]
    return {"params": params, "grads": [np.ones_like(p) for p in params], "lr": 1e-2, "betas": (0.9, 0.999),
            "eps": 1e-8, "weight_decay": draw(st.sampled_from((0.0, 0.1))), "decoupled": draw(st.booleans())}


@case("fuse_conv_bn", core.fuse_conv_bn,
      check=lambda r, kw: np.testing.assert_(r[0].shape == np.shape(kw["w"]) and r[1].shape == (np.shape(kw["w"])[0],)))
@st.composite
def _fuse(draw):
    o = draw(st.integers(1, 3))
    vec = lambda: np.abs(_tensor(draw, (o,))) + 0.1   # noqa: E731
    return {"w": _tensor(draw, (o, 2, 3, 3)), "b": vec() if draw(st.booleans()) else None, "gamma": vec(),
            "beta": vec(), "running_mean": vec(), "running_var": vec(), "eps": 1e-5}


def _numerical_gradient(x, dout, h):
    return core.numerical_gradient(lambda: x * x, x, dout, h)


@case("numerical_gradient", _numerical_gradient, fixed=("x",), scalars={"h": (1e-300, 1e300)},
      check=lambda g, kw: not 1e-8 <= kw["h"] <= 1e-2 or kw["x"].dtype != np.float64
      or not (np.abs(kw["x"]) < 1e100).all() or np.testing.assert_allclose(
          g, 2 * kw["x"] * f64(kw["dout"]), rtol=1e-4, atol=1e-6))
# (a step too large or too small for x, or an x whose square overflows, is the caller's: the
# central difference is then not the derivative, whatever computes it)
@st.composite
def _numgrad(draw):
    shape = draw(st.sampled_from(((3,), (2, 2), (0,))))
    return {"x": seeded(draw).normal(0, 1, shape), "dout": np.ones(shape), "h": 1e-5}


# --------------------------------------------------------------------------- image
IMAGE_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def _image(draw, rng, min_side=0):
    dtype = np.dtype(draw(st.sampled_from(IMAGE_DTYPES)))
    shape = (draw(st.integers(min_side, 7)), draw(st.integers(min_side, 7)))
    shape += draw(st.sampled_from(((), (1,), (3,), (0,))))
    if dtype.kind == "f":
        values = rng.choice([-np.inf, np.inf, -0.0, 0.0, 5e-324, 1.5, -2.0, 1e308], shape) \
            if draw(st.booleans()) else rng.normal(0, 100, shape)
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _check_median(out, kw):
    img = np.asarray(kw["image"])
    assert out.dtype == native(img.dtype) and out.shape == img.shape
    if img.size and kw["ksize"] <= 15:
        expected = plain_median(img, kw["ksize"], kw.get("border", "replicate"), kw.get("cval", 0))
        np.testing.assert_array_equal(out, expected)


@case("median_filter", core.median_filter, check=_check_median,
      scalars={"ksize": (2, 4, 0, -3, 65535, 65537, 10**9, 9, 21, 23), "border": ("wrap", "nearest", None),
               "cval": (256, 70000, 0.5, 1e308)})
@st.composite
def _median(draw):
    rng = seeded(draw)
    return {"image": _image(draw, rng), "ksize": draw(st.sampled_from((1, 3, 5, 7, 9, 11))),
            "border": draw(st.sampled_from(("replicate", "constant", "reflect", "reflect101"))), "cval": 0}


def _check_resize(out, kw):
    img = np.asarray(kw["image"])
    assert out.dtype == native(img.dtype) and out.shape[2:] == img.shape[2:]
    if native(img.dtype) == np.float64 and np.isfinite(img).all() and kw.get("size") is not None and out.size < 400:
        expected = plain_bilinear(img, *out.shape[:2], kw.get("mode", "half_pixel"))
        np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9 * np.abs(img).max(initial=1))


@case("resize_bilinear", core.resize_bilinear, check=_check_resize,
      scalars={"size": ((0, 3), (3,), (3, 3, 3), (2**31, 1), (10**9, 10**9), (1.5, 2), (-1, 4)),
               "scale": (1e-300, 1e300, (1e9, 1e9), (0.5,), (0, 1)), "mode": ("bilinear", None)})
@st.composite
def _resize(draw):
    rng = seeded(draw)
    kw = {"image": _image(draw, rng, min_side=1), "mode": draw(st.sampled_from(core.resize.MODES))}
    if draw(st.booleans()):
        kw["size"] = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    else:
        kw["scale"] = draw(st.sampled_from((0.5, 2.0, (1.5, 0.75), 3)))
    return kw


# --------------------------------------------------------------------------- coding
@st.composite
def _symbols(draw):
    rng = seeded(draw)
    n = draw(st.integers(0, 300))
    alphabet = draw(st.sampled_from((1, 2, 17, 256)))
    data = rng.zipf(1.5, n) % alphabet
    return data.astype(np.uint16 if draw(st.booleans()) and alphabet > 200 else np.uint8)


case("compress", core.compress, scalars={"block_size": (2**26 + 1, 2**26)},
     check=lambda blob, kw: np.testing.assert_(core.decompress(blob) == np.asarray(kw["data"]).tobytes()))(
    st.composite(lambda draw: {"data": draw(_symbols()).astype(np.uint8),
                               "block_size": draw(st.sampled_from((1, 7, 100, 2**20)))}))


@case("decompress", core.decompress,   # errors name the part of the container at fault
      subjects=("header", "block", "end record", "truncated", "trailing garbage", "magic", "container"))
@st.composite
def _decompress(draw):
    return {"blob": np.frombuffer(core.compress(draw(_symbols()).astype(np.uint8).tobytes(), block_size=64),
                                  np.uint8)}


case("entropy_bits", core.entropy_bits, check=lambda h, kw: np.testing.assert_(h >= 0))(
    st.composite(lambda draw: {"symbols": draw(_symbols())}))


def _round_trip(code, symbols):
    payload, nbits = code.encode(symbols)
    plain = np.frombuffer(symbols, np.uint8) if isinstance(symbols, bytes) else np.asarray(symbols)
    back = code.decode(payload, nbits, plain.size)
    np.testing.assert_array_equal(back, plain)


@case("HuffmanCode.from_data", lambda symbols, max_length: _round_trip(
          core.HuffmanCode.from_data(symbols, max_length=max_length), symbols),
      scalars={"max_length": (33, 8, 1)})
@st.composite
def _from_data(draw):
    return {"symbols": draw(_symbols()), "max_length": draw(st.sampled_from((15, 32)))}


@case("HuffmanCode.from_frequencies", lambda freqs, max_length: core.HuffmanCode.from_frequencies(
          freqs, max_length=max_length), scalars={"max_length": (33, 1, 2)},
      check=lambda code, kw: np.testing.assert_(code.alphabet_size == len(np.asarray(kw["freqs"]))))
@st.composite
def _from_frequencies(draw):
    return {"freqs": seeded(draw).integers(0, 5, draw(st.integers(1, 40))), "max_length": 15}


@case("HuffmanCode", core.HuffmanCode,
      check=lambda code, kw: np.testing.assert_array_equal(code.lengths, np.asarray(kw["lengths"])))
@st.composite
def _code(draw):
    return {"lengths": np.array(draw(st.sampled_from(([1, 1], [1, 2, 2], [0, 3, 3, 2, 2, 2], [1]))))}


@case("HuffmanCode.decode", lambda code, payload, nbits, count: code.decode(payload, nbits, count),
      internal=("code",), scalars={"nbits": (10**9, 2**64), "count": (10**9, 2**64)})
@st.composite
def _decode(draw):
    symbols = draw(_symbols())
    code = core.HuffmanCode.from_data(symbols if symbols.size else np.zeros(1, np.uint8))
    payload, nbits = code.encode(symbols)
    return {"code": code, "payload": np.frombuffer(payload, np.uint8), "nbits": nbits, "count": len(symbols)}


# --------------------------------------------------------------------------- fusion
def _check_wbf(result, kw):
    boxes, scores, labels = result
    assert boxes.shape == (len(scores), 4) and labels.shape == scores.shape
    assert ((boxes >= 0) & (boxes <= 1)).all() and (np.diff(scores) <= 0).all()


@case("weighted_boxes_fusion", core.weighted_boxes_fusion, check=_check_wbf,
      scalars={"iou_thr": THRESHOLDS, "conf_type": ("mean", None)})
@st.composite
def _wbf(draw):
    rng = seeded(draw)
    models = draw(st.integers(1, 3))
    sizes = [draw(st.integers(0, 5)) for _ in range(models)]
    return {"boxes_list": [random_boxes(rng, n, np.float64) / 150 for n in sizes],
            "scores_list": [rng.random(n) for n in sizes], "labels_list": [rng.integers(0, 2, n) for n in sizes],
            "weights": None, "iou_thr": draw(st.sampled_from((0.3, 0.55))), "skip_box_thr": 0.0,
            "conf_type": draw(st.sampled_from(("avg", "max", "box_and_model_avg", "absent_model_aware_avg")))}
