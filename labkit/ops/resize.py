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

from labkit._validate import (
    check_alloc,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
)

__all__ = [
    "KERNELS",
    "box_kernel",
    "cubic_kernel",
    "imresize",
    "interpolation_matrix",
    "triangle_kernel",
]


def _kernel_input(x, owner):
    return x if isinstance(x, np.ndarray) and x.dtype.kind == "f" else check_array(x, owner)


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
    ax = np.abs(_kernel_input(x, "cubic_kernel"))
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = ((a + 2) * ax3 - (a + 3) * ax2 + 1) * (ax <= 1)
    outer = (a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax <= 2))
    return inner + outer


def triangle_kernel(x: np.ndarray) -> np.ndarray:
    """Linear-interpolation kernel ``max(0, 1 - |x|)``, support ``[-1, 1]``."""
    return np.maximum(0.0, 1.0 - np.abs(_kernel_input(x, "triangle_kernel")))


def box_kernel(x: np.ndarray) -> np.ndarray:
    """Nearest-neighbour kernel: 1 on ``[-0.5, 0.5)``, 0 elsewhere (half-open, as MATLAB)."""
    x = _kernel_input(x, "box_kernel")
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


#: method name -> (kernel, kernel width in input pixels at scale 1)
KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "bicubic": (cubic_kernel, 4.0),
    "bilinear": (triangle_kernel, 2.0),
    "nearest": (box_kernel, 1.0),
}


def interpolation_weights(in_len: int, out_len: int, scale: float,
                          kernel: Callable[[np.ndarray], np.ndarray], kernel_width: float,
                          antialias: bool = True, owner: str = "interpolation_matrix"
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The sparse form of :func:`interpolation_matrix`: ``(idx, w)``, both ``(out_len, taps)``.

    Output sample ``i`` is ``sum_k w[i, k] * x[idx[i, k]]`` (indices already mirrored at the
    borders).  Memory is linear in ``out_len``; the dense matrix is quadratic.
    """
    in_len = check_int(in_len, "in_len", owner, min=1)
    out_len = check_int(out_len, "out_len", owner, min=1)
    scale = check_float(scale, "scale", owner, min=0.0, min_open=True)
    kernel_width = check_float(kernel_width, "kernel_width", owner, min=0.0, min_open=True)
    if antialias and scale < 1:
        def h(x):
            return scale * kernel(scale * x)
        width = kernel_width / scale
    else:
        h = kernel
        width = kernel_width
    taps = math.ceil(width) + 2                      # MATLAB's P: enough taps for any u
    check_alloc((out_len, taps), owner, "tap table (out_len, taps)")

    u = (np.arange(out_len) + 0.5) / scale - 0.5          # output centres in input coordinates
    left = np.floor(u - width / 2)
    idx = left[:, None] + np.arange(taps)[None, :]        # (out_len, taps) candidate inputs
    w = h(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)

    # Mirror out-of-range indices: the sequence 0..n-1, n-1..0 repeats with period 2n, which is
    # MATLAB's aux = [1:n, n:-1:1] lookup.
    period = 2 * in_len
    idx = np.mod(idx.astype(np.int64), period)
    idx = np.where(idx >= in_len, period - 1 - idx, idx)
    return idx, w


def interpolation_matrix(in_len: int, out_len: int, scale: float,
                         kernel: Callable[[np.ndarray], np.ndarray], kernel_width: float,
                         antialias: bool = True, owner: str = "interpolation_matrix") -> np.ndarray:
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
    idx, w = interpolation_weights(in_len, out_len, scale, kernel, kernel_width, antialias, owner)
    check_alloc((out_len, in_len), owner, "dense matrix (out_len, in_len)")
    # Mirroring can map two taps of one row to the same input sample: accumulate, don't assign.
    m = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_len)[:, None], idx.shape)
    np.add.at(m, (rows, idx), w)
    return m


#: Above this many bytes per dense resize matrix imresize applies the taps directly instead.
DENSE_LIMIT_BYTES = 64 * 2**20


def _resize_axis(x: np.ndarray, axis: int, in_len: int, out_len: int, scale: float, kernel,
                 width: float, antialias: bool) -> np.ndarray:
    """Resize one axis of ``x``: a dense matrix product when small, a sum over taps otherwise."""
    if out_len * in_len * x.dtype.itemsize <= DENSE_LIMIT_BYTES:
        m = interpolation_matrix(in_len, out_len, scale, kernel, width, antialias,
                                 "imresize").astype(x.dtype)
        return np.moveaxis(np.tensordot(m, x, axes=([1], [axis])), 0, axis)
    idx, w = interpolation_weights(in_len, out_len, scale, kernel, width, antialias, "imresize")
    xa = np.moveaxis(x, axis, -1)
    out = np.zeros(xa.shape[:-1] + (out_len,), dtype=x.dtype)
    for k in range(idx.shape[1]):
        out += xa[..., idx[:, k]] * w[:, k].astype(x.dtype)
    return np.moveaxis(out, -1, axis)


def _output_length(in_len: int, scale: float) -> int:
    # MATLAB: ceil(scale * in_len). The tiny tolerance keeps e.g. 195 * (1/3) = 65.00000000000001
    # from becoming 66 because of floating-point rounding of 1/3.
    return max(1, math.ceil(in_len * scale - 1e-9))


def _parse_scale(scale, owner: str) -> tuple[float, float]:
    if isinstance(scale, (str, bytes)) or np.ndim(scale) > 1:
        raise ValueError(f"{owner}: scale must be a number or a pair, got {scale!r}")
    pair = (scale, scale) if np.ndim(scale) == 0 else tuple(scale)
    if len(pair) != 2:
        raise ValueError(f"{owner}: scale must be a number or a pair, got {scale!r}")
    sh, sw = (check_float(s, "scale", owner, min=0.0, min_open=True) for s in pair)
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
    x = check_array(img, owner, finite=True)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{owner}: expected (H, W), (N, H, W) or (N, H, W, C), got shape "
                         f"{x.shape}")
    check_choice(method, "method", owner, sorted(KERNELS))
    antialias = check_bool(antialias, "antialias", owner)
    if (scale is None) == (output_shape is None):
        raise ValueError(f"{owner}: give exactly one of scale and output_shape "
                         f"(got scale={scale!r}, output_shape={output_shape!r})")

    h_ax, w_ax = (0, 1) if x.ndim == 2 else (1, 2)
    h_in, w_in = x.shape[h_ax], x.shape[w_ax]
    if x.size == 0:
        raise ValueError(f"{owner}: empty image of shape {x.shape}")
    if scale is not None:
        sh, sw = _parse_scale(scale, owner)
        h_out, w_out = _output_length(h_in, sh), _output_length(w_in, sw)
    else:
        if isinstance(output_shape, (str, bytes)) or np.ndim(output_shape) != 1 \
                or len(output_shape) != 2:
            raise ValueError(f"{owner}: output_shape must be a pair of ints, got "
                             f"{output_shape!r}")
        h_out, w_out = (check_int(v, "output_shape", owner, min=1) for v in output_shape)
        sh, sw = h_out / h_in, w_out / w_in
    out_shape = list(x.shape)
    out_shape[h_ax], out_shape[w_ax] = h_out, w_out
    check_alloc(out_shape, owner, "output", x.dtype.itemsize)

    kernel, width = KERNELS[method]
    antialias = antialias and method != "nearest"
    itemsize = x.dtype.itemsize
    if max(h_out * h_in, w_out * w_in) * itemsize > DENSE_LIMIT_BYTES:
        # Long axes: the dense matrices would be quadratic in the length; apply the taps.
        out = _resize_axis(x, h_ax, h_in, h_out, sh, kernel, width, antialias)
        return np.ascontiguousarray(_resize_axis(out, w_ax, w_in, w_out, sw, kernel, width,
                                                 antialias))
    m_h = interpolation_matrix(h_in, h_out, sh, kernel, width, antialias, owner).astype(x.dtype)
    m_w = interpolation_matrix(w_in, w_out, sw, kernel, width, antialias, owner).astype(x.dtype)

    # Put H, W last so both products are plain (batched) matmuls: M_h @ X @ M_w^T.
    nhwc = x.ndim == 4
    if nhwc:
        x = np.moveaxis(x, -1, 1)                         # (N, C, H, W)
    out = m_h @ x @ m_w.T
    if nhwc:
        out = np.ascontiguousarray(np.moveaxis(out, 1, -1))
    return out
