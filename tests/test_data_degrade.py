"""Degradations: shapes, the shared pixel grid, Rician noise and bad input."""

import numpy as np
import pytest

from labkit.data import DEGRADATIONS, add_rician_noise, crop_to_multiple, degrade, gaussian_sigma
from labkit.ops.kspace import kspace_downsample
from labkit.ops.resize import imresize


def smooth_blob(h=64, w=72):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.exp(-((y - 0.47 * h) ** 2 + (x - 0.52 * w) ** 2) / (2 * (0.11 * h) ** 2))


@pytest.mark.parametrize("method", DEGRADATIONS)
@pytest.mark.parametrize("scale", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_and_dtypes(method, scale, dtype):
    hr = np.random.default_rng(0).random((2, 12 * scale, 10 * scale)).astype(dtype)
    lr = degrade(hr, scale, method)
    assert lr.shape == (2, 12, 10) and lr.dtype == dtype
    np.testing.assert_allclose(lr[1], degrade(hr[1], scale, method),
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def test_bicubic_is_antialiased_imresize():
    hr = np.random.default_rng(1).random((24, 36))
    np.testing.assert_array_equal(degrade(hr, 3), imresize(hr, 1 / 3))


def test_kspace_is_kspace_downsample():
    hr = np.random.default_rng(2).random((24, 36))
    np.testing.assert_array_equal(degrade(hr, 2, "kspace"), kspace_downsample(hr, 2))


@pytest.mark.parametrize("method", ["bicubic", "gaussian"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_lr_pixel_centres_on_a_linear_ramp(method, scale):
    """Symmetric normalised kernels reproduce a ramp: LR pixel i is at HR s*i + (s-1)/2."""
    n = 20 * scale
    ramp = np.tile(np.arange(n, dtype=np.float64)[:, None], (1, 2 * scale))
    lr = degrade(ramp, scale, method)
    centres = scale * np.arange(n // scale) + (scale - 1) / 2
    np.testing.assert_allclose(lr[3:-3, 0], centres[3:-3], atol=1e-9)


def centroid(img):
    rows, cols = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    return np.array([(rows * img).sum(), (cols * img).sum()]) / img.sum()


@pytest.mark.parametrize("scale", [2, 4])
def test_kspace_and_bicubic_share_the_grid(scale):
    """For a smooth image both LR images agree closely: there is no half-pixel shift."""
    hr = smooth_blob()
    bicubic = degrade(hr, scale, "bicubic")
    kspace = degrade(hr, scale, "kspace")
    assert np.abs(kspace - bicubic).max() < 0.01
    # A one-pixel (HR) shift of the same blob would be clearly visible at this tolerance.
    shifted = degrade(np.roll(hr, 1, axis=0), scale, "bicubic")
    assert np.abs(shifted - bicubic).max() > 0.03


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_all_methods_put_the_blob_at_the_same_place(scale):
    """The blob's centroid, in LR pixels, is (c - (s-1)/2) / s for every method."""
    hr = smooth_blob(24 * scale, 24 * scale)
    expected = (centroid(hr) - (scale - 1) / 2) / scale
    for method in DEGRADATIONS:
        np.testing.assert_allclose(centroid(degrade(hr, scale, method)), expected, atol=2e-3)


def test_gaussian_sigma_is_fwhm_equal_to_scale():
    s = gaussian_sigma(2)
    assert 2 * np.sqrt(2 * np.log(2)) * s == pytest.approx(2.0)


def test_gaussian_psf_width():
    """The response of one LR pixel to HR impulses is the PSF: variance sigma^2 (HR pixels)."""
    scale, n = 3, 60
    impulses = np.zeros((n, n, 2 * scale))
    impulses[np.arange(n), np.arange(n), :] = 1.0      # image k: row k bright
    response = degrade(impulses, scale, "gaussian")[:, 10, 0]    # LR row 10, centred at 31
    response /= response.sum()
    mean = (response * np.arange(n)).sum()
    variance = (response * (np.arange(n) - mean) ** 2).sum()
    assert mean == pytest.approx(31.0)
    assert variance == pytest.approx(gaussian_sigma(scale) ** 2, rel=0.05)


# ----------------------------------------------------------------------------- noise
def test_rician_noise_snr_and_seed():
    clean = np.zeros((2, 128, 128))
    clean[:, 16:112, 16:112] = 0.5
    noisy = degrade(clean, 1, "kspace", noise_snr=20, seed=7)
    again = degrade(clean, 1, "kspace", noise_snr=20, seed=7)
    np.testing.assert_array_equal(noisy, again)
    assert not np.array_equal(noisy, degrade(clean, 1, "kspace", noise_snr=20, seed=8))
    sigma = 0.5 / 20
    fg = noisy[:, 20:108, 20:108]
    assert np.std(fg) == pytest.approx(sigma, rel=0.05)   # high SNR: nearly Gaussian
    bg = noisy[:, :10, :]
    assert bg.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)   # Rayleigh mean
    assert noisy.min() >= 0


def test_noise_needs_a_foreground():
    with pytest.raises(ValueError, match="add_rician_noise.*foreground"):
        add_rician_noise(np.zeros((8, 8)), 10)
    with pytest.raises(ValueError, match="snr"):
        add_rician_noise(np.ones((8, 8)), 0)


# ----------------------------------------------------------------------------- cropping, errors
def test_crop_to_multiple():
    x = np.zeros((5, 196, 232))
    assert crop_to_multiple(x, 3).shape == (5, 195, 231)
    assert crop_to_multiple(x, 2).shape == (5, 196, 232)
    assert np.shares_memory(crop_to_multiple(x, 3), x)
    with pytest.raises(ValueError, match="crop_to_multiple"):
        crop_to_multiple(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="crop_to_multiple"):
        crop_to_multiple(x, 0)


def test_not_divisible_names_shape_and_scale():
    with pytest.raises(ValueError, match=r"degrade.*\(196, 232\).*scale 3.*crop_to_multiple"):
        degrade(np.zeros((196, 232)), 3)


@pytest.mark.parametrize("kwargs,match", [
    ({"scale": 2, "method": "lanczos"}, "unknown method"),
    ({"scale": 0}, "scale"),
    ({"scale": 1.5}, "scale"),
    ({"scale": True}, "scale"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"degrade.*{match}"):
        degrade(np.zeros((12, 12)), **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match=r"degrade.*\(1, 4, 4, 1\)"):
        degrade(np.zeros((1, 4, 4, 1)), 2)
    with pytest.raises(ValueError, match="degrade.*NaN"):
        degrade(np.full((4, 4), np.nan), 2)
