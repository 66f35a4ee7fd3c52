"""Degradations: how a low-resolution (LR) image is simulated from a high-resolution (HR) one.

All three methods produce an LR image of size ``(H/s, W/s)`` on **the same pixel grid**: LR pixel
``i`` covers HR pixels ``s*i .. s*i + s - 1`` and is centred on HR coordinate

.. math:: c_i = s\\,i + \\frac{s - 1}{2}

(MATLAB's ``imresize`` convention, pixel edges aligned). This matters: a model trained on one
degradation and tested on another must not be penalised for a half-pixel shift, and a patch
sampler can crop HR at ``(s*i, s*j)`` and LR at ``(i, j)`` and get aligned pairs.

* ``"bicubic"``: ``imresize(hr, 1/s)``, Keys cubic kernel stretched by ``s`` (antialiasing).
  The standard SR benchmark degradation.
* ``"kspace"``: keep the central ``(H/s, W/s)`` block of the centred k-space and transform back
  (:func:`labkit.ops.kspace.kspace_downsample`), i.e. what a scanner acquiring a lower
  resolution measures. A linear phase ramp moves the FFT's grid onto ``c_i`` above.
* ``"gaussian"``: Gaussian point-spread function with full width at half maximum equal to the
  LR pixel size, ``FWHM = s`` HR pixels, i.e. ``sigma = s / (2 sqrt(2 ln 2)) ~= 0.4247 s``,
  evaluated directly at the LR centres ``c_i`` (blur and decimation in one weight matrix; the
  Gaussian is truncated at ``3 sigma`` and renormalised, borders mirrored as in imresize).

Optional Rician noise: MR magnitude images have Rician, not Gaussian, noise because the
magnitude of complex data with Gaussian noise in both channels is taken:

.. math:: y = \\sqrt{(x + n_1)^2 + n_2^2}, \\quad n_1, n_2 \\sim \\mathcal{N}(0, \\sigma^2),
          \\quad \\sigma = \\frac{\\overline{x}_{\\mathrm{fg}}}{\\mathrm{SNR}}

where ``x_fg`` is the mean of the clean LR image over its foreground (``brain_mask``, pixels above
10 % of the image's maximum), computed per 2-D image.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._validate import check_array, check_choice, check_float, check_int, check_seed
from labkit.metrics import brain_mask
from labkit.ops.kspace import kspace_downsample
from labkit.ops.resize import imresize, interpolation_matrix

__all__ = [
    "DEGRADATIONS",
    "add_rician_noise",
    "foreground_mean",
    "rician",
    "crop_to_multiple",
    "degrade",
    "gaussian_sigma",
]

DEGRADATIONS = ("bicubic", "kspace", "gaussian")
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def _check_scale(scale, owner: str) -> int:
    return check_int(scale, "scale", owner, min=1)


def _check_images(img, owner: str) -> np.ndarray:
    x = check_array(img, owner, finite=True)
    if x.ndim not in (2, 3):
        raise ValueError(f"{owner}: expected an image (H, W) or a batch (N, H, W), got shape "
                         f"{x.shape}")
    if x.size == 0:
        raise ValueError(f"{owner}: empty input of shape {x.shape}")
    return x


def crop_to_multiple(img, scale: int) -> np.ndarray:
    """Drop trailing rows/columns so that ``H`` and ``W`` are multiples of ``scale``.

    Keeps the top-left corner (index 0 stays index 0), so the degradation grid convention is
    unchanged. For the MNI-SR split at ``scale = 3`` this turns 196 x 232 into 195 x 231, and this
    is how HR images are scored at that scale.

    Parameters
    ----------
    img : array_like, shape (H, W) or (N, H, W)
    scale : int

    Returns
    -------
    ndarray, shape (..., s * (H // s), s * (W // s))
        A view of ``img`` (no copy).
    """
    scale = _check_scale(scale, "crop_to_multiple")
    x = np.asarray(img)
    if x.ndim < 2:
        raise ValueError(f"crop_to_multiple: expected (..., H, W), got shape {x.shape}")
    h, w = x.shape[-2:]
    if h < scale or w < scale:
        raise ValueError(f"crop_to_multiple: image {(h, w)} is smaller than scale {scale}")
    return x[..., : h - h % scale, : w - w % scale]


def gaussian_sigma(scale: int) -> float:
    """Standard deviation (HR pixels) of the ``"gaussian"`` PSF: FWHM = scale, ``0.4247 * scale``."""
    return check_int(scale, "scale", "gaussian_sigma", min=1) * FWHM_TO_SIGMA


def _gaussian_downsample(x: np.ndarray, scale: int) -> np.ndarray:
    sigma = gaussian_sigma(scale)

    def psf(t):
        return np.exp(-0.5 * (t / sigma) ** 2) * (np.abs(t) <= 3 * sigma)

    # interpolation_matrix evaluates the kernel at (c_i - k) for LR centres c_i = s*i + (s-1)/2,
    # normalises rows and mirrors borders: blur + decimation on imresize's grid, in one matrix.
    h, w = x.shape[-2:]
    m_h = interpolation_matrix(h, h // scale, 1.0 / scale, psf, 6 * sigma, antialias=False,
                               owner="degrade")
    m_w = interpolation_matrix(w, w // scale, 1.0 / scale, psf, 6 * sigma, antialias=False,
                               owner="degrade")
    return m_h.astype(x.dtype) @ x @ m_w.T.astype(x.dtype)


def add_rician_noise(img, snr: float, seed=None) -> np.ndarray:
    """Rician noise at a given SNR (see module docstring), per 2-D image.

    Parameters
    ----------
    img : array_like, shape (H, W) or (N, H, W)
        Clean magnitude image(s).
    snr : float
        Mean foreground intensity divided by the noise standard deviation ``sigma``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray, same shape and dtype; non-negative.
    """
    return _rician(_check_images(img, "add_rician_noise"),
                   check_float(snr, "snr", "add_rician_noise", min=0.0, min_open=True),
                   check_seed(seed, "seed", "add_rician_noise"), "add_rician_noise")


def foreground_mean(images) -> np.ndarray:
    """Mean intensity over the foreground (``brain_mask``: above 10 % of the image's maximum) of
    each 2-D image of a batch ``(N, H, W)``: the signal level an SNR refers to.  0 for an image
    without foreground."""
    batch = np.asarray(images)
    batch = batch.reshape((-1,) + batch.shape[-2:])
    mask = brain_mask(batch)
    counts = mask.sum(axis=(1, 2))
    return np.where(mask, batch, 0).sum(axis=(1, 2)) / np.maximum(counts, 1)


def rician(x: np.ndarray, sigma, rng: np.random.Generator) -> np.ndarray:
    """``sqrt((x + n1)^2 + n2^2)`` with ``n1, n2 ~ N(0, sigma^2)``: the magnitude of complex data
    whose two channels carry Gaussian noise.  ``sigma`` broadcasts against ``x`` (one value per
    image, e.g. shape ``(N, 1, 1)``).  Draws ``n1`` then ``n2`` from ``rng``."""
    n1 = rng.standard_normal(x.shape) * sigma
    n2 = rng.standard_normal(x.shape) * sigma
    return np.sqrt((x + n1) ** 2 + n2 ** 2)


def _rician(x, snr, seed, owner):
    batch = x.reshape((-1,) + x.shape[-2:])
    counts = brain_mask(batch).sum(axis=(1, 2))
    if np.any(counts == 0):
        raise ValueError(f"{owner}: image(s) {np.flatnonzero(counts == 0).tolist()} of "
                         f"the batch {x.shape} have no foreground; SNR is undefined")
    sigma = (foreground_mean(batch) / snr)[:, None, None]
    noisy = rician(batch, sigma, np.random.default_rng(seed))
    return noisy.reshape(x.shape).astype(x.dtype, copy=False)


def degrade(hr, scale: int, method: str = "bicubic", noise_snr: float | None = None,
            seed=None) -> np.ndarray:
    """Simulate the low-resolution image(s) of ``hr`` (see the module docstring for the models).

    Parameters
    ----------
    hr : array_like, shape (H, W) or (N, H, W)
        High-resolution image(s); ``H`` and ``W`` must be divisible by ``scale`` (use
        :func:`crop_to_multiple` first otherwise).
    scale : int
        Downsampling factor ``s`` (1 leaves the size unchanged).
    method : {"bicubic", "kspace", "gaussian"}
    noise_snr : float, optional
        If given, add Rician noise with this SNR (mean foreground / sigma) to the LR image.
    seed : int or numpy.random.Generator, optional
        Seed of the noise.

    Returns
    -------
    ndarray, shape (..., H/s, W/s), same float dtype as ``hr`` (integers become float32).
        LR pixel ``i`` is centred on HR coordinate ``s*i + (s-1)/2`` for every method.
    """
    owner = "degrade"
    x = _check_images(hr, owner)
    scale = _check_scale(scale, owner)
    check_choice(method, "method", owner, DEGRADATIONS)
    if noise_snr is not None:
        noise_snr = check_float(noise_snr, "noise_snr", owner, min=0.0, min_open=True)
    seed = check_seed(seed, "seed", owner)
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"{owner}: image size {(h, w)} (shape {x.shape}) is not divisible by scale "
                         f"{scale}; crop first with crop_to_multiple(img, {scale}) -> "
                         f"{(h - h % scale, w - w % scale)}")
    if method == "bicubic":
        lr = imresize(x, output_shape=(h // scale, w // scale), method="bicubic", antialias=True)
    elif method == "kspace":
        lr = kspace_downsample(x, scale)
    else:
        lr = _gaussian_downsample(x, scale)
    if noise_snr is not None:
        lr = _rician(lr, noise_snr, seed, owner)
    return lr
