"""synthetic_contrast: piecewise-constant copies with the slices' geometry, and bad input."""

import numpy as np
import pytest

from labkit.data import load_volume
from labkit.data.synth import gaussian_blur, synthetic_contrast


@pytest.fixture(scope="module")
def slices():
    vol = load_volume("phantom", seed=2, shape=(64, 72, 16)).data
    return np.moveaxis(vol, -1, 0)[4:8].copy()


def test_classes_follow_the_slice_and_edges_are_sharp(slices):
    out = synthetic_contrast(slices, n_classes=4, sigma=0.6, seed=0)
    assert out.shape == slices.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.max(axis=(1, 2)), 1.0, rtol=1e-6)
    background = slices < 0.1 * slices.max(axis=(1, 2), keepdims=True)
    inner = background & (gaussian_blur(background.astype(np.float32), 1.5) > 0.999)
    assert np.all(out[inner] < 1e-3)                     # background stays black
    # piecewise constant: many more flat pixels than the slice has, and steep steps between
    g = np.abs(np.diff(out, axis=2))
    g0 = np.abs(np.diff(slices / slices.max(axis=(1, 2), keepdims=True), axis=2))
    assert np.mean(g < 1e-3) > np.mean(g0 < 1e-3) + 0.1
    assert g.max() > 0.2
    # different seeds give different contrasts of the same geometry
    other = synthetic_contrast(slices, seed=1)
    assert not np.allclose(out, other)
    assert np.all(other[inner] < 1e-3)
    np.testing.assert_array_equal(synthetic_contrast(slices, seed=0), out)   # seeded


def test_single_slice_and_empty_slice():
    img = np.zeros((20, 24), np.float32)
    img[5:15, 6:18] = 1.0
    out = synthetic_contrast(img, n_classes=2)
    assert out.shape == img.shape and out.max() == pytest.approx(1.0)
    assert np.all(synthetic_contrast(np.zeros((2, 8, 8))) == 0)


def test_gaussian_blur_keeps_the_mean_and_a_constant():
    x = np.random.default_rng(0).random((3, 17, 19)).astype(np.float32)
    np.testing.assert_allclose(gaussian_blur(np.full((9, 9), 0.5), 1.0), 0.5, rtol=1e-6)
    assert abs(gaussian_blur(x, 0.8).mean() - x.mean()) < 0.01


@pytest.mark.parametrize("kwargs,match", [
    ({"hr_slices": np.zeros((2, 3, 4, 5))}, "expected hr_slices of shape"),
    ({"hr_slices": np.zeros(5)}, "expected hr_slices of shape"),
    ({"hr_slices": np.full((4, 4), np.nan)}, "NaN"),
    ({"n_classes": 0}, "n_classes must be"),
    ({"sigma": 0}, "sigma must be > 0"),
    ({"seed": -1}, "seed"),
])
def test_bad_input(kwargs, match):
    args = {"hr_slices": np.ones((2, 8, 8))} | kwargs
    with pytest.raises(ValueError, match="synthetic_contrast: .*" + match):
        synthetic_contrast(**args)
