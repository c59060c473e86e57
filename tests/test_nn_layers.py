import numpy as np
import pytest
from nn_helpers import rel_err

from shouxie.core import (batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
                          numerical_gradient, relu_backward, relu_forward, softmax_loss)

torch = pytest.importorskip("torch")
F = torch.nn.functional


# ------------------------------------------------------------------ ReLU
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_equals_torch(dtype):
    x = np.array([-2, -0.0, 0, 0.5, np.inf, -np.inf, np.nan, 3], dtype)
    out, cache = relu_forward(x)
    dout = np.arange(1, 9, dtype=dtype)
    xt = torch.from_numpy(x).requires_grad_()
    ref = torch.relu(xt)
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_array_equal(relu_backward(dout, cache), xt.grad.numpy())
    assert out.dtype == dtype


def test_relu_backward_numerical():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    x[np.abs(x) < 0.01] = 0.5  # keep clear of the kink
    dout = rng.standard_normal(x.shape)
    _, cache = relu_forward(x)
    assert rel_err(relu_backward(dout, cache), numerical_gradient(lambda: relu_forward(x)[0], x, dout)) < 1e-7


# ------------------------------------------------------------------ batch norm
def torch_bn(x, gamma, beta, rm, rv, training, momentum, eps, dout):
    bn = (torch.nn.BatchNorm1d if x.ndim == 2 else torch.nn.BatchNorm2d)(x.shape[1], eps=eps, momentum=momentum)
    bn = bn.to(torch.float64 if x.dtype == np.float64 else torch.float32)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
        bn.running_mean.copy_(torch.from_numpy(rm))
        bn.running_var.copy_(torch.from_numpy(rv))
    bn.train(training)
    xt = torch.from_numpy(x).requires_grad_()
    out = bn(xt)
    out.backward(torch.from_numpy(dout))
    return (out.detach().numpy(), xt.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy(),
            bn.running_mean.numpy(), bn.running_var.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 5, 7)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_equals_torch(shape, training, dtype):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    ref = torch_bn(x, gamma, beta, rm.copy(), rv.copy(), training, 0.3, 1e-3, dout)
    out, cache = batchnorm_forward(x, gamma, beta, running_mean=rm, running_var=rv, training=training,
                                   momentum=0.3, eps=1e-3)
    got = (out, *batchnorm_backward(dout, cache), rm, rv)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for g, r in zip(got, ref):
        assert g.dtype == dtype
        assert rel_err(g, r) < tol


def test_batchnorm_running_statistics_over_steps():
    """Unbiased running variance, torch's momentum: several steps then evaluation."""
    rng = np.random.default_rng(1)
    bn = torch.nn.BatchNorm2d(3).double()
    rm, rv = np.zeros(3), np.ones(3)
    gamma, beta = np.ones(3), np.zeros(3)
    for _ in range(5):
        x = rng.standard_normal((2, 3, 4, 4)) * 2 + 3
        batchnorm_forward(x, gamma, beta, running_mean=rm, running_var=rv)
        bn(torch.from_numpy(x))
    np.testing.assert_allclose(rm, bn.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(rv, bn.running_var.numpy(), rtol=1e-13)
    x = rng.standard_normal((2, 3, 4, 4))
    out, _ = batchnorm_forward(x, gamma, beta, running_mean=rm, running_var=rv, training=False)
    np.testing.assert_allclose(out, bn.eval()(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


def test_batchnorm_eval_uses_eps():
    out, _ = batchnorm_forward(np.ones((2, 1)), np.ones(1), np.zeros(1), running_mean=np.zeros(1),
                               running_var=np.zeros(1), training=False, eps=0.25)
    np.testing.assert_allclose(out, 2.0)


@pytest.mark.parametrize("shape", [(6, 3), (2, 2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_numerical(shape, training):
    rng = np.random.default_rng(2)
    c = shape[1]
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    dout = rng.standard_normal(shape)

    def f():
        return batchnorm_forward(x, gamma, beta, running_mean=rm.copy(), running_var=rv.copy(),
                                 training=training)[0]

    _, cache = batchnorm_forward(x, gamma, beta, running_mean=rm.copy(), running_var=rv.copy(), training=training)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert rel_err(dx, numerical_gradient(f, x, dout)) < 1e-7
    assert rel_err(dgamma, numerical_gradient(f, gamma, dout)) < 1e-7
    assert rel_err(dbeta, numerical_gradient(f, beta, dout)) < 1e-7


def test_batchnorm_empty_batch_leaves_statistics():
    rm, rv = np.zeros(2), np.ones(2)
    out, cache = batchnorm_forward(np.zeros((0, 2, 3, 3)), np.ones(2), np.zeros(2), running_mean=rm, running_var=rv)
    assert out.shape == (0, 2, 3, 3) and rm.tolist() == [0, 0] and rv.tolist() == [1, 1]
    dx, dgamma, dbeta = batchnorm_backward(out, cache)
    assert dx.shape == out.shape and dgamma.tolist() == [0, 0] and dbeta.tolist() == [0, 0]


BN_OK = dict(x=np.zeros((4, 2)), gamma=np.ones(2), beta=np.zeros(2))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(BN_OK, x=np.zeros((1, 2))), ValueError, "more than 1 value per channel"),
    (dict(BN_OK, x=np.zeros((4, 2), int)), TypeError, "x must be a float32"),
    (dict(BN_OK, x=np.zeros((4, 2, 3))), ValueError, "x must be 2 or 4-D"),
    (dict(BN_OK, gamma=np.ones(3)), ValueError, r"gamma must have shape \(2,\)"),
    (dict(BN_OK, running_mean=[0.0, 0.0]), TypeError, "running_mean must be a numpy array"),
    (dict(BN_OK, running_var=np.ones(3)), ValueError, r"running_var must be a float array of shape \(2,\)"),
    (dict(BN_OK, momentum=1.5), ValueError, "momentum must be <= 1"),
    (dict(BN_OK, eps=0), ValueError, "eps must be > 0"),
    (dict(BN_OK, training="yes"), TypeError, "training must be a bool"),
])
def test_batchnorm_bad_input(kwargs, exc, match):
    kwargs = {"running_mean": np.zeros(2), "running_var": np.ones(2), **kwargs}
    with pytest.raises(exc, match=match):
        batchnorm_forward(**kwargs)


def test_batchnorm_read_only_running_stats_in_training():
    rm = np.zeros(2)
    rm.flags.writeable = False
    with pytest.raises(ValueError, match="running_mean must be writeable"):
        batchnorm_forward(np.zeros((4, 2)), np.ones(2), np.zeros(2), running_mean=rm, running_var=np.ones(2))


# ------------------------------------------------------------------ dropout
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_inverted_and_seeded(dtype):
    x = np.ones((200, 300), dtype)
    out, mask = dropout_forward(x, 0.25, seed=7)
    again, _ = dropout_forward(x, 0.25, seed=7)
    np.testing.assert_array_equal(out, again)
    assert out.dtype == dtype
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75) if dtype == np.float32 else 1 / 0.75}
    assert abs((out == 0).mean() - 0.25) < 0.01 and abs(out.mean() - 1) < 0.02
    dout = np.arange(x.size, dtype=dtype).reshape(x.shape)
    np.testing.assert_allclose(dropout_backward(dout, mask), dout * (out != 0) / 0.75, rtol=1e-6)


def test_dropout_eval_identity_and_extremes():
    x = np.arange(6.0).reshape(2, 3)
    out, cache = dropout_forward(x, 0.5, training=False)
    assert cache is None and np.array_equal(out, x)
    np.testing.assert_array_equal(dropout_backward(np.ones_like(x), cache), 1)
    assert np.array_equal(dropout_forward(x, 1.0, seed=0)[0], np.zeros_like(x))  # torch: p=1 zeroes
    assert np.array_equal(dropout_forward(x, 0.0, seed=0)[0], x)


def test_dropout_backward_numerical():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    dout = rng.standard_normal(x.shape)
    _, mask = dropout_forward(x, 0.4, seed=1)
    f = lambda: dropout_forward(x, 0.4, seed=1)[0]  # noqa: E731
    assert rel_err(dropout_backward(dout, mask), numerical_gradient(f, x, dout)) < 1e-7


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(x=np.ones(3), p=1.5), ValueError, "p must be <= 1"),
    (dict(x=np.ones(3), p=-0.1), ValueError, "p must be >= 0"),
    (dict(x=np.ones(3, int), p=0.5), TypeError, "x must be a float32"),
    (dict(x=np.ones(3), p=0.5, seed=-1), ValueError, "seed must be >= 0"),
    (dict(x=np.ones(3), p=0.5, seed=1.0), TypeError, "seed must be an integer"),
])
def test_dropout_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dropout_forward(**kwargs)


# ------------------------------------------------------------------ softmax loss
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_loss_equals_torch(dtype):
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal((9, 5)) * 4).astype(dtype)
    logits[0] += 1e4  # huge logits must not overflow
    logits[1, 2] = -1e4
    labels = rng.integers(0, 5, 9)
    loss, dlogits = softmax_loss(logits, labels)
    lt = torch.from_numpy(logits).requires_grad_()
    ref = F.cross_entropy(lt, torch.from_numpy(labels))
    ref.backward()
    assert dlogits.dtype == dtype and np.isfinite(loss)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert abs(loss - ref.item()) <= tol * abs(ref.item())
    assert rel_err(dlogits, lt.grad.numpy()) < tol


def test_softmax_loss_gradient_numerical_and_edge_cases():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    _, dlogits = softmax_loss(logits, labels)
    num = numerical_gradient(lambda: np.array(softmax_loss(logits, labels)[0]), logits, 1.0)
    assert rel_err(dlogits, num) < 1e-7
    loss, d = softmax_loss(np.zeros((0, 3)), np.zeros(0, int))
    assert np.isnan(loss) and d.shape == (0, 3)  # torch: mean over an empty batch is NaN
    assert softmax_loss([[0.0, 0.0]], [1])[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize("logits, labels, exc, match", [
    (np.zeros((2, 3)), [0, 3], ValueError, r"labels must be in \[0, 2\], got 3"),
    (np.zeros((2, 3)), [-1, 0], ValueError, r"labels must be in \[0, 2\], got -1"),
    (np.zeros((2, 3)), [0.0, 1.0], TypeError, "labels must be an integer array"),
    (np.zeros((2, 3)), [0, 1, 2], ValueError, r"labels must have shape \(2,\)"),
    (np.zeros((2, 3), int), [0, 1], TypeError, "logits must be a float32"),
    (np.zeros(3), [0], ValueError, "logits must be 2-D"),
])
def test_softmax_loss_bad_input(logits, labels, exc, match):
    with pytest.raises(exc, match=match):
        softmax_loss(logits, labels)


def test_empty_and_non_contiguous_inputs():
    empty = np.zeros((0, 3), np.float32)
    out, cache = relu_forward(empty)
    assert out.shape == (0, 3) and out.dtype == np.float32 and relu_backward(out, cache).shape == (0, 3)
    out, mask = dropout_forward(empty, 0.5, seed=0)
    assert out.shape == (0, 3) and dropout_backward(out, mask).shape == (0, 3)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 8, 5, 4))[::-1, ::2, :, ::-1]  # negative strides, every other channel
    rm, rv = np.zeros(4), np.ones(4)
    out, _ = batchnorm_forward(x, np.ones(4), np.zeros(4), running_mean=rm, running_var=rv)
    xc = np.ascontiguousarray(x)
    want = (xc - xc.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(xc.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, want, atol=1e-12)
    logits = rng.standard_normal((5, 8))[:, ::2]
    loss, _ = softmax_loss(logits, [0, 1, 2, 3, 0])
    assert loss == pytest.approx(softmax_loss(np.ascontiguousarray(logits), [0, 1, 2, 3, 0])[0], rel=1e-15)
