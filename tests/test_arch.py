import numpy as np
import pytest

from shouxie.core import LayerField, receptive_field

CONV3 = {"kernel": 3, "padding": 1}
POOL2 = {"kernel": 2, "stride": 2, "type": "pool"}


def vgg16():
    layers = []
    for n_convs in (2, 2, 3, 3, 3):
        layers += [CONV3] * n_convs + [POOL2]
    return layers


def test_known_networks():
    fields = receptive_field(vgg16())
    assert fields[-2] == LayerField(196, 16, 7.5)  # conv5_3
    assert fields[-1] == LayerField(212, 32, 15.5)  # pool5
    alexnet = [{"kernel": 11, "stride": 4}, {"kernel": 3, "stride": 2},
               {"kernel": 5, "padding": 2}, {"kernel": 3, "stride": 2},
               CONV3, CONV3, CONV3, {"kernel": 3, "stride": 2}]
    assert receptive_field(alexnet)[-1].receptive_field == 195


def test_hand_computed_with_dilation_and_padding():
    fields = receptive_field([CONV3, {"kernel": 3, "dilation": 2, "padding": 2}, {"kernel": 2, "stride": 2}])
    # effective kernel of the dilated conv is 5: 3 + 4 = 7; then pooling adds 1
    assert fields == [LayerField(3, 1, 0.0), LayerField(7, 1, 0.0), LayerField(8, 2, 0.5)]
    assert receptive_field([{"kernel": 7, "stride": 2, "padding": 3}])[0].start == 0.0
    assert receptive_field([{"kernel": 1, "stride": 3, "padding": 2}])[0] == LayerField(1, 3, -2.0)
    assert receptive_field([]) == []


def torch_footprints(layers, length):
    """For every output unit of a real 1-D conv / avg-pool stack: (lowest, highest) input index
    with a non-zero gradient. All-ones weights keep every path positive."""
    torch = pytest.importorskip("torch")
    modules = []
    for layer in layers:
        k, s, p, d = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0), layer.get("dilation", 1)
        if layer.get("type") == "pool":
            modules.append(torch.nn.AvgPool1d(k, s, p))
        else:
            conv = torch.nn.Conv1d(1, 1, k, s, p, d, bias=False).double()
            torch.nn.init.ones_(conv.weight)
            modules.append(conv)
    net = torch.nn.Sequential(*modules)
    x = torch.ones(1, 1, length, dtype=torch.float64, requires_grad=True)
    out = net(x)[0, 0]
    spans = []
    for i in range(out.shape[0]):
        (grad,) = torch.autograd.grad(out[i], x, retain_graph=True)
        nz = np.flatnonzero(grad[0, 0].numpy())
        spans.append((nz.min(), nz.max()))
    return spans


def random_stack(rng):
    layers = []
    for _ in range(rng.integers(1, 5)):
        if rng.random() < 0.3:
            k = int(rng.integers(2, 4))
            layers.append({"kernel": k, "stride": int(rng.integers(1, 3)), "padding": int(rng.integers(0, k // 2 + 1)),
                           "type": "pool"})
        else:
            k = int(rng.integers(1, 6))
            d = int(rng.integers(1, 4))
            layers.append({"kernel": k, "stride": int(rng.integers(1, 3)),
                           "padding": int(rng.integers(0, d * (k - 1) // 2 + 2)), "dilation": d})
    return layers


STACKS = [
    [CONV3, CONV3, POOL2, CONV3],
    [{"kernel": 4, "stride": 2, "padding": 1}, {"kernel": 3, "dilation": 3, "padding": 3}],
    [{"kernel": 2, "stride": 2}, {"kernel": 3, "stride": 2, "padding": 1, "type": "pool"}, {"kernel": 5, "dilation": 2}],
] + [random_stack(np.random.default_rng(seed)) for seed in range(8)]


@pytest.mark.parametrize("layers", STACKS)
def test_matches_gradient_footprint_of_torch_conv_stack(layers):
    fields = receptive_field(layers)
    rf, jump, start = fields[-1]
    length = 4 * rf + 8 * jump + 10
    checked = 0
    for i, (lo, hi) in enumerate(torch_footprints(layers, length)):
        centre = start + i * jump
        want_lo, want_hi = centre - (rf - 1) / 2, centre + (rf - 1) / 2
        if want_lo < 0 or want_hi > length - 1:
            continue  # clipped by the border: padding, not input
        assert (lo, hi) == (want_lo, want_hi), (i, layers)
        checked += 1
    assert checked > 0


def test_plugin_op():
    from shouxie.plugins.arch import receptive_field as op
    out = op(layers=vgg16())
    assert out["final_receptive_field"] == 212 and out["receptive_field"][-2] == 196
    assert out["jump"].tolist()[:3] == [1, 1, 2]


@pytest.mark.parametrize(
    "layers, error, match",
    [
        ({"kernel": 3}, TypeError, "layers must be a sequence"),
        ("conv", TypeError, "layers must be a sequence"),
        ([3], TypeError, r"layers\[0\] must be a mapping"),
        ([{"stride": 2}], ValueError, r"layers\[0\] has no 'kernel'"),
        ([CONV3, {"kernal": 3}], ValueError, r"layers\[1\] has unknown keys \['kernal'\]"),
        ([{"kernel": 0}], ValueError, r"layers\[0\].kernel must be >= 1"),
        ([{"kernel": 3, "stride": 0}], ValueError, r"layers\[0\].stride must be >= 1"),
        ([{"kernel": 3, "padding": -1}], ValueError, r"layers\[0\].padding must be >= 0"),
        ([{"kernel": 3, "dilation": 0}], ValueError, r"layers\[0\].dilation must be >= 1"),
        ([{"kernel": 3.0}], TypeError, r"layers\[0\].kernel must be an integer"),
        ([{"kernel": None}], TypeError, r"layers\[0\].kernel must be an integer"),
    ],
)
def test_bad_input(layers, error, match):
    with pytest.raises(error, match=match):
        receptive_field(layers)
