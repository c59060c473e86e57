"""Adam and AdamW, updating numpy parameter arrays in place exactly as ``torch.optim`` does."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._validation import gradient_like, real_number, sequence


class Adam:
    """Adam (Kingma & Ba) with torch's update, or AdamW with ``decoupled=True``.

    For step ``t`` with gradient ``g`` of parameter ``p``::

        g = g + weight_decay * p                  (Adam: L2 penalty through the gradient)
        p = p * (1 - lr * weight_decay)           (AdamW: decoupled decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    eps is added to the bias-corrected ``sqrt(v)``, as torch (and unlike some write-ups that add it
    to ``v`` or before the correction).

    Parameters
    ----------
    params : sequence of ndarray
        float32/float64 arrays, updated in place by :meth:`step`.
    lr : float > 0
    betas : (float, float), each in [0, 1)
    eps : float > 0
    weight_decay : float >= 0
    decoupled : bool
        False: Adam with L2 weight decay (``torch.optim.Adam``); True: AdamW (``torch.optim.AdamW``).
    """

    def __init__(self, params: Sequence[np.ndarray], *, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled: bool = False) -> None:
        self.params = sequence(params, "params")
        for i, p in enumerate(self.params):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"params[{i}] must be a float numpy array, got "
                                f"{getattr(p, 'dtype', type(p).__name__)}")
            if not p.flags.writeable:
                raise ValueError(f"params[{i}] must be writeable: step updates it in place")
        self.lr = real_number(lr, "lr", low=0.0, low_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair of floats, got {betas!r}")
        self.beta1 = real_number(betas[0], "betas[0]", low=0.0, high=1.0, high_open=True)
        self.beta2 = real_number(betas[1], "betas[1]", low=0.0, high=1.0, high_open=True)
        self.eps = real_number(eps, "eps", low=0.0, low_open=True)
        self.weight_decay = real_number(weight_decay, "weight_decay", low=0.0)
        self.decoupled = bool(decoupled)
        self.t = 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Apply one update with ``grads`` (one array per parameter, same shapes)."""
        grads = sequence(grads, "grads")
        if len(grads) != len(self.params):
            raise ValueError(f"grads must hold {len(self.params)} arrays, got {len(grads)}")
        arrays = [gradient_like(g, p.shape, p.dtype, f"grads[{i}]")
                  for i, (g, p) in enumerate(zip(grads, self.params))]
        self.t += 1
        bias1 = 1 - self.beta1 ** self.t
        bias2_sqrt = (1 - self.beta2 ** self.t) ** 0.5
        for p, g, m, v in zip(self.params, arrays, self.m, self.v):
            if self.weight_decay:
                if self.decoupled:
                    p *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p
            m += (1 - self.beta1) * (g - m)
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= (self.lr / bias1) * m / (np.sqrt(v) / bias2_sqrt + self.eps)
