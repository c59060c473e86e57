"""Absurd sizes are refused with a clear error before anything large is allocated.

``tracemalloc`` sees numpy's allocations, so the peak traced memory of a refused call shows that
no output, tap table or column matrix was allocated first.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from shouxie import core

pytestmark = pytest.mark.timeout(120)

LIMIT = 4 << 20   # a refused call allocates less than 4 MiB


def refused(fn, *args, match: str, **kwargs) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < LIMIT, f"{peak} bytes allocated before the error"


IMAGE = np.zeros((4, 5, 3), np.uint8)


@pytest.mark.parametrize("size", [(10**9, 10**9), (1, 2**40), (2**40, 1), (10**6, 10**6)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_resize_absurd_size(size, dtype):
    refused(core.resize_bilinear, IMAGE.astype(dtype), size, match="size: an output of")


@pytest.mark.parametrize("scale", [1e9, (1e12, 1.0), 1e300, 1e308])
def test_resize_absurd_scale(scale):
    refused(core.resize_bilinear, IMAGE, scale=scale, match="scale")


def test_conv_absurd_padding():
    x, w = np.zeros((1, 2, 3, 3)), np.zeros((4, 2, 3, 3))
    refused(core.conv2d_forward, x, w, padding=10**6, match="padding=1000000")


def test_yolo_absurd_batch():
    boxes, classes = np.array([[10.0, 10, 20, 20]]), np.array([0])
    refused(core.yolov3_targets, boxes, classes, batch_size=10**9, num_classes=3, match="batch_size")
    refused(core.yolov3_targets, boxes, classes, num_classes=10**9, match="num_classes")


@pytest.mark.parametrize("ksize", [10**9, 65537, 2**63])
def test_median_absurd_ksize(ksize):
    refused(core.median_filter, IMAGE, ksize, match="ksize")


def _clamped_counts(n: int, centre: int, radius: int) -> np.ndarray:
    """How often each of ``n`` source indices is read by a window of ``radius`` around ``centre``
    whose taps are clamped to the image (the replicate border)."""
    taps = np.clip(np.arange(centre - radius, centre + radius + 1), 0, n - 1)
    return np.bincount(taps, minlength=n)


@pytest.mark.parametrize("dtype,k", [(np.uint8, 5001), (np.uint16, 5001), (np.float32, 5001),
                                     (np.float64, 3001)])
def test_median_huge_window_on_a_tiny_image(dtype, k):
    image = np.arange(12, dtype=dtype).reshape(3, 4)[::-1]
    out = core.median_filter(image, k)
    for y, x in np.ndindex(image.shape):
        weights = np.outer(_clamped_counts(3, y, k // 2), _clamped_counts(4, x, k // 2)).ravel()
        values = image.ravel()
        order = np.argsort(values, kind="stable")
        rank = np.searchsorted(np.cumsum(weights[order]), k * k // 2, side="right")
        assert out[y, x] == values[order][rank]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_median_absurdly_wide_window_is_refused_not_hours_of_work(dtype):
    image = np.arange(12, dtype=dtype).reshape(3, 4)
    refused(core.median_filter, image, 65535, match="ksize=65535 is wider than the 4-column image")


def test_fuse_torch_conv_bn_rejects_other_modules():
    torch = pytest.importorskip("torch")
    conv, bn = torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3)
    for args, match in [((bn, bn), "conv must be"), ((conv, conv), "bn must be"), ((None, bn), "conv must be"),
                        ((conv, torch.nn.BatchNorm2d(4)), "bn has 4 features"),
                        ((conv, torch.nn.BatchNorm2d(3, track_running_stats=False)), "running statistics")]:
        with pytest.raises((TypeError, ValueError), match=match):
            core.fuse_torch_conv_bn(*args)
