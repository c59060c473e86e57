"""Validation shared by the image kernels (median filter, bilinear resize)."""
from __future__ import annotations

import numpy as np

from ._validation import as_array

#: The pixel types every image kernel accepts.
IMAGE_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64))


def as_image(x, name: str) -> np.ndarray:
    """Return ``x`` as a C-contiguous ``(H, W)`` or ``(H, W, C)`` array of a supported dtype.

    The dtype is kept (uint8, uint16, int16, float32, float64; byte-swapped ones are brought to
    native order); anything else is a ``TypeError`` (convert explicitly: no silent change of
    pixel type). Views of any strides, negative ones included, are copied to contiguous memory.
    """
    arr = as_array(x, name)
    if arr.dtype not in IMAGE_DTYPES:
        names = ", ".join(str(t) for t in IMAGE_DTYPES)
        raise TypeError(f"{name} must have dtype {names}; got {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got {arr.shape}")
    return np.ascontiguousarray(arr)


def channels_of(image: np.ndarray) -> int:
    """C of an ``(H, W, C)`` image, 1 for ``(H, W)``."""
    return image.shape[2] if image.ndim == 3 else 1
