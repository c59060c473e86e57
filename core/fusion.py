"""Folding an inference-mode batch norm into the convolution before it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import common_float_dtype, float_tensor, real_number

if TYPE_CHECKING:
    import torch


def fuse_conv_bn(w: ArrayLike, b: ArrayLike | None, gamma: ArrayLike, beta: ArrayLike, running_mean: ArrayLike,
                 running_var: ArrayLike, eps: float = 1e-5) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
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
    given = (("b", b),) if b is not None else ()   # no conv bias: b is None
    for name, value in given + (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                                ("running_var", running_var)):
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


def fuse_torch_conv_bn(conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d) -> torch.nn.Conv2d:
    """A new ``torch.nn.Conv2d`` equal to ``conv`` followed by ``bn`` in eval mode.

    The folding is :func:`fuse_conv_bn` on the modules' weights (float64 arithmetic when the
    modules are float64, float32 otherwise); ``conv`` and ``bn`` are left unchanged. Needs PyTorch.

    Parameters
    ----------
    conv : torch.nn.Conv2d
    bn : torch.nn.BatchNorm2d
        With running statistics (``track_running_stats=True``) and ``bn.num_features`` equal to
        ``conv.out_channels``.

    Returns
    -------
    torch.nn.Conv2d
        Same geometry as ``conv``, always with a bias.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("fuse_torch_conv_bn needs PyTorch: pip install torch") from None
    if not isinstance(conv, torch.nn.Conv2d):
        raise TypeError(f"conv must be a torch.nn.Conv2d, got {type(conv).__name__}")
    if not isinstance(bn, torch.nn.BatchNorm2d):
        raise TypeError(f"bn must be a torch.nn.BatchNorm2d, got {type(bn).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False): nothing to fold")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"bn has {bn.num_features} features but conv has {conv.out_channels} "
                         "output channels")

    def arr(t, default):
        return default if t is None else t.detach().cpu().numpy()

    o = conv.out_channels
    dtype = conv.weight.detach().numpy().dtype
    w, b = fuse_conv_bn(arr(conv.weight, None), arr(conv.bias, None), arr(bn.weight, np.ones(o, dtype)),
                        arr(bn.bias, np.zeros(o, dtype)), arr(bn.running_mean, None),
                        arr(bn.running_var, None), bn.eps)
    # torch types a Conv2d's stored sizes tuple[int, ...] and its arguments int | tuple[int, int]
    fused = torch.nn.Conv2d(conv.in_channels, o, conv.kernel_size, conv.stride, conv.padding, conv.dilation,  # type: ignore[arg-type, unused-ignore]
                            conv.groups, bias=True, padding_mode=conv.padding_mode)
    fused = fused.to(dtype=conv.weight.dtype)
    assert fused.bias is not None   # bias=True
    with torch.no_grad():
        fused.weight.copy_(torch.from_numpy(w))
        fused.bias.copy_(torch.from_numpy(b))
    return fused.eval()
