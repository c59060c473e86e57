"""2-D convolution and max pooling with forward and backward passes, NCHW layout.

Convolution is im2col (compiled, parallel over the ``N * C`` input planes) followed by one GEMM
(``numpy.matmul``) of the ``(groups, O/groups, C/groups*KH*KW)`` weights with the
``(groups, C/groups*KH*KW, N*HO*WO)`` columns of the whole batch; the backward pass rebuilds the
columns, forms the two transposed products (again one GEMM each) and scatters the column gradient
back with col2im. The column matrix is ``KH*KW`` times the input and a fresh allocation of that
size costs more in page faults than im2col itself, so column buffers are recycled: the forward
pass's columns live as long as its cache (the backward pass reuses them) and go back to a small
pool when the cache is dropped. Keeping many caches alive therefore keeps their columns alive.
Max pooling is a compiled window scan that also records each window's winner.

Kernel sizes, strides, paddings and dilations are an int or an ``(h, w)`` pair. Output sizes are
``(H + 2*padding - dilation*(kernel - 1) - 1) // stride + 1``, as in ``torch.nn.functional``.
Forward functions return ``(out, cache)``; backward functions take ``(dout, cache)``.
"""
from __future__ import annotations

import numbers
import threading
import weakref
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _conv, _pool
from ._validation import allocation, common_float_dtype, float_tensor, forward_cache, gradient_like, integer


#: A size along both axes: one int, or an (h, w) pair.
Pair = int | tuple[int, int]


def pair(value, name: str, *, low: int) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair of ints, each in ``[low, 2**31)``, as an ``(h, w)`` tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}")
    h, w = value
    # C indices stay in range
    return integer(h, name, low=low, high=2**31 - 1), integer(w, name, low=low, high=2**31 - 1)


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, axis: str) -> int:
    """Output extent along one axis; ``ValueError`` when the dilated kernel exceeds the padded input."""
    span = dilation * (kernel - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(f"kernel {axis} extent {span} (dilation included) is larger than the "
                         f"padded input {axis} {size + 2 * padding} of x")
    return (size + 2 * padding - span) // stride + 1


class _BufferPool:
    """Recycled byte buffers for column matrices (thread-safe; at most ``keep`` idle buffers)."""

    def __init__(self, keep: int = 4) -> None:
        self._idle: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._keep = keep

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """``(buffer, view)``: the smallest idle buffer that fits (or a new one) and an
        uninitialised array of ``shape`` and ``dtype`` over it."""
        nbytes = int(np.prod(shape)) * dtype.itemsize
        with self._lock:
            fits = [i for i, b in enumerate(self._idle) if b.size >= nbytes]
            buf = self._idle.pop(min(fits, key=lambda i: self._idle[i].size)) if fits else None
        if buf is None:
            buf = np.empty(nbytes, np.uint8)
        return buf, buf[:nbytes].view(dtype).reshape(shape)

    def give(self, buf: np.ndarray) -> None:
        """Return ``buf``; the smallest idle buffer is dropped when more than ``keep`` are idle."""
        with self._lock:
            self._idle.append(buf)
            if len(self._idle) > self._keep:
                self._idle.pop(min(range(len(self._idle)), key=lambda i: self._idle[i].size))


_pool_of_columns = _BufferPool()


@dataclass(frozen=True)
class ConvCache:
    """What :func:`conv2d_backward` needs from the forward pass.

    ``col`` views a pooled buffer that is recycled once the cache is garbage-collected: do not
    keep ``col`` (or views of it) beyond the cache's life.
    """

    x_shape: tuple[int, int, int, int]
    weight: np.ndarray  # (groups, O/groups, C/groups*KH*KW)
    col: np.ndarray     # (groups, C/groups*KH*KW, N*HO*WO) columns, over a pooled buffer
    geometry: tuple[int, ...]  # kh, kw, sh, sw, ph, pw, dh, dw, ho, wo
    has_bias: bool


def conv2d_forward(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None, *, stride: Pair = 1,
                   padding: Pair = 0, dilation: Pair = 1,
                   groups: int = 1) -> tuple[NDArray[np.floating], ConvCache]:
    """2-D cross-correlation, equal to ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input, float32 or float64.
    w : array_like, shape (O, C / groups, KH, KW)
        Weights, float32 or float64.
    b : array_like, shape (O,), optional
        Bias.
    stride, padding, dilation : int or (int, int)
        Step between windows (>= 1), zero padding on each side (>= 0), spacing between kernel
        taps (>= 1).
    groups : int
        Input and output channels are split into ``groups`` independent blocks; must divide
        both ``C`` and ``O``.

    Returns
    -------
    out : ndarray, shape (N, O, HO, WO)
        float32 when every input is float32, float64 otherwise.
    cache : ConvCache
        For :func:`conv2d_backward`.

    Raises
    ------
    TypeError
        Non-float arrays, non-integer geometry.
    ValueError
        Wrong ranks, channel counts that do not match the weights or the groups, zero stride,
        negative padding, or a dilated kernel larger than the padded input.
    """
    x = float_tensor(x, "x", ndim=4)
    w = float_tensor(w, "w", ndim=4)
    arrays = [x, w]
    groups = integer(groups, "groups", low=1)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if c % groups:
        raise ValueError(f"groups={groups} does not divide the {c} input channels of x")
    if o % groups:
        raise ValueError(f"groups={groups} does not divide the {o} output channels of w")
    if cg != c // groups:
        raise ValueError(f"w has {cg} input channels per group but x has {c} channels in "
                         f"{groups} group(s): w must have shape ({o}, {c // groups}, KH, KW)")
    if kh == 0 or kw == 0:
        raise ValueError(f"w must have a non-empty kernel, got shape {w.shape}")
    if b is not None:
        b = float_tensor(b, "b", ndim=1)
        if b.shape[0] != o:
            raise ValueError(f"b must have shape ({o},), got {b.shape}")
        arrays.append(b)
    sh, sw = pair(stride, "stride", low=1)
    ph, pw = pair(padding, "padding", low=0)
    dh, dw = pair(dilation, "dilation", low=1)
    ho = output_size(h, kh, sh, ph, dh, "height")
    wo = output_size(wd, kw, sw, pw, dw, "width")
    dtype = common_float_dtype(*arrays)
    allocation((c * kh * kw + o) * n * ho * wo * dtype.itemsize,
               f"padding={padding!r}: the columns and output of {n} x {o} x {ho} x {wo}")
    x = x.astype(dtype, copy=False)
    weight = w.astype(dtype, copy=False).reshape(groups, o // groups, cg * kh * kw)
    geometry = (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    buf, col = _pool_of_columns.take((c * kh * kw, n, ho * wo), dtype)
    _conv.im2col(x, col, *geometry)
    col = col.reshape(groups, cg * kh * kw, n * ho * wo)
    out = np.matmul(weight, col)  # (groups, O/groups, N*HO*WO)
    out = np.ascontiguousarray(out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3))
    if b is not None:
        out += b.astype(dtype, copy=False)[:, None, None]
    cache = ConvCache(x.shape, weight, col, geometry, b is not None)
    weakref.finalize(cache, _pool_of_columns.give, buf)
    return out, cache


def conv2d_backward(dout: ArrayLike, cache: ConvCache
                    ) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating] | None]:
    """Gradients of :func:`conv2d_forward`, equal to torch's autograd.

    Parameters
    ----------
    dout : array_like, shape (N, O, HO, WO)
        Gradient of the loss with respect to the output.
    cache : ConvCache
        From :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (O, C / groups, KH, KW)
    db : ndarray, shape (O,), or None when the forward pass had no bias
    """
    cache = forward_cache(cache, ConvCache, "conv2d_forward")
    weight, col = cache.weight, cache.col
    n, c = cache.x_shape[:2]
    groups, og, k = weight.shape
    kh, kw = cache.geometry[:2]
    ho, wo = cache.geometry[-2:]
    dout = gradient_like(dout, (n, groups * og, ho, wo), col.dtype)
    d = np.ascontiguousarray(dout.reshape(n, groups * og, ho * wo).transpose(1, 0, 2))
    d = d.reshape(groups, og, n * ho * wo)
    dw = np.matmul(d, col.transpose(0, 2, 1)).reshape(groups * og, k // (kh * kw), kh, kw)
    db = dout.sum(axis=(0, 2, 3)) if cache.has_bias else None
    buf, dcol = _pool_of_columns.take(col.shape, col.dtype)
    np.matmul(weight.transpose(0, 2, 1), d, out=dcol)
    dx = np.empty(cache.x_shape, col.dtype)
    _conv.col2im(dcol.reshape(c * kh * kw, n, ho * wo), dx, *cache.geometry)
    _pool_of_columns.give(buf)
    return dx, dw, db


@dataclass(frozen=True)
class PoolCache:
    """What :func:`max_pool2d_backward` needs from the forward pass."""

    x_shape: tuple[int, int, int, int]
    argmax: np.ndarray  # (N*C, HO, WO) int32 flat index of each winner inside its plane
    dtype: np.dtype


def max_pool2d_forward(x: ArrayLike, kernel_size: Pair, *, stride: Pair | None = None,
                       padding: Pair = 0) -> tuple[NDArray[np.floating], PoolCache]:
    """2-D max pooling, equal to ``torch.nn.functional.max_pool2d``.

    Padding acts as -inf (it never wins), a window's first maximum in row-major order wins ties,
    and NaN propagates as in torch (a window holding NaN outputs NaN).

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input, float32 or float64; NaN and infinities are allowed.
    kernel_size : int or (int, int)
        Window size (>= 1).
    stride : int or (int, int), optional
        Step between windows (>= 1); defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit -inf padding on each side; at most half the kernel size (as in torch).

    Returns
    -------
    out : ndarray, shape (N, C, HO, WO)
        Same dtype as ``x``.
    cache : PoolCache
        For :func:`max_pool2d_backward`.
    """
    x = float_tensor(x, "x", ndim=4)
    kh, kw = pair(kernel_size, "kernel_size", low=1)
    sh, sw = pair(kernel_size if stride is None else stride, "stride", low=1)
    ph, pw = pair(padding, "padding", low=0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"padding must be at most half the kernel size, got padding {(ph, pw)} "
                         f"for kernel_size {(kh, kw)}")
    n, c, h, w = x.shape
    if h * w > np.iinfo(np.int32).max:
        raise ValueError(f"x planes of {h}x{w} elements are too large to index with int32")
    ho = output_size(h, kh, sh, ph, 1, "height")
    wo = output_size(w, kw, sw, pw, 1, "width")
    out = np.empty((n * c, ho, wo), x.dtype)
    argmax = np.empty((n * c, ho, wo), np.int32)
    _pool.max_pool2d_forward(x.reshape(n * c, h, w), out, argmax, kh, kw, sh, sw, ph, pw)
    return out.reshape(n, c, ho, wo), PoolCache(x.shape, argmax, x.dtype)


def max_pool2d_backward(dout: ArrayLike, cache: PoolCache) -> NDArray[np.floating]:
    """Gradient of :func:`max_pool2d_forward`: each output's gradient goes to its window's winner.

    Parameters
    ----------
    dout : array_like, shape (N, C, HO, WO)
    cache : PoolCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    n, c, h, w = forward_cache(cache, PoolCache, "max_pool2d_forward").x_shape
    planes, ho, wo = cache.argmax.shape
    dout = gradient_like(dout, (n, c, ho, wo), cache.dtype)
    dx = np.empty((planes, h, w), cache.dtype)
    _pool.max_pool2d_backward(dout.reshape(planes, ho, wo), cache.argmax, dx)
    return dx.reshape(n, c, h, w)
