"""Linear models: least squares and gradient descent (linear and logistic regression).

``least_squares`` solves ``min ||X a + b - y||^2`` with LAPACK's SVD-based ``gelsd`` (through
``numpy.linalg.lstsq``), which handles rank-deficient ``X`` by returning the minimum-norm
solution; the notes' normal equation ``(X^T X)^-1 X^T y`` is kept as ``method="normal"``,
documented as unstable (it squares the condition number) and refused when ``X^T X`` is
numerically singular. ``gradient_descent`` minimises the mean squared error or the mean log-loss
with a numerically stable sigmoid and log-loss (no ``exp`` overflow, no ``log(0)``).

float32 input is computed and returned in float32; any other real input in float64.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import Seed, choice, common_float_dtype, float_array, generator, integer, real_number


class GDResult(NamedTuple):
    """Result of :func:`gradient_descent`."""

    coef: np.ndarray         #: (n_features,) weights
    intercept: float         #: bias (0.0 when ``fit_intercept=False``)
    losses: np.ndarray       #: (n_epochs + 1,) full-data loss before each epoch and at the end
    converged: bool          #: whether the gradient fell to ``tol`` within ``max_iter`` epochs


def _design(X, y, *, y_ndim: tuple[int, ...]) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """Validate a design matrix ``X`` (n, p) and targets ``y`` with matching rows, same dtype."""
    X = float_array(X, "X", ndim=2)
    y = float_array(y, "y")
    if y.ndim not in y_ndim:
        raise ValueError(f"y must be {' or '.join(f'{d}-D' for d in y_ndim)}, got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} and {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError("X must have at least one sample")
    dtype = common_float_dtype(X, y)
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False)


def least_squares(X: ArrayLike, y: ArrayLike, *, fit_intercept: bool = True,
                  method: str = "lstsq") -> tuple[NDArray[np.floating], float | NDArray[np.floating]]:
    """Ordinary least squares ``min ||X coef + intercept - y||^2``.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Design matrix; finite.
    y : array_like, shape (n,) or (n, t)
        Targets; finite.
    fit_intercept : bool
        Fit an unpenalised intercept by centring ``X`` and ``y`` first.
    method : {"lstsq", "normal"}
        ``"lstsq"``: SVD least squares (``numpy.linalg.lstsq``); for rank-deficient ``X`` it
        returns the minimum-norm ``coef`` (the intercept is not part of the norm), like
        ``sklearn.linear_model.LinearRegression``. ``"normal"``: solve ``X^T X coef = X^T y``;
        unstable (condition number squared) and a ``ValueError`` when ``X^T X`` is singular to
        working precision. Kept for teaching; prefer ``"lstsq"``.

    Returns
    -------
    coef : ndarray, shape (p,) or (p, t)
    intercept : float or ndarray, shape (t,)
        0 when ``fit_intercept`` is False.
    """
    X, y = _design(X, y, y_ndim=(1, 2))
    method = choice(method, "method", ("lstsq", "normal"))
    if fit_intercept:
        # (p,) and (t,) or a scalar (numpy types a mean over an axis Any)
        x_mean: NDArray[np.floating] = X.mean(axis=0)
        y_mean: NDArray[np.floating] | np.floating = y.mean(axis=0)
        X, y = X - x_mean, y - y_mean
    if X.shape[1] == 0:
        coef = np.zeros((0,) + y.shape[1:], X.dtype)
    elif method == "lstsq":
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
    else:
        gram = X.T @ X
        cond = np.linalg.cond(gram)
        if not cond < 1 / np.finfo(X.dtype).eps:
            raise ValueError(f"X^T X is singular to working precision (condition number {cond:.3g}); "
                             "method='normal' cannot solve it, use method='lstsq'")
        coef = np.linalg.solve(gram, X.T @ y)
    if not fit_intercept:
        intercept = np.zeros(y.shape[1:], X.dtype)
    else:
        intercept = y_mean - x_mean @ coef
    return coef, (intercept[()] if intercept.ndim == 0 else intercept)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow: ``exp`` only ever sees ``-|z|``."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_loss(z: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))`` as ``log(1 + e^z) - y z``,
    stable for every finite ``z`` (never ``log(0)``)."""
    return float(np.mean(np.logaddexp(0, z) - y * z))


def gradient_descent(X: ArrayLike, y: ArrayLike, *, loss: str = "mse", lr: float = 0.1, max_iter: int = 1000,
                     tol: float = 1e-6, batch_size: int | None = None, fit_intercept: bool = True,
                     seed: Seed = None) -> GDResult:
    """Linear (``loss="mse"``) or logistic (``loss="logistic"``) regression by gradient descent.

    Losses: ``mse`` is ``mean((X w + b - y)^2) / 2``; ``logistic`` is the mean log-loss of
    ``sigmoid(X w + b)``. Both gradients are ``X^T r / n`` with residual ``r = f(X w + b) - y``.
    Starting from zero, each epoch takes one step (``batch_size=None``) or one step per
    mini-batch of a fresh permutation. Before every epoch the full-data loss is recorded and
    the run stops when the full-data gradient's largest component is ``<= tol``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
        Targets; 0/1 (or bool) for ``loss="logistic"``.
    loss : {"mse", "logistic"}
    lr : float
        Step size, > 0.
    max_iter : int
        Maximum number of epochs, >= 0.
    tol : float
        Convergence threshold on the max-abs full gradient, >= 0 (0 runs ``max_iter`` epochs).
    batch_size : int, optional
        Mini-batch size; None or >= n means full batch.
    fit_intercept : bool
        Learn a bias.
    seed : int, optional
        Seed of the mini-batch permutations.

    Returns
    -------
    GDResult
        ``coef`` (p,), ``intercept``, ``losses`` (epochs run + 1,), ``converged``.
        With ``mse`` this converges to :func:`least_squares`; with ``logistic`` on
        non-separable data to the unpenalised maximum-likelihood fit.

    Raises
    ------
    ValueError
        Bad arguments, non-0/1 logistic targets, or divergence (the loss or the weights become
        non-finite: reduce ``lr``).
    """
    X, y = _design(X, y, y_ndim=(1,))
    loss = choice(loss, "loss", ("mse", "logistic"))
    lr = real_number(lr, "lr", low=0, low_open=True)
    max_iter = integer(max_iter, "max_iter", low=0)
    tol = real_number(tol, "tol", low=0)
    if batch_size is not None:
        batch_size = integer(batch_size, "batch_size", low=1)
    if loss == "logistic" and not np.isin(y, (0, 1)).all():
        raise ValueError("y must contain only 0 and 1 for loss='logistic'")
    n = X.shape[0]
    if batch_size is None or batch_size >= n:
        batch_size = n
    rng = generator(seed)
    link = sigmoid if loss == "logistic" else (lambda z: z)
    w, b = np.zeros(X.shape[1], X.dtype), X.dtype.type(0)
    losses, converged = [], False

    def step(grad_w, grad_b):
        nonlocal w, b
        w = w - lr * grad_w
        if fit_intercept:
            b = b - lr * grad_b

    def gradient(rows):
        Xb, r = X[rows], link(X[rows] @ w + b) - y[rows]
        return (Xb.T @ r) / len(r), r.mean()

    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(max_iter + 1):
            z = X @ w + b
            r = link(z) - y
            losses.append(log_loss(z, y) if loss == "logistic" else float(np.mean(r * r)) / 2)
            if not (np.isfinite(losses[-1]) and np.isfinite(w).all()):
                raise ValueError(f"gradient descent diverged at epoch {epoch} (non-finite loss); reduce lr")
            grad_w, grad_b = (X.T @ r) / n, r.mean()
            if max(np.abs(grad_w).max(initial=0), abs(grad_b) if fit_intercept else 0) <= tol:
                converged = True
                break
            if epoch == max_iter:
                break
            if batch_size == n:
                step(grad_w, grad_b)
            else:
                order = rng.permutation(n)
                for start in range(0, n, batch_size):
                    step(*gradient(order[start:start + batch_size]))
    return GDResult(w, float(b), np.asarray(losses), converged)
