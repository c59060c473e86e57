import numpy as np
import pytest
from nn_helpers import rel_err

from shouxie.core import numerical_gradient, softmax_loss
from shouxie.core.cnn import SmallCNN, train
from shouxie.plugins import collect_ops
from shouxie.plugins import nn as nn_plugin


def test_ops_registered(pm):
    ops = collect_ops(pm)
    for name in ["nn.relu", "nn.batchnorm", "nn.dropout", "nn.conv2d", "nn.max_pool2d", "nn.softmax_loss",
                 "nn.fuse_conv_bn", "nn.train_cnn", "data.shapes", "ref.torch_conv2d", "ref.torch_max_pool2d"]:
        assert name in ops and ops.get(name).plugin == "shouxie.plugins.nn"


def test_shapes_is_deterministic_and_balanced():
    a = nn_plugin.shapes(n_train=40, n_test=20, image_size=12, seed=3)
    b = nn_plugin.shapes(n_train=40, n_test=20, image_size=12, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["x_train"].shape == (40, 1, 12, 12) and a["x_train"].dtype == np.float32
    assert a["y_test"].shape == (20,) and a["y_train"].dtype == np.int64
    assert np.bincount(np.concatenate([a["y_train"], a["y_test"]])).tolist() == [15] * 4
    assert not np.array_equal(a["x_train"], nn_plugin.shapes(n_train=40, n_test=20, image_size=12, seed=4)["x_train"])


def test_shapes_are_what_they_say():
    """Without noise, the classes are told apart by simple statistics of the drawing."""
    d = nn_plugin.shapes(n_train=200, n_test=0, image_size=24, noise=0.0, seed=0)
    x, y = d["x_train"][:, 0], d["y_train"]
    rows = (x > 0.3).any(axis=2).sum(axis=1)  # rows touched
    cols = (x > 0.3).any(axis=1).sum(axis=1)
    assert (rows[y == 0] < cols[y == 0]).mean() > 0.95  # horizontal bars are wide
    assert (rows[y == 1] > cols[y == 1]).mean() > 0.95  # vertical bars are tall
    centre = x[:, 10:14, 10:14].mean(axis=(1, 2))
    assert centre[y == 2].mean() < centre[y == 3].mean()  # rings are hollow, crosses are not


def test_small_cnn_gradients_match_numerical():
    rng = np.random.default_rng(0)
    model = SmallCNN(in_channels=2, image_size=8, num_classes=3, channels=(3, 4), dropout=0.0, seed=1)
    model.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    model.bn_mean, model.bn_var = model.bn_mean.astype(np.float64), model.bn_var.astype(np.float64)
    x = rng.standard_normal((3, 2, 8, 8))
    y = np.array([0, 2, 1])

    def loss():
        logits, _ = model.forward(x, training=True)
        return np.array(softmax_loss(logits, y)[0])

    logits, caches = model.forward(x, training=True)
    grads = model.backward(softmax_loss(logits, y)[1], caches)
    for name, param in model.params.items():
        numerical = numerical_gradient(loss, param, 1.0)
        if name == "conv1.b":  # batch norm cancels the first bias: both gradients are ~0
            assert np.abs(grads[name]).max() < 1e-12 and np.abs(numerical).max() < 1e-9
        else:
            assert rel_err(grads[name], numerical) < 1e-7, name


def test_train_cnn_learns_and_fuses_identically():
    data = nn_plugin.shapes(n_train=400, n_test=200, image_size=16, seed=0)
    result = nn_plugin.train_cnn(**data, epochs=3, batch_size=32, lr=0.01, seed=0)
    assert result["loss_epoch_3"] < result["loss_epoch_1"] < np.log(4) + 0.1
    assert result["test_accuracy"] > 0.5
    assert result["fused_agreement"] == 1.0 and result["fused_max_logit_diff"] < 1e-4
    assert result["predictions"].shape == (200,)


def test_train_is_reproducible():
    data = nn_plugin.shapes(n_train=64, n_test=8, image_size=8, seed=1)
    models = [SmallCNN(1, 8, 4, seed=2) for _ in range(2)]
    losses = [train(m, data["x_train"], data["y_train"], epochs=2, batch_size=16, seed=5) for m in models]
    assert losses[0] == losses[1]
    for key in models[0].params:
        np.testing.assert_array_equal(models[0].params[key], models[1].params[key])


def test_train_bad_input():
    model = SmallCNN(1, 8, 4)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        train(model, np.zeros((4, 1, 8, 8), np.float32), np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must be in"):
        train(model, np.zeros((4, 1, 8, 8), np.float32), np.array([0, 1, 2, 4]), epochs=1)


def test_layer_ops_agree_with_torch_refs():
    pytest.importorskip("torch")
    conv = nn_plugin.conv2d_inputs(n=2, channels=4, size=9, out_channels=3, kernel_size=3, dtype="float64")
    for dout in (None, conv["dout"]):
        ours = nn_plugin.conv2d(conv["x"], conv["w"], conv["b"], padding=1, dout=dout)
        ref = nn_plugin.torch_conv2d(conv["x"], conv["w"], conv["b"], padding=1, dout=dout)
        assert ours.keys() == ref.keys()
        for key in ours:
            np.testing.assert_allclose(ours[key], ref[key], rtol=1e-10, atol=1e-12)
    pool = nn_plugin.pool_inputs(n=2, channels=3, size=9, kernel_size=3, stride=2, dtype="float32")
    for dout in (None, pool["dout"]):
        ours = nn_plugin.max_pool2d(pool["x"], 3, 2, dout=dout)
        ref = nn_plugin.torch_max_pool2d(pool["x"], 3, 2, dout=dout)
        assert ours.keys() == ref.keys()
        for key in ours:
            np.testing.assert_array_equal(ours[key], ref[key])


def test_small_ops():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(nn_plugin.relu(x, dout=np.ones_like(x))["dx"], [[0, 1], [1, 0]])
    bn = nn_plugin.batchnorm(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), dout=np.ones_like(x))
    np.testing.assert_allclose(bn["running_mean"], [0.1, -0.1])
    assert set(bn) == {"out", "running_mean", "running_var", "dx", "dgamma", "dbeta"}
    assert 0 < nn_plugin.dropout(np.ones((50, 50)), p=0.5)["kept_fraction"] < 1
    assert nn_plugin.softmax_loss(np.zeros((2, 2)), [0, 1])["loss"] == pytest.approx(np.log(2))
    fused = nn_plugin.fuse_conv_bn(np.ones((2, 1, 1, 1)), np.full(2, 2.0), np.ones(2), np.zeros(2), np.full(2, 3.0),
                                   eps=1.0)
    np.testing.assert_allclose(fused["w"][:, 0, 0, 0], [1, 1])
    np.testing.assert_allclose(fused["b"], [1, 1])
