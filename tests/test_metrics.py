"""PSNR and SSIM against scikit-image, crops, masks, batches and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from labkit.metrics import brain_mask, gaussian_window, psnr, ssim


def sk_ssim(x, ref, data_range=1.0, full=False):
    return structural_similarity(x, ref, data_range=data_range, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, full=full)


def smooth_pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    ref = 0.5 + 0.4 * np.sin(2 * np.pi * (x + rng.random())) * np.cos(3 * y)
    return np.clip(ref + 0.03 * rng.standard_normal(shape), 0, 1), ref


def random_pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    return np.clip(ref + 0.1 * rng.standard_normal(shape), 0, 1), ref


def test_window_is_11_taps_sigma_1_5():
    g = gaussian_window()
    assert g.shape == (11,)
    assert g.sum() == pytest.approx(1.0)
    assert g[5] / g[6] == pytest.approx(np.exp(0.5 / 1.5 ** 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pair", [smooth_pair, random_pair])
@pytest.mark.parametrize("shape", [(11, 11), (40, 53), (96, 80)])
def test_ssim_matches_skimage(dtype, pair, shape):
    x, ref = (a.astype(dtype) for a in pair(shape))
    assert ssim(x, ref) == pytest.approx(sk_ssim(x, ref), abs=1e-6)


@pytest.mark.parametrize("crop", [0, 2, 4])
def test_ssim_and_psnr_with_crop(crop):
    x, ref = random_pair((50, 45), seed=1)
    c = slice(crop, -crop or None)
    assert ssim(x, ref, crop=crop) == pytest.approx(sk_ssim(x[c, c], ref[c, c]), abs=1e-10)
    assert psnr(x, ref, crop=crop) == pytest.approx(
        peak_signal_noise_ratio(ref[c, c], x[c, c], data_range=1.0), abs=1e-10)


def test_batches_average_per_image_values():
    x, ref = random_pair((4, 30, 34), seed=2)
    per_ssim = np.array([sk_ssim(x[i], ref[i]) for i in range(4)])
    per_psnr = np.array([peak_signal_noise_ratio(ref[i], x[i], data_range=1.0) for i in range(4)])
    np.testing.assert_allclose(ssim(x, ref, reduce=False), per_ssim, atol=1e-10)
    np.testing.assert_allclose(psnr(x, ref, reduce=False), per_psnr, atol=1e-10)
    assert ssim(x, ref) == pytest.approx(per_ssim.mean())
    assert psnr(x, ref) == pytest.approx(per_psnr.mean())
    assert isinstance(ssim(x[0], ref[0], reduce=False), float)
    # NHWC with one channel is the same batch.
    assert ssim(x[..., None], ref[..., None]) == pytest.approx(per_ssim.mean())


@pytest.mark.parametrize("data_range", [1.0, 255.0, 4095.0])
def test_data_range(data_range):
    x, ref = random_pair((32, 32), seed=3)
    x, ref = x * data_range, ref * data_range
    assert ssim(x, ref, data_range=data_range) == pytest.approx(
        sk_ssim(x, ref, data_range=data_range), abs=1e-8)
    assert psnr(x, ref, data_range=data_range) == pytest.approx(
        peak_signal_noise_ratio(ref, x, data_range=data_range))


def test_identical_images():
    _, ref = smooth_pair((20, 20))
    assert ssim(ref, ref) == pytest.approx(1.0)
    assert psnr(ref, ref) == np.inf


def test_psnr_formula():
    ref = np.zeros((10, 10))
    x = np.full((10, 10), 0.1)                       # MSE = 0.01 -> 20 dB at range 1
    assert psnr(x, ref) == pytest.approx(20.0)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(11, 30), w=st.integers(11, 30), seed=st.integers(0, 10_000))
def test_ssim_random_shapes_symmetric_and_bounded(h, w, seed):
    x, ref = random_pair((h, w), seed)
    value = ssim(x, ref)
    assert value == pytest.approx(ssim(ref, x), abs=1e-12)
    assert -1 <= value <= 1
    assert value == pytest.approx(sk_ssim(x, ref), abs=1e-8)


# ----------------------------------------------------------------------------- masks
def test_masked_psnr_uses_only_masked_pixels():
    x, ref = random_pair((24, 24), seed=4)
    mask = np.zeros((24, 24), bool)
    mask[5:15, 3:20] = True
    mse = ((x - ref)[mask] ** 2).mean()
    assert psnr(x, ref, mask=mask) == pytest.approx(10 * np.log10(1 / mse))
    assert psnr(x, ref, mask=np.ones_like(mask)) == pytest.approx(psnr(x, ref))


def test_masked_ssim_averages_the_map_over_the_mask():
    x, ref = random_pair((40, 36), seed=5)
    mask = np.zeros((40, 36), bool)
    mask[8:30, 10:33] = True
    _, smap = sk_ssim(x, ref, full=True)
    expected = smap[5:-5, 5:-5][mask[5:-5, 5:-5]].mean()
    assert ssim(x, ref, mask=mask) == pytest.approx(expected, abs=1e-10)
    assert ssim(x, ref, mask=np.ones_like(mask)) == pytest.approx(ssim(x, ref))
    # With a crop the mask is cropped with the images.
    c = slice(3, -3)
    _, smap = sk_ssim(x[c, c], ref[c, c], full=True)
    expected = smap[5:-5, 5:-5][mask[c, c][5:-5, 5:-5]].mean()
    assert ssim(x, ref, crop=3, mask=mask) == pytest.approx(expected, abs=1e-10)


def test_brain_mask_threshold():
    img = np.array([[0.0, 0.05, 0.2], [0.5, 1.0, 0.1]])
    np.testing.assert_array_equal(brain_mask(img, 0.1), [[False, False, True], [True, True, False]])
    batch = np.stack([img, 2 * img])                 # relative to each image's own maximum
    np.testing.assert_array_equal(brain_mask(batch)[1], brain_mask(img))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("func", [psnr, ssim])
def test_bad_input(func):
    name = func.__name__
    a = np.zeros((20, 20))
    with pytest.raises(ValueError, match=rf"{name}.*\(20, 20\).*\(20, 21\)"):
        func(a, np.zeros((20, 21)))
    with pytest.raises(ValueError, match=rf"{name}.*crop"):
        func(a, a, crop=10)
    with pytest.raises(ValueError, match=rf"{name}.*crop"):
        func(a, a, crop=-1)
    for bad in (0, -1.0, np.nan):
        with pytest.raises(ValueError, match=rf"{name}.*data_range"):
            func(a, a, data_range=bad)
    with pytest.raises(ValueError, match=rf"{name}.*shape"):
        func(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match=rf"{name}.*NaN"):
        func(np.full((20, 20), np.nan), a)
    with pytest.raises(ValueError, match=rf"{name}.*mask"):
        func(a, a, mask=np.zeros((20, 20), bool))            # empty mask
    with pytest.raises(ValueError, match=rf"{name}.*mask"):
        func(a, a, mask=np.ones((19, 20), bool))
    with pytest.raises(ValueError, match=rf"{name}.*mask"):
        func(a, a, mask=np.ones((20, 20)))                   # not boolean


def test_ssim_needs_an_11x11_window():
    with pytest.raises(ValueError, match=r"ssim.*11"):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)))
    with pytest.raises(ValueError, match=r"ssim.*crop=5"):
        ssim(np.zeros((20, 20)), np.zeros((20, 20)), crop=5)


def test_brain_mask_bad_input():
    with pytest.raises(ValueError, match="brain_mask"):
        brain_mask(np.zeros(4))
    with pytest.raises(ValueError, match="brain_mask"):
        brain_mask(np.zeros((4, 4)), threshold=1.5)


@pytest.mark.parametrize("func", [psnr, ssim])
def test_empty_batch_is_an_error_not_nan(func):
    with pytest.raises(ValueError, match=f"{func.__name__}: empty input of shape"):
        func(np.zeros((0, 16, 16)), np.zeros((0, 16, 16)))


def test_integer_images_are_scored_in_float64():
    a = np.array([[0, 200], [10, 255]], dtype=np.uint8)
    b = np.array([[255, 0], [10, 250]], dtype=np.uint8)
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)      # uint8 would wrap around
    assert abs(psnr(a, b, data_range=255) - 10 * np.log10(255 ** 2 / mse)) < 1e-9


def test_long_images_use_linear_memory_and_match_the_matrix_path(monkeypatch):
    import labkit.metrics as M
    rng = np.random.default_rng(1)
    x, ref = rng.random((2, 23, 40)), rng.random((2, 23, 40))
    dense = M.ssim(x, ref, reduce=False)
    monkeypatch.setattr(M, "DENSE_LIMIT_BYTES", 0)               # force the shifted-view path
    np.testing.assert_allclose(M.ssim(x, ref, reduce=False), dense, rtol=1e-12, atol=1e-12)
    # (11, 100000) once asked for an 80 GB banded matrix
    assert ssim(np.ones((11, 100000), np.float32), np.ones((11, 100000), np.float32)) == 1.0
