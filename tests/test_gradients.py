"""Float64 central-difference gradient checks of every layer: input and every parameter,
random upstream gradients, odd sizes, non-square kernels, strides, padding, overlapping pools.

Tolerances: smooth maps (conv, dense, batchnorm, pixel shuffle, shortcut, smooth activations)
must give relative error < 1e-7.  Layers with kinks (ReLU, leaky, max pooling) are checked on
inputs kept away from the kink (|x| >= 1e-3 for activations; distinct values per window for
max pooling), where the function is smooth within the finite-difference step h = 1e-6, so the
same 1e-7 bound holds.
"""

import numpy as np
import pytest

from labkit.gradcheck import check_layer, check_network, numerical_gradient, relative_error
from labkit.layers import (Activation, AvgPool2D, BatchNorm, Conv2D, Dense, MaxPool2D,
                           PixelShuffle, Route, Shortcut)
from labkit.network import Network
from labkit.models import edsr

TOL = 1e-7


def assert_small(errors, tol=TOL):
    worst = max(errors.values())
    assert worst < tol, errors


@pytest.mark.parametrize("algorithm", ["naive", "im2col"])
@pytest.mark.parametrize("kernel,stride,padding,hw", [
    (3, 1, "same", (7, 6)),
    ((3, 2), (2, 1), "same", (9, 7)),
    ((2, 3), 2, "valid", (8, 9)),
    (3, (1, 2), (1, 2), (5, 6)),
    (1, 1, "valid", (5, 5)),
    ((5, 3), (3, 2), 2, (11, 8)),
    (4, 1, "same", (6, 7)),         # even kernel: asymmetric 'same' padding
])
def test_conv2d_gradients(algorithm, kernel, stride, padding, hw, rng):
    layer = Conv2D(3, 4, kernel, stride=stride, padding=padding, algorithm=algorithm,
                   seed=1).astype(np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, *hw, 3))
    assert_small(check_layer(layer, x, seed=3))


@pytest.mark.parametrize("c_in,c_out,kernel,padding,hw", [
    (1, 5, 3, "same", (7, 6)),          # head-like: one input channel (broadcast kernels)
    (5, 1, (3, 2), "same", (6, 9)),     # tail-like: one output channel (GEMM + shift-add)
    (2, 3, (2, 3), "valid", (5, 7)),
    (3, 2, 5, (2, 1), (8, 7)),
])
def test_conv2d_direct_gradients(c_in, c_out, kernel, padding, hw, rng):
    layer = Conv2D(c_in, c_out, kernel, padding=padding, algorithm="direct",
                   seed=1).astype(np.float64)
    layer.params["b"][:] = rng.standard_normal(c_out)
    assert_small(check_layer(layer, rng.standard_normal((2, *hw, c_in)), seed=3))


def test_conv2d_without_bias_and_weight_norm(rng):
    layer = Conv2D(2, 3, (3, 2), bias=False, algorithm="im2col", seed=0).astype(np.float64)
    assert set(layer.params) == {"w"}
    assert_small(check_layer(layer, rng.standard_normal((1, 5, 4, 2))))
    wn = Conv2D(2, 3, 3, weight_norm=True, algorithm="im2col", seed=0).astype(np.float64)
    wn.params["g"][:] = rng.uniform(0.5, 2.0, 3)
    wn.params["b"][:] = rng.standard_normal(3)
    assert set(wn.params) == {"v", "g", "b"}
    assert_small(check_layer(wn, rng.standard_normal((2, 5, 6, 2))))


@pytest.mark.parametrize("size,stride,padding,hw", [
    (2, None, 0, (6, 8)),
    (3, 2, 1, (7, 9)),          # overlapping windows with padding
    (3, 1, 0, (5, 6)),          # heavy overlap
    ((3, 2), (2, 1), (1, 0), (7, 5)),
    (2, 3, 0, (8, 8)),          # stride > size: some pixels get no gradient
])
def test_pool_gradients(size, stride, padding, hw, rng):
    n, c = 2, 3
    # A random permutation makes every value distinct, so no window has a tie (a kink).
    x = rng.permutation(n * hw[0] * hw[1] * c).reshape(n, *hw, c) / 10.0
    assert_small(check_layer(MaxPool2D(size, stride, padding), x, h=1e-6))
    assert_small(check_layer(AvgPool2D(size, stride, padding), rng.standard_normal((n, *hw, c))))


@pytest.mark.parametrize("order", ["torch", "tf"])
@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_gradients(order, scale, rng):
    x = rng.standard_normal((2, 3, 5, 2 * scale * scale))
    assert_small(check_layer(PixelShuffle(scale, order), x))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(training, rng):
    layer = BatchNorm(3).astype(np.float64)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, 3)
    layer.params["beta"][:] = rng.standard_normal(3)
    layer.buffers["running_mean"][:] = rng.standard_normal(3)
    layer.buffers["running_var"][:] = rng.uniform(0.5, 2, 3)
    x = rng.standard_normal((3, 5, 4, 3)) * 2 + 1
    assert_small(check_layer(layer, x, training=training))
    layer2d = BatchNorm(4).astype(np.float64)
    assert_small(check_layer(layer2d, rng.standard_normal((6, 4)), training=training))


@pytest.mark.parametrize("name,kw", [
    ("linear", {}), ("relu", {}), ("leaky", {}), ("leaky", {"alpha": 0.3}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("selu", {}), ("logistic", {}), ("tanh", {}), ("softplus", {}),
])
def test_activation_gradients(name, kw, rng):
    x = rng.standard_normal((2, 4, 3, 2)) * 3
    x[np.abs(x) < 1e-3] = 0.5          # keep away from the kink at 0
    assert_small(check_layer(Activation(name, **kw), x))


def test_dense_gradients(rng):
    layer = Dense(7, 5, seed=0).astype(np.float64)
    layer.params["b"][:] = rng.standard_normal(5)
    assert_small(check_layer(layer, rng.standard_normal((4, 7))))
    assert_small(check_layer(Dense(3, 2, bias=False).astype(np.float64), rng.standard_normal((5, 3))))


def test_shortcut_and_route_gradients(rng):
    x, other = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 5, 4))
    assert_small(check_layer(Shortcut(-3, alpha=0.7, beta=-1.3), x, other=other))
    errs = check_layer(Route(0), x, other=other)
    assert errs["other"] < TOL and errs["x"] == 0.0


def test_network_with_two_shortcuts_and_shared_output(rng):
    # Output of layer 0 feeds layer 1, the shortcut at 3, and the shortcut at 6: three gradients sum.
    layers = [Conv2D(2, 3, 3, algorithm="im2col", seed=0),
              Activation("tanh"),
              Conv2D(3, 3, (3, 1), algorithm="naive", seed=1),
              Shortcut(0, alpha=0.5),
              Activation("softplus"),
              Conv2D(3, 3, 1, algorithm="im2col", seed=2),
              Shortcut(-6, alpha=1.0, beta=2.0),
              Conv2D(3, 4, 3, stride=2, seed=3, algorithm="im2col"),
              PixelShuffle(2)]
    net = Network(layers).astype(np.float64)
    for layer in net:
        if "b" in layer.params:
            layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape)
    errors = check_network(net, rng.standard_normal((2, 6, 5, 2)))
    assert_small(errors)


def test_edsr_network_gradients(rng):
    net = edsr(2, n_blocks=2, n_filters=4, seed=0, algorithm="im2col").astype(np.float64)
    errors = check_network(net, rng.uniform(0, 1, (1, 5, 4, 1)))
    # ReLU kinks: with random inputs no pre-activation lands within h of 0 here (checked below).
    assert_small(errors)


def test_relative_error_and_numerical_gradient():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))
