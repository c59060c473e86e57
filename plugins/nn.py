"""Built-in plugin: the neural-network family's ops, the shapes dataset, and torch reference ops."""
from __future__ import annotations

from typing import Any

import numpy as np

from shouxie import core
from shouxie.core.cnn import SmallCNN, train

from ._optional import TORCH_INSTALL, require
from .hookspecs import hookimpl

SHAPE_CLASSES = ("horizontal bar", "vertical bar", "circle", "cross")


def _render(rng: np.random.Generator, kind: int, size: int) -> np.ndarray:
    """One anti-aliased shape of class ``kind`` at a random place, scale and thickness."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cx, cy = rng.uniform(0.35, 0.65, 2) * size
    half = rng.uniform(0.2, 0.38) * size
    thick = rng.uniform(0.04, 0.09) * size
    if kind == 2:
        dist = np.abs(np.hypot(xx - cx, yy - cy) - half * 0.8)
        return np.clip(thick + 0.5 - dist, 0, 1)
    angle = {0: 0.0, 1: np.pi / 2, 3: rng.choice([0.0, np.pi / 4])}[kind] + rng.uniform(-0.2, 0.2)
    img = np.zeros((size, size))
    for a in (angle, angle + np.pi / 2) if kind == 3 else (angle,):
        u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
        v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        bar = np.clip(thick + 0.5 - np.abs(v), 0, 1) * np.clip(half + 0.5 - np.abs(u), 0, 1)
        img = np.maximum(img, bar)
    return img


def shapes(n_train: int = 3000, n_test: int = 1000, image_size: int = 24, noise: float = 0.3,
           seed: int = 0) -> dict:
    """Noisy images of horizontal bars, vertical bars, circles and crosses (4 balanced classes).

    Each image is one shape at a random position, size, thickness and tilt (crosses are ``+`` or
    ``x``), with a random contrast, plus Gaussian noise of standard deviation ``noise``.

    Returns ``x_train (n_train, 1, S, S)`` float32, ``y_train (n_train,)`` int64, ``x_test``,
    ``y_test``; deterministic given ``seed``.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = np.arange(n) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    images = np.zeros((n, image_size, image_size))
    for i, k in enumerate(labels):
        images[i] = _render(rng, int(k), image_size)
    contrast = rng.uniform(0.6, 1.0, (n, 1, 1))
    images = images * contrast + rng.normal(0, noise, images.shape)
    x = images[:, None].astype(np.float32)
    return {"x_train": x[:n_train], "y_train": labels[:n_train].astype(np.int64),
            "x_test": x[n_train:], "y_test": labels[n_train:].astype(np.int64)}


def conv2d_inputs(n: int = 8, channels: int = 64, size: int = 56, out_channels: int = 64,
                  kernel_size: int = 3, dtype: str = "float32", seed: int = 0) -> dict:
    """Random ``x (n, channels, size, size)``, ``w (out_channels, channels, k, k)``, ``b`` and an
    upstream gradient ``dout`` for a stride-1, 'same'-padded convolution."""
    rng = np.random.default_rng(seed)
    k = kernel_size
    out = (n, out_channels, size - k + 1 + 2 * (k // 2), size - k + 1 + 2 * (k // 2))
    return {"x": rng.standard_normal((n, channels, size, size)).astype(dtype),
            "w": (rng.standard_normal((out_channels, channels, k, k)) / k / np.sqrt(channels)).astype(dtype),
            "b": rng.standard_normal(out_channels).astype(dtype),
            "dout": rng.standard_normal(out).astype(dtype)}


def pool_inputs(n: int = 8, channels: int = 64, size: int = 112, kernel_size: int = 2, stride: int = 2,
                dtype: str = "float32", seed: int = 0) -> dict:
    """Random ``x (n, channels, size, size)`` and an upstream gradient ``dout`` for max pooling."""
    rng = np.random.default_rng(seed)
    out = (size - kernel_size) // stride + 1
    return {"x": rng.standard_normal((n, channels, size, size)).astype(dtype),
            "dout": rng.standard_normal((n, channels, out, out)).astype(dtype)}


def logits(n: int = 64, num_classes: int = 10, scale: float = 3.0, seed: int = 0) -> dict:
    """Random float32 ``logits (n, num_classes)`` (normal, times ``scale``) and int64 ``labels``."""
    rng = np.random.default_rng(seed)
    return {"logits": (rng.standard_normal((n, num_classes)) * scale).astype(np.float32),
            "labels": rng.integers(0, num_classes, n, dtype=np.int64)}


def relu(x, dout=None) -> dict:
    """ReLU; with ``dout`` also its input gradient ``dx``."""
    out, cache = core.relu_forward(x)
    return {"out": out} if dout is None else {"out": out, "dx": core.relu_backward(dout, cache)}


def batchnorm(x, gamma, beta, running_mean, running_var, training: bool = True, momentum: float = 0.1,
              eps: float = 1e-5, dout=None) -> dict:
    """Batch norm on copies of the running statistics; reports the updated statistics too."""
    running_mean, running_var = np.array(running_mean, dtype=float), np.array(running_var, dtype=float)
    out, cache = core.batchnorm_forward(x, gamma, beta, running_mean=running_mean, running_var=running_var,
                                        training=training, momentum=momentum, eps=eps)
    result = {"out": out, "running_mean": running_mean, "running_var": running_var}
    if dout is not None:
        result["dx"], result["dgamma"], result["dbeta"] = core.batchnorm_backward(dout, cache)
    return result


def dropout(x, p: float = 0.5, training: bool = True, seed: int = 0) -> dict:
    """Inverted dropout; reports the output and the fraction of values kept."""
    out, mask = core.dropout_forward(x, p, training=training, seed=seed)
    kept = 1.0 if mask is None or mask.size == 0 else float((mask != 0).mean())
    return {"out": out, "kept_fraction": kept}


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, dout=None) -> dict:
    """2-D convolution; with ``dout`` also the gradients ``dx``, ``dw`` (and ``db``)."""
    out, cache = core.conv2d_forward(x, w, b, stride=stride, padding=padding, dilation=dilation,
                                     groups=groups)
    if dout is None:
        return {"out": out}
    dx, dw, db = core.conv2d_backward(dout, cache)
    return {"out": out, "dx": dx, "dw": dw} | ({} if db is None else {"db": db})


def max_pool2d(x, kernel_size, stride=None, padding=0, dout=None) -> dict:
    """2-D max pooling; with ``dout`` also the input gradient ``dx``."""
    out, cache = core.max_pool2d_forward(x, kernel_size, stride=stride, padding=padding)
    return {"out": out} if dout is None else {"out": out, "dx": core.max_pool2d_backward(dout, cache)}


def softmax_loss(logits, labels) -> dict:
    """Mean softmax cross-entropy ``loss`` and its gradient ``dlogits``."""
    loss, dlogits = core.softmax_loss(logits, labels)
    return {"loss": loss, "dlogits": dlogits}


def fuse_conv_bn(w, gamma, beta, running_mean, running_var, b=None, eps: float = 1e-5) -> dict:
    """Fold an eval-mode batch norm into the preceding convolution's ``w`` and ``b``."""
    w_fused, b_fused = core.fuse_conv_bn(w, b, gamma, beta, running_mean, running_var, eps)
    return {"w": w_fused, "b": b_fused}


def train_cnn(x_train, y_train, x_test, y_test, epochs: int = 8, batch_size: int = 64, lr: float = 3e-3,
              channels=(8, 16), dropout: float = 0.25, seed: int = 0) -> dict:
    """Train the small CNN with Adam; report the loss of each epoch, accuracies and the fused check.

    Metrics: ``loss_epoch_<k>``, ``train_accuracy``, ``test_accuracy``, and
    ``fused_agreement`` (fraction of test images whose prediction is unchanged after folding the
    batch norm into the first convolution; 1.0 means identical) with ``fused_max_logit_diff``.
    """
    x_train = np.asarray(x_train)
    num_classes = int(max(np.max(y_train), np.max(y_test))) + 1
    model = SmallCNN(x_train.shape[1], x_train.shape[2], num_classes, tuple(channels), dropout, seed)
    losses = train(model, x_train, y_train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    logits = model.predict_logits(x_test)
    fused = model.predict_logits(x_test, fused=True)
    pred = logits.argmax(axis=1)
    result: dict[str, Any] = {f"loss_epoch_{k + 1}": float(v) for k, v in enumerate(losses)}
    result.update(
        losses=np.array(losses),
        train_accuracy=float((model.predict_logits(x_train).argmax(axis=1) == y_train).mean()),
        test_accuracy=float((pred == y_test).mean()),
        fused_agreement=float((fused.argmax(axis=1) == pred).mean()),
        fused_max_logit_diff=float(np.abs(fused - logits).max()),
        predictions=pred,
    )
    return result


# ------------------------------------------------------------------ torch references (benchmarks)
def _torch():
    return require("torch", needed_by="the ref.torch_* ops", install=TORCH_INSTALL)


def torch_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, dout=None) -> dict:
    """``torch.nn.functional.conv2d`` (and its autograd with ``dout``), same outputs as ``nn.conv2d``."""
    torch = _torch()
    xt, wt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(w))
    bt = None if b is None else torch.from_numpy(np.asarray(b))
    if dout is None:
        with torch.no_grad():
            out = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups)
        return {"out": out.numpy()}
    for t in (xt, wt, bt):
        if t is not None:
            t.requires_grad_()
    out = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    out.backward(torch.from_numpy(np.asarray(dout)))
    result = {"out": out.detach().numpy(), "dx": xt.grad.numpy(), "dw": wt.grad.numpy()}
    return result | ({} if bt is None else {"db": bt.grad.numpy()})


def torch_max_pool2d(x, kernel_size, stride=None, padding=0, dout=None) -> dict:
    """``torch.nn.functional.max_pool2d`` (and its autograd with ``dout``), outputs as ``nn.max_pool2d``."""
    torch = _torch()
    xt = torch.from_numpy(np.asarray(x))
    if dout is None:
        with torch.no_grad():
            return {"out": torch.nn.functional.max_pool2d(xt, kernel_size, stride, padding).numpy()}
    xt.requires_grad_()
    out = torch.nn.functional.max_pool2d(xt, kernel_size, stride, padding)
    out.backward(torch.from_numpy(np.asarray(dout)))
    return {"out": out.detach().numpy(), "dx": xt.grad.numpy()}


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.shapes", shapes)
    registry.add("data.conv2d_inputs", conv2d_inputs)
    registry.add("data.pool_inputs", pool_inputs)
    registry.add("data.logits", logits)
    registry.add("nn.relu", relu)
    registry.add("nn.batchnorm", batchnorm)
    registry.add("nn.dropout", dropout)
    registry.add("nn.conv2d", conv2d)
    registry.add("nn.max_pool2d", max_pool2d)
    registry.add("nn.softmax_loss", softmax_loss)
    registry.add("nn.fuse_conv_bn", fuse_conv_bn)
    registry.add("nn.train_cnn", train_cnn)
    registry.add("ref.torch_conv2d", torch_conv2d)
    registry.add("ref.torch_max_pool2d", torch_max_pool2d)
