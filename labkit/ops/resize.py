"""MATLAB-compatible image resizing (``imresize``), written as one matrix product per axis.

Resizing an image is a linear operation. Along one axis, every output sample is a weighted sum
of a few neighbouring input samples, so the whole axis is resized by multiplying with an
``(out_len, in_len)`` *interpolation matrix* ``M``::

    y[i] = sum_k M[i, k] * x[k]

and a 2-D resize is ``M_h @ img @ M_w.T``. The matrix is banded (each row has only a few
non-zero weights), but it is small, so we store it densely and let BLAS do the work: this is
both the fastest and the easiest-to-read way to write a separable resampling in numpy.

The matrix reproduces MATLAB's ``imresize`` (Image Processing Toolbox), function
``contributions``:

* coordinate mapping (1-based in MATLAB, written here 0-based): the centre of output pixel ``i``
  sits at input coordinate ``u = (i + 0.5) / scale - 0.5``, i.e. MATLAB's
  ``u = x / scale + 0.5 * (1 - 1 / scale)``. Pixel *edges* of input and output coincide, so
  for an integer factor ``s`` the low-resolution pixel ``i`` is centred on the high-resolution
  coordinate ``s * i + (s - 1) / 2``;
* kernels: Keys cubic with ``a = -0.5`` (``"bicubic"``), triangle (``"bilinear"``), box
  (``"nearest"``);
* antialiasing when shrinking (``scale < 1``): the kernel is stretched by ``1 / scale``,
  ``h(x) = scale * k(scale * x)``, so it becomes a low-pass filter matched to the new
  sampling rate;
* each row of weights is normalised to sum to one (so a constant image stays constant);
* samples outside the image are mirrored (symmetric padding, ``... x1 x0 | x0 x1 ...``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from labkit._validate import check_array

__all__ = [
    "KERNELS",
    "box_kernel",
    "cubic_kernel",
    "imresize",
    "interpolation_matrix",
    "triangle_kernel",
]


def cubic_kernel(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys (1981) cubic convolution kernel, support ``[-2, 2]``.

    .. math::
        k(x) = \\begin{cases}
            (a+2)|x|^3 - (a+3)|x|^2 + 1 & |x| \\le 1 \\\\
            a|x|^3 - 5a|x|^2 + 8a|x| - 4a & 1 < |x| \\le 2 \\\\
            0 & \\text{otherwise}
        \\end{cases}

    With ``a = -0.5`` (MATLAB's choice) this is ``1.5|x|^3 - 2.5|x|^2 + 1`` and
    ``-0.5|x|^3 + 2.5|x|^2 - 4|x| + 2``.
    """
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = ((a + 2) * ax3 - (a + 3) * ax2 + 1) * (ax <= 1)
    outer = (a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax <= 2))
    return inner + outer


def triangle_kernel(x: np.ndarray) -> np.ndarray:
    """Linear-interpolation kernel ``max(0, 1 - |x|)``, support ``[-1, 1]``."""
    return np.maximum(0.0, 1.0 - np.abs(x))


def box_kernel(x: np.ndarray) -> np.ndarray:
    """Nearest-neighbour kernel: 1 on ``[-0.5, 0.5)``, 0 elsewhere (half-open, as MATLAB)."""
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


#: method name -> (kernel, kernel width in input pixels at scale 1)
KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "bicubic": (cubic_kernel, 4.0),
    "bilinear": (triangle_kernel, 2.0),
    "nearest": (box_kernel, 1.0),
}


def interpolation_matrix(in_len: int, out_len: int, scale: float,
                         kernel: Callable[[np.ndarray], np.ndarray], kernel_width: float,
                         antialias: bool = True) -> np.ndarray:
    """Dense ``(out_len, in_len)`` matrix that resizes one axis, MATLAB ``contributions`` style.

    Parameters
    ----------
    in_len, out_len : int
        Number of input and output samples along the axis.
    scale : float
        Output/input sampling ratio (``> 1`` enlarges). It sets the coordinate mapping
        ``u_i = (i + 0.5) / scale - 0.5`` and, with ``antialias``, the kernel stretch.
    kernel : callable
        Interpolation kernel ``k(x)``, ``x`` in input pixels (vectorised over arrays).
    kernel_width : float
        Width of the kernel's support in input pixels (4 for cubic).
    antialias : bool
        When ``scale < 1``, use ``h(x) = scale * k(scale * x)`` with width ``kernel_width / scale``.

    Returns
    -------
    M : ndarray, shape (out_len, in_len), float64
        Rows sum to one. ``M @ x`` resizes a signal ``x`` of length ``in_len``.
    """
    if in_len < 1 or out_len < 1:
        raise ValueError(f"interpolation_matrix: lengths must be >= 1, got in_len={in_len}, "
                         f"out_len={out_len}")
    if antialias and scale < 1:
        def h(x):
            return scale * kernel(scale * x)
        width = kernel_width / scale
    else:
        h = kernel
        width = kernel_width

    u = (np.arange(out_len) + 0.5) / scale - 0.5          # output centres in input coordinates
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2                      # MATLAB's P: enough taps for any u
    idx = left[:, None] + np.arange(taps)[None, :]        # (out_len, taps) candidate inputs
    w = h(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)

    # Mirror out-of-range indices: the sequence 0..n-1, n-1..0 repeats with period 2n, which is
    # MATLAB's aux = [1:n, n:-1:1] lookup.
    period = 2 * in_len
    idx = np.mod(idx.astype(np.int64), period)
    idx = np.where(idx >= in_len, period - 1 - idx, idx)

    # Mirroring can map two taps of one row to the same input sample: accumulate, don't assign.
    m = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_len)[:, None], idx.shape)
    np.add.at(m, (rows, idx), w)
    return m


def _output_length(in_len: int, scale: float) -> int:
    # MATLAB: ceil(scale * in_len). The tiny tolerance keeps e.g. 195 * (1/3) = 65.00000000000001
    # from becoming 66 because of floating-point rounding of 1/3.
    return max(1, math.ceil(in_len * scale - 1e-9))


def _parse_scale(scale, owner: str) -> tuple[float, float]:
    if np.isscalar(scale):
        pair = (scale, scale)
    else:
        try:
            pair = tuple(scale)
        except TypeError:
            raise ValueError(f"{owner}: scale must be a number or a pair, got {scale!r}") from None
        if len(pair) != 2:
            raise ValueError(f"{owner}: scale must be a number or a pair, got {scale!r}")
    try:
        sh, sw = (float(s) for s in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: scale must be a number or a pair, got {scale!r}") from None
    if not (sh > 0 and sw > 0 and math.isfinite(sh) and math.isfinite(sw)):
        raise ValueError(f"{owner}: scale must be positive and finite, got {scale!r}")
    return sh, sw


def imresize(img, scale=None, output_shape=None, method: str = "bicubic",
             antialias: bool = True) -> np.ndarray:
    """Resize images like MATLAB's ``imresize`` (separable, one matrix product per axis).

    Parameters
    ----------
    img : array_like
        ``(H, W)`` image, ``(N, H, W)`` stack of images, or ``(N, H, W, C)`` NHWC batch.
        The two spatial axes ``H, W`` are resized; ``N`` and ``C`` are untouched.
        float32 stays float32, float64 stays float64 (integers become float32).
    scale : float or (float, float), optional
        Resize factor (``> 1`` enlarges), one for both axes or ``(scale_h, scale_w)``. The output
        size is ``ceil(scale * size)`` as in MATLAB.
    output_shape : (int, int), optional
        Output ``(H_out, W_out)``; the factor per axis is then ``H_out / H`` and ``W_out / W``.
        Give exactly one of ``scale`` and ``output_shape``.
    method : {"bicubic", "bilinear", "nearest"}
        Keys cubic (``a = -0.5``), triangle, or box kernel.
    antialias : bool
        Stretch the kernel by ``1 / scale`` when shrinking (MATLAB's default for bicubic and
        bilinear). Ignored for ``"nearest"``, which MATLAB never antialiases.

    Returns
    -------
    out : ndarray
        Same layout and dtype as ``img`` with resized ``H, W``. Values can overshoot the input
        range (the cubic kernel has negative lobes); clip yourself if you need to.

    Notes
    -----
    Output pixel ``i`` is centred on input coordinate ``(i + 0.5) / scale - 0.5``. For an integer
    downscale ``s`` this means the low-resolution pixel ``i`` covers high-resolution pixels
    ``s*i .. s*i + s - 1`` and is centred at ``s*i + (s - 1) / 2``.
    """
    owner = "imresize"
    x = check_array(img, owner)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{owner}: expected (H, W), (N, H, W) or (N, H, W, C), got shape "
                         f"{x.shape}")
    if method not in KERNELS:
        raise ValueError(f"{owner}: unknown method {method!r}; choose one of {sorted(KERNELS)}")
    if (scale is None) == (output_shape is None):
        raise ValueError(f"{owner}: give exactly one of scale and output_shape "
                         f"(got scale={scale!r}, output_shape={output_shape!r})")

    h_ax, w_ax = (0, 1) if x.ndim == 2 else (1, 2)
    h_in, w_in = x.shape[h_ax], x.shape[w_ax]
    if h_in < 1 or w_in < 1:
        raise ValueError(f"{owner}: empty image of shape {x.shape}")
    if scale is not None:
        sh, sw = _parse_scale(scale, owner)
        h_out, w_out = _output_length(h_in, sh), _output_length(w_in, sw)
    else:
        try:
            h_out, w_out = (int(v) for v in output_shape)
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: output_shape must be a pair of ints, got "
                             f"{output_shape!r}") from None
        if h_out < 1 or w_out < 1:
            raise ValueError(f"{owner}: output_shape must be positive, got {output_shape!r}")
        sh, sw = h_out / h_in, w_out / w_in

    kernel, width = KERNELS[method]
    antialias = antialias and method != "nearest"
    m_h = interpolation_matrix(h_in, h_out, sh, kernel, width, antialias).astype(x.dtype)
    m_w = interpolation_matrix(w_in, w_out, sw, kernel, width, antialias).astype(x.dtype)

    # Put H, W last so both products are plain (batched) matmuls: M_h @ X @ M_w^T.
    nhwc = x.ndim == 4
    if nhwc:
        x = np.moveaxis(x, -1, 1)                         # (N, C, H, W)
    out = m_h @ x @ m_w.T
    if nhwc:
        out = np.ascontiguousarray(np.moveaxis(out, 1, -1))
    return out
