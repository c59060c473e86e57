"""Input validation shared by every kernel wrapper.

Each check names the argument it rejects. Compiled kernels run with bounds checks off and
without the GIL, so everything they rely on (dtype, shape, contiguity, finiteness) is
established here first. Three families: numbers and choices (``real_number``, ``integer``,
``choice``); arrays (``float_array``, ``label_array``, the image and tensor validators);
dtypes (``common_float_dtype``).

Tensors (the neural-network layers) compute in float32 or float64 only, as torch does: integer
and boolean arrays are a ``TypeError`` rather than silently promoted, and NaN and infinities are
accepted and propagate the way they do in torch (they cannot make a kernel index out of bounds).
"""
from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: What ``generator`` takes: None (fresh entropy), an int >= 0, or a Generator.
Seed = int | np.random.Generator | None
#: The pixel types every image kernel accepts.
IMAGE_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64))


def as_array(x: ArrayLike, name: str) -> NDArray[Any]:
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


def float_array(x: ArrayLike, name: str, *, ndim: int | None = None, finite: bool = True) -> NDArray[np.floating]:
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


def real_number(x: Any, name: str, *, low: float | None = None, high: float | None = None,
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


def integer(x: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``x`` as a Python int inside ``[low, high]``; bools and floats are rejected."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    x = int(x)
    if low is not None and x < low:
        raise ValueError(f"{name} must be >= {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return x


def generator(seed: Seed, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from ``seed``: None (fresh entropy), an int >= 0, or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(integer(seed, name, low=0))


def sequence(x: Any, name: str) -> list:
    """``x`` (a list, tuple or other non-string iterable) as a list; otherwise a ``TypeError``."""
    if isinstance(x, (str, bytes, Mapping, np.ndarray)) or not isinstance(x, Iterable):
        raise TypeError(f"{name} must be a sequence, got {type(x).__name__}")
    return list(x)


def choice(x: Any, name: str, options: Iterable[str]) -> str:
    """Return ``x`` when it is one of ``options``; otherwise a ``ValueError`` listing them."""
    options = tuple(options)
    if x not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def label_array(x: ArrayLike, name: str, n: int, *, kinds: str = "iu", bound: int | None = None,
                like: str = "") -> NDArray[Any]:
    """Return ``x`` as ``n`` integer class labels or indices, a 1-D array.

    ``kinds`` are the accepted dtype kinds: ``"iu"`` (integers), plus ``"b"`` for bools, ``"f"``
    for floats holding integer values, ``"US"`` for string labels (kept as they are). With
    ``bound`` every value must lie in ``[0, bound)``. ``like`` ends the shape message (" to match
    boxes"). Numeric labels come back as int64; string-accepting calls get the array unchanged.
    """
    arr = as_array(x, name)
    if "U" in kinds and arr.dtype == object and arr.size and all(isinstance(v, str) for v in arr.flat):
        arr = arr.astype(str)   # strings in an object array (a pandas column) are string labels
    if arr.dtype.kind not in kinds:
        what = "bool, integer, float or string class labels" if "U" in kinds else "an integer array"
        raise TypeError(f"{name} must be {what}, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},){like}, got {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
        if (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold integer values, got non-integer floats")
    if bound is not None and n and (arr.min() < 0 or arr.max() >= bound):
        bad = arr[(arr < 0) | (arr >= bound)][0]
        raise ValueError(f"{name} must be in [0, {bound - 1}], got {bad}")
    return arr if "U" in kinds else arr.astype(np.int64, copy=False)


def as_image(x: ArrayLike, name: str) -> NDArray[Any]:
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


def float_tensor(x: ArrayLike, name: str, *, ndim: int | tuple[int, ...] | None = None) -> NDArray[np.floating]:
    """``x`` as a C-contiguous float32/float64 array of the given rank(s); NaN/inf allowed."""
    arr = as_array(x, name)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if isinstance(ndim, tuple) and arr.ndim not in ndim:
        raise ValueError(f"{name} must be {' or '.join(map(str, ndim))}-D, got shape {arr.shape}")
    return float_array(arr, name, ndim=None if isinstance(ndim, tuple) else ndim, finite=False)


def gradient_like(dout: ArrayLike, shape: tuple[int, ...], dtype: DTypeLike,
                  name: str = "dout") -> NDArray[np.floating]:
    """A backward pass's incoming gradient: float, of the forward output's shape, in its dtype."""
    arr = float_tensor(dout, name)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have the forward output's shape {tuple(shape)}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def forward_cache(cache: Any, kind: type | tuple[type, ...], forward: str) -> Any:
    """``cache`` when it is a ``kind``, what ``forward`` returns; otherwise a ``TypeError``."""
    if not isinstance(cache, kind):
        raise TypeError(f"cache must be the cache returned by {forward}, got {type(cache).__name__}")
    return cache


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
