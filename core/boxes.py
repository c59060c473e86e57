"""Bounding boxes: pairwise IoU, generalized, distance and complete IoU.

Boxes are ``(N, 4)`` arrays of ``x1, y1, x2, y2`` with ``x2 >= x1`` and ``y2 >= y1``; areas are
``(x2 - x1) * (y2 - y1)`` (no "+1"). float32 input stays float32, float64 stays float64, any
other real input is computed in float64.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _boxes
from ._validation import common_float_dtype, float_array, real_number


def as_boxes(x, name: str) -> np.ndarray:
    """Validate an ``(N, 4)`` array of finite ``x1, y1, x2, y2`` boxes with non-negative, finite area."""
    arr = float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    inverted = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if inverted.any():
        row = int(np.flatnonzero(inverted)[0])
        raise ValueError(f"{name}[{row}] has x2 < x1 or y2 < y1: {arr[row].tolist()}")
    with np.errstate(over="ignore"):
        overflow = ~np.isfinite((arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1]))
    if overflow.any():
        row = int(np.flatnonzero(overflow)[0])
        raise ValueError(f"{name}[{row}] is too large: its area overflows {arr.dtype}")
    return arr


def _pair(boxes1, boxes2):
    """Validate two box sets; return them in their common dtype, the second transposed (4, M)."""
    b1 = as_boxes(boxes1, "boxes1")
    b2 = as_boxes(boxes2, "boxes2")
    dtype = common_float_dtype(b1, b2)
    b1 = b1.astype(dtype, copy=False)
    b2t = np.ascontiguousarray(b2.T, dtype=dtype)
    return b1, b2t, np.empty((b1.shape[0], b2t.shape[1]), dtype=dtype)


_PAIR_DOC = """
    Parameters
    ----------
    boxes1 : array_like, shape (N, 4)
        Boxes ``x1, y1, x2, y2``.
    boxes2 : array_like, shape (M, 4)
        Boxes ``x1, y1, x2, y2``.{extra}

    Returns
    -------
    out : ndarray, shape (N, M)
        ``out[i, j]`` compares ``boxes1[i]`` with ``boxes2[j]``; float32 when both inputs are
        float32, float64 otherwise.

    Raises
    ------
    ValueError
        Wrong shape, NaN or infinite coordinates, or a box with ``x2 < x1`` or ``y2 < y1``.
"""
_EPS_DOC = """
    eps : float, default 1e-7
        Added to denominators, as in torchvision; must be positive."""


def box_iou(boxes1: ArrayLike, boxes2: ArrayLike) -> NDArray[np.floating]:
    """Pairwise intersection over union, equal to ``torchvision.ops.box_iou``.

    A pair whose union has zero area (two degenerate boxes) has IoU 0, never NaN (torchvision
    gives NaN there).
    """
    b1, b2t, out = _pair(boxes1, boxes2)
    _boxes.box_iou(b1, b2t, out)
    return out


def generalized_box_iou(boxes1: ArrayLike, boxes2: ArrayLike) -> NDArray[np.floating]:
    """Pairwise generalized IoU (Rezatofighi et al. 2019), equal to ``torchvision.ops.generalized_box_iou``.

    ``GIoU = IoU - (C - U) / C`` with ``C`` the area of the smallest enclosing box and ``U`` the
    union; in [-1, 1]. When ``C`` is 0 (both boxes degenerate on one line or point) the penalty
    is taken as 0, so the result is the IoU, 0, never NaN.
    """
    b1, b2t, out = _pair(boxes1, boxes2)
    _boxes.generalized_box_iou(b1, b2t, out)
    return out


def distance_box_iou(boxes1: ArrayLike, boxes2: ArrayLike, eps: float = 1e-7) -> NDArray[np.floating]:
    """Pairwise distance IoU (Zheng et al. 2020), equal to ``torchvision.ops.distance_box_iou``.

    ``DIoU = IoU - d² / (c² + eps)`` with ``d`` the distance between the box centres and ``c``
    the diagonal of the smallest enclosing box.
    """
    b1, b2t, out = _pair(boxes1, boxes2)
    _boxes.distance_box_iou(b1, b2t, _eps(eps), out)
    return out


def complete_box_iou(boxes1: ArrayLike, boxes2: ArrayLike, eps: float = 1e-7) -> NDArray[np.floating]:
    """Pairwise complete IoU (Zheng et al. 2020), equal to ``torchvision.ops.complete_box_iou``.

    ``CIoU = DIoU - alpha v`` with ``v = 4 / pi² (atan(w1 / h1) - atan(w2 / h2))²`` and
    ``alpha = v / (1 - IoU + v + eps)``. The aspect angle ``atan(w / h)`` is computed as
    ``atan2(w, h)``: pi/2 for a zero-height box and 0 for a point, where torchvision's
    ``atan(0 / 0)`` gives NaN.
    """
    b1, b2t, out = _pair(boxes1, boxes2)
    aspect1 = np.arctan2(b1[:, 2] - b1[:, 0], b1[:, 3] - b1[:, 1])
    aspect2 = np.arctan2(b2t[2] - b2t[0], b2t[3] - b2t[1])
    _boxes.complete_box_iou(b1, b2t, aspect1, aspect2, _eps(eps), out)
    return out


def _eps(eps) -> float:
    return real_number(eps, "eps", low=0, low_open=True)


for _f, _extra in [(box_iou, ""), (generalized_box_iou, ""), (distance_box_iou, _EPS_DOC),
                   (complete_box_iou, _EPS_DOC)]:
    _f.__doc__ = (_f.__doc__ or "") + _PAIR_DOC.format(extra=_extra)
