"""k-space ops: centred orthonormal FFT, truncation, grid alignment, zero filling."""

import numpy as np
import pytest

from labkit.ops.kspace import (
    fft2c,
    grid_offset,
    ifft2c,
    kspace_downsample,
    kspace_mask,
    kspace_truncate,
    zero_fill_upsample,
)
from labkit.ops.resize import imresize

SHAPES = [(16, 16, 2), (18, 14, 2), (18, 24, 3), (15, 21, 3), (20, 12, 4), (196, 232, 2)]


def test_fft2c_roundtrip_and_parseval():
    x = np.random.default_rng(0).random((3, 12, 9))
    k = fft2c(x)
    np.testing.assert_allclose(ifft2c(k).real, x, atol=1e-12)
    np.testing.assert_allclose((np.abs(k) ** 2).sum(), (x ** 2).sum())


@pytest.mark.parametrize("shape", [(8, 8), (7, 10)])
def test_constant_has_only_the_centre_coefficient(shape):
    k = fft2c(np.full(shape, 2.0))
    centre = (shape[0] // 2, shape[1] // 2)
    assert k[centre] == pytest.approx(2.0 * np.sqrt(shape[0] * shape[1]))
    k[centre] = 0
    assert np.abs(k).max() < 1e-12


@pytest.mark.parametrize("h,w,s", SHAPES)
def test_truncation_keeps_the_central_spectrum(h, w, s):
    x = np.random.default_rng(1).random((h, w))
    lr = kspace_truncate(x, s)
    small_h, small_w = h // s, w // s
    assert lr.shape == (small_h, small_w)
    factor = np.sqrt(small_h * small_w / (h * w))
    block = fft2c(x)[kspace_mask((h, w), (small_h, small_w))].reshape(small_h, small_w) * factor
    got = fft2c(lr)
    # On an even grid the most negative frequency (row/column 0 of the small centred spectrum)
    # has no partner; a real image keeps only the real part of it (a Hermitian symmetrisation).
    inner = (slice(1 - small_h % 2, None), slice(1 - small_w % 2, None))
    np.testing.assert_allclose(got[inner], block[inner], atol=1e-12)
    expected = 0.5 * (block + np.conj(np.roll(block[::-1, ::-1], (1 - small_h % 2,
                                                                   1 - small_w % 2), (0, 1))))
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("func", [kspace_truncate, kspace_downsample])
@pytest.mark.parametrize("h,w,s", SHAPES)
def test_constant_stays_constant(func, h, w, s):
    np.testing.assert_allclose(func(np.full((h, w), 0.7), s), 0.7, atol=1e-12)


@pytest.mark.parametrize("h,w,s", SHAPES)
def test_zero_fill_keeps_constant(h, w, s):
    np.testing.assert_allclose(zero_fill_upsample(np.full((h // s, w // s), 0.3), s), 0.3,
                               atol=1e-12)


@pytest.mark.parametrize("h,s", [(16, 2), (18, 2), (18, 3), (24, 3), (20, 4), (28, 4), (195, 3)])
def test_downsample_samples_on_the_imresize_grid(h, s):
    """A band-limited cosine is sampled exactly at HR coordinates s*j + (s-1)/2."""
    t = np.arange(h)
    phase, freq = 0.3, 2
    img = np.cos(2 * np.pi * freq * t / h + phase)[:, None] * np.ones((1, 2 * s))
    lr = kspace_downsample(img, s)
    centres = s * np.arange(h // s) + (s - 1) / 2
    np.testing.assert_allclose(lr[:, 0], np.cos(2 * np.pi * freq * centres / h + phase),
                               atol=1e-12)
    # Plain truncation samples at the FFT grid, grid_offset away from it.
    fft_grid = centres - grid_offset(h, s)
    np.testing.assert_allclose(kspace_truncate(img, s)[:, 0],
                               np.cos(2 * np.pi * freq * fft_grid / h + phase), atol=1e-12)


def test_grid_offset_values():
    assert grid_offset(196, 2) == 0.5       # even small grid: half a pixel
    assert grid_offset(194, 2) == -0.5      # odd small grid
    assert grid_offset(195, 3) == 0.0
    assert grid_offset(192, 3) == 1.0


def test_smooth_image_kspace_matches_bicubic_grid():
    """No half-pixel shift: kspace and bicubic LR of a smooth blob agree; truncation alone does not."""
    y, x = np.mgrid[0:64, 0:72].astype(np.float64)
    blob = np.exp(-((y - 30.3) ** 2 + (x - 37.1) ** 2) / (2 * 7.0 ** 2))
    bicubic = imresize(blob, 0.5)
    aligned = kspace_downsample(blob, 2)
    shifted = kspace_truncate(blob, 2)
    err_aligned = np.abs(aligned - bicubic).max()
    err_shifted = np.abs(shifted - bicubic).max()
    assert err_aligned < 5e-3
    assert err_shifted > 5 * err_aligned


@pytest.mark.parametrize("h,w,s", SHAPES[:5])
def test_zero_fill_inverts_downsample_on_band_limited_images(h, w, s):
    rng = np.random.default_rng(2)
    # A band-limited image: random spectrum inside a block strictly smaller than the LR grid.
    k = np.zeros((h, w), complex)
    inner = kspace_mask((h, w), (h // s - 2 + (h // s) % 2, w // s - 2 + (w // s) % 2))
    k[inner] = rng.normal(size=inner.sum()) + 1j * rng.normal(size=inner.sum())
    img = ifft2c(k).real
    np.testing.assert_allclose(zero_fill_upsample(kspace_downsample(img, s), s), img, atol=1e-12)
    np.testing.assert_allclose(zero_fill_upsample(kspace_truncate(img, s), s, aligned=False), img,
                               atol=1e-12)


def test_zero_fill_shows_gibbs_ringing():
    step = np.zeros((32, 32))
    step[:, 16:] = 1.0
    up = zero_fill_upsample(step, 4)
    assert up.max() > 1.05 and up.min() < -0.05     # overshoot at the edges


def test_mask_block_and_counts():
    mask = kspace_mask((10, 9), (4, 3))
    assert mask.sum() == 12
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 6, 3, 5)
    assert kspace_mask((8, 8), (8, 8)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_and_dtypes(dtype):
    x = np.random.default_rng(3).random((3, 12, 16)).astype(dtype)
    for func, arg in ((kspace_truncate, 2), (kspace_downsample, 4), (zero_fill_upsample, 2)):
        out = func(x, arg)
        assert out.dtype == dtype
        for n in range(3):
            np.testing.assert_allclose(out[n], func(x[n], arg), atol=1e-6)


@pytest.mark.parametrize("func", [kspace_truncate, kspace_downsample])
def test_bad_input(func):
    name = func.__name__
    with pytest.raises(ValueError, match=rf"{name}.*\(10, 9\).*not divisible"):
        func(np.zeros((10, 9)), 2)
    with pytest.raises(ValueError, match=name):
        func(np.zeros((10, 10)), 0)
    with pytest.raises(ValueError, match=name):
        func(np.zeros(10), 2)
    with pytest.raises(ValueError, match=rf"{name}.*NaN"):
        func(np.full((4, 4), np.nan), 2)
    with pytest.raises(ValueError, match=name):
        func(np.zeros((4, 4)), 1.5)


def test_bad_mask_and_zero_fill():
    with pytest.raises(ValueError, match="kspace_mask"):
        kspace_mask((4, 4), (5, 2))
    with pytest.raises(ValueError, match="zero_fill_upsample"):
        zero_fill_upsample(np.zeros((4, 4)), 0)
