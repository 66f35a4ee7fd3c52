"""Tests of labkit.ops.distortions (the chapter-2 distortions)."""

import numpy as np
import pytest

from labkit.ops import distortions as D


def test_blur_preserves_constant_and_mean(rng):
    c = np.full((20, 30), 0.3)
    np.testing.assert_allclose(D.gaussian_blur(c, 1.5), c, atol=1e-12)
    x = rng.random((2, 24, 24))
    y = D.gaussian_blur(x, 1.0)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.std() < x.std()                         # a low-pass filter removes variance
    np.testing.assert_array_equal(D.gaussian_blur(x, 0), x)


def test_blur_impulse_is_gaussian():
    x = np.zeros((31, 31))
    x[15, 15] = 1.0
    y = D.gaussian_blur(x, 2.0)
    u = np.arange(-6, 7)
    g = np.exp(-u ** 2 / 8.0)
    g /= g.sum()
    np.testing.assert_allclose(y[15, 9:22], g * g[6], atol=1e-12)


def test_noise_seeded_and_sigma(rng):
    x = np.zeros((200, 200))
    a = D.add_gaussian_noise(x, 0.1, seed=3)
    b = D.add_gaussian_noise(x, 0.1, seed=3)
    np.testing.assert_array_equal(a, b)
    assert abs(a.std() - 0.1) < 0.005


def test_shift_moves_and_replicates():
    x = np.arange(12.0).reshape(3, 4)
    y = D.shift(x, 1, 0)
    np.testing.assert_array_equal(y[1:], x[:-1])
    np.testing.assert_array_equal(y[0], x[0])
    z = D.shift(x, 0, -1)
    np.testing.assert_array_equal(z[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(z[:, -1], x[:, -1])
    with pytest.raises(ValueError, match="shift"):
        D.shift(x, 3, 0)
    with pytest.raises(ValueError, match="dy"):
        D.shift(x, 1.5, 0)


def test_contrast_keeps_mean(rng):
    x = rng.random((2, 10, 10))
    y = D.adjust_contrast(x, 0.5)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)))
    np.testing.assert_allclose(y.std(axis=(1, 2)), 0.5 * x.std(axis=(1, 2)))


def test_dct_orthonormal():
    d = D.dct_matrix(8)
    np.testing.assert_allclose(d @ d.T, np.eye(8), atol=1e-12)


def test_jpeg_like_quality_orders_error(rng):
    x = D.gaussian_blur(rng.random((37, 45)), 1.0)     # size not a multiple of 8 on purpose
    errs = [np.abs(D.jpeg_like(x, q) - x).mean() for q in (5, 30, 90)]
    assert D.jpeg_like(x, 30).shape == x.shape
    assert errs[0] > errs[1] > errs[2] > 0
    c = np.full((16, 16), 0.5)
    np.testing.assert_allclose(D.jpeg_like(c, 10), c, atol=1 / 255)
    with pytest.raises(ValueError, match="quality"):
        D.jpeg_like(x, 0)


def test_bad_input():
    with pytest.raises(ValueError, match="gaussian_blur"):
        D.gaussian_blur(np.zeros(5), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        D.gaussian_blur(np.zeros((5, 5)), -1.0)
