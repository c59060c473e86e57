"""Hypothesis strategies of hostile inputs, and the checks every kernel call must pass.

A hostile input is either *value-preserving* (the same numbers in another memory layout: Fortran
order, negative strides, steps, transposes, read-only, unaligned, byte-swapped, nested lists), so
the kernel must return exactly what it returns for the plain contiguous array, or *corrupting*
(another dtype, shape, special float, absurd scalar, garbage object), so the kernel must return a
correct result or raise a ``ValueError`` / ``TypeError`` naming one of its arguments.
"""
from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pytest
from hypothesis import strategies as st

#: Every kind of dtype a caller can hand over: bool, every integer width signed and unsigned,
#: every float width, complex, object, unicode and byte strings, a datetime.
DTYPES = tuple(np.dtype(t) for t in (
    np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128, object, "U3",
    "S3", "datetime64[s]"))
#: Floats that break naive code: NaN, infinities, the largest finite double, subnormals, -0.
SPECIAL_FLOATS = (np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, -5e-324, 2.2250738585072e-309,
                  -0.0, 3.4028235e38, 65504.0, 1e-45)
#: Scalars no parameter should accept silently unless they are in its domain.
HOSTILE_SCALARS = (0, -1, 1, 2, 3, -0.5, 0.5, 1.5, 10**9, 1e9, 2**31, 2**63, -2**63, 2**64, np.nan, np.inf,
                   -np.inf, 1e308, 5e-324, True, False, None, "1", "", b"x", 1 + 2j, [1], (), {},
                   np.int64(3), np.uint8(255), np.float32(0.5), np.float64(np.nan), object())
#: Value-preserving layouts (see :func:`relayout`).
LAYOUTS = ("contiguous", "fortran", "reversed", "strided", "transposed", "readonly", "unaligned",
           "byteswapped", "list", "zero_stride")


def relayout(arr: np.ndarray, layout: str):
    """``arr``'s values in another memory layout; the logical array is unchanged.

    ``zero_stride`` broadcasts when every value along an axis is equal (a stride-0 view, read-only
    like every broadcast); otherwise, and where a layout does not apply, a plain copy.
    """
    arr = np.asarray(arr)
    if layout == "fortran":
        return np.asfortranarray(arr)
    if layout == "reversed" and arr.ndim:
        flip = (slice(None, None, -1),) * arr.ndim
        return np.ascontiguousarray(arr[flip])[flip]
    if layout == "strided" and arr.ndim:
        big = np.zeros(tuple(2 * s + 1 for s in arr.shape), arr.dtype)
        if arr.dtype == object:
            big.fill(None)
        view = big[(slice(1, None, 2),) * arr.ndim]
        view[...] = arr
        return view
    if layout == "transposed" and arr.ndim >= 2:
        return np.ascontiguousarray(arr.T).T
    if layout == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    if layout == "unaligned" and arr.dtype.itemsize > 1 and arr.dtype != object:
        raw = np.zeros(arr.nbytes + 1, np.uint8)
        out = raw[1:].view(arr.dtype).reshape(arr.shape)
        out[...] = arr
        return out
    if layout == "byteswapped" and arr.dtype.kind in "iufc" and arr.dtype.itemsize > 1:
        return arr.astype(arr.dtype.newbyteorder())
    if layout == "list" and arr.dtype in (np.float64, np.int64, np.bool_) and arr.size:
        return arr.tolist()
    if layout == "zero_stride" and arr.ndim and arr.size and (arr == arr[:1]).all():
        return np.broadcast_to(arr[:1], arr.shape)
    return arr.copy()


@st.composite
def corrupted(draw, arr: np.ndarray):
    """``arr`` corrupted once: another dtype, shape, or a special value; or a garbage object."""
    arr = np.asarray(arr)
    kind = draw(st.sampled_from(("dtype", "special", "ndim_up", "ndim_down", "zero_d", "empty",
                                 "shorter", "longer", "wider", "ragged", "garbage")))
    if kind == "dtype":
        dtype = draw(st.sampled_from(DTYPES))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                return arr.astype(dtype)
            except (TypeError, ValueError):
                return arr.astype(object)
    if kind == "special" and arr.size and arr.dtype.kind in "biuf":
        out = arr.astype(np.float64 if arr.dtype.kind != "f" else arr.dtype)
        flat = out.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(SPECIAL_FLOATS))
        return out
    if kind == "ndim_up":
        return arr[None]
    if kind == "ndim_down" and arr.ndim > 1:
        return arr.reshape(-1)
    if kind == "ndim_down" and arr.ndim == 1 and arr.size:
        return arr[:1].reshape(())
    if kind == "zero_d":
        return np.asarray(arr.reshape(-1)[0] if arr.size else 0.0)
    if kind == "empty" and arr.ndim:
        axis = draw(st.integers(0, arr.ndim - 1))
        return np.take(arr, [], axis=axis)
    if kind == "shorter" and arr.ndim and arr.shape[0]:
        return arr[:-1]
    if kind == "longer" and arr.ndim:
        return np.concatenate([arr, arr[:1] if arr.shape[0] else np.zeros((1,) + arr.shape[1:], arr.dtype)])
    if kind == "wider" and arr.ndim >= 2:
        return np.concatenate([arr, arr[..., :1] if arr.shape[-1] else np.zeros(arr.shape[:-1] + (1,), arr.dtype)],
                              axis=-1)
    if kind == "ragged" and arr.ndim >= 2 and arr.shape[0] >= 2:
        rows = arr.tolist()
        rows[0] = rows[0][:-1]
        return rows
    return draw(st.sampled_from((None, "boxes", b"\x00" * 8, 3.5, [[1, 2], [3]], {"a": 1}, object(),
                                 [None, None], np.array([1, "a"], dtype=object))))


def hostile_scalar(extra=()) -> st.SearchStrategy:
    """A value for a scalar parameter: one of ``HOSTILE_SCALARS`` or a parameter-specific one."""
    return st.sampled_from(HOSTILE_SCALARS + tuple(extra))


# --------------------------------------------------------------------------- checking a call
def _arrays_in(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays_in(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _arrays_in(item)


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def snapshot(kwargs: Mapping) -> list:
    """Bytes of every array reachable from ``kwargs`` (and of the buffers they view), and the
    nested lists, so that :func:`assert_unchanged` catches any write into an input."""
    shots = []
    for name, value in kwargs.items():
        for arr in _arrays_in(value):
            root = _root(arr)
            shots.append((name, arr, arr.dtype, arr.shape, arr.tobytes(), root, root.tobytes()))
        if isinstance(value, list):
            shots.append((name, value, repr(value)))
    return shots


def assert_unchanged(shots: list, mutable: tuple[str, ...] = ()) -> None:
    for shot in shots:
        name = shot[0]
        if name in mutable:
            continue
        if len(shot) == 3:
            assert repr(shot[1]) == shot[2], f"the call changed the list {name}"
            continue
        _, arr, dtype, shape, data, root, root_data = shot
        assert arr.dtype == dtype and arr.shape == shape, f"the call reshaped input {name}"
        assert arr.tobytes() == data, f"the call wrote into input {name}"
        assert root.tobytes() == root_data, f"the call wrote into the buffer under input {name}"


#: Exceptions a kernel may raise for bad input.
CLEAN_ERRORS = (ValueError, TypeError)


def names_an_argument(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message) for n in names)


def call(fn: Callable, kwargs: dict, *, mutable: tuple[str, ...] = (), names=()):
    """Call ``fn(**kwargs)``; return ``(True, result)`` or ``(False, error)`` for a clean error.

    Fails the test on any other exception, on an error message naming none of the arguments (or
    of the further ``names``), and when an input other than those in ``mutable`` was written to.
    """
    shots = snapshot(kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(**kwargs)
    except CLEAN_ERRORS as exc:
        try:   # every parameter, also those left at their default
            params = tuple(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = ()
        names = tuple(kwargs) + params + tuple(names)
        assert names_an_argument(str(exc), names), (
            f"{type(exc).__name__} names none of the arguments {names}: {exc}")
        outcome = (False, exc)
    except Exception as exc:  # noqa: BLE001 - any other exception is the bug being hunted
        pytest.fail(f"{fn.__qualname__} raised {type(exc).__name__}: {exc}")
    else:
        outcome = (True, result)
    assert_unchanged(shots, mutable)
    return outcome


def assert_same(a, b, path: str = "result") -> None:
    """``a`` and ``b`` equal: arrays bit for bit (dtype and shape too, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        if a.dtype.kind == "f" or a.dtype.kind == "c":
            assert np.array_equal(a, b, equal_nan=True), f"{path} differs"
        else:
            assert np.array_equal(a, b), f"{path} differs"
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, float) and a != a:
        assert b != b, path
    elif hasattr(a, "__dataclass_fields__"):
        for field in a.__dataclass_fields__:
            assert_same(getattr(a, field), getattr(b, field), f"{path}.{field}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def assert_no_alias(result, kwargs: Mapping) -> None:
    """No returned array shares memory with an input (writing the result must not corrupt it)."""
    inputs = list(_arrays_in(dict(kwargs)))
    for out in _arrays_in(result if isinstance(result, (tuple, list, dict)) else [result]):
        for arr in inputs:
            assert not np.shares_memory(out, arr), "a returned array shares memory with an input"
