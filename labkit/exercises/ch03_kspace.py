"""Chapter 3 (03_magnetic_resonance.ipynb): the centred FFT and k-space downsampling.

``fft2c(x)``: centred orthonormal 2-D FFT over the last two axes,
``X = fftshift(fft2(ifftshift(x), norm="ortho"))``: index ``(H//2, W//2)`` is both the spatial
origin and the zero frequency, and ``sum |x|^2 = sum |X|^2``.

``kspace_downsample(img, scale)``: keep the central ``(H/s, W/s)`` block of the centred
spectrum after a phase ramp ``exp(2 pi i k delta / H)`` per axis (``delta =
labkit.ops.kspace.grid_offset(H, s)``) that puts low-resolution pixel ``j`` on high-resolution
coordinate ``s j + (s - 1)/2``, transform back and keep the real part times
``sqrt(h w / (H W))`` (intensities preserved), in the input's float dtype:

.. math:: y = \\sqrt{\\tfrac{hw}{HW}}\\;\\mathrm{Re}\\,\\mathrm{ifft2c}\\big(
          \\mathrm{crop}_{h\\times w}(\\mathrm{ramp} \\cdot \\mathrm{fft2c}(x))\\big)
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.kspace import (
    _crop_spectrum,
    _phase_ramp,
    fft2c,
    grid_offset,
    ifft2c,
    kspace_truncate,
)

_AXES = (-2, -1)


def _fft_cases(rng):
    shapes = [(4, 4), (5, 5), (4, 7), (7, 6), (1, 8), (9, 3), (2, 4, 6), (3, 5, 5), (2, 2, 3, 4),
              (6, 1)]
    for _ in range(14):
        nd = int(rng.integers(2, 4))
        shapes.append(tuple(int(v) for v in rng.integers(1, 10, size=nd)))
    for i, shape in enumerate(shapes):
        if i % 5 == 3:
            x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex128)
        elif i % 5 == 4:
            x = rng.standard_normal(shape).astype(np.float32)
        else:
            x = rng.standard_normal(shape)
        yield Case(f"fft2c(x {shape} {x.dtype.name})", (x,))


def _fft_plain(x):
    return np.fft.fft2(np.asarray(x), axes=_AXES, norm="ortho")


def _fft_no_ifftshift(x):
    return np.fft.fftshift(np.fft.fft2(np.asarray(x), axes=_AXES, norm="ortho"), axes=_AXES)


def _fft_shift_twice(x):
    x = np.asarray(x)
    return np.fft.fftshift(np.fft.fft2(np.fft.fftshift(x, axes=_AXES), axes=_AXES, norm="ortho"),
                           axes=_AXES)


def _fft_unnormalised(x):
    x = np.asarray(x)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=_AXES), axes=_AXES), axes=_AXES)


def _fft_all_axes(x):
    x = np.asarray(x)
    if x.ndim == 2:
        raise ValueError("not applicable")
    return np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(x), norm="ortho"))


def _ds_cases(rng):
    configs = [((8, 8), 2), ((9, 9), 3), ((12, 8), 4), ((6, 10), 2), ((12, 12), (2, 3)),
               ((10, 9), (2, 3)), ((2, 8, 6), 2), ((3, 6, 9), 3), ((6, 6), 1), ((16, 16), 4),
               ((14, 14), 2), ((15, 10), (3, 5))]
    for _ in range(12):
        s = int(rng.integers(2, 5))
        h, w = (int(v) * s for v in rng.integers(1, 6, size=2))
        configs.append(((h, w) if rng.integers(0, 2) else (2, h, w), s))
    for i, (shape, scale) in enumerate(configs):
        if i % 2:
            x = rng.standard_normal(shape)
        else:
            yy, xx = np.meshgrid(np.linspace(0, 1, shape[-2]), np.linspace(0, 1, shape[-1]),
                                 indexing="ij")
            x = np.broadcast_to(np.sin(3 * yy + 2) * np.cos(4 * xx) + yy, shape).copy()
        if i % 4 == 3:
            x = x.astype(np.float32)
        yield Case(f"kspace_downsample(img {shape} {x.dtype.name}, scale={scale})", (x, scale))


def _pair(scale):
    return (scale, scale) if np.isscalar(scale) else tuple(scale)


def _ds_core(img, scale, *, ramp=True, rescale=True, magnitude=False, corner=False):
    x = np.asarray(img)
    sh, sw = _pair(scale)
    big_h, big_w = x.shape[-2:]
    h, w = big_h // sh, big_w // sw
    k = fft2c(x)
    if ramp:
        k = k * _phase_ramp(big_h, grid_offset(big_h, sh))[:, None] \
              * _phase_ramp(big_w, grid_offset(big_w, sw))[None, :]
    small = k[..., :h, :w] if corner else _crop_spectrum(k, h, w)
    y = ifft2c(small)
    y = np.abs(y) if magnitude else y.real
    if rescale:
        y = y * np.sqrt(h * w / (big_h * big_w))
    return y.astype(x.dtype, copy=False)


def _ds_no_ramp(img, scale):
    return kspace_truncate(img, scale)


def _ds_no_rescale(img, scale):
    return _ds_core(img, scale, rescale=False)


def _ds_magnitude(img, scale):
    return _ds_core(img, scale, magnitude=True)


def _ds_corner(img, scale):
    return _ds_core(img, scale, corner=True)


def _ds_subsample(img, scale):
    sh, sw = _pair(scale)
    return np.asarray(img)[..., ::sh, ::sw].copy()


EXERCISES = [
    Exercise(
        id="fft2c",
        chapter="03_magnetic_resonance.ipynb",
        reference="labkit.ops.kspace.fft2c",
        summary="Centred orthonormal 2-D FFT over the last two axes: "
                "fftshift(fft2(ifftshift(x), norm='ortho')).",
        cases=_fft_cases,
        mistakes=[
            Mistake("not centred", _fft_plain,
                    "Your spectrum is not centred: the zero frequency must sit at (H//2, W//2) "
                    "and the spatial origin at the middle pixel (shift before and after the FFT)."),
            Mistake("no shift before the FFT", _fft_no_ifftshift,
                    "You shift only the output: the input's origin is the middle pixel too, "
                    "move it to index 0 (ifftshift) before transforming."),
            Mistake("fftshift instead of ifftshift", _fft_shift_twice,
                    "For odd sizes fftshift and ifftshift differ: the input needs ifftshift, "
                    "the output fftshift."),
            Mistake("not orthonormal", _fft_unnormalised,
                    "Your transform is not orthonormal (energy not preserved): numpy's default "
                    "scales the forward FFT by 1; use norm='ortho' (1/sqrt(H W))."),
            Mistake("all axes transformed", _fft_all_axes,
                    "You transformed the leading (batch) axes too: only the last two axes."),
        ],
    ),
    Exercise(
        id="kspace_downsample",
        chapter="03_magnetic_resonance.ipynb",
        reference="labkit.ops.kspace.kspace_downsample",
        summary="Low-resolution MR image from the central block of k-space, phase-shifted onto "
                "imresize's pixel grid, intensities preserved.",
        cases=_ds_cases,
        mistakes=[
            Mistake("no phase ramp", _ds_no_ramp,
                    "Your image sits on the FFT's grid, shifted by a fraction of a pixel from "
                    "imresize's: apply the phase ramp exp(2 pi i k delta / H) with "
                    "delta = grid_offset(H, s) before cropping (Fourier shift theorem)."),
            Mistake("intensity not preserved", _ds_no_rescale,
                    "Your intensities are scaled: with orthonormal FFTs a constant image changes "
                    "value on the smaller grid unless you multiply by sqrt(h w / (H W))."),
            Mistake("magnitude", _ds_magnitude,
                    "You took the magnitude |.| of the complex image; keep its real part (the "
                    "result of a real image's band-limited resampling, negatives included)."),
            Mistake("corner of the spectrum", _ds_corner,
                    "You kept a corner of the centred spectrum (high frequencies); keep the "
                    "central block, starting at (H//2 - h//2, W//2 - w//2)."),
            Mistake("plain subsampling", _ds_subsample,
                    "Your result equals plain subsampling x[::s, ::s], which aliases; crop "
                    "k-space instead."),
        ],
        rtol=1e-9,
    ),
]
