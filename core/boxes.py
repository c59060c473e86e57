"""Bounding boxes: pairwise IoU.

Boxes are ``(N, 4)`` arrays of ``x1, y1, x2, y2`` with ``x2 >= x1`` and ``y2 >= y1``; areas are
``(x2 - x1) * (y2 - y1)`` (no "+1"). float32 input stays float32, float64 stays float64, any
other real input is computed in float64.
"""
from __future__ import annotations

import numpy as np

from . import _boxes
from ._validation import common_float_dtype, float_array


def as_boxes(x, name: str) -> np.ndarray:
    """Validate an ``(N, 4)`` array of finite ``x1, y1, x2, y2`` boxes with non-negative size."""
    arr = float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    inverted = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if inverted.any():
        row = int(np.flatnonzero(inverted)[0])
        raise ValueError(f"{name}[{row}] has x2 < x1 or y2 < y1: {arr[row].tolist()}")
    return arr


def box_iou(boxes1, boxes2) -> np.ndarray:
    """Pairwise intersection over union.

    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``x1, y1, x2, y2``.
    boxes2 : array_like, shape (M, 4)
        Boxes ``x1, y1, x2, y2``.

    Returns
    -------
    iou : ndarray, shape (N, M)
        ``iou[i, j]`` is the IoU of ``boxes1[i]`` and ``boxes2[j]``; float32 when both inputs
        are float32, float64 otherwise. A pair whose union has zero area (two degenerate boxes)
        has IoU 0, never NaN.

    Raises
    ------
    ValueError
        Wrong shape, NaN or infinite coordinates, or a box with ``x2 < x1`` or ``y2 < y1``.
    """
    b1 = as_boxes(boxes1, "boxes1")
    b2 = as_boxes(boxes2, "boxes2")
    dtype = common_float_dtype(b1, b2)
    b1, b2 = b1.astype(dtype, copy=False), b2.astype(dtype, copy=False)
    out = np.empty((b1.shape[0], b2.shape[0]), dtype=dtype)
    _boxes.box_iou(b1, b2, out)
    return out
