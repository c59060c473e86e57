"""Input validation shared by every kernel wrapper.

Each check names the argument it rejects. Compiled kernels run with bounds checks off and
without the GIL, so everything they rely on (dtype, shape, contiguity, finiteness) is
established here first.
"""
from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_array(x, name: str) -> np.ndarray:
    """``numpy.asarray(x)`` in native byte order and aligned (byte-swapped data, e.g. read from a
    big-endian file, and misaligned views of a byte buffer are copied; compiled loops may assume
    natural alignment); a ragged nested sequence is a ``ValueError`` naming ``name``."""
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        raise ValueError(f"{name} must be a rectangular array: {exc}") from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr


def float_array(x, name: str, *, ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 or float64 array.

    float32 and float64 keep their dtype; bool, integer and other real input becomes float64.
    Complex, object and string input is a ``TypeError``.
    """
    arr = as_array(x, name)
    if arr.dtype not in FLOAT_DTYPES:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if finite and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)   # (which makes 0-d 1-d)


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


def generator(seed, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from ``seed``: None (fresh entropy), an int >= 0, or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(integer(seed, name, low=0))


def sequence(x, name: str) -> list:
    """``x`` (a list, tuple or other non-string iterable) as a list; otherwise a ``TypeError``."""
    if isinstance(x, (str, bytes, Mapping, np.ndarray)) or not isinstance(x, Iterable):
        raise TypeError(f"{name} must be a sequence, got {type(x).__name__}")
    return list(x)


def choice(x, name: str, options: Iterable[str]) -> str:
    """Return ``x`` when it is one of ``options``; otherwise a ``ValueError`` listing them."""
    options = tuple(options)
    if x not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # no sysconf (Windows): only absurd sizes fail
        return 1 << 48


#: Bytes of RAM of this machine; a single result larger than this is refused before allocating.
PHYSICAL_MEMORY = _physical_memory()


def allocation(nbytes: int, what: str) -> None:
    """``ValueError`` naming ``what`` when ``nbytes`` exceeds the machine's memory, so an absurd
    size (a typo'd output size, padding or batch) fails at once instead of allocating."""
    if nbytes > PHYSICAL_MEMORY:
        raise ValueError(f"{what} needs {nbytes / 2**30:.3g} GiB, more than this machine's "
                         f"{PHYSICAL_MEMORY / 2**30:.3g} GiB of memory")
