"""Image distortions for studying quality metrics (PSNR, SSIM): blur, noise, shift, contrast,
and JPEG-like block-DCT quantisation.

Each function takes a 2-D image ``(H, W)`` or a stack ``(N, H, W)`` of floats (intensities
nominally in [0, 1]) and returns an array of the same shape and float dtype; nothing is
clipped unless said.  They are deliberately simple, so that chapter 2 can ask *how much* each
one costs in PSNR and in SSIM at a comparable visual strength.

=====================  =====================================================================
function               model
=====================  =====================================================================
``gaussian_blur``      separable Gaussian point-spread function, mirrored borders
``add_gaussian_noise`` i.i.d. :math:`\\mathcal{N}(0, \\sigma^2)` added to every pixel (seeded)
``shift``              integer translation, borders replicated
``adjust_contrast``    :math:`y = \\bar{x} + g (x - \\bar{x}) + o` (gain about the mean, offset)
``jpeg_like``          8 x 8 block DCT, quantised with the JPEG luminance table (IJG quality)
=====================  =====================================================================
"""

from __future__ import annotations

import math

import numpy as np

from labkit._validate import check_alloc, check_array, check_float, check_int, check_seed
from labkit.ops.resize import interpolation_matrix

__all__ = [
    "JPEG_LUMINANCE",
    "add_gaussian_noise",
    "adjust_contrast",
    "dct_matrix",
    "gaussian_blur",
    "jpeg_like",
    "shift",
]

#: JPEG standard (ITU-T T.81, Annex K.1) luminance quantisation table, quality 50.
JPEG_LUMINANCE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.float64)


def _images(img, owner: str) -> np.ndarray:
    x = check_array(img, owner, finite=True)
    if x.ndim not in (2, 3):
        raise ValueError(f"{owner}: expected an image (H, W) or a stack (N, H, W), got shape "
                         f"{x.shape}")
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    return x


def gaussian_blur(img, sigma: float) -> np.ndarray:
    """Blur with a Gaussian of standard deviation ``sigma`` pixels (0 returns a copy).

    The kernel ``exp(-u^2 / (2 sigma^2))`` is truncated at ``3 sigma``, normalised to sum to
    one, and applied separably as one matrix per axis (borders mirrored, as in ``imresize``).
    """
    x = _images(img, "gaussian_blur")
    sigma = check_float(sigma, "sigma", "gaussian_blur", min=0.0)
    if sigma == 0:
        return x.copy()

    def psf(u):
        return np.exp(-0.5 * (u / sigma) ** 2) * (np.abs(u) <= 3 * sigma)

    h, w = x.shape[-2:]
    m_h = interpolation_matrix(h, h, 1.0, psf, 6 * sigma, antialias=False,
                               owner="gaussian_blur").astype(x.dtype)
    m_w = interpolation_matrix(w, w, 1.0, psf, 6 * sigma, antialias=False,
                               owner="gaussian_blur").astype(x.dtype)
    return m_h @ x @ m_w.T


def add_gaussian_noise(img, sigma: float, seed=None) -> np.ndarray:
    """``img + n`` with ``n ~ N(0, sigma^2)`` independent per pixel (``default_rng(seed)``)."""
    x = _images(img, "add_gaussian_noise")
    sigma = check_float(sigma, "sigma", "add_gaussian_noise", min=0.0)
    rng = np.random.default_rng(check_seed(seed, "seed", "add_gaussian_noise"))
    return (x + sigma * rng.standard_normal(x.shape)).astype(x.dtype, copy=False)


def shift(img, dy: int = 0, dx: int = 0) -> np.ndarray:
    """Translate by ``(dy, dx)`` whole pixels: ``y[i, j] = x[i - dy, j - dx]``.

    Pixels that enter from outside copy the nearest border pixel (edge replication), so a
    constant image stays constant.
    """
    x = _images(img, "shift")
    for name, v in (("dy", dy), ("dx", dx)):
        check_int(v, name, "shift")
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift: shift {(dy, dx)} is as large as the image {(h, w)}")
    pad = [(0, 0)] * (x.ndim - 2) + [(max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))]
    p = np.pad(x, pad, mode="edge")
    r0, c0 = max(-dy, 0), max(-dx, 0)
    return np.ascontiguousarray(p[..., r0:r0 + h, c0:c0 + w])


def adjust_contrast(img, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """``mean + gain * (x - mean) + offset``, with the mean taken per 2-D image."""
    x = _images(img, "adjust_contrast")
    gain = check_float(gain, "gain", "adjust_contrast")
    offset = check_float(offset, "offset", "adjust_contrast")
    m = x.mean(axis=(-2, -1), keepdims=True)
    return (m + gain * (x - m) + offset).astype(x.dtype, copy=False)


def dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` (``n x n``): ``D @ v`` transforms, ``D.T @ c`` inverts.

    .. math:: D_{k i} = \\alpha_k \\cos\\frac{\\pi (2 i + 1) k}{2 n}, \\quad
              \\alpha_0 = \\sqrt{1/n},\\ \\alpha_{k>0} = \\sqrt{2/n}
    """
    n = check_int(n, "n", "dct_matrix", min=1)
    check_alloc((n, n), "dct_matrix", "matrix")
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d


def _quality_table(quality: float) -> np.ndarray:
    # Independent JPEG Group scaling: quality 50 is the standard table, 100 all ones.
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return np.clip(np.floor((JPEG_LUMINANCE * scale + 50.0) / 100.0), 1, 255)


def jpeg_like(img, quality: float = 50, data_range: float = 1.0) -> np.ndarray:
    """JPEG's lossy core: 8 x 8 block DCT, divide by the quantisation table, round, undo.

    Intensities are mapped to ``0..255`` (``255 / data_range``) and centred (``- 128``) as in
    JPEG; each 8 x 8 block's DCT coefficients ``c`` become ``Q round(c / Q)`` with ``Q`` the
    luminance table scaled to ``quality`` (1 = worst, 100 = almost lossless, IJG formula).
    No chroma, no entropy coding (lossless anyway). Images whose size is not a multiple of 8 are
    padded by edge replication and cropped back.
    """
    x = _images(img, "jpeg_like")
    quality = check_float(quality, "quality", "jpeg_like", min=1.0, max=100.0)
    data_range = check_float(data_range, "data_range", "jpeg_like", min=0.0, min_open=True)
    h, w = x.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    batch = x.reshape((-1, h, w)).astype(np.float64) * (255.0 / data_range) - 128.0
    batch = np.pad(batch, ((0, 0), (0, ph), (0, pw)), mode="edge")
    n, hh, ww = batch.shape
    # (N, H/8, 8, W/8, 8) -> blocks; coefficients C = D B D^T per block.
    blocks = batch.reshape(n, hh // 8, 8, ww // 8, 8).transpose(0, 1, 3, 2, 4)
    d = dct_matrix(8)
    coef = d @ blocks @ d.T
    q = _quality_table(float(quality))
    coef = q * np.round(coef / q)
    blocks = d.T @ coef @ d
    out = blocks.transpose(0, 1, 3, 2, 4).reshape(n, hh, ww)[:, :h, :w]
    out = (out + 128.0) * (data_range / 255.0)
    return out.reshape(x.shape).astype(x.dtype, copy=False)
