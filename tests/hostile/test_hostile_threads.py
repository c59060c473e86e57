"""The heavy kernels called from several Python threads at once give the serial results exactly.

The kernels release the GIL and some keep shared state (the convolution's column-buffer pool,
the Huffman thread pool, decode tables cached on a code), so each is run on a mix of inputs from
``THREADS`` threads at once, every input several times, and compared bit for bit with serial calls.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shouxie import core

from .strategies import assert_same

pytestmark = pytest.mark.timeout(600)

THREADS = 6
REPEATS = 4


def _rng(seed):
    return np.random.default_rng(seed)


def _boxes(seed, n=600):
    rng = _rng(seed)
    xy = rng.uniform(0, 200, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 40, (n, 2))], axis=1)
    return boxes.astype(np.float32 if seed % 2 else np.float64)


def _image(seed, dtype):
    rng = _rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(0, 50, (120, 97, 3)).astype(dtype)
    return rng.integers(0, 256, (120, 97, 3)).astype(dtype)


def _huffman_round_trip(data):
    blob = core.compress(data, block_size=4096)
    return blob, core.decompress(blob)


def _conv_forward_backward(x, w):
    out, cache = core.conv2d_forward(x, w, stride=1, padding=1)
    return out, core.conv2d_backward(np.ones_like(out), cache)


def _inputs(name: str):
    """Argument tuples for the kernel ``name`` (a few different ones)."""
    seeds = range(3)
    if name == "median_filter":
        return [(_image(s, t), k) for s, (t, k) in zip(seeds, [(np.uint8, 3), (np.float32, 5), (np.uint16, 25)])]
    if name == "resize_bilinear":
        return [(_image(s, t), size) for s, (t, size) in
                zip(seeds, [(np.uint8, (301, 157)), (np.float32, (60, 48)), (np.float64, (240, 194))])]
    if name in ("nms", "batched_nms"):
        out = []
        for s in seeds:
            boxes = _boxes(s)
            args = (boxes, _rng(s).random(len(boxes)))
            out.append(args + ((_rng(s).integers(0, 5, len(boxes)),) if name == "batched_nms" else ()) + (0.5,))
        return out
    if name == "soft_nms":
        return [(_boxes(s, 300), _rng(s).random(300)) for s in seeds]
    if name == "box_iou":
        return [(_boxes(s, 300), _boxes(s + 1, 200)) for s in seeds]
    if name == "kmeans":
        return [(_rng(s).normal(0, 1, (2000, 3)).astype(np.float32 if s else np.float64), 5) for s in seeds]
    if name == "knn_search":
        return [(_rng(s).normal(0, 1, (300, 8)), _rng(s + 9).normal(0, 1, (1500, 8)), 5) for s in seeds]
    if name == "conv2d":
        return [(_rng(s).normal(0, 1, (2, 4, 24, 24)).astype(np.float32 if s else np.float64),
                 _rng(s + 5).normal(0, 1, (6, 4, 3, 3))) for s in seeds]
    if name == "huffman":
        return [((_rng(s).zipf(1.3, 60_000 + s) % 256).astype(np.uint8).tobytes(),) for s in seeds]
    if name in ("roc_curve", "average_precision"):
        return [(_rng(s).integers(0, 2, 20_000), _rng(s + 3).normal(0, 1, 20_000).round(2)) for s in seeds]
    raise KeyError(name)


KERNELS = {
    "median_filter": core.median_filter,
    "resize_bilinear": core.resize_bilinear,
    "nms": core.nms,
    "batched_nms": core.batched_nms,
    "soft_nms": core.soft_nms,
    "box_iou": core.box_iou,
    "kmeans": lambda X, k: core.kmeans(X, k, seed=0),
    "knn_search": core.knn_search,
    "conv2d": _conv_forward_backward,
    "huffman": _huffman_round_trip,
    "roc_curve": core.roc_curve,
    "average_precision": core.average_precision,
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_threads_give_the_serial_results(name):
    fn, inputs = KERNELS[name], _inputs(name)
    serial = [fn(*args) for args in inputs]
    jobs = [i for _ in range(REPEATS) for i in range(len(inputs))]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda i: fn(*inputs[i]), jobs))
    for i, result in zip(jobs, results):
        assert_same(result, serial[i], f"{name} input {i}")
