"""k-space (Fourier) operations used to simulate low-resolution MR acquisitions.

An MR scanner measures the image's Fourier transform, *k-space*, and a lower resolution means
that only the central (low-frequency) part of k-space is acquired. Cropping the centred spectrum
and transforming back on a smaller grid is therefore the physically faithful way to simulate a
low-resolution MR image, and padding the spectrum with zeros ("zero filling") is the classic way
scanners interpolate back to a finer grid (it shows Gibbs ringing at sharp edges).

Conventions
-----------
* All transforms act on the **last two axes** ``(H, W)``; leading axes (e.g. a batch ``N``) are
  untouched. Inputs are real images, outputs of the resampling functions are real.
* ``fft2c``/``ifft2c`` are *centred* and *orthonormal*: the zero frequency sits at index
  ``(H // 2, W // 2)`` and ``sum |x|^2 == sum |fft2c(x)|^2`` (Parseval).
* The kept low-frequency block of size ``(h, w)`` starts at ``(H // 2 - h // 2, W // 2 - w // 2)``
  in the centred spectrum, so the zero frequency of the small grid lands at ``(h // 2, w // 2)``.
* Because the transform is orthonormal, a constant ``c`` on ``H x W`` has DC coefficient
  ``c * sqrt(H W)``; we multiply the resampled image by ``sqrt(h w / (H W))`` so that intensities
  are preserved (a constant image stays the same constant).

Pixel grids
-----------
Pure truncation (:func:`kspace_truncate`) puts low-resolution pixel ``j`` at high-resolution
coordinate ``H // 2 + s * (j - h // 2)`` (the spatial origin of a centred FFT is the middle
pixel). ``imresize`` instead centres it at ``s * j + (s - 1) / 2`` (pixel edges aligned). For
``s = 2`` and even ``h`` the two grids differ by half a high-resolution pixel. :func:`kspace_downsample`
removes that difference with a linear phase ramp (the Fourier shift theorem), so its output
shares imresize's grid and k-space and bicubic low-resolution images can be compared pixel by
pixel; :func:`grid_offset` gives the shift.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_alloc, check_array, check_bool, check_int

__all__ = [
    "fft2c",
    "grid_offset",
    "ifft2c",
    "kspace_downsample",
    "kspace_mask",
    "kspace_truncate",
    "zero_fill_upsample",
]

_AXES = (-2, -1)


def _check_spectrum_input(x, owner: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biufc":
        raise ValueError(f"{owner}: expected a real or complex array, got dtype {x.dtype}")
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if x.ndim < 2:
        raise ValueError(f"{owner}: expected an array (..., H, W), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{owner}: empty input of shape {x.shape}")
    return x


def fft2c(x) -> np.ndarray:
    """Centred orthonormal 2-D FFT over the last two axes.

    ``X = fftshift(fft2(ifftshift(x), norm="ortho"))``: index ``(H//2, W//2)`` is both the spatial
    origin and the zero frequency, and the transform preserves energy.

    Parameters
    ----------
    x : array_like, shape (..., H, W)
        Real or complex. float32 gives complex64, float64 gives complex128.
    """
    x = _check_spectrum_input(x, "fft2c")
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=_AXES), axes=_AXES, norm="ortho"),
                           axes=_AXES)


def ifft2c(k) -> np.ndarray:
    """Inverse of :func:`fft2c` (centred orthonormal inverse 2-D FFT over the last two axes)."""
    k = _check_spectrum_input(k, "ifft2c")
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=_AXES), axes=_AXES, norm="ortho"),
                           axes=_AXES)


def _block_start(full: int, keep: int) -> int:
    # The block is centred on the zero frequency: full//2 in the big grid maps to keep//2.
    return full // 2 - keep // 2


def kspace_mask(shape, keep_shape) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the centred low-frequency block that truncation keeps.

    Parameters
    ----------
    shape : (int, int)
        Full k-space size ``(H, W)``.
    keep_shape : (int, int)
        Kept block ``(h, w)`` with ``1 <= h <= H``, ``1 <= w <= W``.
    """
    big_h, big_w = as_pair(shape, "shape", "kspace_mask", min=1)
    h, w = as_pair(keep_shape, "keep_shape", "kspace_mask", min=1)
    if not (1 <= h <= big_h and 1 <= w <= big_w):
        raise ValueError(f"kspace_mask: keep_shape {(h, w)} must fit inside shape {(big_h, big_w)}")
    check_alloc((big_h, big_w), "kspace_mask", "mask", 1)
    mask = np.zeros((big_h, big_w), dtype=bool)
    r0, c0 = _block_start(big_h, h), _block_start(big_w, w)
    mask[r0:r0 + h, c0:c0 + w] = True
    return mask


def _check_image(img, owner: str) -> np.ndarray:
    x = check_array(img, owner, finite=True)
    if x.ndim < 2:
        raise ValueError(f"{owner}: expected an image (..., H, W), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{owner}: empty image of shape {x.shape}")
    return x


def _check_factor(x: np.ndarray, scale, owner: str) -> tuple[int, int]:
    sh, sw = as_pair(scale, "scale", owner, min=1)
    big_h, big_w = x.shape[-2:]
    if big_h % sh or big_w % sw:
        raise ValueError(f"{owner}: image size {(big_h, big_w)} (shape {x.shape}) is not divisible "
                         f"by scale {(sh, sw)}; crop it first (labkit.data.crop_to_multiple)")
    return sh, sw


def grid_offset(size: int, scale: int) -> float:
    """Offset, in high-resolution pixels, from the FFT grid to imresize's grid along one axis.

    Truncation places low-resolution pixel ``j`` at ``size // 2 + scale * (j - small // 2)``
    (``small = size / scale``); imresize at ``scale * j + (scale - 1) / 2``. Their difference

    .. math:: \\delta = \\frac{s - 1}{2} - \\lfloor H/2 \\rfloor + s \\lfloor h/2 \\rfloor

    does not depend on ``j``: e.g. ``+0.5`` for ``s = 2`` and even ``h``, ``-0.5`` for odd ``h``,
    ``0`` for ``s = 3`` and odd ``h``.
    """
    size = check_int(size, "size", "grid_offset", min=1)
    scale = check_int(scale, "scale", "grid_offset", min=1)
    small = size // scale
    return (scale - 1) / 2 - size // 2 + scale * (small // 2)


def _phase_ramp(n: int, shift: float) -> np.ndarray:
    """Centred-spectrum factors ``exp(2 pi i k shift / n)`` that move a signal by ``-shift``.

    Multiplying the spectrum by this ramp gives the band-limited signal ``x(t + shift)``: the
    value that sat at ``t + shift`` now sits at ``t`` (Fourier shift theorem).
    """
    k = np.arange(n) - n // 2                 # centred frequency index of each k-space row
    return np.exp(2j * np.pi * k * shift / n)


def _crop_spectrum(k: np.ndarray, h: int, w: int) -> np.ndarray:
    big_h, big_w = k.shape[-2:]
    r0, c0 = _block_start(big_h, h), _block_start(big_w, w)
    return k[..., r0:r0 + h, c0:c0 + w]


def kspace_truncate(img, scale) -> np.ndarray:
    """Low-resolution image from the central ``(H/s, W/s)`` block of k-space (FFT grid).

    .. math:: y = \\sqrt{\\tfrac{hw}{HW}}\\;\\mathrm{Re}\\,\\mathrm{ifft2c}\\big(
              \\mathrm{crop}_{h\\times w}(\\mathrm{fft2c}(x))\\big)

    Parameters
    ----------
    img : array_like, shape (..., H, W)
        Real image(s); ``H`` and ``W`` must be divisible by the scale.
    scale : int or (int, int)
        Integer downsampling factor per axis.

    Returns
    -------
    ndarray, shape (..., H/s, W/s), same float dtype as ``img``
        Its centred spectrum equals the kept block of the input's spectrum times
        ``sqrt(hw/HW)`` (on an even grid the Nyquist row/column keeps only its real part, the
        price of returning a real image). The pixel grid is the FFT's (see module docstring); use
        :func:`kspace_downsample` for imresize's grid.
    """
    x = _check_image(img, "kspace_truncate")
    sh, sw = _check_factor(x, scale, "kspace_truncate")
    big_h, big_w = x.shape[-2:]
    h, w = big_h // sh, big_w // sw
    small = _crop_spectrum(fft2c(x), h, w)
    y = ifft2c(small).real * np.sqrt(h * w / (big_h * big_w))
    return y.astype(x.dtype, copy=False)


def kspace_downsample(img, scale) -> np.ndarray:
    """k-space truncation on imresize's pixel grid (the ``"kspace"`` degradation).

    Same as :func:`kspace_truncate`, but the spectrum is first multiplied by a linear phase ramp
    ``exp(2 pi i k delta / H)`` per axis, with ``delta = grid_offset(H, s)``, so that
    low-resolution pixel ``j`` is centred on high-resolution coordinate ``s*j + (s-1)/2``,
    exactly like ``imresize(img, 1/s)``. A smooth image therefore gives nearly the same
    low-resolution image with both degradations (no half-pixel shift).

    Parameters
    ----------
    img : array_like, shape (..., H, W)
    scale : int or (int, int)

    Returns
    -------
    ndarray, shape (..., H/s, W/s), same float dtype as ``img``
    """
    x = _check_image(img, "kspace_downsample")
    sh, sw = _check_factor(x, scale, "kspace_downsample")
    big_h, big_w = x.shape[-2:]
    h, w = big_h // sh, big_w // sw
    k = fft2c(x)
    k = k * _phase_ramp(big_h, grid_offset(big_h, sh))[:, None] \
          * _phase_ramp(big_w, grid_offset(big_w, sw))[None, :]
    small = _crop_spectrum(k, h, w)
    y = ifft2c(small).real * np.sqrt(h * w / (big_h * big_w))
    return y.astype(x.dtype, copy=False)


def zero_fill_upsample(img, scale, aligned: bool = True) -> np.ndarray:
    """Enlarge by zero-padding k-space ("zero filling", sinc interpolation).

    The centred spectrum of the ``(h, w)`` image is placed in the middle of an all-zero
    ``(s h, s w)`` spectrum and transformed back:

    .. math:: y = \\sqrt{\\tfrac{s_h s_w h w}{h w}}\\;\\mathrm{Re}\\,
              \\mathrm{ifft2c}(\\mathrm{pad}(\\mathrm{fft2c}(x)))

    No new frequencies are created, so sharp edges show Gibbs ringing.

    Parameters
    ----------
    img : array_like, shape (..., h, w)
    scale : int or (int, int)
        Integer enlargement factor per axis.
    aligned : bool
        If True (default), undo :func:`kspace_downsample`'s grid convention so that input pixel
        ``j`` lands on output coordinate ``s*j + (s-1)/2`` (imresize's grid); then
        ``zero_fill_upsample(kspace_downsample(x, s), s)`` is the band-limited part of ``x``.
        If False, use the plain FFT grid (the inverse of :func:`kspace_truncate`).

    Returns
    -------
    ndarray, shape (..., s h, s w), same float dtype as ``img``
    """
    x = _check_image(img, "zero_fill_upsample")
    sh, sw = as_pair(scale, "scale", "zero_fill_upsample", min=1)
    aligned = check_bool(aligned, "aligned", "zero_fill_upsample")
    h, w = x.shape[-2:]
    big_h, big_w = h * sh, w * sw
    check_alloc(x.shape[:-2] + (big_h, big_w), "zero_fill_upsample", "spectrum", 16)
    k = np.zeros(x.shape[:-2] + (big_h, big_w), dtype=np.result_type(x.dtype, np.complex64))
    r0, c0 = _block_start(big_h, h), _block_start(big_w, w)
    k[..., r0:r0 + h, c0:c0 + w] = fft2c(x)
    if aligned:
        k *= _phase_ramp(big_h, -grid_offset(big_h, sh))[:, None]
        k *= _phase_ramp(big_w, -grid_offset(big_w, sw))[None, :]
    y = ifft2c(k).real * np.sqrt(big_h * big_w / (h * w))
    return y.astype(x.dtype, copy=False)
