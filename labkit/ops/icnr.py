"""ICNR initialisation for sub-pixel convolution, and a measure of checkerboard patterns.

A sub-pixel upsampler (Shi et al. 2016) is a convolution to ``C r^2`` channels followed by a
pixel shuffle: the ``r^2`` channels that belong to one output channel ``c`` become the ``r x r``
sub-pixel positions ("phases") of every output block.  With an ordinary random initialisation
those ``r^2`` filters are unrelated, so each phase has its own gain and the output shows a
pattern that repeats every ``r`` pixels: the checkerboard artefact (Odena et al. 2016 describe
it for transposed convolutions; Aitken et al. 2017 for sub-pixel convolutions).

ICNR ("initialisation to convolution nearest-neighbour resize", Aitken et al. 2017) draws one
kernel per output channel and copies it to all ``r^2`` phases.  Then, at initialisation,

.. math:: \\mathrm{shuffle}(x * w_{\\mathrm{ICNR}}) = \\mathrm{NN}_r(x * w_0),

nearest-neighbour upsampling of an ordinary convolution: no checkerboard to begin with, and
training starts from a sensible upsampler.

:func:`subpixel_pattern` measures a checkerboard: the average offset of each phase from its
block mean, over the whole image.  Smooth upsamplers give a pattern close to zero; unrelated
phase filters give a clear, repeated ``r x r`` pattern.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_alloc, check_choice, check_float_dtype, check_seed
from labkit.ops.pixel_shuffle import ORDERS

__all__ = ["icnr", "subpixel_pattern"]


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def icnr(kernel_size, in_channels: int, out_channels: int, scale: int, order: str = "torch",
         seed=None, dtype=np.float32) -> np.ndarray:
    """ICNR weights for a convolution feeding ``PixelShuffle(scale, order)``.

    Parameters
    ----------
    kernel_size : int or (int, int)
    in_channels : int
    out_channels : int
        Channels *after* the pixel shuffle, ``C``; the convolution has ``C * scale**2``.
    scale : int
        Upscaling factor ``r``.
    order : {"torch", "tf"}
        Channel order of the pixel shuffle (see :mod:`labkit.ops.pixel_shuffle`): the copy of
        output channel ``c`` for phase ``k = i r + j`` sits at index ``c r^2 + k`` ("torch") or
        ``k C + c`` ("tf").
    seed : int or numpy.random.Generator, optional
    dtype : float dtype

    Returns
    -------
    ndarray, shape (kh, kw, in_channels, out_channels * scale**2)
        The base kernels are He-normal, ``N(0, 2 / (kh kw in_channels))``, as ``Conv2D`` draws
        its weights, so only the phase structure differs from the default initialisation.
    """
    owner = "icnr"
    if isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool):
        kernel_size = (kernel_size, kernel_size)
    try:
        kh, kw = (_positive_int(k, "kernel_size", owner) for k in kernel_size)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: kernel_size must be a positive int or a pair, got "
                         f"{kernel_size!r}") from None
    cin = _positive_int(in_channels, "in_channels", owner)
    cout = _positive_int(out_channels, "out_channels", owner)
    r = _positive_int(scale, "scale", owner)
    check_choice(order, "order", owner, ORDERS)
    rng = np.random.default_rng(check_seed(seed, "seed", owner))
    dtype = check_float_dtype(dtype, owner)
    check_alloc((kh, kw, cin, cout * r * r), owner, "weight")
    base = rng.normal(0.0, np.sqrt(2.0 / (kh * kw * cin)), size=(kh, kw, cin, cout))
    if order == "torch":
        w = np.repeat(base, r * r, axis=3)      # index c r^2 + k  <- base[..., c]
    else:
        w = np.tile(base, (1, 1, 1, r * r))     # index k C + c    <- base[..., c]
    return w.astype(dtype)


def subpixel_pattern(img, scale: int) -> np.ndarray:
    """The ``r x r`` pattern that repeats in every ``r x r`` block of an upsampled image.

    For each phase ``(i, j)`` (pixel ``(i, j)`` of every block) the offset from its block's
    mean, averaged over all blocks:

    ``P[i, j] = mean_{h, w} ( img[h r + i, w r + j] - mean_{i', j'} img[h r + i', w r + j'] )``.

    ``P`` sums to zero.  It is exactly zero for nearest-neighbour upsampling, and small for any
    upsampler that treats the phases alike (local slopes average out over an image); a
    checkerboard shows up as a large ``P``.  Compare ``np.abs(P).max()`` with the image's
    intensity range.

    Parameters
    ----------
    img : array_like, shape (H, W) or (N, H, W)
        ``H`` and ``W`` multiples of ``scale`` (extra rows/columns are ignored).
    scale : int

    Returns
    -------
    ndarray, shape (scale, scale), float64
    """
    owner = "subpixel_pattern"
    r = _positive_int(scale, "scale", owner)
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1] < r or a.shape[2] < r:
        raise ValueError(f"{owner}: expected an image (H, W) or a stack (N, H, W) with H, W >= "
                         f"scale = {r}, got shape {np.shape(img)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: image of shape {a.shape} contains NaN or inf")
    n, h, w = a.shape
    blocks = a[:, :h - h % r, :w - w % r].reshape(n, h // r, r, w // r, r)
    offsets = blocks - blocks.mean(axis=(2, 4), keepdims=True)
    return offsets.mean(axis=(0, 1, 3))
