"""Numerical gradients by central differences, to check the analytic backward passes."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import FLOAT_DTYPES, float_array, real_number


def numerical_gradient(f: Callable[[], ArrayLike], x: NDArray[np.floating], dout: ArrayLike,
                       h: float = 1e-5) -> NDArray[np.floating]:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x`` by central differences.

    Each element of ``x`` is moved by ``+h`` and ``-h`` in turn (in place, then restored), so
    the cost is ``2 * x.size`` calls of ``f``. Use float64 and small inputs.

    Parameters
    ----------
    f : callable
        ``f()`` -> array; it must read ``x`` (for example through a closure), not a copy.
    x : ndarray of float
        The variable, modified in place during the call and restored afterwards.
    dout : array_like
        Weights of ``f``'s outputs (the upstream gradient), same shape as ``f()``.
    h : float > 0
        Step.

    Returns
    -------
    grad : ndarray, same shape and dtype as ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype not in FLOAT_DTYPES:   # float16 steps are noise
        raise TypeError(f"x must be a float32 or float64 numpy array, got {getattr(x, 'dtype', type(x).__name__)}")
    h = real_number(h, "h", low=0.0, low_open=True)
    dout = float_array(dout, "dout", finite=False)
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("x must be C-contiguous and writeable: it is perturbed in place")
    shape = np.shape(f())
    if shape != dout.shape:
        raise ValueError(f"dout must have the shape of f()'s output {shape}, got {dout.shape}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.sum(np.asarray(f(), dtype=np.float64) * dout)
        flat[i] = old - h
        minus = np.sum(np.asarray(f(), dtype=np.float64) * dout)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad
