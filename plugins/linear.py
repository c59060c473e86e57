"""Built-in plugin: least squares and gradient descent, their data and their references."""
from __future__ import annotations

import numpy as np

from shouxie import core

from .hookspecs import hookimpl


def regression(n: int = 1000, n_features: int = 8, noise: float = 0.1, kind: str = "linear",
               seed: int = 0) -> dict:
    """A regression problem: standard-normal ``X`` and ``y`` from a random linear model.

    Parameters
    ----------
    n, n_features : int
        Shape of ``X``.
    noise : float
        ``"linear"``: standard deviation of the Gaussian noise added to ``y``.
        ``"logistic"``: the logits are divided by ``1 + noise``, so more noise means labels
        closer to coin flips.
    kind : {"linear", "logistic"}
        Real-valued targets, or 0/1 labels drawn with probability ``sigmoid(X coef + intercept)``.
    seed : int
        Seed of the numpy Generator.

    Returns
    -------
    dict
        ``X`` (n, n_features), ``y`` (n,), the true ``coef`` (n_features,) and ``intercept``.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    coef = rng.uniform(-1, 1, n_features)
    intercept = float(rng.uniform(-0.5, 0.5))
    z = X @ coef + intercept
    if kind == "linear":
        y = z + noise * rng.standard_normal(n)
    elif kind == "logistic":
        y = (rng.random(n) < core.linear.sigmoid(z / (1 + noise))).astype(np.int64)
    else:
        raise ValueError(f"kind must be 'linear' or 'logistic'; got {kind!r}")
    return {"X": X, "y": y, "coef": coef, "intercept": intercept}


def least_squares(X, y, fit_intercept=True, method="lstsq") -> dict:
    """Least-squares linear fit (SVD lstsq, or the unstable normal equation)."""
    coef, intercept = core.least_squares(X, y, fit_intercept=fit_intercept, method=method)
    return {"coef": coef, "intercept": intercept}


def gradient_descent(X, y, loss="mse", lr=0.1, max_iter=1000, tol=1e-6, batch_size=None,
                     fit_intercept=True, seed=None) -> dict:
    """Linear or logistic regression by (mini-batch) gradient descent."""
    res = core.gradient_descent(X, y, loss=loss, lr=lr, max_iter=max_iter, tol=tol, batch_size=batch_size,
                                fit_intercept=fit_intercept, seed=seed)
    return {"coef": res.coef, "intercept": res.intercept, "losses": res.losses,
            "final_loss": float(res.losses[-1]), "epochs": len(res.losses) - 1, "converged": int(res.converged)}


def numpy_lstsq(X, y, fit_intercept=True) -> dict:
    """numpy.linalg.lstsq on X with a column of ones appended (reference for linear.least_squares)."""
    X = np.asarray(X, dtype=np.float64)
    A = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    sol = np.linalg.lstsq(A, np.asarray(y, dtype=np.float64), rcond=None)[0]
    return {"coef": sol[:-1] if fit_intercept else sol, "intercept": sol[-1] if fit_intercept else 0.0}


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.regression", regression)
    registry.add("linear.least_squares", least_squares)
    registry.add("linear.gradient_descent", gradient_descent)
    registry.add("ref.numpy_lstsq", numpy_lstsq)
