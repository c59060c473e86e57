"""Input validation shared by every kernel wrapper.

Each check names the argument it rejects. Compiled kernels run with bounds checks off and
without the GIL, so everything they rely on (dtype, shape, contiguity, finiteness) is
established here first.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(x, name: str, *, ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 or float64 array.

    float32 and float64 keep their dtype; bool, integer and other real input becomes float64.
    Complex, object and string input is a ``TypeError``.
    """
    arr = np.asarray(x)
    if arr.dtype not in FLOAT_DTYPES:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if finite and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return np.ascontiguousarray(arr)


def common_float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every array is float32, float64 otherwise."""
    if all(a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def real_number(x, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``x`` as a finite float inside the given (closed unless *_open) interval."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {x}")
    return x


def integer(x, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``x`` as a Python int inside ``[low, high]``; bools and floats are rejected."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    x = int(x)
    if low is not None and x < low:
        raise ValueError(f"{name} must be >= {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return x


def choice(x, name: str, options: Iterable[str]) -> str:
    """Return ``x`` when it is one of ``options``; otherwise a ``ValueError`` listing them."""
    options = tuple(options)
    if x not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x
