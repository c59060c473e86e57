"""Folding an inference-mode batch norm into the convolution before it."""
from __future__ import annotations

import numpy as np

from ._validation import common_float_dtype, real_number
from .tensors import float_tensor


def fuse_conv_bn(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Weights and bias of one convolution equal to ``conv(w, b)`` followed by eval-mode batch norm.

    ``BN(conv(x)) = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta``, so with
    ``s = gamma / sqrt(var + eps)`` (the square root the notes' formula leaves out)::

        w_fused = w * s[:, None, None, None]
        b_fused = (b - mean) * s + beta

    Equal to ``torch.nn.utils.fusion.fuse_conv_bn_weights``.

    Parameters
    ----------
    w : array_like, shape (O, C / groups, KH, KW)
    b : array_like, shape (O,), or None (no conv bias)
    gamma, beta, running_mean, running_var : array_like, shape (O,)
        The batch norm's scale, shift and running statistics.
    eps : float > 0

    Returns
    -------
    w_fused : ndarray, shape (O, C / groups, KH, KW)
    b_fused : ndarray, shape (O,)
        float32 when every input is float32, float64 otherwise.
    """
    w = float_tensor(w, "w", ndim=4)
    o = w.shape[0]
    vectors = {}
    for name, value in (("b", b), ("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)):
        if name == "b" and value is None:
            continue
        arr = float_tensor(value, name, ndim=1)
        if arr.shape != (o,):
            raise ValueError(f"{name} must have shape ({o},) to match w {w.shape}, got {arr.shape}")
        vectors[name] = arr
    eps = real_number(eps, "eps", low=0.0, low_open=True)
    dtype = common_float_dtype(w, *vectors.values())
    w = w.astype(dtype, copy=False)
    v = {k: a.astype(dtype, copy=False) for k, a in vectors.items()}
    bias = v.get("b", np.zeros(o, dtype))
    scale = v["gamma"] / np.sqrt(v["running_var"] + dtype.type(eps))
    return w * scale[:, None, None, None], (bias - v["running_mean"]) * scale + v["beta"]
