import numpy as np
import pytest
from nn_helpers import rel_err

from shouxie.core import Adam, batchnorm_forward, conv2d_forward, fuse_conv_bn, fuse_torch_conv_bn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decoupled, weight_decay", [(False, 0.0), (False, 0.1), (True, 0.0), (True, 0.05)])
def test_adam_equals_torch_after_50_steps(decoupled, weight_decay, dtype):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in params] for _ in range(50)]
    tparams = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    topt = cls(tparams, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay)
    opt = Adam(params, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay, decoupled=decoupled)
    for step in grads:
        for t, g in zip(tparams, step):
            t.grad = torch.from_numpy(g)
        topt.step()
        opt.step(step)
    for p, t in zip(params, tparams):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_adam_defaults_equal_torch():
    rng = np.random.default_rng(1)
    p = rng.standard_normal(10)
    t = torch.from_numpy(p.copy()).requires_grad_()
    opt, topt = Adam([p]), torch.optim.Adam([t])
    for _ in range(50):
        g = rng.standard_normal(10)
        t.grad = torch.from_numpy(g)
        topt.step()
        opt.step([g])
    np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(params=[np.zeros(2, int)]), TypeError, r"params\[0\] must be a float numpy array"),
    (dict(params=[[0.0, 1.0]]), TypeError, r"params\[0\] must be a float numpy array"),
    (dict(params=[np.zeros(2)], lr=0), ValueError, "lr must be > 0"),
    (dict(params=[np.zeros(2)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be < 1"),
    (dict(params=[np.zeros(2)], betas=0.9), TypeError, "betas must be a pair"),
    (dict(params=[np.zeros(2)], eps=-1e-8), ValueError, "eps must be > 0"),
    (dict(params=[np.zeros(2)], weight_decay=-1), ValueError, "weight_decay must be >= 0"),
])
def test_adam_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Adam(**kwargs)


def test_adam_bad_grads():
    opt = Adam([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="grads must hold 2 arrays"):
        opt.step([np.zeros(2)])
    with pytest.raises(ValueError, match=r"grads\[1\] must have the forward output's shape \(3,\)"):
        opt.step([np.zeros(2), np.zeros(4)])


# ------------------------------------------------------------------ conv + BN fusion
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_equals_torch_and_conv_then_bn(bias, dtype):
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    gamma, beta, mean = (rng.standard_normal(4).astype(dtype) for _ in range(3))
    var = rng.uniform(0.1, 2, 4).astype(dtype)
    wf, bf = fuse_conv_bn(w, b, gamma, beta, mean, var, eps=1e-3)
    t = lambda a: None if a is None else torch.from_numpy(a)  # noqa: E731
    rw, rb = fuse_conv_bn_weights(t(w), t(b), t(mean), t(var), 1e-3, t(gamma), t(beta))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    assert wf.dtype == bf.dtype == dtype
    assert rel_err(wf, rw.detach().numpy()) < tol and rel_err(bf, rb.detach().numpy()) < tol
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    conv, _ = conv2d_forward(x, w, b, padding=1)
    want, _ = batchnorm_forward(conv, gamma, beta, running_mean=mean, running_var=var, training=False, eps=1e-3)
    got, _ = conv2d_forward(x, wf, bf, padding=1)
    assert rel_err(got, want) < (1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("args, exc, match", [
    ((np.zeros((2, 1, 3, 3)), None, np.ones(3), np.zeros(2), np.zeros(2), np.ones(2)), ValueError,
     r"gamma must have shape \(2,\)"),
    ((np.zeros((2, 1, 3, 3)), np.zeros(1), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)), ValueError,
     r"b must have shape \(2,\)"),
    ((np.zeros((2, 1, 3)), None, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)), ValueError, "w must be 4-D"),
    ((np.zeros((2, 1, 3, 3), int), None, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)), TypeError,
     "w must be a float32"),
])
def test_fuse_conv_bn_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        fuse_conv_bn(*args)


@pytest.mark.parametrize("bias, dtype", [(True, torch.float32), (False, torch.float64)])
def test_fuse_torch_conv_bn_modules(bias, dtype):
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, bias=bias).to(dtype)
    bn = torch.nn.BatchNorm2d(6).to(dtype)
    bn.train()
    with torch.no_grad():
        for _ in range(3):  # give the running statistics and the affine parameters some values
            bn(conv(torch.randn(8, 4, 9, 9, dtype=dtype) * 2 + 1))
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    conv.eval()
    bn.eval()
    fused = fuse_torch_conv_bn(conv, bn)
    ref = fuse_conv_bn_eval(conv, bn)
    x = torch.randn(2, 4, 9, 9, dtype=dtype)
    with torch.no_grad():
        want = bn(conv(x))
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        assert rel_err(fused(x).numpy(), want.numpy()) < tol
        assert rel_err(fused.weight.numpy(), ref.weight.numpy()) < tol
        assert rel_err(fused.bias.numpy(), ref.bias.numpy()) < tol
    assert fused.stride == conv.stride and fused.groups == 2 and fused.weight.dtype == dtype


def test_fuse_torch_conv_bn_bad_input():
    conv = torch.nn.Conv2d(2, 3, 3)
    with pytest.raises(ValueError, match="bn has 4 features but conv has 3 output channels"):
        fuse_torch_conv_bn(conv, torch.nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match="no running statistics"):
        fuse_torch_conv_bn(conv, torch.nn.BatchNorm2d(3, track_running_stats=False))
    with pytest.raises(TypeError, match="conv must be a torch.nn.Conv2d"):
        fuse_torch_conv_bn(torch.nn.Linear(2, 3), torch.nn.BatchNorm2d(3))
