import warnings

import numpy as np
import pytest

from shouxie.core import gradient_descent, least_squares
from shouxie.core.linear import log_loss, sigmoid


def problem(seed=0, n=300, p=5, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ rng.uniform(-2, 2, p) + 0.7 + noise * rng.normal(size=n)
    return X, y


def logistic_problem(seed=0, n=400, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    logits = X @ rng.uniform(-1, 1, p) - 0.3
    return X, (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.int64)


@pytest.mark.parametrize("method", ["lstsq", "normal"])
def test_least_squares_matches_numpy_lstsq(method):
    X, y = problem()
    ref = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    coef, intercept = least_squares(X, y, method=method)
    np.testing.assert_allclose(coef, ref[:-1], rtol=1e-8, atol=1e-10)
    assert intercept == pytest.approx(ref[-1], rel=1e-8)
    coef, intercept = least_squares(X, y, fit_intercept=False, method=method)
    np.testing.assert_allclose(coef, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-8, atol=1e-10)
    assert intercept == 0


def test_least_squares_multi_output_and_views():
    X, y = problem(1)
    Y = np.column_stack([y, -2 * y + 1])
    coef, intercept = least_squares(np.asfortranarray(X), Y[:, ::-1])
    assert coef.shape == (5, 2) and intercept.shape == (2,)
    ref = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), Y[:, ::-1], rcond=None)[0]
    np.testing.assert_allclose(np.vstack([coef, intercept]), ref, rtol=1e-8, atol=1e-10)
    coef, _ = least_squares(X[::-2], y[::-2])
    np.testing.assert_allclose(coef, least_squares(X[::-2].copy(), y[::-2].copy())[0], rtol=1e-12)


def test_rank_deficient_gives_minimum_norm_solution_like_sklearn():
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    X, y = problem(2, p=3)
    X = np.column_stack([X, X[:, 0], 2 * X[:, 1]])  # rank 3 of 5
    coef, intercept = least_squares(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(coef, np.linalg.lstsq(Xc, yc, rcond=None)[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(coef, np.linalg.pinv(Xc) @ yc, rtol=1e-8, atol=1e-10)
    ref = sklearn_linear.LinearRegression().fit(X, y)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-8, atol=1e-10)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-8)
    with pytest.raises(ValueError, match="singular to working precision.*use method='lstsq'"):
        least_squares(X, y, method="normal")


def test_least_squares_float32_and_edge_shapes():
    X, y = problem(3)
    coef, intercept = least_squares(X.astype(np.float32), y.astype(np.float32))
    assert coef.dtype == np.float32 and np.asarray(intercept).dtype == np.float32
    np.testing.assert_allclose(coef, least_squares(X, y)[0], rtol=1e-4, atol=1e-4)
    coef, intercept = least_squares(np.zeros((4, 0)), [1.0, 2.0, 3.0, 6.0])
    assert coef.shape == (0,) and intercept == 3.0
    coef, intercept = least_squares([[2.0]], [3.0], fit_intercept=False)
    assert coef[0] == pytest.approx(1.5)
    coef, intercept = least_squares([[2.0]], [3.0])  # one sample: slope 0 (minimum norm), intercept y
    assert coef[0] == 0 and intercept == 3.0


def test_stable_sigmoid_and_log_loss():
    z = np.array([-1000.0, -50, 0, 50, 1000])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
        loss = log_loss(z, np.array([1, 0, 1, 1, 0]))
    assert s[2] == 0.5 and s[-1] == 1.0 and s[0] == 0.0 and np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(s[1:4], 1 / (1 + np.exp(-z[1:4])), rtol=1e-15)
    # -log sigmoid(-1000) = 1000 and -log(1 - sigmoid(1000)) = 1000: finite, not log(0)
    assert loss == pytest.approx((1000 + np.log1p(np.exp(-50)) + np.log(2) + np.log1p(np.exp(-50)) + 1000) / 5)


def test_mse_full_batch_converges_to_least_squares():
    X, y = problem(4)
    res = gradient_descent(X, y, lr=0.5, max_iter=5000, tol=1e-10)
    coef, intercept = least_squares(X, y)
    assert res.converged and len(res.losses) < 5001
    np.testing.assert_allclose(res.coef, coef, rtol=1e-7, atol=1e-8)
    assert res.intercept == pytest.approx(intercept, abs=1e-8)
    assert np.all(np.diff(res.losses) <= 1e-15)  # full-batch GD with a small step never goes up
    resid = X @ coef + intercept - y
    assert res.losses[-1] == pytest.approx(np.mean(resid ** 2) / 2, rel=1e-8)


def test_mse_mini_batch_gets_close_and_is_seeded():
    X, y = problem(5, n=500)
    a = gradient_descent(X, y, lr=0.05, max_iter=60, batch_size=32, seed=7)
    b = gradient_descent(X, y, lr=0.05, max_iter=60, batch_size=32, seed=7)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_allclose(a.coef, least_squares(X, y)[0], atol=0.02)
    assert len(a.losses) == 61 and not a.converged


def test_logistic_matches_sklearn_unpenalised():
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    X, y = logistic_problem()
    res = gradient_descent(X, y, loss="logistic", lr=2.0, max_iter=20000, tol=1e-8)
    ref = sklearn_linear.LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000).fit(X, y)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref.coef_[0], atol=1e-3)
    assert res.intercept == pytest.approx(ref.intercept_[0], abs=1e-3)
    z = X @ res.coef + res.intercept
    assert res.losses[-1] == pytest.approx(np.mean(-y * np.log(sigmoid(z)) - (1 - y) * np.log(1 - sigmoid(z))))


def test_logistic_on_separable_data_stays_finite_and_stops():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    res = gradient_descent(X, [0, 0, 1, 1], loss="logistic", lr=1.0, max_iter=2000, tol=0)
    assert len(res.losses) == 2001 and not res.converged
    assert np.isfinite(res.coef).all() and np.isfinite(res.losses).all() and res.losses[-1] < 1e-2


def test_float32_stays_float32_and_zero_iterations():
    X, y = problem(6)
    res = gradient_descent(X.astype(np.float32), y.astype(np.float32), lr=0.5, max_iter=200, tol=1e-4)
    assert res.coef.dtype == np.float32
    np.testing.assert_allclose(res.coef, least_squares(X, y)[0], atol=1e-3)
    res = gradient_descent(X, y, max_iter=0, fit_intercept=False)
    assert np.all(res.coef == 0) and res.intercept == 0 and len(res.losses) == 1


def test_divergence_is_an_error_not_a_hang():
    X, y = problem(7)
    with pytest.raises(ValueError, match="diverged.*reduce lr"):
        gradient_descent(X * 100, y, lr=10.0, max_iter=10000)


@pytest.mark.parametrize(
    "X, y, kwargs, error, match",
    [
        (np.zeros((3, 2)), np.zeros(4), {}, ValueError, "same number of samples, got 3 and 4"),
        (np.zeros(3), np.zeros(3), {}, ValueError, "X must be 2-D"),
        (np.zeros((0, 2)), np.zeros(0), {}, ValueError, "at least one sample"),
        ([[np.nan, 1.0]], [1.0], {}, ValueError, "X contains NaN"),
        ([[0.0, 1.0]], [np.inf], {}, ValueError, "y contains NaN or infinity"),
        (np.zeros((2, 2)), np.zeros((2, 1)), {}, ValueError, "y must be 1-D"),
        (np.zeros((2, 2)), np.zeros(2), {"loss": "hinge"}, ValueError, "loss must be one of"),
        (np.zeros((2, 2)), [0, 2], {"loss": "logistic"}, ValueError, "only 0 and 1"),
        (np.zeros((2, 2)), np.zeros(2), {"lr": 0}, ValueError, "lr must be > 0"),
        (np.zeros((2, 2)), np.zeros(2), {"lr": np.nan}, ValueError, "lr must be finite"),
        (np.zeros((2, 2)), np.zeros(2), {"max_iter": -1}, ValueError, "max_iter must be >= 0"),
        (np.zeros((2, 2)), np.zeros(2), {"max_iter": 1.5}, TypeError, "max_iter must be an integer"),
        (np.zeros((2, 2)), np.zeros(2), {"tol": -1}, ValueError, "tol must be >= 0"),
        (np.zeros((2, 2)), np.zeros(2), {"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ],
)
def test_gradient_descent_bad_input(X, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        gradient_descent(X, y, **kwargs)


@pytest.mark.parametrize(
    "X, y, kwargs, error, match",
    [
        (np.zeros((3, 2)), np.zeros(2), {}, ValueError, "same number of samples"),
        (np.zeros((2, 2)), np.zeros((2, 2, 2)), {}, ValueError, "y must be 1-D or 2-D"),
        (np.zeros((2, 2)), np.zeros(2), {"method": "qr"}, ValueError, "method must be one of 'lstsq', 'normal'"),
        (np.array([["a"]]), [1.0], {}, TypeError, "X must be a real numeric array"),
    ],
)
def test_least_squares_bad_input(X, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        least_squares(X, y, **kwargs)


def test_plugin_ops_agree_with_numpy_reference(pm):
    from shouxie.plugins import collect_ops
    ops = collect_ops(pm)
    data = ops.get("data.regression")(n=500, n_features=6, noise=0.05, seed=1)
    args = {"X": data["X"], "y": data["y"], "fit_intercept": True}
    got, want = ops.get("linear.least_squares")(**args), ops.get("ref.numpy_lstsq")(**args)
    assert got.keys() == want.keys()
    np.testing.assert_allclose(got["coef"], want["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got["coef"], data["coef"], atol=0.02)
    gd = ops.get("linear.gradient_descent")(X=data["X"], y=data["y"], lr=0.5, tol=1e-10, max_iter=5000)
    assert gd["converged"] == 1 and gd["epochs"] == len(gd["losses"]) - 1
    np.testing.assert_allclose(gd["coef"], got["coef"], atol=1e-7)
    labels = ops.get("data.regression")(n=50, kind="logistic", seed=2)["y"]
    assert set(np.unique(labels)) <= {0, 1}
    with pytest.raises(ValueError, match="kind must be"):
        ops.get("data.regression")(kind="poisson")
