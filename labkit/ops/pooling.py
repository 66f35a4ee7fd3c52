"""Max and average pooling on NHWC arrays, forward and backward.

A pooling window of size ``(kh, kw)`` slides with stride ``(sh, sw)`` over the padded input:

.. math::

    y_{max}[n, i, j, c] = \\max_{u < k_h, v < k_w} x_{pad}[n, i s_h + u, j s_w + v, c]

    y_{avg}[n, i, j, c] = \\frac{1}{|R_{ij}|} \\sum_{(p, q) \\in R_{ij}} x[n, p, q, c]

where :math:`R_{ij}` is the set of *real* (unpadded) pixels in window ``(i, j)`` (PyTorch's
``count_include_pad=False``).  Max pooling pads with :math:`-\\infty`, so padding never wins.

The windows are a strided view of the input (no copy).  Both backward passes loop over the
``kh * kw`` window taps: in one tap every output pixel touches a different input pixel, so a
tap's contribution is one vectorised ``+=``; overlapping windows (stride < size) simply add
their contributions tap after tap.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_array
from labkit.ops.geometry import Pads, check_pads, check_window, output_hw, pad_nhwc, unpad_nhwc
from labkit.ops.im2col import sliding_windows


def pool_output_shape(x_shape, size, stride, pads: Pads) -> tuple[int, int, int, int]:
    """``(N, Ho, Wo, C)`` with ``Ho = floor((H + pad_h - kh) / sh) + 1``."""
    n, h, w, c = x_shape
    ho, wo = output_hw((h, w), size, stride, pads)
    return n, ho, wo, c


def check_pool_args(x_shape, size, stride, pads: Pads, owner: str = "pool2d") -> None:
    """Raise ``ValueError`` for a window larger than the padded input, stride < 1, or padding
    so large that a window could hold padding only (``padding >= size``)."""
    if len(x_shape) != 4:
        raise ValueError(f"{owner}: expected a 4-D input (N, H, W, C), got shape {tuple(x_shape)}")
    size = as_pair(size, "size", owner)
    stride = as_pair(stride, "stride", owner)
    (t, b), (l, r) = pads = check_pads(pads, owner)
    if min(stride) < 1 or min(size) < 1:
        raise ValueError(f"{owner}: size and stride must be >= 1, got size {size}, stride {stride}")
    if min(t, b, l, r) < 0:
        raise ValueError(f"{owner}: padding must be >= 0, got {pads}")
    if t >= size[0] or b >= size[0] or l >= size[1] or r >= size[1]:
        raise ValueError(f"{owner}: padding {pads} must be smaller than the window {size}")
    check_window(x_shape[1:3], size, stride, pads, owner, "window", x_shape)


def _pool_input(x, owner: str) -> np.ndarray:
    x = check_array(x, owner, ndim=4)
    if x.size == 0:
        raise ValueError(f"{owner}: empty input of shape {x.shape}")
    return x


def _tap_slices(u: int, v: int, out_hw, stride):
    ho, wo = out_hw
    sh, sw = stride
    return slice(u, u + sh * (ho - 1) + 1, sh), slice(v, v + sw * (wo - 1) + 1, sw)


def maxpool_forward(x, size=(2, 2), stride=(2, 2), pads: Pads = ((0, 0), (0, 0))):
    """Max pooling forward.  Returns ``y`` ``(N, Ho, Wo, C)`` and the cache.

    The cache keeps, for each output, the flat index ``u * kw + v`` of the winning tap
    (the first maximum in row-major window order, as PyTorch picks it).
    """
    x = _pool_input(x, "maxpool_forward")
    check_pool_args(x.shape, size, stride, pads, "maxpool_forward")
    xp = pad_nhwc(x, pads, value=-np.inf)
    win = sliding_windows(xp, size, stride)                 # (N, Ho, Wo, kh, kw, C) view
    n, ho, wo, kh, kw, c = win.shape
    flat = win.reshape(n, ho, wo, kh * kw, c)
    arg = flat.argmax(axis=3)                               # (N, Ho, Wo, C)
    y = np.take_along_axis(flat, arg[:, :, :, None, :], axis=3)[:, :, :, 0, :]
    return y, (x.shape, arg.astype(np.int32), size, stride, pads)


def maxpool_backward(dy, cache):
    """Max pooling backward: each output's gradient goes to the input pixel that won.

    ``dx[p, q] = sum over windows (i, j) whose argmax is (p, q) of dy[i, j]``.
    """
    x_shape, arg, size, stride, pads = cache
    kh, kw = size
    n, h, w, c = x_shape
    dxp = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dy.dtype)
    for u in range(kh):
        for v in range(kw):
            rows, cols = _tap_slices(u, v, dy.shape[1:3], stride)
            dxp[:, rows, cols, :] += np.where(arg == u * kw + v, dy, 0)
    return unpad_nhwc(dxp, pads)


def window_counts(hw, size, stride, pads: Pads, dtype=np.float64) -> np.ndarray:
    """Number of real (unpadded) pixels in each window: ``(Ho, Wo)``."""
    ones = np.ones((1, hw[0], hw[1], 1), dtype=dtype)
    win = sliding_windows(pad_nhwc(ones, pads), size, stride)
    return win.sum(axis=(3, 4, 5))[0]


def avgpool_forward(x, size=(2, 2), stride=(2, 2), pads: Pads = ((0, 0), (0, 0))):
    """Average pooling forward over the real pixels of each window (``count_include_pad=False``)."""
    x = _pool_input(x, "avgpool_forward")
    check_pool_args(x.shape, size, stride, pads, "avgpool_forward")
    xp = pad_nhwc(x, pads)
    win = sliding_windows(xp, size, stride)
    counts = window_counts(x.shape[1:3], size, stride, pads, x.dtype)
    y = win.sum(axis=(3, 4)) / counts[None, :, :, None]
    return y, (x.shape, counts, size, stride, pads)


def avgpool_backward(dy, cache):
    """Average pooling backward: every real pixel of a window gets ``dy / count``."""
    x_shape, counts, size, stride, pads = cache
    n, h, w, c = x_shape
    share = dy / counts[None, :, :, None]
    dxp = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dy.dtype)
    for u in range(size[0]):
        for v in range(size[1]):
            rows, cols = _tap_slices(u, v, dy.shape[1:3], stride)
            dxp[:, rows, cols, :] += share
    # Gradient that landed on padding belongs to no input pixel: cropping drops it.
    return unpad_nhwc(dxp, pads)
