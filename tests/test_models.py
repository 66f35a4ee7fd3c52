"""Model builders: shapes, parameter counts, structure, gradients, save/load."""

import numpy as np
import pytest

from labkit.gradcheck import check_network
from labkit.layers import Conv2D, PixelShuffle, Route, Shortcut
from labkit.models import SR_MODELS, build_sr_model, edsr, plain_cnn, srcnn, wdsr_a, wdsr_b
from labkit.network import Network


def test_edsr_parameter_counts_match_pytorch_edsr_baseline():
    assert edsr(2, 8, 32).n_params == 194_817
    assert edsr(2, 16, 64).n_params == 1_367_553


def wdsr_a_count(s, b, f, e, c=1):
    conv = lambda cin, cout, k: k * k * cin * cout + 2 * cout   # v, g and bias
    return (conv(c, c * s * s, 5) + conv(c, f, 3) + b * (conv(f, e * f, 3) + conv(e * f, f, 3))
            + conv(f, c * s * s, 3))


def wdsr_b_count(s, b, f, e, r, c=1):
    conv = lambda cin, cout, k: k * k * cin * cout + 2 * cout
    n = int(r * f)
    return (conv(c, c * s * s, 5) + conv(c, f, 3)
            + b * (conv(f, e * f, 1) + conv(e * f, n, 1) + conv(n, f, 3)) + conv(f, c * s * s, 3))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_wdsr_shapes_and_parameter_counts(scale, rng):
    a = wdsr_a(scale, n_blocks=2, n_filters=8, expansion=3, seed=0)
    b = wdsr_b(scale, n_blocks=2, n_filters=10, expansion=4, low_rank=0.8, seed=0)
    assert a.n_params == wdsr_a_count(scale, 2, 8, 3)
    assert b.n_params == wdsr_b_count(scale, 2, 10, 4, 0.8)
    x = rng.random((2, 7, 9, 1), dtype=np.float32)
    for net in (a, b):
        y = net.forward(x)
        assert y.shape == (2, 7 * scale, 9 * scale, 1) and y.dtype == np.float32
        assert net.backward(np.ones_like(y)).shape == x.shape


def test_wdsr_structure():
    net = wdsr_b(2, n_blocks=3, n_filters=16)
    convs = [layer for layer in net.layers if isinstance(layer, Conv2D)]
    assert all(c.weight_norm and set(c.params) == {"v", "g", "b"} for c in convs)
    # skip branch: 5x5 conv on the input, pixel shuffle, then a Route back to the input
    assert convs[0].kernel_size == (5, 5) and isinstance(net.layers[1], PixelShuffle)
    assert isinstance(net.layers[2], Route) and net._sources[2] == -1
    # the final Shortcut adds the skip branch (output of layer 1)
    assert isinstance(net.layers[-1], Shortcut) and net._sources[-1] == 1
    # wide activation: 1x1 to 6F, low rank 1x1 to int(0.8 F), 3x3 back to F
    shapes = [c.weight.shape for c in convs[2:5]]
    assert shapes == [(1, 1, 16, 96), (1, 1, 96, 12), (3, 3, 12, 16)]
    assert "total parameters" in net.summary((1, 12, 12, 1))
    shapes = net.output_shapes((1, 12, 12, 1))
    assert shapes[2] == (1, 12, 12, 1) and shapes[-1] == (1, 24, 24, 1)   # Route: the input


def test_residual_scaling_is_applied():
    net = wdsr_a(2, n_blocks=2, n_filters=4, res_scale=0.1)
    alphas = [layer.alpha for layer in net.layers if isinstance(layer, Shortcut)]
    assert alphas == [0.1, 0.1, 1.0]


@pytest.mark.parametrize("builder", [wdsr_a, wdsr_b])
def test_wdsr_gradients(builder, rng):
    # The naive (pure numpy) convolution: this checks the model's wiring, and on tiny inputs
    # it is the fastest algorithm.
    net = builder(2, n_blocks=1, n_filters=2, expansion=2, res_scale=0.5, seed=1,
                  algorithm="naive").astype(np.float64)
    errors = check_network(net, rng.random((1, 3, 4, 1)))
    assert max(errors.values()) < 1e-6, errors


def test_teaching_nets(rng):
    x = rng.random((1, 10, 10, 1))
    for net in (srcnn(f1=4, f2=3, seed=0), plain_cnn(3, n_filters=4, seed=0),
                plain_cnn(3, n_filters=4, residual=True, seed=0)):
        net.astype(np.float64)
        assert net.forward(x).shape == x.shape
    res = plain_cnn(4, n_filters=4, residual=True)
    assert sum(isinstance(layer, Shortcut) for layer in res.layers) == 4
    errors = check_network(plain_cnn(2, n_filters=2, residual=True, seed=0,
                                     algorithm="naive").astype(np.float64),
                           rng.random((1, 4, 4, 1)))
    assert max(errors.values()) < 1e-6


def test_save_load_roundtrip_with_route(tmp_path, rng):
    net = wdsr_a(3, n_blocks=1, n_filters=4, seed=2)
    x = rng.random((1, 6, 5, 1), dtype=np.float32)
    path = net.save(tmp_path / "w.npz")
    again = Network.load(path)
    np.testing.assert_array_equal(again.predict(x), net.predict(x))


def test_initialisation(rng):
    x = rng.random((2, 12, 12, 1), dtype=np.float32)
    torch_like = edsr(2, 8, 32, seed=0)
    assert torch_like.forward(x).std() < 1.0             # small outputs: trainable at once
    assert edsr(2, 8, 32, seed=0, init="he").forward(x).std() > 10.0
    for layer in torch_like.layers:
        if isinstance(layer, Conv2D):
            bound = 1 / np.sqrt(np.prod(layer.params["w"].shape[:3]))
            assert np.abs(layer.params["w"]).max() <= bound
            assert np.abs(layer.params["b"]).max() <= bound and layer.params["b"].any()
    for layer in wdsr_a(2, 1, 4, seed=0).layers:
        if isinstance(layer, Conv2D):                    # g = ||v||: w = v at the start
            np.testing.assert_allclose(layer.weight, layer.params["v"], rtol=1e-6)
    np.testing.assert_array_equal(edsr(2, 1, 4, seed=5).layers[0].params["w"],
                                  edsr(2, 1, 4, seed=5).layers[0].params["w"])
    with pytest.raises(ValueError, match="edsr: unknown init"):
        edsr(2, init="xavier")


def test_build_sr_model_and_errors():
    assert set(SR_MODELS) == {"edsr", "wdsr_a", "wdsr_b"}
    assert build_sr_model("edsr", 2, 8, 32).n_params == 194_817
    with pytest.raises(ValueError, match="unknown model 'srgan'"):
        build_sr_model("srgan", 2)
    with pytest.raises(ValueError, match="scale must be 2, 3 or 4"):
        wdsr_a(5)
    with pytest.raises(ValueError, match="wdsr_b: low_rank"):
        wdsr_b(2, low_rank=0.0)
    with pytest.raises(ValueError, match="wdsr_a: n_filters must be an int >= 1, got 0"):
        wdsr_a(2, n_filters=0)
    with pytest.raises(ValueError, match="plain_cnn"):
        plain_cnn(0)
