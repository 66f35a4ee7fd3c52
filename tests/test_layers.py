"""Layer semantics (forward values against direct formulas), the layer contract, bad input."""

import numpy as np
import pytest

from labkit.layers import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    MaxPool2D,
    PixelShuffle,
    Route,
    Shortcut,
)
from labkit.optimizers import SGD


def test_conv_same_padding_output_size(rng):
    for stride in (1, 2, 3):
        for h in (5, 6, 7):
            layer = Conv2D(2, 3, (3, 4), stride=stride, algorithm="im2col")
            y = layer.forward(rng.standard_normal((1, h, h + 1, 2)).astype(np.float32))
            assert y.shape == (1, -(-h // stride), -(-(h + 1) // stride), 3)
            assert y.dtype == np.float32


def test_conv_matches_direct_sum(rng):
    x = rng.standard_normal((2, 6, 5, 3))
    layer = Conv2D(3, 2, (3, 2), stride=(2, 1), padding=1, algorithm="im2col").astype(np.float64)
    w, b = layer.params["w"], layer.params["b"]
    b[:] = [0.5, -1.0]
    y = layer.forward(x)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = np.zeros_like(y)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            win = xp[:, 2 * i:2 * i + 3, j:j + 2, :]
            ref[:, i, j, :] = np.tensordot(win, w, axes=([1, 2, 3], [0, 1, 2])) + b
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_float64_input_runs_in_float64(rng):
    layer = Conv2D(1, 2, 3, algorithm="im2col")
    assert layer.forward(rng.standard_normal((1, 4, 4, 1))).dtype == np.float64
    assert layer.forward(np.ones((1, 4, 4, 1), dtype=np.float32)).dtype == np.float32


def test_he_init_and_seed():
    a, b = Conv2D(16, 32, 3, seed=5), Conv2D(16, 32, 3, seed=5)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    assert a.params["w"].shape == (3, 3, 16, 32) and a.params["b"].shape == (32,)
    assert abs(a.params["w"].std() - np.sqrt(2 / (9 * 16))) < 0.01


def test_maxpool_and_avgpool_values():
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPool2D(2)(x)[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AvgPool2D(2)(x)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    # Padding: average over real pixels only; max never picks the -inf padding.
    y = AvgPool2D(3, 2, 1)(x)[0, :, :, 0]
    assert y[0, 0] == np.mean([0, 1, 4, 5])
    assert MaxPool2D(3, 2, 1)(-x - 1)[0, 0, 0, 0] == -1


def test_maxpool_overlap_gradient_accumulates():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 5.0                       # the centre wins all four overlapping windows
    pool = MaxPool2D(2, 1)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 2, 2, 1)))
    assert dx[0, 1, 1, 0] == 4.0 and dx.sum() == 4.0


def test_pixel_shuffle_orders():
    r, c = 2, 3
    x = np.arange(1 * 2 * 2 * c * r * r, dtype=np.float64).reshape(1, 2, 2, c * r * r)
    yt = PixelShuffle(r, "torch")(x)
    yf = PixelShuffle(r, "tf")(x)
    for h in range(2):
        for w in range(2):
            for i in range(r):
                for j in range(r):
                    for ch in range(c):
                        assert yt[0, h * r + i, w * r + j, ch] == x[0, h, w, ch * r * r + i * r + j]
                        assert yf[0, h * r + i, w * r + j, ch] == x[0, h, w, (i * r + j) * c + ch]


def test_batchnorm_running_stats_like_torch(rng):
    bn = BatchNorm(2, momentum=0.1).astype(np.float64)
    x = rng.standard_normal((4, 3, 3, 2)) * 3 + 2
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(bn.buffers["running_var"],
                               0.9 + 0.1 * x.var(axis=(0, 1, 2), ddof=1))
    y_eval = bn.forward(x, training=False)
    ref = (x - bn.buffers["running_mean"]) / np.sqrt(bn.buffers["running_var"] + 1e-5)
    np.testing.assert_allclose(y_eval, ref)


def test_grads_overwritten_not_accumulated(rng):
    layer = Dense(3, 2).astype(np.float64)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dy)
    first = layer.grads["w"].copy()
    layer.forward(x)
    layer.backward(dy)
    np.testing.assert_array_equal(layer.grads["w"], first)
    w0 = layer.params["w"].copy()
    layer.update(SGD(lr=0.1))
    np.testing.assert_allclose(layer.params["w"], w0 - 0.1 * first)


def test_layer_params_and_grads_share_keys_and_shapes(rng):
    layers = [(Conv2D(2, 3, 3, algorithm="im2col"), (1, 4, 4, 2)),
              (Conv2D(2, 3, 3, weight_norm=True, algorithm="im2col"), (1, 4, 4, 2)),
              (BatchNorm(2), (2, 3, 3, 2)), (Dense(3, 4), (2, 3))]
    for layer, shape in layers:
        y = layer.forward(rng.standard_normal(shape).astype(np.float32))
        layer.backward(np.ones_like(y))
        assert set(layer.grads) == set(layer.params)
        for k in layer.params:
            assert layer.grads[k].shape == layer.params[k].shape
            assert layer.grads[k].dtype == layer.params[k].dtype


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("make,x,pattern", [
    (lambda: Conv2D(3, 4, 3), np.zeros((4, 4, 3)), r"Conv2D\(3->4.*4-D.*\(4, 4, 3\)"),
    (lambda: Conv2D(3, 4, 3), np.zeros((1, 4, 4, 2)), r"Conv2D\(3->4.*3 channels.*\(1, 4, 4, 2\)"),
    (lambda: Conv2D(1, 1, 5, padding="valid"), np.zeros((1, 3, 3, 1)),
     r"Conv2D.*kernel 5x5 is larger than the padded input 3x3"),
    (lambda: MaxPool2D(4), np.zeros((1, 3, 3, 1)), r"MaxPool2D.*window 4x4 is larger.*3x3"),
    (lambda: AvgPool2D(2), np.zeros((3, 3)), r"AvgPool2D.*4-D.*\(3, 3\)"),
    (lambda: Dense(3, 2), np.zeros((2, 4)), r"Dense.*3 channels.*\(2, 4\)"),
    (lambda: BatchNorm(3), np.zeros((2, 2, 2, 4)), r"BatchNorm.*3 channels.*\(2, 2, 2, 4\)"),
    (lambda: PixelShuffle(2), np.zeros((1, 2, 2, 3)), r"PixelShuffle.*multiple of scale\^2 = 4.*\(1, 2, 2, 3\)"),
])
def test_bad_input_names_layer_and_shapes(make, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        make().forward(x)


@pytest.mark.parametrize("make,pattern", [
    (lambda: Conv2D(3, 4, 3, stride=0), r"Conv2D: stride must be >= 1"),
    (lambda: Conv2D(3, 4, 0), r"Conv2D: kernel_size must be >= 1"),
    (lambda: Conv2D(3, 4, 3, padding="full"), r"Conv2D: padding must be"),
    (lambda: Conv2D(3, 4, 5, algorithm="winograd"), r"Conv2D: algorithm='winograd' needs a 3x3"),
    (lambda: Conv2D(3, 4, 3, stride=2, algorithm="winograd"), r"stride 1"),
    (lambda: Conv2D(3, 4, 3, algorithm="fft"), r"Conv2D: unknown algorithm 'fft'"),
    (lambda: MaxPool2D(2, stride=0), r"MaxPool2D: stride must be >= 1"),
    (lambda: AvgPool2D(2, padding=2), r"AvgPool2D: padding must satisfy"),
    (lambda: Activation("swish"), r"Activation: unknown name 'swish'"),
    (lambda: Activation("relu", alpha=0.2), r"unexpected keyword"),
    (lambda: PixelShuffle(0), r"PixelShuffle: scale must be an int >= 1"),
    (lambda: PixelShuffle(2, order="nchw"), r"PixelShuffle: unknown order .nchw."),
    (lambda: BatchNorm(0), r"BatchNorm: channels"),
    (lambda: Dense(0, 3), r"Dense: in_features"),
    (lambda: Shortcut(1.5), r"Shortcut: index must be an int"),
    # bools are never sizes; seeds and hyper-parameters are checked before numpy sees them
    (lambda: Conv2D(True, 2, 3), r"Conv2D: in_channels must be an int >= 1, got True"),
    (lambda: Conv2D(2, 2, (3, False)), r"Conv2D: kernel_size must be an int or a pair"),
    (lambda: Conv2D(2, 2, 3, seed=-1), r"Conv2D: seed must be None or an int in \[0, 2\*\*32\)"),
    (lambda: Conv2D(2, 2, 3, dtype=np.int32), r"Conv2D: dtype must be float32 or float64"),
    (lambda: Conv2D(100000, 100000, 3), r"Conv2D: the weight would have shape"),
    (lambda: Dense(True, 3), r"Dense: in_features must be an int >= 1, got True"),
    (lambda: Dense(3, 2, bias="yes"), r"Dense: bias must be True or False"),
    (lambda: BatchNorm(2, momentum="a"), r"BatchNorm: momentum must be a number, got 'a'"),
    (lambda: BatchNorm(2, eps=0.0), r"BatchNorm: eps must be > 0"),
    (lambda: MaxPool2D(True), r"MaxPool2D: size must be an int or a pair"),
    (lambda: Activation("leaky", alpha="x"), r"Activation\('leaky'\): alpha must be a number"),
])
def test_bad_constructor_arguments(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_backward_misuse(rng):
    layer = Conv2D(1, 1, 3, algorithm="im2col")
    with pytest.raises(ValueError, match="backward called before forward"):
        layer.backward(np.zeros((1, 3, 3, 1)))
    layer.forward(np.zeros((1, 3, 3, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=r"upstream gradient has shape \(1, 4, 4, 1\).*\(1, 3, 3, 1\)"):
        layer.backward(np.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match="Shortcut.*use it inside a Network"):
        Shortcut(-2).forward(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r"Shortcut.*\(1, 2, 2, 1\).*\(1, 2, 2, 2\)"):
        Shortcut(-2).forward(np.zeros((1, 2, 2, 1)), other=np.zeros((1, 2, 2, 2)))
    with pytest.raises(ValueError, match="Route.*use it inside a Network"):
        Route(0).forward(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="BatchNorm.*more than one value per channel"):
        BatchNorm(2).forward(np.zeros((1, 2)))


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_pool_backends_agree(cls, rng):
    x = rng.standard_normal((2, 9, 7, 3))
    a, b = cls(3, 2, 1, backend="numba"), cls(3, 2, 1, backend="numpy")
    np.testing.assert_allclose(a.forward(x), b.forward(x), rtol=1e-14)
    dy = rng.standard_normal(a._out_shape)
    np.testing.assert_allclose(a.backward(dy), b.backward(dy), rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError, match="unknown backend"):
        cls(2, backend="cuda")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_batchnorm_refuses_non_finite_training_input_and_keeps_stats(bad):
    bn = BatchNorm(2)
    x = np.random.default_rng(0).standard_normal((4, 3, 3, 2)).astype(np.float32)
    bn.forward(x)
    mean, var = bn.buffers["running_mean"].copy(), bn.buffers["running_var"].copy()
    x[1, 2, 0, 1] = bad
    with pytest.raises(ValueError, match=r"BatchNorm.*contains NaN or inf"):
        bn.forward(x, training=True)
    np.testing.assert_array_equal(bn.buffers["running_mean"], mean)
    np.testing.assert_array_equal(bn.buffers["running_var"], var)
    # evaluation does not touch the statistics: NaN simply propagates there
    assert np.isnan(bn.forward(x, training=False)).any() == np.isnan(bad)


def test_integer_inputs_are_computed_in_float():
    conv = Conv2D(1, 1, 3, padding="valid", seed=0, algorithm="naive")
    xi = np.arange(16).reshape(1, 4, 4, 1)
    np.testing.assert_allclose(conv.forward(xi), conv.forward(xi.astype(np.float32)))
    assert Activation("logistic").forward(np.array([[0]]))[0, 0] == 0.5


def test_dense_pure_functions_match_the_layer_and_numerical_gradients(rng):
    from labkit.gradcheck import numerical_gradient, relative_error
    from labkit.ops.dense import dense_backward, dense_forward

    x = rng.standard_normal((5, 3))
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(4)
    dy = rng.standard_normal((5, 4))
    y, cache = dense_forward(x, w, b)
    assert y.shape == (5, 4)
    np.testing.assert_allclose(y, x @ w + b)
    dx, dw, db = dense_backward(dy, cache)
    assert (dx.shape, dw.shape, db.shape) == ((5, 3), (3, 4), (4,))
    for arr, analytic in ((x, dx), (w, dw), (b, db)):
        numeric = numerical_gradient(lambda: float(np.sum(dense_forward(x, w, b)[0] * dy)), arr)
        assert relative_error(analytic, numeric) < 1e-7
    assert dense_backward(dy, dense_forward(x, w)[1])[2] is None
    layer = Dense(3, 4, seed=0, dtype=np.float64)
    layer.params["b"][:] = b
    np.testing.assert_array_equal(layer.forward(x), dense_forward(x, layer.params["w"], b)[0])
    ldx = layer.backward(dy)
    pdx, pdw, pdb = dense_backward(dy, (x, layer.params["w"], True))
    np.testing.assert_array_equal(ldx, pdx)
    np.testing.assert_array_equal(layer.grads["w"], pdw)
    np.testing.assert_array_equal(layer.grads["b"], pdb)


def test_relu_vjp_and_plain_shortcut_match_the_definitions():
    """The fused ReLU backward (read off the output) and the unit-weight Shortcut fast path
    give exactly dy * f'(x) and dy, and the activation does not keep its input alive."""
    from labkit.layers import Activation, Shortcut
    from labkit.ops.activations import d_relu
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 4, 3))
    x[0, 0, 0] = 0.0                                   # the kink
    act = Activation("relu")
    y = act(x)
    assert act.cache[0] is None
    dy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(act.backward(dy), d_relu(x, y) * dy)
    sc = Shortcut(-2)
    other = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(sc.forward(x, other=other), x + other)
    g = sc.backward(dy)
    np.testing.assert_array_equal(g, dy)
    np.testing.assert_array_equal(sc.d_other, dy)
    weighted = Shortcut(-2, alpha=0.5, beta=2.0)
    np.testing.assert_allclose(weighted.forward(x, other=other), 0.5 * x + 2.0 * other)
    weighted.backward(dy)
    np.testing.assert_allclose(weighted.d_other, 2.0 * dy)
