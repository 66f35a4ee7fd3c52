"""Thick slices along one axis: the slice-profile degradation, the edge-aligned fine grid, and
interpolation onto it (the baseline that through-plane super-resolution has to beat).

Grid convention (the one of :func:`labkit.ops.resize.imresize` and ``labkit.sr.upscaled_affine``,
here along a single axis).  A thick slice ``i`` of thickness ``f`` (the factor, in fine voxels)
covers the fine voxels ``f i .. f i + f - 1``: the edges of the two grids coincide, so the
field of view is the same.  In coordinates of the thick grid (voxel centres at integers), fine
voxel ``j`` is centred at

.. math::  u_j = \\frac{j + 0.5}{f} - 0.5 = i + \\frac{k + 0.5}{f} - 0.5,
           \\qquad i = \\lfloor j / f \\rfloor,\\ k = j \\bmod f,

and thick voxel ``i`` is centred at fine coordinate ``f i + (f - 1) / 2``.  With a voxel->world
affine ``A`` of one grid, the other's is ``A @ D`` where ``D`` scales the axis and shifts it by
half a voxel of one grid minus half a voxel of the other (:func:`thick_affine`,
:func:`fine_affine`).

Slice profile: a thick sample is the integral of the fine signal against a profile ``p``
centred on the slice, approximated voxel-wise,

.. math::  y_i = \\sum_t w_t\\, x_{f i + t}, \\qquad
           w_t = \\frac{\\int_{t}^{t+1} p(s - f/2)\\, ds}{\\int p},

with ``p`` a boxcar of width ``thickness`` (default ``f``: the thick sample is the mean of its
``f`` fine voxels; ``thickness = f - gap`` models a slice gap) or a Gaussian of full width at
half maximum ``fwhm``.  Samples beyond the ends are mirrored (symmetric padding), as imresize
does.

Pure functions on arrays; nothing here keeps state or imports above ``labkit.ops``.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._validate import check_choice, check_float, check_int

__all__ = [
    "INTERPOLATIONS",
    "PROFILES",
    "brain_mask",
    "brain_psnr",
    "check_factor",
    "cubic_taps",
    "degrade_axis",
    "fine_affine",
    "fine_coordinates",
    "interpolate_axis",
    "interpolate_slices",
    "profile_weights",
    "simulate_thick_slices",
    "thick_affine",
]

PROFILES = ("boxcar", "gaussian")
INTERPOLATIONS = ("cubic", "linear", "nearest")
#: Factors the through-plane methods accept.
FACTORS = (2, 3, 4, 5, 6)


def check_factor(factor, owner: str) -> int:
    """``factor`` as an int in 2..6 (``ValueError`` naming ``owner`` otherwise)."""
    factor = check_int(factor, "factor", owner)
    if factor not in FACTORS:
        raise ValueError(f"{owner}: factor must be an int in 2..6, got {factor!r}")
    return factor


def _check_volume(volume, owner: str, finite: bool = True) -> np.ndarray:
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise ValueError(f"{owner}: expected a 3-D volume, got shape {vol.shape}")
    if vol.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: expected a real-valued volume, got dtype {vol.dtype}")
    if min(vol.shape) < 1:
        raise ValueError(f"{owner}: the volume of shape {vol.shape} is empty")
    if vol.dtype.kind != "f":
        vol = vol.astype(np.float32)
    if finite and not np.all(np.isfinite(vol)):
        raise ValueError(f"{owner}: the volume of shape {vol.shape} contains NaN or inf")
    return vol


def _check_axis(axis, owner: str) -> int:
    axis = check_int(axis, "axis", owner)
    if axis not in (0, 1, 2):
        raise ValueError(f"{owner}: axis must be 0, 1 or 2, got {axis!r}")
    return axis


def _check_affine(affine, owner: str) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: affine must be a finite 4x4 matrix, got shape {a.shape}")
    return a


# ----------------------------------------------------------------------------- grids

def fine_coordinates(n_thick: int, factor: int) -> np.ndarray:
    """Thick-grid coordinates ``u_j = (j + 0.5) / f - 0.5`` of the ``n_thick * f`` fine voxels."""
    factor = check_factor(factor, "fine_coordinates")
    n_thick = check_int(n_thick, "n_thick", "fine_coordinates", min=1)
    return (np.arange(n_thick * factor) + 0.5) / factor - 0.5


def thick_affine(affine, axis: int, factor: int) -> np.ndarray:
    """Affine of the grid ``factor`` times coarser along ``axis`` (edges aligned).

    Thick voxel ``i`` is centred at fine index ``f i + (f - 1) / 2``: ``A @ D`` with
    ``D[axis, axis] = f`` and ``D[axis, 3] = (f - 1) / 2``.
    """
    owner = "thick_affine"
    a, axis, factor = _check_affine(affine, owner), _check_axis(axis, owner), check_factor(factor, owner)
    d = np.eye(4)
    d[axis, axis] = factor
    d[axis, 3] = (factor - 1) / 2
    return a @ d


def fine_affine(affine, axis: int, factor: int) -> np.ndarray:
    """Affine of the grid ``factor`` times finer along ``axis`` (edges aligned): the inverse of
    :func:`thick_affine`, ``D[axis, axis] = 1 / f``, ``D[axis, 3] = (1 / f - 1) / 2``.

    The origin moves by half an input voxel minus half an output voxel, so the outer edges of
    the first and last voxels stay where they were.
    """
    owner = "fine_affine"
    a, axis, factor = _check_affine(affine, owner), _check_axis(axis, owner), check_factor(factor, owner)
    d = np.eye(4)
    d[axis, axis] = 1.0 / factor
    d[axis, 3] = (1.0 / factor - 1.0) / 2
    return a @ d


# ----------------------------------------------------------------------------- degradation

def profile_weights(factor: int, profile: str = "boxcar", thickness=None, fwhm=None):
    """Weights ``w_t`` over fine offsets ``t = t0 .. t0 + len(w) - 1`` of one thick sample.

    Returns ``(t0, w)``: thick sample ``i`` is ``sum_t w[t - t0] x[f i + t]``; ``w`` sums to 1.
    ``profile="boxcar"``: width ``thickness`` fine voxels (default ``factor``; smaller values
    leave a gap of ``factor - thickness`` between slices, larger ones overlap).
    ``profile="gaussian"``: full width at half maximum ``fwhm`` fine voxels (default
    ``factor``), truncated at 3 standard deviations.  Each fine voxel gets the integral of the
    profile over its extent (so fractional widths are exact, not rounded).
    """
    owner = "profile_weights"
    factor = check_factor(factor, owner)
    profile = check_choice(profile, "profile", owner, PROFILES)
    centre = factor / 2.0                       # slice centre, in fine-voxel edge coordinates
    if profile == "boxcar":
        if fwhm is not None:
            raise ValueError(f"{owner}: fwhm applies to profile='gaussian', not 'boxcar' "
                             f"(got fwhm={fwhm!r})")
        width = factor if thickness is None else check_float(
            thickness, "thickness", owner, min=0.0, min_open=True, max=4.0 * factor)
        lo, hi = centre - width / 2, centre + width / 2
        t0, t1 = math.floor(lo), math.ceil(hi)
        t = np.arange(t0, t1)
        w = np.clip(np.minimum(t + 1, hi) - np.maximum(t, lo), 0.0, None)
    else:
        if thickness is not None:
            raise ValueError(f"{owner}: thickness applies to profile='boxcar', not 'gaussian' "
                             f"(got thickness={thickness!r}); use fwhm")
        fw = factor if fwhm is None else check_float(fwhm, "fwhm", owner, min=0.0,
                                                     min_open=True, max=4.0 * factor)
        sigma = fw / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        t0, t1 = math.floor(centre - 3 * sigma), math.ceil(centre + 3 * sigma)
        t = np.arange(t0, t1)
        cdf = np.vectorize(lambda s: 0.5 * (1.0 + math.erf((s - centre) / (sigma * math.sqrt(2)))))
        w = cdf(t + 1.0) - cdf(t.astype(np.float64))
    w = np.asarray(w, dtype=np.float64)
    keep = np.nonzero(w > 1e-12)[0]
    w, t0 = w[keep[0]:keep[-1] + 1], int(t0 + keep[0])
    return t0, w / w.sum()


def _mirror(idx: np.ndarray, n: int) -> np.ndarray:
    """Symmetric (half-sample) reflection of indices into ``0 .. n-1`` (``-1 -> 0``, ``n -> n-1``)."""
    period = 2 * n
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - 1 - idx, idx)


def degrade_axis(x, axis: int, factor: int, profile: str = "boxcar", thickness=None,
                 fwhm=None) -> np.ndarray:
    """Thick samples along ``axis`` of an array of any rank: ``n`` fine samples -> ``n // f``.

    ``y_i = sum_t w_t x_{f i + t}`` with :func:`profile_weights`; indices outside ``0..n-1``
    are mirrored.  A trailing remainder of ``n mod f`` fine samples is dropped (it would make a
    partial thick slice).  Computed in float64, returned in ``x``'s float dtype.
    """
    owner = "degrade_axis"
    x = np.asarray(x)
    if x.dtype.kind not in "biuf" or x.ndim < 1:
        raise ValueError(f"{owner}: expected a real array, got dtype {x.dtype} shape {x.shape}")
    axis = check_int(axis, "axis", owner)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{owner}: axis {axis} is out of range for shape {x.shape}")
    factor = check_factor(factor, owner)
    n = x.shape[axis]
    if n < factor:
        raise ValueError(f"{owner}: axis {axis} has {n} samples, fewer than factor {factor}")
    t0, w = profile_weights(factor, profile, thickness, fwhm)
    m = n // factor
    base = np.arange(m) * factor
    out = None
    for k, wk in enumerate(w):
        term = wk * np.take(x, _mirror(base + t0 + k, n), axis=axis).astype(np.float64)
        out = term if out is None else out + term
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    return out.astype(dtype)


def simulate_thick_slices(volume, axis: int, factor: int, affine=None, profile: str = "boxcar",
                          thickness=None, fwhm=None):
    """Simulate a thick-slice scan from a fine one: ``(X, Y, Z)`` -> ``Z // f`` slices along
    ``axis`` (axis 2 shown), each the profile-weighted mean of ``f`` fine slices (the plain mean
    for the default boxcar: ``thick[..., i] = fine[..., f i : f i + f].mean(-1)``).

    The axis is first cropped to a multiple of ``factor`` (the trailing remainder dropped).
    Returns ``(thick, thick_affine)``: float32 (or the input's float dtype) and the affine of
    the thick grid (:func:`thick_affine`; ``None`` when ``affine`` is ``None``).
    """
    owner = "simulate_thick_slices"
    vol = _check_volume(volume, owner)
    axis = _check_axis(axis, owner)
    factor = check_factor(factor, owner)
    if vol.shape[axis] < factor:
        raise ValueError(f"{owner}: axis {axis} of shape {vol.shape} is shorter than factor "
                         f"{factor}")
    if affine is not None:
        affine = _check_affine(affine, owner)
    n = vol.shape[axis] // factor * factor
    vol = np.take(vol, np.arange(n), axis=axis)
    thick = degrade_axis(vol, axis, factor, profile, thickness, fwhm)
    return thick, (None if affine is None else thick_affine(affine, axis, factor))


# ----------------------------------------------------------------------------- interpolation

def _keys(s: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a = -0.5, MATLAB's ``imresize`` / Catmull-Rom)."""
    s = np.abs(s)
    return np.where(s <= 1, (a + 2) * s**3 - (a + 3) * s**2 + 1,
                    np.where(s < 2, a * s**3 - 5 * a * s**2 + 8 * a * s - 4 * a, 0.0))


def cubic_taps(n: int, factor: int, method: str = "cubic"):
    """Indices and weights of interpolation from ``n`` thick samples to ``n f`` fine ones.

    Returns ``(idx, w)`` of shape ``(n f, taps)``: ``fine[j] = sum_t w[j, t] thick[idx[j, t]]``
    at ``u_j = (j + 0.5) / f - 0.5`` (:func:`fine_coordinates`).  ``"cubic"``: Keys (a = -0.5),
    4 taps; ``"linear"``: 2 taps; ``"nearest"``: thick voxel ``j // f``.  Out-of-range
    neighbours are mirrored (``-1 -> 0``), so a constant stays constant and, since these
    kernels reproduce straight lines, a linear ramp is reproduced exactly except within two
    thick samples of the ends.
    """
    owner = "cubic_taps"
    method = check_choice(method, "method", owner, INTERPOLATIONS)
    u = fine_coordinates(n, factor)
    if method == "nearest":
        idx = (np.arange(n * factor) // factor)[:, None]
        return idx, np.ones_like(idx, dtype=np.float64)
    base = np.floor(u).astype(np.int64)
    if method == "linear":
        offs = np.arange(0, 2)
        frac = u - base
        w = np.stack([1 - frac, frac], axis=1)
    else:
        offs = np.arange(-1, 3)
        w = _keys(u[:, None] - (base[:, None] + offs[None, :]))
    idx = _mirror(base[:, None] + offs[None, :], n)
    return idx, w / w.sum(axis=1, keepdims=True)


def interpolate_axis(x, axis: int, factor: int, method: str = "cubic") -> np.ndarray:
    """Interpolate an array of any rank along ``axis`` onto the ``factor`` times finer,
    edge-aligned grid (:func:`cubic_taps`): ``n`` samples -> ``n f``.  Float64 arithmetic,
    result in ``x``'s float dtype (float32 for integer input)."""
    owner = "interpolate_axis"
    x = np.asarray(x)
    if x.dtype.kind not in "biuf" or x.ndim < 1:
        raise ValueError(f"{owner}: expected a real array, got dtype {x.dtype} shape {x.shape}")
    axis = check_int(axis, "axis", owner)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{owner}: axis {axis} is out of range for shape {x.shape}")
    factor = check_factor(factor, owner)
    idx, w = cubic_taps(x.shape[axis], factor, method)
    shape = [1] * x.ndim
    shape[axis] = -1
    out = None
    for t in range(idx.shape[1]):
        term = np.take(x, idx[:, t], axis=axis).astype(np.float64) * w[:, t].reshape(shape)
        out = term if out is None else out + term
    return out.astype(x.dtype if x.dtype.kind == "f" else np.float32)


def interpolate_slices(volume, axis: int, factor: int, method: str = "cubic") -> np.ndarray:
    """The interpolation baseline: a ``(X, Y, Z)`` thick-slice volume -> ``(X, Y, Z f)`` (for
    ``axis = 2``) on the edge-aligned fine grid, fine voxel ``j`` sampled at thick coordinate
    ``j // f + (j % f + 0.5) / f - 0.5``; the affine of the result is :func:`fine_affine`."""
    owner = "interpolate_slices"
    vol = _check_volume(volume, owner)
    method = check_choice(method, "method", owner, INTERPOLATIONS)
    return interpolate_axis(vol, _check_axis(axis, owner), check_factor(factor, owner), method)


# ----------------------------------------------------------------------------- scoring

def brain_mask(truth, axis: int = 2, exclude: int = 4, threshold: float = 0.05) -> np.ndarray:
    """Voxels of ``truth`` above ``threshold`` times its maximum, without the ``exclude`` end
    slices at each side along ``axis`` (where interpolation has no neighbour on one side)."""
    owner = "brain_mask"
    truth = _check_volume(truth, owner)
    axis = _check_axis(axis, owner)
    exclude = check_int(exclude, "exclude", owner, min=0)
    threshold = check_float(threshold, "threshold", owner, min=0.0, max=1.0)
    n = truth.shape[axis]
    if 2 * exclude >= n:
        raise ValueError(f"{owner}: exclude={exclude} end slices at each side leave nothing of "
                         f"the {n} slices along axis {axis}")
    mask = truth > threshold * float(truth.max())
    keep = np.zeros(n, dtype=bool)
    keep[exclude:n - exclude] = True
    shape = [1, 1, 1]
    shape[axis] = n
    return mask & keep.reshape(shape)


def brain_psnr(pred, truth, axis: int = 2, exclude: int = 4, threshold: float = 0.05,
               data_range=None) -> float:
    """PSNR inside the brain: ``10 log10(R^2 / mean((pred - truth)^2))`` over
    :func:`brain_mask` (``truth > threshold * max(truth)``, ``exclude`` end slices dropped at
    each side along ``axis``); ``R`` defaults to ``max(truth)`` (1 for labkit's volumes)."""
    owner = "brain_psnr"
    pred = _check_volume(pred, owner)
    truth = _check_volume(truth, owner)
    if pred.shape != truth.shape:
        raise ValueError(f"{owner}: pred has shape {pred.shape}, truth {truth.shape}")
    mask = brain_mask(truth, axis, exclude, threshold)
    if not mask.any():
        raise ValueError(f"{owner}: the brain mask of truth (> {threshold} x max) is empty")
    r = float(truth.max()) if data_range is None else check_float(
        data_range, "data_range", owner, min=0.0, min_open=True)
    err = pred.astype(np.float64)[mask] - truth.astype(np.float64)[mask]
    mse = float(np.mean(err * err))
    return float("inf") if mse == 0 else 10.0 * math.log10(r * r / mse)
