"""Validators shared by the neural-network layers.

Layers compute in float32 or float64 only, as torch does: integer and boolean arrays are a
``TypeError`` rather than silently promoted. NaN and infinities are accepted and propagate through
the layers the way they do in torch (they cannot make a kernel index out of bounds).
"""
from __future__ import annotations

import numpy as np

from ._validation import FLOAT_DTYPES, as_array, float_array


def float_tensor(x, name: str, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """``x`` as a C-contiguous float32/float64 array of the given rank(s); NaN/inf allowed."""
    arr = as_array(x, name)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if isinstance(ndim, tuple) and arr.ndim not in ndim:
        raise ValueError(f"{name} must be {' or '.join(map(str, ndim))}-D, got shape {arr.shape}")
    return float_array(arr, name, ndim=None if isinstance(ndim, tuple) else ndim, finite=False)


def gradient_like(dout, shape: tuple[int, ...], dtype: np.dtype, name: str = "dout") -> np.ndarray:
    """A backward pass's incoming gradient: float, of the forward output's shape, in its dtype."""
    arr = float_tensor(dout, name)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have the forward output's shape {tuple(shape)}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def forward_cache(cache, kind, forward: str):
    """``cache`` when it is a ``kind``, what ``forward`` returns; otherwise a ``TypeError``."""
    if not isinstance(cache, kind):
        raise TypeError(f"cache must be the cache returned by {forward}, got {type(cache).__name__}")
    return cache
