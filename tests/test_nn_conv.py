import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_helpers import rel_err

from shouxie.core import (conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward,
                          numerical_gradient)

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float32: 1e-4, np.float64: 1e-10}


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def direct_conv2d(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Convolution straight from the definition: one dot product per output value."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for i in range(n):
        for oc in range(o):
            g = oc // og
            for r in range(ho):
                for s in range(wo):
                    patch = xp[i, g * cg:(g + 1) * cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                               s * sw:s * sw + dw * (kw - 1) + 1:dw]
                    out[i, oc, r, s] = (patch * w[oc]).sum() + (0 if b is None else b[oc])
    return out


# (x shape, out channels, kernel, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 7, 9), 4, 3, 1, 0, 1, 1),
    ((2, 3, 7, 9), 4, 3, 1, 1, 1, 1),
    ((1, 4, 11, 8), 6, (3, 2), (2, 1), (1, 0), 1, 2),
    ((3, 2, 9, 9), 5, 3, 2, 2, 2, 1),
    ((2, 6, 10, 7), 6, (2, 3), (3, 2), (0, 2), (2, 1), 3),
    ((2, 4, 5, 5), 4, 1, 1, 0, 1, 4),          # depthwise 1x1
    ((1, 2, 6, 6), 2, 5, 1, 2, 1, 1),
    ((2, 3, 13, 5), 2, (4, 1), (3, 1), (2, 0), (1, 1), 1),
    ((1, 1, 3, 3), 1, 3, 2, 0, 1, 1),          # a single output
]


def torch_conv(x, w, b, stride, padding, dilation, groups, dout):
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = None if b is None else torch.from_numpy(b).requires_grad_()
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    out.backward(torch.from_numpy(dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy()


def make(rng, shape, o, kernel, groups, dtype, bias=True):
    kh, kw = pair(kernel)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1] // groups, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_conv2d_equals_torch_forward_and_autograd(case, dtype):
    shape, o, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    x, w, b = make(rng, shape, o, kernel, groups, dtype)
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert out.dtype == dtype
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_backward(dout, cache)
    ref = torch_conv(x, w, b, pair(stride), pair(padding), pair(dilation), groups, dout)
    for got, want in zip((out, dx, dw, db), ref):
        assert got.dtype == dtype
        assert rel_err(got, want) <= TOL[dtype]
    direct = direct_conv2d(x.astype(np.float64), w.astype(np.float64), b, stride, padding, dilation, groups)
    assert rel_err(out, direct) <= TOL[dtype]


@pytest.mark.parametrize("case", CASES[:6])
def test_conv2d_backward_matches_numerical_gradient(case):
    shape, o, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x, w, b = make(rng, (1,) + shape[1:], o, kernel, groups, np.float64)
    geom = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out, cache = conv2d_forward(x, w, b, **geom)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)
    f = lambda: conv2d_forward(x, w, b, **geom)[0]  # noqa: E731
    assert rel_err(dx, numerical_gradient(f, x, dout)) < 1e-7
    assert rel_err(dw, numerical_gradient(f, w, dout)) < 1e-7
    assert rel_err(db, numerical_gradient(f, b, dout)) < 1e-7


def test_conv2d_without_bias_and_mixed_dtypes():
    rng = np.random.default_rng(2)
    x, w, _ = make(rng, (2, 3, 6, 6), 2, 3, 1, np.float32, bias=False)
    out, cache = conv2d_forward(x, w.astype(np.float64), padding=1)
    assert out.dtype == np.float64
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    assert db is None and dx.dtype == dw.dtype == np.float64
    np.testing.assert_allclose(out, direct_conv2d(x, w, None, 1, 1), rtol=1e-6, atol=1e-6)


def test_conv2d_non_contiguous_input():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 10))[:, ::-1, :, ::2]
    w = rng.standard_normal((3, 3, 2, 2)).transpose(0, 1, 3, 2)
    out, _ = conv2d_forward(x, w, stride=(1, 2))
    np.testing.assert_allclose(out, direct_conv2d(np.ascontiguousarray(x), w, None, (1, 2)), atol=1e-12)


def test_conv2d_empty_batch_and_channels():
    out, cache = conv2d_forward(np.zeros((0, 3, 5, 5)), np.ones((2, 3, 3, 3)), np.ones(2))
    assert out.shape == (0, 2, 3, 3)
    dx, dw, db = conv2d_backward(out, cache)
    assert dx.shape == (0, 3, 5, 5) and np.array_equal(dw, np.zeros((2, 3, 3, 3))) and np.array_equal(db, [0, 0])
    out, _ = conv2d_forward(np.zeros((1, 2, 4, 4)), np.ones((0, 2, 3, 3)))
    assert out.shape == (1, 0, 2, 2)


def test_conv2d_cache_survives_other_calls():
    """Column buffers are recycled; a live cache must keep its own, and backward is repeatable."""
    rng = np.random.default_rng(4)
    x1, w1, b1 = make(rng, (2, 3, 7, 7), 4, 3, 1, np.float64)
    x2, w2, b2 = make(rng, (3, 4, 9, 9), 2, 3, 1, np.float64)
    out1, cache1 = conv2d_forward(x1, w1, b1, padding=1)
    dout1 = rng.standard_normal(out1.shape)
    expected = conv2d_backward(dout1, cache1)
    _, cache2 = conv2d_forward(x2, w2, b2)
    conv2d_backward(np.ones((3, 2, 7, 7)), cache2)
    for got, want in zip(conv2d_backward(dout1, cache1), expected):
        np.testing.assert_array_equal(got, want)


def test_column_buffers_are_recycled_and_bounded(monkeypatch):
    from shouxie.core import conv
    from shouxie.core.conv import _BufferPool

    pool = _BufferPool(keep=2)
    big, view = pool.take((10, 10), np.dtype(np.float64))
    assert view.shape == (10, 10) and big.size == 800
    pool.give(big)
    again, _ = pool.take((5,), np.dtype(np.float32))
    assert again is big  # the idle buffer that fits is reused
    small, _ = pool.take((4,), np.dtype(np.float32))
    assert small is not big
    for buf in (big, small, np.empty(1000, np.uint8)):
        pool.give(buf)
    assert sorted(b.size for b in pool._idle) == [800, 1000]  # the smallest one was dropped
    # a dropped cache gives its columns back: the next forward of the same size reuses them
    monkeypatch.setattr(conv, "_pool_of_columns", _BufferPool())
    x, w = np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3))
    _, cache = conv2d_forward(x, w)
    col = cache.col
    del cache
    _, cache = conv2d_forward(x, w)
    assert np.shares_memory(cache.col, col)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), g=st.integers(1, 2), o=st.integers(1, 2),
       h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 3), pw=st.integers(0, 3),
       dh=st.integers(1, 3), dw=st.integers(1, 3))
def test_conv2d_fuzz_against_torch(n, c, g, o, h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d_forward(np.zeros((n, c * g, h, w)), np.zeros((o * g, c, kh, kw)), padding=(ph, pw),
                           dilation=(dh, dw), groups=g)
        return
    rng = np.random.default_rng(0)
    x, wt, b = make(rng, (n, c * g, h, w), o * g, (kh, kw), g, np.float64)
    geom = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=g)
    out, cache = conv2d_forward(x, wt, b, **geom)
    dout = rng.standard_normal(out.shape)
    ref = torch_conv(x, wt, b, dout=dout, **geom)
    for got, want in zip((out, *conv2d_backward(dout, cache)), ref):
        assert rel_err(got, want) <= 1e-10


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 2, 3, 3))), ValueError, "w has 2 input channels per group"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), groups=2), ValueError, "does not divide the 3 input"),
    (dict(x=np.zeros((1, 4, 5, 5)), w=np.zeros((3, 2, 3, 3)), groups=2), ValueError, "does not divide the 3 output"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), groups=0), ValueError, "groups must be >= 1"),
    (dict(x=np.zeros((1, 3, 2, 5)), w=np.zeros((2, 3, 3, 3))), ValueError, "kernel height extent 3"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), padding=1, dilation=(1, 4)), ValueError,
     "kernel width extent 9"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), stride=0), ValueError, "stride must be >= 1"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), padding=-1), ValueError, "padding must be >= 0"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), dilation=(1, 0)), ValueError, "dilation must be >= 1"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), stride=1.5), TypeError, "stride must be an int or"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), stride=(1.5, 1)), TypeError, "stride must be an integer"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), stride=(1, 2, 3)), TypeError, "stride must be an int or"),
    (dict(x=np.zeros((1, 3, 5, 5), int), w=np.zeros((2, 3, 3, 3))), TypeError, "x must be a float32 or float64"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3), bool)), TypeError, "w must be a float32 or float64"),
    (dict(x=np.zeros((3, 5, 5)), w=np.zeros((2, 3, 3, 3))), ValueError, "x must be 4-D"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 3, 3)), b=np.zeros(3)), ValueError, r"b must have shape \(2,\)"),
    (dict(x=np.zeros((1, 3, 5, 5)), w=np.zeros((2, 3, 0, 3))), ValueError, "non-empty kernel"),
])
def test_conv2d_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        conv2d_forward(**kwargs)


def test_conv2d_backward_bad_dout():
    _, cache = conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2, 3, 3\)"):
        conv2d_backward(np.zeros((1, 2, 3, 4)), cache)
    with pytest.raises(TypeError, match="dout must be a float32"):
        conv2d_backward(np.zeros((1, 2, 3, 3), int), cache)


# ------------------------------------------------------------------ max pooling
POOL_CASES = [  # (x shape, kernel, stride, padding)
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 9, 7), 3, 2, 1),
    ((1, 2, 11, 6), (3, 2), (2, 1), (1, 1)),
    ((1, 1, 5, 5), 5, 1, 2),
    ((2, 2, 7, 10), (1, 4), (3, 2), (0, 2)),
]


def torch_pool(x, kernel, stride, padding, dout):
    xt = torch.from_numpy(x).requires_grad_()
    out = F.max_pool2d(xt, kernel, stride=stride, padding=padding)
    out.backward(torch.from_numpy(dout))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_equals_torch(case, dtype):
    shape, kernel, stride, padding = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = max_pool2d_forward(x, kernel, stride=stride, padding=padding)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = max_pool2d_backward(dout, cache)
    ref_out, ref_dx = torch_pool(x, kernel, stride, padding, dout)
    assert out.dtype == dx.dtype == dtype
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_backward_matches_numerical_gradient(case):
    shape, kernel, stride, padding = case
    rng = np.random.default_rng(5)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1  # distinct values, far apart vs h
    out, cache = max_pool2d_forward(x, kernel, stride=stride, padding=padding)
    dout = rng.standard_normal(out.shape)
    f = lambda: max_pool2d_forward(x, kernel, stride=stride, padding=padding)[0]  # noqa: E731
    assert rel_err(max_pool2d_backward(dout, cache), numerical_gradient(f, x, dout)) < 1e-7


def test_max_pool2d_ties_nan_and_inf_like_torch():
    x = np.array([[[[1, 1, 0, 2],
                    [1, 1, 2, 2],
                    [np.nan, 3, -np.inf, -np.inf],
                    [3, np.nan, -np.inf, -np.inf]]]], np.float32)
    for kernel, stride, padding in [(2, 2, 0), (2, 1, 1), (3, 1, 1), (3, 2, 1)]:
        out, cache = max_pool2d_forward(x, kernel, stride=stride, padding=padding)
        dout = np.arange(1, out.size + 1, dtype=np.float32).reshape(out.shape)
        ref_out, ref_dx = torch_pool(x, kernel, stride, padding, dout)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(max_pool2d_backward(dout, cache), ref_dx)
    out, cache = max_pool2d_forward(x, 2)
    dx = max_pool2d_backward(np.ones_like(out), cache)
    assert dx[0, 0, 0, 0] == 1 and dx[0, 0, :2, :2].sum() == 1  # the first of the tied maxima
    assert np.isnan(out[0, 0, 1, 0]) and out[0, 0, 1, 1] == -np.inf


def test_max_pool2d_empty_and_non_contiguous():
    out, cache = max_pool2d_forward(np.zeros((0, 3, 4, 4)), 2)
    assert out.shape == (0, 3, 2, 2) and max_pool2d_backward(out, cache).shape == (0, 3, 4, 4)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 9, 12))[:, ::2, ::-1, 1::2]
    out, _ = max_pool2d_forward(x, 3, stride=2)
    np.testing.assert_array_equal(out, F.max_pool2d(torch.from_numpy(np.ascontiguousarray(x)), 3, 2).numpy())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), ties=st.booleans())
def test_max_pool2d_fuzz_against_torch(n, c, h, w, kh, kw, sh, sw, ph, pw, ties):
    if 2 * ph > kh or 2 * pw > kw or h + 2 * ph < kh or w + 2 * pw < kw:
        with pytest.raises(ValueError):
            max_pool2d_forward(np.zeros((n, c, h, w)), (kh, kw), stride=(sh, sw), padding=(ph, pw))
        return
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64) if ties else rng.standard_normal((n, c, h, w))
    out, cache = max_pool2d_forward(x, (kh, kw), stride=(sh, sw), padding=(ph, pw))
    dout = rng.standard_normal(out.shape)
    ref_out, ref_dx = torch_pool(x, (kh, kw), (sh, sw), (ph, pw), dout)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_allclose(max_pool2d_backward(dout, cache), ref_dx, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(x=np.zeros((1, 1, 4, 4)), kernel_size=0), ValueError, "kernel_size must be >= 1"),
    (dict(x=np.zeros((1, 1, 4, 4)), kernel_size=2, stride=0), ValueError, "stride must be >= 1"),
    (dict(x=np.zeros((1, 1, 4, 4)), kernel_size=2, padding=2), ValueError, "at most half the kernel"),
    (dict(x=np.zeros((1, 1, 4, 4)), kernel_size=5), ValueError, "kernel height extent 5"),
    (dict(x=np.zeros((1, 1, 4, 4), np.int32), kernel_size=2), TypeError, "x must be a float32"),
    (dict(x=np.zeros((1, 4, 4)), kernel_size=2), ValueError, "x must be 4-D"),
    (dict(x=np.zeros((1, 1, 4, 4)), kernel_size=(2, 2, 2)), TypeError, "kernel_size must be an int or"),
])
def test_max_pool2d_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        max_pool2d_forward(**kwargs)
