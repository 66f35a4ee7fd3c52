"""The ops behind the figures: classic kernels, receptive fields, gradient descent paths,
gradient flow through deep stacks."""

import numpy as np
import pytest

from labkit.ops.conv import conv2d
from labkit.ops.descent import (
    evaluate_grid,
    gradient_descent,
    linear_regression_loss,
    quadratic_bowl,
    rosenbrock,
)
from labkit.ops.filters import KERNELS, classic_kernel, filter2d, gaussian_kernel
from labkit.ops.gradient_flow import gradient_norms
from labkit.ops.receptive_field import receptive_field_maps, receptive_field_sizes


def test_kernel_sums():
    for name in ("identity", "box_blur", "gaussian_blur", "sharpen"):
        assert KERNELS[name].sum() == pytest.approx(1.0)
    for name in ("sobel_x", "sobel_y", "laplacian", "outline"):
        assert KERNELS[name].sum() == 0.0
    k = classic_kernel("sharpen")
    k[0, 0] = 99
    assert KERNELS["sharpen"][0, 0] == 0                 # a copy, never the table itself
    with pytest.raises(ValueError, match="classic_kernel: unknown"):
        classic_kernel("nope")


def test_gaussian_kernel():
    g = gaussian_kernel(7, 1.5)
    assert g.shape == (7, 7) and g.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(g, g.T)
    assert g[3, 3] == g.max()
    for bad in ({"size": 4}, {"size": 0}, {"sigma": 0.0}):
        with pytest.raises(ValueError, match="gaussian_kernel"):
            gaussian_kernel(**{"size": 5, "sigma": 1.0, **bad})


def test_filter2d_is_conv2d_cross_correlation(rng):
    x = rng.random((9, 11))
    k = rng.standard_normal((3, 2))
    y = filter2d(x, k, stride=2, padding=1)
    ref = conv2d(x[None, :, :, None], k[:, :, None, None], stride=2, padding=1)[0, :, :, 0]
    np.testing.assert_allclose(y, ref)
    # cross-correlation: sobel_x is positive on a left-to-right ramp
    ramp = np.tile(np.arange(6.0), (6, 1))
    assert np.all(filter2d(ramp, "sobel_x", padding="valid") > 0)
    np.testing.assert_array_equal(filter2d(x, "identity"), x)
    with pytest.raises(ValueError, match="filter2d"):
        filter2d(x[None], k)


def test_receptive_field_recursion():
    r = receptive_field_sizes([3] * 5)
    np.testing.assert_array_equal(r["size"], [1, 3, 5, 7, 9, 11])
    r = receptive_field_sizes([3, 3, 3], strides=[2, 2, 1], dilations=[1, 1, 2])
    np.testing.assert_array_equal(r["jump"], [1, 2, 4, 4])
    np.testing.assert_array_equal(r["size"], [1, 3, 7, 7 + 2 * 2 * 4])
    with pytest.raises(ValueError, match="receptive_field_sizes: stride has 1 entries"):
        receptive_field_sizes([3, 3], strides=[1])


@pytest.mark.parametrize("kernels,strides", [([3, 3, 3], 1), ([3, 5], 1), ([3, 3, 3], [1, 2, 1])])
def test_receptive_field_maps_match_sizes(kernels, strides):
    maps = receptive_field_maps((41, 41), kernels, strides)
    sizes = receptive_field_sizes(kernels, strides)["size"]
    for depth, m in enumerate(maps, start=1):
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        assert rows.size == cols.size == sizes[depth]
        assert np.all(m >= 0)
    # three all-ones 3x3 layers: 1-D path counts are [1, 3, 6, 7, 6, 3, 1], the centre 7^2
    if kernels == [3, 3, 3] and strides == 1:
        assert maps[-1].max() == 49
    with pytest.raises(ValueError, match="receptive_field_maps: position"):
        receptive_field_maps((5, 5), [3], position=(9, 9))


def test_gradient_descent_converges_and_matches_rule():
    loss, grad = quadratic_bowl(1.0, 4.0)
    path = gradient_descent(grad, [2.0, 1.0], 0.1, 100)
    assert path.shape == (101, 2)
    np.testing.assert_allclose(path[1], [2.0 - 0.1 * 2.0, 1.0 - 0.1 * 4.0])
    assert loss(path[-1]) < 1e-8
    mom = gradient_descent(grad, [2.0, 1.0], 0.1, 2, momentum=0.9)
    v1 = grad(np.array([2.0, 1.0]))
    w1 = np.array([2.0, 1.0]) - 0.1 * v1
    np.testing.assert_allclose(mom[2], w1 - 0.1 * (0.9 * v1 + grad(w1)))
    # an unstable rate diverges; the path freezes instead of filling with inf
    bad = gradient_descent(grad, [2.0, 1.0], 1.0, 200)
    assert np.all(np.isfinite(bad))
    for kw in ({"lr": 0.0}, {"steps": -1}, {"momentum": 1.0}):
        with pytest.raises(ValueError, match="gradient_descent"):
            gradient_descent(grad, [0.0, 0.0], **{"lr": 0.1, "steps": 3, **kw})


@pytest.mark.parametrize("make", [lambda: quadratic_bowl(2.0, 3.0), lambda: rosenbrock(),
                                  lambda: linear_regression_loss(np.linspace(-1, 1, 9),
                                                                 np.linspace(0, 2, 9) ** 2)])
def test_landscape_gradients_are_correct(make):
    loss, grad = make()
    w = np.array([0.3, -0.7])
    eps = 1e-6
    num = [(loss(w + eps * e) - loss(w - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(grad(w), num, rtol=1e-5, atol=1e-8)


def test_evaluate_grid():
    loss, _ = quadratic_bowl()
    W1, W2, Z = evaluate_grid(loss, (-1, 1), (0, 2), 5)
    assert Z.shape == (5, 5)
    assert Z[0, 2] == pytest.approx(loss([W1[0, 2], W2[0, 2]]))


def test_gradient_norms_plain_vanish_shortcuts_do_not():
    plain = gradient_norms(20, width=16, activation="logistic")
    res = gradient_norms(20, width=16, activation="logistic", shortcut=True, res_scale=0.2)
    assert plain["grad_norm"].shape == (20,)
    # plain: the first layer gets many orders of magnitude less gradient than the last
    assert plain["grad_norm"][0] < 1e-6 * plain["grad_norm"][-1]
    assert res["grad_norm"][0] > 1e-2 * res["grad_norm"][-1]
    with pytest.raises(ValueError, match="gradient_norms: unknown activation"):
        gradient_norms(3, activation="swish")


def test_gradient_norms_match_finite_differences():
    # The hand-written backward pass against a numerical derivative of one weight.
    from labkit.ops import gradient_flow as gf
    for shortcut in (False, True):
        out = gf.gradient_norms(3, width=4, n=5, activation="tanh", shortcut=shortcut,
                                res_scale=0.5, seed=3)
        rng = np.random.default_rng(3)
        x = rng.standard_normal((5, 4))
        t = rng.standard_normal((5, 4))
        ws = [rng.standard_normal((4, 4)) / 2.0 for _ in range(3)]

        def loss(ws, x=x, t=t, shortcut=shortcut):
            h = x
            for w in ws:
                y = np.tanh(h @ w)
                h = h + 0.5 * y if shortcut else y
            return np.sum((h - t) ** 2) / 10

        assert loss(ws) == pytest.approx(out["loss"])
        eps = 1e-6
        grads = []
        for layer in range(3):
            g = np.zeros((4, 4))
            for idx in np.ndindex(4, 4):
                wp = [w.copy() for w in ws]
                wm = [w.copy() for w in ws]
                wp[layer][idx] += eps
                wm[layer][idx] -= eps
                g[idx] = (loss(wp) - loss(wm)) / (2 * eps)
            grads.append(np.linalg.norm(g))
        np.testing.assert_allclose(out["grad_norm"], grads, rtol=1e-5)
