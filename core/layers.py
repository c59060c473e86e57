"""Elementwise and normalisation layers with forward and backward passes: ReLU, batch norm,
dropout, and the softmax cross-entropy loss.

Forward functions return ``(out, cache)``; backward functions take ``(dout, cache)``. float32
stays float32 and float64 stays float64; NaN and infinities propagate as in torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import Seed, float_tensor, forward_cache, generator, gradient_like, label_array, real_number


def relu_forward(x: ArrayLike) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """``max(x, 0)`` elementwise.

    Parameters
    ----------
    x : array_like of float32 or float64, any shape

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
        NaN stays NaN, as in torch.
    cache : ndarray
        ``out`` itself, for :func:`relu_backward`.
    """
    x = float_tensor(x, "x")
    out = np.maximum(x, x.dtype.type(0))
    return out, out


def relu_backward(dout: ArrayLike, cache: NDArray[np.floating]) -> NDArray[np.floating]:
    """Gradient of :func:`relu_forward`: 0 where the output is <= 0 (also at 0), else ``dout``.

    Where the input was NaN the gradient passes through, as in torch's ``threshold_backward``.
    """
    cache = forward_cache(cache, np.ndarray, "relu_forward")
    dout = gradient_like(dout, cache.shape, cache.dtype)
    return dout * ~(cache <= 0)


@dataclass(frozen=True)
class BatchNormCache:
    """What :func:`batchnorm_backward` needs from the forward pass."""

    x_hat: np.ndarray       # normalised input, same shape as x
    inv_std: np.ndarray     # (C,) 1 / sqrt(var + eps) of the statistics that were used
    gamma: np.ndarray       # (C,)
    axes: tuple[int, ...]   # the reduced axes: (0,) or (0, 2, 3)
    training: bool


def _channel_array(value, name: str, c: int) -> np.ndarray:
    arr = float_tensor(value, name, ndim=1)
    if arr.shape[0] != c:
        raise ValueError(f"{name} must have shape ({c},), got {arr.shape}")
    return arr


def _running_array(value, name: str, c: int, training: bool) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape ({c},) (updated in place), "
                        f"got {type(value).__name__}")
    if value.dtype.kind != "f" or value.shape != (c,):
        raise ValueError(f"{name} must be a float array of shape ({c},), got {value.dtype} {value.shape}")
    if training and not value.flags.writeable:
        raise ValueError(f"{name} must be writeable: training updates it in place")
    return value


def batchnorm_forward(x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, *, running_mean: NDArray[np.floating],
                      running_var: NDArray[np.floating], training: bool = True, momentum: float = 0.1,
                      eps: float = 1e-5) -> tuple[NDArray[np.floating], BatchNormCache]:
    """Batch normalisation, equal to ``torch.nn.BatchNorm1d`` / ``BatchNorm2d``.

    Training normalises with the batch's mean and biased variance and updates the running
    statistics in place, as torch does::

        running_mean = (1 - momentum) * running_mean + momentum * batch_mean
        running_var  = (1 - momentum) * running_var  + momentum * batch_var * m / (m - 1)

    where ``m`` is the number of values per channel (the running variance is unbiased). The
    notes write the same update as ``momentum' * running + (1 - momentum') * batch``: their
    ``momentum'`` is ``1 - momentum`` here (notes 0.9 = torch 0.1). Evaluation normalises with
    ``(x - running_mean) / sqrt(running_var + eps)`` -- eps is used in both modes.

    Parameters
    ----------
    x : array_like, shape (N, C) or (N, C, H, W)
        float32 or float64.
    gamma, beta : array_like, shape (C,)
        Scale and shift.
    running_mean, running_var : ndarray, shape (C,)
        Running statistics; float arrays, updated in place when ``training``.
    training : bool
        Batch statistics (True) or running statistics (False).
    momentum : float in [0, 1]
        Weight of the new batch in the running statistics (torch's convention).
    eps : float > 0
        Added to the variance before the square root.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : BatchNormCache
        For :func:`batchnorm_backward`.

    Raises
    ------
    ValueError
        Wrong shapes, or training with a single value per channel (as torch).
    """
    x = float_tensor(x, "x", ndim=(2, 4))
    c = x.shape[1]
    gamma = _channel_array(gamma, "gamma", c)
    beta = _channel_array(beta, "beta", c)
    running_mean = _running_array(running_mean, "running_mean", c, training)
    running_var = _running_array(running_var, "running_var", c, training)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    momentum = real_number(momentum, "momentum", low=0.0, high=1.0)
    eps = real_number(eps, "eps", low=0.0, low_open=True)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, c) + (1,) * (x.ndim - 2)
    m = x.size // c if c else 0
    if x.size == 0:  # nothing to normalise, nothing to learn from (torch leaves the statistics alone)
        inv_std = np.ones(c, x.dtype)
        return x.copy(), BatchNormCache(x.copy(), inv_std, gamma.astype(x.dtype), axes, training)
    if training:
        if m <= 1:
            raise ValueError(f"batch norm in training needs more than 1 value per channel, "
                             f"got x of shape {x.shape}")
        mean = x.mean(axis=axes)
        centred = x - mean.reshape(shape)
        var = np.square(centred).mean(axis=axes)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (m / (m - 1))
    else:
        centred = x - running_mean.astype(x.dtype, copy=False).reshape(shape)
        var = running_var.astype(x.dtype, copy=False)
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat = centred * inv_std.reshape(shape)
    gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
    out = x_hat * gamma.reshape(shape) + beta.reshape(shape)
    return out, BatchNormCache(x_hat, inv_std, gamma, axes, training)


def batchnorm_backward(dout: ArrayLike, cache: BatchNormCache
                       ) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    """Gradients of :func:`batchnorm_forward`.

    In training mode the batch statistics depend on ``x``, which gives the familiar
    ``dx = gamma * inv_std / m * (m * dout - sum(dout) - x_hat * sum(dout * x_hat))``;
    in evaluation mode ``dx = gamma * inv_std * dout``.

    Returns
    -------
    dx : ndarray, same shape as x
    dgamma, dbeta : ndarray, shape (C,)
    """
    x_hat = forward_cache(cache, BatchNormCache, "batchnorm_forward").x_hat
    dout = gradient_like(dout, x_hat.shape, x_hat.dtype)
    shape = (1, x_hat.shape[1]) + (1,) * (x_hat.ndim - 2)
    dbeta = dout.sum(axis=cache.axes)
    dgamma = (dout * x_hat).sum(axis=cache.axes)
    scale = (cache.gamma * cache.inv_std).reshape(shape)
    if not cache.training or x_hat.size == 0:
        return dout * scale, dgamma, dbeta
    m = x_hat.size // x_hat.shape[1]
    dx = scale * (dout - (dbeta / m).reshape(shape) - x_hat * (dgamma / m).reshape(shape))
    return dx, dgamma, dbeta


def dropout_forward(x: ArrayLike, p: float, *, training: bool = True,
                    seed: Seed = None) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]:
    """Inverted dropout: zero each value with probability ``p``, scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x : array_like of float32 or float64, any shape
    p : float in [0, 1]
        Drop probability; ``p = 1`` zeroes everything (as torch).
    training : bool
        When False the layer is the identity.
    seed : int, numpy.random.Generator or None
        Seed of (or) the generator drawing the mask; None draws fresh entropy.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : ndarray or None
        The scaled mask (0 or ``1 / (1 - p)``), for :func:`dropout_backward`; None when not training.
    """
    x = float_tensor(x, "x")
    p = real_number(p, "p", low=0.0, high=1.0)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    if not training:
        return x.copy(), None
    rng = generator(seed)
    if p == 1:
        mask = np.zeros_like(x)
    else:
        mask = (rng.random(x.shape, dtype=x.dtype) >= p) * x.dtype.type(1 / (1 - p))
    return x * mask, mask


def dropout_backward(dout: ArrayLike, cache: NDArray[np.floating] | None) -> NDArray[np.floating]:
    """Gradient of :func:`dropout_forward`: ``dout`` times the same scaled mask."""
    cache = forward_cache(cache, (np.ndarray, type(None)), "dropout_forward")
    if cache is None:
        return float_tensor(dout, "dout").copy()
    return gradient_like(dout, cache.shape, cache.dtype) * cache


def softmax_loss(logits: ArrayLike, labels: ArrayLike) -> tuple[float, NDArray[np.floating]]:
    """Mean softmax cross-entropy and its gradient, equal to ``torch.nn.functional.cross_entropy``.

    Uses the log-sum-exp shift, so huge logits neither overflow nor lose the loss.

    Parameters
    ----------
    logits : array_like, shape (N, K)
        float32 or float64 scores.
    labels : array_like of int, shape (N,)
        Classes in ``0 .. K - 1``.

    Returns
    -------
    loss : float
        Mean over the batch; NaN for an empty batch (as torch).
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - onehot(labels)) / N``, dtype of ``logits``.
    """
    logits = float_tensor(logits, "logits", ndim=2)
    n, k = logits.shape
    labels = label_array(labels, "labels", n, bound=k, like=f" to match logits {logits.shape}")
    if n == 0:
        return float("nan"), np.zeros_like(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = -float(log_probs[rows, labels].mean(dtype=np.float64))
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    dlogits /= n
    return loss, dlogits
