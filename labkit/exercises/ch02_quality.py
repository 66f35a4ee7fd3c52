"""Chapter 2 (02_super_resolution_and_quality.ipynb): PSNR and SSIM.

``psnr(x, ref, data_range, crop, mask, reduce)``:

.. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{R^2}{\\mathrm{MSE}}

per image, over the image cropped by ``crop`` pixels at every border (and the mask if given),
in float64 whatever the input dtype; a batch with ``reduce=True`` gives the mean of the
per-image dB values, ``reduce=False`` the per-image values; a 2-D input gives a float.

``ssim(x, ref, data_range, crop, mask, reduce)``: mean of the local SSIM map of Wang et al.
(2004) with an 11 x 11 Gaussian window (sigma 1.5, population statistics) over the windows that
fit entirely inside the (cropped) image,

.. math:: \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_r + C_1)(2 s_{xr} + C_2)}
                               {(\\mu_x^2 + \\mu_r^2 + C_1)(s_x^2 + s_r^2 + C_2)},
          \\quad C_1 = (0.01 R)^2,\\; C_2 = (0.03 R)^2.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.metrics import SSIM_K1, SSIM_K2, SSIM_RADIUS, _valid_filter, gaussian_window
from labkit.ops.resize import cubic_kernel


def _images(x, ref, crop, mask, native=False, one_side=False):
    x = np.asarray(x)
    ref = np.asarray(ref)
    if x.ndim == 4:
        x, ref = x[..., 0], ref[..., 0]
    was_2d = x.ndim == 2
    if not native:
        x, ref = x.astype(np.float64), ref.astype(np.float64)
    x = x.reshape((-1,) + x.shape[-2:])
    ref = ref.reshape(x.shape)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim == 4:
            mask = mask[..., 0]
        mask = np.broadcast_to(mask, x.shape)
    h, w = x.shape[-2:]
    if crop:
        if one_side:
            sl = (slice(None), slice(crop, None), slice(crop, None))
        else:
            sl = (slice(None), slice(crop, h - crop), slice(crop, w - crop))
        x, ref = x[sl], ref[sl]
        mask = None if mask is None else mask[sl]
    return x, ref, mask, was_2d


def _mean(values, mask):
    if mask is None:
        return values.mean(axis=(-2, -1))
    return np.where(mask, values, 0.0).sum(axis=(-2, -1)) / mask.sum(axis=(-2, -1))


def _finish(values, reduce, was_2d):
    if was_2d:
        return float(values[0])
    return float(values.mean()) if reduce else values


def _psnr(x, ref, data_range=1.0, crop=0, mask=None, reduce=True, *, pooled=False,
          ignore_range=False, factor=10.0, one_side=False, ignore_mask=False, native=False,
          natural_log=False):
    x, ref, mask, was_2d = _images(x, ref, crop, None if ignore_mask else mask, native, one_side)
    sq = ((x - ref) ** 2).astype(np.float64)
    mse = _mean(sq, mask)
    if pooled:
        mse = np.full_like(mse, np.where(mask, sq, 0).sum() / mask.sum() if mask is not None
                           else sq.mean())
    r = 1.0 if ignore_range else data_range
    log = np.log if natural_log else np.log10
    with np.errstate(divide="ignore"):
        values = factor * log(r ** 2 / mse)
    return _finish(values, reduce, was_2d)


def _psnr_pooled(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, pooled=True)


def _psnr_no_range(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, ignore_range=True)


def _psnr_20(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, factor=20.0)


def _psnr_one_side(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, one_side=True)


def _psnr_no_mask(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, ignore_mask=True)


def _psnr_native(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, native=True)


def _psnr_ln(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return _psnr(x, ref, data_range, crop, mask, reduce, natural_log=True)


def _pair(rng, shape, noise, data_range=1.0, uint8=False):
    ref = rng.uniform(0, 1, size=shape)
    x = np.clip(ref + noise * rng.standard_normal(shape), 0, 1)
    if uint8:
        return np.round(x * 255).astype(np.uint8), np.round(ref * 255).astype(np.uint8)
    return x * data_range, ref * data_range


def _psnr_cases(rng):
    for i in range(6):
        h, w = (int(v) for v in rng.integers(4, 17, size=2))
        x, ref = _pair(rng, (h, w), rng.uniform(0.01, 0.2))
        yield Case(f"psnr(x {x.shape}, ref {ref.shape}) [2-D, data_range=1]", (x, ref))
    for i in range(3):
        x, ref = _pair(rng, (8, 9), 0.1, data_range=255.0)
        yield Case(f"psnr(x {x.shape} float, ref, data_range=255)", (x, ref), {"data_range": 255.0})
    for i in range(3):
        x, ref = _pair(rng, (7, 10), 0.08, uint8=True)
        yield Case(f"psnr(x {x.shape} uint8, ref uint8, data_range=255)", (x, ref),
                   {"data_range": 255})
    for reduce in (True, False):
        for i in range(3):
            n = int(rng.integers(2, 5))
            noise = rng.uniform(0.01, 0.3, size=(n, 1, 1))
            ref = rng.uniform(0, 1, size=(n, 6, 8))
            x = ref + noise * rng.standard_normal(ref.shape)
            yield Case(f"psnr(x {x.shape}, ref {ref.shape}, reduce={reduce}) [batch]", (x, ref),
                       {"reduce": reduce})
    x, ref = _pair(rng, (3, 5, 5, 1), 0.05)
    x[1] = ref[1] + 0.3 * rng.standard_normal(ref[1].shape)
    yield Case(f"psnr(x {x.shape}, ref {ref.shape}) [NHWC batch]", (x, ref))
    for crop in (1, 2, 3):
        ref = rng.uniform(0, 1, size=(11, 12))
        x = ref + 0.02 * rng.standard_normal(ref.shape)
        x[:crop + 1] += 0.5                 # a damaged top border that crop must remove
        x[:, -crop:] -= 0.4
        yield Case(f"psnr(x {x.shape}, ref, crop={crop})", (x, ref), {"crop": crop})
    for i in range(3):
        ref = rng.uniform(0, 1, size=(9, 9))
        x = ref + 0.05 * rng.standard_normal(ref.shape)
        mask = ref > 0.4
        x[~mask] += 0.5
        yield Case(f"psnr(x {x.shape}, ref, mask (9, 9) bool)", (x, ref), {"mask": mask})
    ref = rng.uniform(0, 1, size=(2, 8, 8))
    x = ref + 0.05 * rng.standard_normal(ref.shape)
    mask = ref > 0.3
    x[~mask] -= 0.6
    yield Case(f"psnr(x {x.shape}, ref, mask (2, 8, 8), crop=1, reduce=False)", (x, ref),
               {"mask": mask, "crop": 1, "reduce": False})
    ref = rng.uniform(0, 1, size=(6, 6))
    yield Case("psnr(x, ref) [identical images: inf]", (ref.copy(), ref))


# ----------------------------------------------------------------------------- ssim

def _ssim(x, ref, data_range=1.0, crop=0, mask=None, reduce=True, *, box=False,
          linear_constants=False, ignore_range=False, sample=False, global_stats=False,
          padded=False):
    x, ref, mask, was_2d = _images(x, ref, crop, mask)
    r = 1.0 if ignore_range else data_range
    c1 = SSIM_K1 * r if linear_constants else (SSIM_K1 * r) ** 2
    c2 = SSIM_K2 * r if linear_constants else (SSIM_K2 * r) ** 2
    if global_stats:
        axes = (-2, -1)
        mu_x, mu_r = x.mean(axis=axes), ref.mean(axis=axes)
        var_x, var_r = x.var(axis=axes), ref.var(axis=axes)
        cov = ((x - mu_x[:, None, None]) * (ref - mu_r[:, None, None])).mean(axis=axes)
        values = ((2 * mu_x * mu_r + c1) * (2 * cov + c2)) / (
            (mu_x ** 2 + mu_r ** 2 + c1) * (var_x + var_r + c2))
        return _finish(values, reduce, was_2d)
    rad = SSIM_RADIUS
    g = np.full(2 * rad + 1, 1.0 / (2 * rad + 1)) if box else gaussian_window()
    if padded:
        padw = ((0, 0), (rad, rad), (rad, rad))
        x, ref = np.pad(x, padw, mode="reflect"), np.pad(ref, padw, mode="reflect")
    stats = _valid_filter(np.stack([x, ref, x * x, ref * ref, x * ref]), g)
    mu_x, mu_r, e_xx, e_rr, e_xr = stats
    var_x = e_xx - mu_x * mu_x
    var_r = e_rr - mu_r * mu_r
    cov = e_xr - mu_x * mu_r
    if sample:
        n = (2 * rad + 1) ** 2
        var_x, var_r, cov = (v * n / (n - 1) for v in (var_x, var_r, cov))
    smap = ((2 * mu_x * mu_r + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_r * mu_r + c1) * (var_x + var_r + c2))
    if mask is not None and not padded:
        mask = mask[:, rad:mask.shape[1] - rad, rad:mask.shape[2] - rad]
    return _finish(_mean(smap, mask), reduce, was_2d)


def _ssim_variant(**twist):
    def variant(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
        return _ssim(x, ref, data_range, crop, mask, reduce, **twist)
    return variant


def _smooth(rng, shape):
    a = rng.uniform(0, 1, size=shape)
    k = np.array([1, 4, 6, 4, 1]) / 16
    for axis in (-2, -1):
        a = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), axis, a)
    return a


def _ssim_cases(rng):
    for i in range(6):
        h, w = (int(v) for v in rng.integers(11, 21, size=2))
        ref = _smooth(rng, (h, w))
        x = ref + rng.uniform(0.01, 0.15) * rng.standard_normal(ref.shape)
        yield Case(f"ssim(x {x.shape}, ref {ref.shape}) [2-D]", (x, ref))
    for i in range(3):
        ref = 255 * _smooth(rng, (14, 13))
        x = ref + 10 * rng.standard_normal(ref.shape)
        yield Case(f"ssim(x {x.shape}, ref, data_range=255)", (x, ref), {"data_range": 255.0})
    for reduce in (True, False):
        for i in range(2):
            n = int(rng.integers(2, 4))
            ref = _smooth(rng, (n, 13, 15))
            x = ref + rng.uniform(0.02, 0.2, size=(n, 1, 1)) * rng.standard_normal(ref.shape)
            yield Case(f"ssim(x {x.shape}, ref, reduce={reduce}) [batch]", (x, ref),
                       {"reduce": reduce})
    ref = _smooth(rng, (2, 12, 12))[..., None]
    x = ref + 0.1 * rng.standard_normal(ref.shape)
    yield Case(f"ssim(x {x.shape}, ref) [NHWC batch]", (x, ref))
    for crop in (1, 2):
        ref = _smooth(rng, (16, 17))
        x = ref + 0.05 * rng.standard_normal(ref.shape)
        x[:crop] = 0.0
        yield Case(f"ssim(x {x.shape}, ref, crop={crop})", (x, ref), {"crop": crop})
    for i in range(2):
        ref = _smooth(rng, (16, 16))
        x = ref + 0.05 * rng.standard_normal(ref.shape)
        mask = np.zeros(ref.shape, dtype=bool)
        mask[3:13, 2:14] = True
        x[~mask] = rng.uniform(0, 1, size=int((~mask).sum()))
        yield Case(f"ssim(x {x.shape}, ref, mask (16, 16) bool)", (x, ref), {"mask": mask})
    ref = _smooth(rng, (12, 12))
    yield Case("ssim(x, ref) [identical images: 1]", (ref.copy(), ref))
    ref = _smooth(rng, (11, 11))
    yield Case("ssim(x (11, 11), ref) [a single window]", (ref + 0.1 * rng.standard_normal(ref.shape), ref))


def _cubic_cases(rng):
    knots = np.array([-2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    yield Case("cubic_kernel(x = knots -2.5..2.5 step 0.5)", (knots,))
    yield Case("cubic_kernel(x = knots, a=-0.75)", (knots, -0.75))
    for i in range(22):
        shape = [(9,), (4, 5), (2, 3, 4), (1,)][i % 4]
        x = rng.uniform(-3, 3, size=shape)
        a = [-0.5, -0.75, -0.5, -1.0, 0.0][i % 5]
        if i % 6 == 5:
            x = x.astype(np.float32)
        yield Case(f"cubic_kernel(x {x.shape} {x.dtype.name} in [-3, 3], a={a})", (x, a))


def _cubic_fixed_a(x, a=-0.5):
    return cubic_kernel(x, -0.5)


def _cubic_no_abs(x, a=-0.5):
    x = np.asarray(x)
    inner = ((a + 2) * x ** 3 - (a + 3) * x ** 2 + 1) * (np.abs(x) <= 1)
    outer = (a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a) * ((np.abs(x) > 1) & (np.abs(x) <= 2))
    return inner + outer


def _cubic_no_support(x, a=-0.5):
    ax = np.abs(x)
    inner = ((a + 2) * ax ** 3 - (a + 3) * ax ** 2 + 1)
    outer = (a * ax ** 3 - 5 * a * ax ** 2 + 8 * a * ax - 4 * a)
    return np.where(ax <= 1, inner, outer)


def _cubic_sign(x, a=-0.5):
    return cubic_kernel(x, -a)


EXERCISES = [
    Exercise(
        id="psnr",
        chapter="02_super_resolution_and_quality.ipynb",
        reference="labkit.metrics.psnr",
        summary="Peak signal-to-noise ratio 10 log10(R^2 / MSE) per image, with crop, mask and "
                "the batch mean of per-image dB values.",
        cases=_psnr_cases,
        mistakes=[
            Mistake("pooled MSE", _psnr_pooled,
                    "For a batch you computed the PSNR of the pooled MSE; average the per-image "
                    "PSNR values (in dB) instead."),
            Mistake("data_range ignored", _psnr_no_range,
                    "data_range is ignored: the peak R enters as R^2 in the numerator."),
            Mistake("20 log10 of a power ratio", _psnr_20,
                    "Your values are twice too large: R^2 / MSE is a power ratio, use "
                    "10 log10 (20 log10 goes with R / RMSE)."),
            Mistake("crop on one side", _psnr_one_side,
                    "crop applied on one side only: remove crop pixels at every border."),
            Mistake("mask ignored", _psnr_no_mask,
                    "The mask is ignored: only masked pixels enter the MSE."),
            Mistake("integer arithmetic", _psnr_native,
                    "uint8 arithmetic wrapped around: convert to float64 before subtracting."),
            Mistake("natural logarithm", _psnr_ln,
                    "Decibels use log10, not the natural logarithm."),
        ],
        rtol=1e-10,
    ),
    Exercise(
        id="cubic_kernel",
        chapter="02_super_resolution_and_quality.ipynb",
        reference="labkit.ops.resize.cubic_kernel",
        summary="Keys' cubic convolution kernel (bicubic interpolation), two cubic pieces on "
                "|x| <= 1 and 1 < |x| <= 2, zero beyond.",
        cases=_cubic_cases,
        mistakes=[
            Mistake("a ignored", _cubic_fixed_a,
                    "The parameter a is ignored: the pieces are (a+2)|x|^3 - (a+3)|x|^2 + 1 and "
                    "a|x|^3 - 5a|x|^2 + 8a|x| - 4a."),
            Mistake("not symmetric", _cubic_no_abs,
                    "Your kernel is not symmetric: the formula is in |x|, so k(-x) = k(x)."),
            Mistake("support not bounded", _cubic_no_support,
                    "Your kernel is non-zero beyond |x| = 2: its support is [-2, 2]."),
            Mistake("sign of a", _cubic_sign,
                    "Sign of a: MATLAB's bicubic uses a = -0.5 (negative lobes); your kernel "
                    "behaves as if a were +0.5."),
        ],
        rtol=1e-12,
    ),
    Exercise(
        id="ssim",
        chapter="02_super_resolution_and_quality.ipynb",
        reference="labkit.metrics.ssim",
        summary="Mean SSIM with an 11 x 11 Gaussian window (sigma 1.5) over the windows that fit "
                "inside the (cropped) image, with mask and batch mean.",
        cases=_ssim_cases,
        mistakes=[
            Mistake("box window", _ssim_variant(box=True),
                    "Your local statistics use a uniform 11 x 11 window; SSIM weights the window "
                    "with a Gaussian of sigma 1.5 (labkit.metrics.gaussian_window)."),
            Mistake("constants not squared", _ssim_variant(linear_constants=True),
                    "The stabilising constants are C1 = (K1 R)^2 and C2 = (K2 R)^2: squared."),
            Mistake("data_range ignored", _ssim_variant(ignore_range=True),
                    "data_range is ignored: it sets C1 and C2."),
            Mistake("sample covariance", _ssim_variant(sample=True),
                    "Biased vs unbiased statistics: use population variances and covariance "
                    "(E[x r] - mu_x mu_r), not the N/(N-1) corrected ones."),
            Mistake("global statistics", _ssim_variant(global_stats=True),
                    "Your SSIM uses the statistics of the whole image; SSIM is the mean of a "
                    "local map computed in sliding Gaussian windows."),
            Mistake("padded borders", _ssim_variant(padded=True),
                    "Your map covers the whole image with padded borders; average only the "
                    "windows that fit entirely inside the image (5 pixels from the border)."),
        ],
        rtol=1e-10,
    ),
]
