"""im2col / col2im: convolution as one matrix product.

``im2col`` lays every receptive field of the (padded) input out as one row of a matrix,
so that the convolution becomes a single GEMM with the filters reshaped to a matrix:

.. math::

    \\mathrm{cols}[(n, i, j), (u, v, c)] = x_{pad}[n, i s_h + u, j s_w + v, c], \\qquad
    Y = \\mathrm{cols} \\cdot W, \\quad W \\in \\mathbb{R}^{(k_h k_w C_{in}) \\times C_{out}}

The windows are first taken as a strided *view* (no copy); the copy happens once, when the
view is reshaped into the 2-D matrix that BLAS needs.  ``col2im`` is the adjoint: it adds
every row of a column matrix back onto the input positions it came from, summing where
windows overlap, which is exactly the input gradient of the convolution.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from labkit.ops.conv import Pads, check_conv_args, pad_nhwc, unpad_nhwc


def sliding_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Strided view of all windows: ``(N, Ho, Wo, kh, kw, C)``, sharing memory with ``x``.

    Writing into the view would write into ``x``, so it is returned read-only.
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    sh, sw = stride
    ho = (h - kh) // sh + 1
    wo = (w - kw) // sw + 1
    s = x.strides
    return as_strided(x, shape=(n, ho, wo, kh, kw, c),
                      strides=(s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3]), writeable=False)


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Column matrix of an (already padded) NHWC input: ``(N * Ho * Wo, kh * kw * C)``.

    Row ``(n, i, j)`` holds the window whose top-left corner is ``(i * sh, j * sw)``, read in
    ``(u, v, c)`` order, which matches ``w.reshape(kh * kw * C_in, C_out)``.
    """
    win = sliding_windows(x, kernel, stride)
    n, ho, wo, kh, kw, c = win.shape
    return win.reshape(n * ho * wo, kh * kw * c)


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add rows back to an array of shape ``x_shape``.

    Overlapping windows (stride < kernel) add up, so ``col2im(im2col(x))`` multiplies each
    pixel by the number of windows that contain it.  The loop runs over the ``kh * kw`` taps;
    each iteration adds one strided slab, so no two writes of one iteration hit the same pixel.
    """
    n, h, w, c = x_shape
    kh, kw = kernel
    sh, sw = stride
    ho = (h - kh) // sh + 1
    wo = (w - kw) // sw + 1
    if cols.shape != (n * ho * wo, kh * kw * c):
        raise ValueError(f"col2im: expected columns of shape {(n * ho * wo, kh * kw * c)} for "
                         f"input {x_shape}, kernel {kernel}, stride {stride}; got {cols.shape}")
    blocks = cols.reshape(n, ho, wo, kh, kw, c)
    out = np.zeros(x_shape, dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            out[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw, :] += blocks[:, :, :, u, v, :]
    return out


def im2col_workspace_bytes(x_shape, kernel, stride, pads: Pads, itemsize: int = 4) -> int:
    """Bytes of the column matrix im2col builds: ``N Ho Wo kh kw C_in * itemsize``."""
    n, h, w, c = x_shape
    kh, kw = kernel
    ho = (h + sum(pads[0]) - kh) // stride[0] + 1
    wo = (w + sum(pads[1]) - kw) // stride[1] + 1
    return n * ho * wo * kh * kw * c * itemsize


def conv2d_im2col_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0))):
    """Convolution forward as ``im2col(x_pad) @ w.reshape(-1, C_out)``; returns ``(y, cache)``.

    The column matrix is kept in the cache: the weight gradient reuses it.
    """
    ho, wo = check_conv_args(x, w, stride, pads, "conv2d_im2col_forward")
    kh, kw, cin, cout = w.shape
    xp = pad_nhwc(x, pads)
    cols = im2col(xp, (kh, kw), stride)
    y = cols @ w.reshape(kh * kw * cin, cout)
    if b is not None:
        y += b
    return y.reshape(x.shape[0], ho, wo, cout), (cols, xp.shape, w, b is not None, stride, pads)


def conv2d_im2col_backward(dy, cache):
    """Backward of :func:`conv2d_im2col_forward`: two GEMMs and one col2im.

    ``dW = cols^T dY``, ``d cols = dY W^T``, ``dx = col2im(d cols)`` (cropped to the unpadded
    input), ``db = sum(dY)``.  Returns ``(dx, dw, db)``.
    """
    cols, xp_shape, w, has_bias, stride, pads = cache
    kh, kw, cin, cout = w.shape
    dy2 = dy.reshape(-1, cout)
    dw = (cols.T @ dy2).reshape(w.shape)
    dcols = dy2 @ w.reshape(kh * kw * cin, cout).T
    dx = unpad_nhwc(col2im(dcols, xp_shape, (kh, kw), stride), pads)
    db = dy2.sum(axis=0) if has_bias else None
    return dx, dw, db
