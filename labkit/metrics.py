"""Image-quality metrics for super-resolution: PSNR, SSIM and a foreground ("brain") mask.

Conventions (the numbers every chapter and the MNI-SR benchmark quote)
----------------------------------------------------------------------
* Inputs are 2-D images ``(H, W)`` or batches ``(N, H, W)`` (an NHWC batch ``(N, H, W, 1)`` is
  accepted too). The second argument is the reference (ground truth).
* ``crop`` removes that many pixels at *every* border of both images before anything else (SR
  papers crop ``scale`` pixels because border pixels lack context).
* Each metric is computed **per image**; for a batch, ``reduce=True`` returns the mean of the
  per-image values (for PSNR: the mean of per-image dB values, not the PSNR of the pooled MSE).
* Computation is in float64 whatever the input dtype.
* ``ssim`` equals scikit-image's ``structural_similarity(x, ref, data_range=R,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` (within float rounding).
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array, check_bool, check_float, check_int
from labkit.ops.geometry import conv_output_size

__all__ = ["brain_mask", "gaussian_window", "psnr", "ssim", "ssim_map"]

# Wang et al. 2004 constants.
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5          # int(3.5 * sigma + 0.5): scikit-image's truncate=3.5 gives an 11x11 window
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def gaussian_window(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> np.ndarray:
    """Normalised 1-D Gaussian ``g[k] ~ exp(-k^2 / (2 sigma^2))``, ``k = -radius..radius``.

    The 2-D SSIM window is the outer product ``g g^T`` (11 x 11 for the defaults).
    """
    sigma = check_float(sigma, "sigma", "gaussian_window", min=0.0, min_open=True)
    radius = check_int(radius, "radius", "gaussian_window", min=0, max=10**6)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (k / sigma) ** 2)
    return g / g.sum()


def valid_filter_matrix(n: int, g: np.ndarray) -> np.ndarray:
    """``(n - len(g) + 1, n)`` matrix ``F`` with ``F[i, i + k] = g[k]``.

    ``F @ a`` is the 'valid' correlation of a length-``n`` signal with ``g``: output ``i`` is the
    window starting at input ``i``, only positions where the whole window fits.
    """
    m = len(g)
    out = conv_output_size(n, m, 1)
    f = np.zeros((out, n), dtype=np.float64)
    rows = np.arange(out)[:, None]
    f[rows, rows + np.arange(m)[None, :]] = g
    return f


#: Above this many bytes per banded filter matrix, the 'valid' filter sums shifted views instead.
DENSE_LIMIT_BYTES = 64 * 2**20


def _valid_filter(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of the last two axes of ``a`` with the window ``g g^T``.

    Output shape ``(..., H - len(g) + 1, W - len(g) + 1)``, so no padding convention is
    involved. Like ``imresize`` this is one banded-matrix product per axis,
    ``F_H @ a @ F_W^T``; BLAS makes it several times faster than summing shifted views.  The
    banded matrices are quadratic in the image size, so for long axes (a 1 x 100000 image would
    need 80 GB) the same sums are taken over ``len(g)`` shifted views, in linear memory.
    """
    h, w = a.shape[-2:]
    if max(h, w) ** 2 * 8 <= DENSE_LIMIT_BYTES:
        f_h = valid_filter_matrix(h, g)
        f_w = valid_filter_matrix(w, g)
        return f_h @ (a @ f_w.T)
    m = len(g)
    ho, wo = conv_output_size(h, m, 1), conv_output_size(w, m, 1)
    rows = sum(g[k] * a[..., k:k + ho, :] for k in range(m))
    return sum(g[k] * rows[..., k:k + wo] for k in range(m))


def _prepare(owner: str, x, ref, data_range, crop, mask, min_size: int):
    """Validate, convert to float64 (N, H, W) and crop. Returns x, ref, mask, was_2d."""
    x = check_array(x, owner, name="x", int_dtype=np.float64)
    ref = check_array(ref, owner, name="ref", int_dtype=np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"{owner}: x and ref must have the same shape, got {x.shape} and "
                         f"{ref.shape}")
    if x.ndim == 4 and x.shape[-1] == 1:
        x, ref = x[..., 0], ref[..., 0]
    if x.ndim not in (2, 3):
        raise ValueError(f"{owner}: expected (H, W), (N, H, W) or (N, H, W, 1) images, got shape "
                         f"{x.shape}")
    if x.size == 0:
        raise ValueError(f"{owner}: empty input of shape {x.shape} (a score of no images is "
                         f"undefined)")
    data_range = check_float(data_range, "data_range", owner, min=0.0, min_open=True)
    crop = check_int(crop, "crop", owner, min=0)
    was_2d = x.ndim == 2
    # float64 before any arithmetic: uint8 differences must not wrap around.
    x = np.asarray(x, dtype=np.float64).reshape((-1,) + x.shape[-2:])
    ref = np.asarray(ref, dtype=np.float64).reshape(x.shape)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(ref))):
        raise ValueError(f"{owner}: inputs of shape {x.shape} contain NaN or inf")
    h, w = x.shape[-2:]
    if h - 2 * crop < min_size or w - 2 * crop < min_size:
        raise ValueError(f"{owner}: crop={crop} leaves {(h - 2 * crop, w - 2 * crop)} pixels of "
                         f"images {(h, w)}; need at least {min_size} x {min_size}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise ValueError(f"{owner}: mask must be boolean, got dtype {mask.dtype}")
        if mask.ndim == 4 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if mask.shape[-2:] != (h, w) or mask.ndim not in (2, 3) or (
                mask.ndim == 3 and mask.shape[0] != x.shape[0]):
            raise ValueError(f"{owner}: mask of shape {mask.shape} does not match images of shape "
                             f"{x.shape} (give (H, W) or (N, H, W))")
        mask = np.broadcast_to(mask, x.shape)
    if crop:
        sl = (slice(None), slice(crop, h - crop), slice(crop, w - crop))
        x, ref = x[sl], ref[sl]
        mask = None if mask is None else mask[sl]
    return x, ref, mask, was_2d


def _finish(values: np.ndarray, reduce: bool, was_2d: bool):
    if was_2d:
        return float(values[0])
    return float(values.mean()) if reduce else values


def _masked_mean(values: np.ndarray, mask: np.ndarray | None, owner: str) -> np.ndarray:
    """Per-image mean of ``values`` (N, H, W), over ``mask`` where given."""
    if mask is None:
        return values.mean(axis=(-2, -1))
    counts = mask.sum(axis=(-2, -1))
    if np.any(counts == 0):
        raise ValueError(f"{owner}: the mask is empty for image(s) "
                         f"{np.flatnonzero(counts == 0).tolist()} (after cropping)")
    return np.where(mask, values, 0.0).sum(axis=(-2, -1)) / counts


def psnr(x, ref, data_range: float = 1.0, crop: int = 0, mask=None, reduce: bool = True):
    """Peak signal-to-noise ratio in dB.

    .. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{R^2}{\\mathrm{MSE}}, \\qquad
              \\mathrm{MSE} = \\frac{1}{|\\Omega|} \\sum_{p \\in \\Omega} (x_p - r_p)^2

    where ``R = data_range`` and ``Omega`` is the image after cropping (intersected with
    ``mask`` if given). Identical images give ``inf``.

    Parameters
    ----------
    x, ref : array_like, shape (H, W), (N, H, W) or (N, H, W, 1)
        Test image(s) and reference image(s).
    data_range : float
        ``R``: the span of valid values (1.0 for images in [0, 1]).
    crop : int
        Pixels dropped at every border first.
    mask : bool array, shape (H, W) or (N, H, W), optional
        Only masked pixels enter the MSE (see :func:`brain_mask`). Same size as the uncropped
        images; it is cropped together with them.
    reduce : bool
        For a batch: True returns the mean over images of the per-image PSNR (float), False the
        per-image values, shape (N,). A 2-D input always gives a float.
    """
    reduce = check_bool(reduce, "reduce", "psnr")
    x, ref, mask, was_2d = _prepare("psnr", x, ref, data_range, crop, mask, min_size=1)
    mse = _masked_mean((x - ref) ** 2, mask, "psnr")
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(data_range ** 2 / mse)
    return _finish(values, reduce, was_2d)


def ssim_map(x, ref, data_range: float = 1.0) -> np.ndarray:
    """Local SSIM of Wang et al. (2004) on the 'valid' region.

    With Gaussian-weighted (11 x 11, sigma 1.5) local means ``mu``, variances ``s^2`` and
    covariance ``s_xr`` (population statistics: ``E[xr] - mu_x mu_r``),

    .. math:: \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_r + C_1)(2 s_{xr} + C_2)}
                                   {(\\mu_x^2 + \\mu_r^2 + C_1)(s_x^2 + s_r^2 + C_2)},
              \\quad C_1 = (0.01 R)^2,\\; C_2 = (0.03 R)^2.

    Parameters
    ----------
    x, ref : ndarray, shape (..., H, W), float64
    data_range : float

    Returns
    -------
    ndarray, shape (..., H - 10, W - 10)
        Entry ``[i, j]`` belongs to pixel ``[i + 5, j + 5]``: the windows that fit entirely
        inside the image. scikit-image computes the full map with reflected borders and then
        discards those same 5-pixel borders, so the mean of this map is its SSIM.
    """
    x = check_array(x, "ssim_map", name="x", min_ndim=2).astype(np.float64, copy=False)
    ref = check_array(ref, "ssim_map", name="ref", min_ndim=2).astype(np.float64, copy=False)
    if x.shape != ref.shape:
        raise ValueError(f"ssim_map: x and ref must have the same shape, got {x.shape} and "
                         f"{ref.shape}")
    win = 2 * SSIM_RADIUS + 1
    if min(x.shape[-2:]) < win:
        raise ValueError(f"ssim_map: images of shape {x.shape} are smaller than the "
                         f"{win} x {win} window")
    data_range = check_float(data_range, "data_range", "ssim_map", min=0.0, min_open=True)
    g = gaussian_window()
    # Filter the five statistics in one go: one stacked array, one separable pass.
    stats = _valid_filter(np.stack([x, ref, x * x, ref * ref, x * ref]), g)
    mu_x, mu_r, e_xx, e_rr, e_xr = stats
    var_x = e_xx - mu_x * mu_x
    var_r = e_rr - mu_r * mu_r
    cov = e_xr - mu_x * mu_r
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    return ((2 * mu_x * mu_r + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_r * mu_r + c1) * (var_x + var_r + c2))


def ssim(x, ref, data_range: float = 1.0, crop: int = 0, mask=None, reduce: bool = True):
    """Mean structural similarity (Wang et al. 2004), Gaussian window 11 x 11, sigma 1.5.

    The mean of :func:`ssim_map` over the valid region of each (cropped) image, i.e. over the
    pixels at least 5 pixels away from the cropped border. Matches scikit-image's
    ``structural_similarity(x, ref, data_range=data_range, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)`` applied to the cropped 2-D images.

    Parameters
    ----------
    x, ref : array_like, shape (H, W), (N, H, W) or (N, H, W, 1)
        Test image(s) and reference image(s); after cropping each must be at least 11 x 11.
    data_range : float
        ``R`` in the constants ``C1 = (0.01 R)^2``, ``C2 = (0.03 R)^2``.
    crop : int
        Pixels dropped at every border first.
    mask : bool array, shape (H, W) or (N, H, W), optional
        Average the SSIM map only over masked pixels (the mask is cropped like the images and
        then to the valid region of the map).
    reduce : bool
        For a batch: True gives the mean of the per-image SSIM (float), False the per-image
        values (N,). A 2-D input always gives a float.
    """
    win = 2 * SSIM_RADIUS + 1
    reduce = check_bool(reduce, "reduce", "ssim")
    x, ref, mask, was_2d = _prepare("ssim", x, ref, data_range, crop, mask, min_size=win)
    smap = ssim_map(x, ref, data_range)
    if mask is not None:
        r = SSIM_RADIUS
        mask = mask[:, r:mask.shape[1] - r, r:mask.shape[2] - r]
    values = _masked_mean(smap, mask, "ssim")
    return _finish(values, reduce, was_2d)


def brain_mask(img, threshold: float = 0.1) -> np.ndarray:
    """Foreground (head) mask by intensity: pixels brighter than ``threshold`` x image maximum.

    .. math:: m_p = [\\, x_p > \\tau \\max_q x_q \\,]

    with the maximum taken per 2-D image. It is an intensity *foreground* mask, not a
    segmentation: on the MNI152 template that nilearn ships (already brain-extracted, background
    exactly 0) it is the brain; on a head image with scalp it keeps the whole head and drops the
    air. Compute it on the reference (HR) image and pass it as ``mask=`` to :func:`psnr` /
    :func:`ssim`.

    Parameters
    ----------
    img : array_like, shape (H, W) or (N, H, W)
    threshold : float in [0, 1)
        Fraction of each image's maximum.

    Returns
    -------
    bool ndarray, same shape as ``img``
    """
    x = check_array(img, "brain_mask").astype(np.float64, copy=False)
    if x.ndim not in (2, 3):
        raise ValueError(f"brain_mask: expected (H, W) or (N, H, W), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"brain_mask: empty image of shape {x.shape}")
    threshold = check_float(threshold, "threshold", "brain_mask", min=0.0, max=1.0,
                            max_open=True)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"brain_mask: image of shape {x.shape} contains NaN or inf")
    peak = x.max(axis=(-2, -1), keepdims=True)
    return x > threshold * peak
