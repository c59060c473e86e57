"""A small convolutional network built from the layers of this package, and its training loop.

``conv(3x3) -> batch norm -> ReLU -> max-pool 2 -> conv(3x3) -> ReLU -> max-pool 2 -> dropout
-> linear -> softmax``, trained with :class:`~shouxie.core.optim.Adam`. For inference the batch
norm can be folded into the first convolution (:func:`~shouxie.core.fusion.fuse_conv_bn`).

Training and inference run with single-threaded BLAS: this network's GEMMs are small, and a
threaded BLAS gains little on them while losing badly whenever the machine is busy (each GEMM
waits for its slowest thread; measured 5x slower on a loaded 2-core machine).
"""
from __future__ import annotations

import contextlib

import numpy as np

try:  # small GEMMs run faster on one BLAS thread; without threadpoolctl the BLAS keeps its own
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    def threadpool_limits(**_):
        return contextlib.nullcontext()

from ._validation import float_tensor, integer, real_number
from .conv import conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward
from .fusion import fuse_conv_bn
from .layers import (batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, softmax_loss)
from .optim import Adam


class SmallCNN:
    """Two convolutions, one batch norm, one linear layer; NCHW float32 input.

    Parameters
    ----------
    in_channels, image_size, num_classes : int
        Input ``(N, in_channels, image_size, image_size)``; ``num_classes`` logits out.
    channels : (int, int)
        Output channels of the two convolutions.
    dropout : float in [0, 1)
        Drop probability before the linear layer.
    seed : int
        Seed of the He-normal weight initialisation.

    Attributes
    ----------
    params : dict of str to ndarray
        The trainable arrays (float32), updated in place by the optimiser.
    bn_mean, bn_var : ndarray
        The batch norm's running statistics.
    """

    def __init__(self, in_channels=1, image_size=24, num_classes=4, channels=(8, 16), dropout=0.25, seed=0):
        in_channels = integer(in_channels, "in_channels", low=1)
        image_size = integer(image_size, "image_size", low=4)
        num_classes = integer(num_classes, "num_classes", low=2)
        c1, c2 = (integer(c, "channels", low=1) for c in channels)
        self.dropout = real_number(dropout, "dropout", low=0.0, high=1.0, high_open=True)
        rng = np.random.default_rng(integer(seed, "seed", low=0))
        side = image_size // 2 // 2

        def he(*shape):
            fan_in = int(np.prod(shape[1:]))
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

        self.params = {
            "conv1.w": he(c1, in_channels, 3, 3), "conv1.b": np.zeros(c1, np.float32),
            "bn.gamma": np.ones(c1, np.float32), "bn.beta": np.zeros(c1, np.float32),
            "conv2.w": he(c2, c1, 3, 3), "conv2.b": np.zeros(c2, np.float32),
            "fc.w": he(num_classes, c2 * side * side), "fc.b": np.zeros(num_classes, np.float32),
        }
        self.bn_mean = np.zeros(c1, np.float32)
        self.bn_var = np.ones(c1, np.float32)

    def forward(self, x, *, training: bool, rng=None):
        """Logits ``(N, num_classes)`` and the caches :meth:`backward` needs.

        ``training`` selects batch statistics (updating the running ones) and active dropout
        drawn from ``rng`` (a numpy Generator or seed).
        """
        p = self.params
        h, conv1 = conv2d_forward(x, p["conv1.w"], p["conv1.b"], padding=1)
        h, bn = batchnorm_forward(h, p["bn.gamma"], p["bn.beta"], running_mean=self.bn_mean,
                                  running_var=self.bn_var, training=training)
        h, relu1 = relu_forward(h)
        h, pool1 = max_pool2d_forward(h, 2)
        h, conv2 = conv2d_forward(h, p["conv2.w"], p["conv2.b"], padding=1)
        h, relu2 = relu_forward(h)
        h, pool2 = max_pool2d_forward(h, 2)
        flat, drop = dropout_forward(h.reshape(len(h), -1), self.dropout, training=training, seed=rng)
        logits = flat @ p["fc.w"].T + p["fc.b"]
        return logits, (conv1, bn, relu1, pool1, conv2, relu2, pool2, drop, flat, h.shape)

    def backward(self, dlogits, caches) -> dict[str, np.ndarray]:
        """Gradients of every entry of :attr:`params` given the loss gradient of the logits."""
        conv1, bn, relu1, pool1, conv2, relu2, pool2, drop, flat, pooled_shape = caches
        g = {"fc.w": dlogits.T @ flat, "fc.b": dlogits.sum(axis=0)}
        d = dropout_backward(dlogits @ self.params["fc.w"], drop).reshape(pooled_shape)
        d = relu_backward(max_pool2d_backward(d, pool2), relu2)
        d, g["conv2.w"], g["conv2.b"] = conv2d_backward(d, conv2)
        d = relu_backward(max_pool2d_backward(d, pool1), relu1)
        d, g["bn.gamma"], g["bn.beta"] = batchnorm_backward(d, bn)
        _, g["conv1.w"], g["conv1.b"] = conv2d_backward(d, conv1)
        return g

    def predict_logits(self, x, *, fused: bool = False, batch_size: int = 512) -> np.ndarray:
        """Inference logits. ``fused=True`` folds the batch norm into the first convolution."""
        x = float_tensor(x, "x", ndim=4)
        p = self.params
        w1, b1 = (fuse_conv_bn(p["conv1.w"], p["conv1.b"], p["bn.gamma"], p["bn.beta"], self.bn_mean,
                               self.bn_var) if fused else (p["conv1.w"], p["conv1.b"]))
        out = []
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, len(x), batch_size):
                h, _ = conv2d_forward(x[start:start + batch_size], w1, b1, padding=1)
                if not fused:
                    h, _ = batchnorm_forward(h, p["bn.gamma"], p["bn.beta"], running_mean=self.bn_mean,
                                             running_var=self.bn_var, training=False)
                h, _ = max_pool2d_forward(relu_forward(h)[0], 2)
                h, _ = conv2d_forward(h, p["conv2.w"], p["conv2.b"], padding=1)
                h, _ = max_pool2d_forward(relu_forward(h)[0], 2)
                out.append(h.reshape(len(h), -1) @ p["fc.w"].T + p["fc.b"])
        return np.concatenate(out) if out else np.zeros((0, len(p["fc.b"])), np.float32)


def train(model: SmallCNN, x, y, *, epochs=5, batch_size=64, lr=3e-3, seed=0) -> list[float]:
    """Train ``model`` in place with Adam on shuffled mini-batches; the mean loss of each epoch.

    Parameters
    ----------
    model : SmallCNN
    x : array_like, shape (N, C, H, W)
    y : array_like of int, shape (N,)
    epochs, batch_size : int
    lr : float
        Adam's learning rate.
    seed : int
        Seed of the shuffling and dropout generator.
    """
    x = float_tensor(x, "x", ndim=4)
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got {y.shape}")
    epochs = integer(epochs, "epochs", low=1)
    batch_size = integer(batch_size, "batch_size", low=2)
    rng = np.random.default_rng(integer(seed, "seed", low=0))
    names = list(model.params)
    opt = Adam([model.params[k] for k in names], lr=lr)
    losses = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs):
            order = rng.permutation(len(x))
            total = 0.0
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                logits, caches = model.forward(x[idx], training=True, rng=rng)
                loss, dlogits = softmax_loss(logits, y[idx])
                grads = model.backward(dlogits, caches)
                opt.step([grads[k] for k in names])
                total += loss * len(idx)
            losses.append(total / len(x))
    return losses
