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

Two backends compute the same thing.  ``backend="numpy"`` (the functions above the line
"numba backend") pads with ``np.pad``, builds the column matrix from a strided view and
scatters ``col2im`` tap by tap.  ``backend="numba"`` (the default of the convolution) builds
the column matrix in one parallel pass straight from the unpadded input (padding by bounds
checks: no padded copy) and computes ``col2im`` as a parallel *gather* (each input pixel sums
the column entries that read it), which needs neither a padded buffer nor a crop.  A 1x1
kernel with stride 1 and no padding needs no column matrix at all: ``x`` reshaped *is* it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from labkit._validate import as_pair, check_array, check_choice, check_int
from labkit.ops.geometry import (
    NO_PADS,
    Pads,
    check_conv_args,
    check_pads,
    check_window,
    output_hw,
    pad_nhwc,
    unpad_nhwc,
)


def _check_shape4(shape, owner: str) -> tuple[int, int, int, int]:
    if isinstance(shape, (str, bytes)) or np.ndim(shape) != 1 or len(shape) != 4:
        raise ValueError(f"{owner}: x_shape must be (N, H, W, C), got {shape!r}")
    return tuple(check_int(v, "x_shape", owner, min=0) for v in shape)


def _window_args(owner, x_shape, kernel, stride, pads):
    """Validated ``(kernel, stride, pads, (Ho, Wo))`` for a window over ``x_shape`` (NHWC)."""
    x_shape = _check_shape4(x_shape, owner)
    kernel = as_pair(kernel, "kernel", owner, min=1)
    stride = as_pair(stride, "stride", owner, min=1)
    pads = check_pads(pads, owner)
    out = check_window(x_shape[1:3], kernel, stride, pads, owner, "kernel", x_shape)
    return kernel, stride, pads, out


def sliding_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Strided view of all windows: ``(N, Ho, Wo, kh, kw, C)``, sharing memory with ``x``.

    Writing into the view would write into ``x``, so it is returned read-only.
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = output_hw((h, w), kernel, stride)
    s = x.strides
    return as_strided(x, shape=(n, ho, wo, kh, kw, c),
                      strides=(s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3]), writeable=False)


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Column matrix of an (already padded) NHWC input: ``(N * Ho * Wo, kh * kw * C)``.

    Row ``(n, i, j)`` holds the window whose top-left corner is ``(i * sh, j * sw)``, read in
    ``(u, v, c)`` order, which matches ``w.reshape(kh * kw * C_in, C_out)``.
    """
    x = check_array(x, "im2col", ndim=4)
    kernel = as_pair(kernel, "kernel", "im2col", min=1)
    stride = as_pair(stride, "stride", "im2col", min=1)
    check_window(x.shape[1:3], kernel, stride, NO_PADS, "im2col", "kernel", x.shape)
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
    x_shape = _check_shape4(x_shape, "col2im")
    kernel = as_pair(kernel, "kernel", "col2im", min=1)
    stride = as_pair(stride, "stride", "col2im", min=1)
    cols = check_array(cols, "col2im", ndim=2, name="columns")
    n, h, w, c = x_shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = check_window((h, w), kernel, stride, NO_PADS, "col2im", "kernel", x_shape)
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
    kernel, stride, pads, (ho, wo) = _window_args("im2col_workspace_bytes", x_shape, kernel,
                                                  stride, pads)
    n, _, _, c = x_shape
    kh, kw = kernel
    return n * ho * wo * kh * kw * c * check_int(itemsize, "itemsize", "im2col_workspace_bytes",
                                                 min=1)


# ----------------------------------------------------------------------------- numba backend

def im2col_numba(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1),
                 pads: Pads = ((0, 0), (0, 0))) -> np.ndarray:
    """Same matrix as ``im2col(pad_nhwc(x, pads), kernel, stride)``, built by a parallel
    numba kernel directly from the unpadded ``x`` (zeros where a window hangs over the
    border).  Shape ``(N * Ho * Wo, kh * kw * C)``."""
    from labkit.ops._numba_kernels import im2col_numba as kernel_fn
    x = check_array(x, "im2col_numba", ndim=4)
    kernel, stride, pads, (ho, wo) = _window_args("im2col_numba", x.shape, kernel, stride, pads)
    kh, kw = kernel
    n, c = x.shape[0], x.shape[3]
    cols = np.empty((n * ho * wo, kh * kw * c), dtype=x.dtype)
    kernel_fn(np.ascontiguousarray(x), kh, kw, stride[0], stride[1], pads[0][0], pads[1][0],
              ho, wo, cols)
    return cols


def col2im_numba(cols: np.ndarray, x_shape, kernel: tuple[int, int],
                 stride: tuple[int, int] = (1, 1), pads: Pads = ((0, 0), (0, 0))) -> np.ndarray:
    """Same as ``unpad_nhwc(col2im(cols, padded_shape, kernel, stride), pads)``: the adjoint of
    :func:`im2col_numba`, computed as a parallel gather.  Returns ``x_shape`` (unpadded)."""
    from labkit.ops._numba_kernels import col2im_numba as kernel_fn
    kernel, stride, pads, (ho, wo) = _window_args("col2im_numba", x_shape, kernel, stride, pads)
    cols = check_array(cols, "col2im_numba", ndim=2, name="columns")
    n, _, _, c = x_shape = _check_shape4(x_shape, "col2im_numba")
    kh, kw = kernel
    if cols.shape != (n * ho * wo, kh * kw * c):
        raise ValueError(f"col2im_numba: expected columns of shape {(n * ho * wo, kh * kw * c)} "
                         f"for input {tuple(x_shape)}, kernel {kernel}, stride {stride}, "
                         f"padding {pads}; got {cols.shape}")
    out = np.zeros(tuple(x_shape), dtype=cols.dtype)
    kernel_fn(np.ascontiguousarray(cols), kh, kw, stride[0], stride[1], pads[0][0], pads[1][0],
              ho, wo, out)
    return out


def _is_pointwise(w, stride, pads) -> bool:
    return w.shape[:2] == (1, 1) and tuple(stride) == (1, 1) and not any(sum(pads, ()))


# ----------------------------------------------------------------------------- convolution

def conv2d_im2col_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0)),
                          backend: str = "numba"):
    """Convolution forward as ``im2col(x_pad) @ w.reshape(-1, C_out)``; returns ``(y, cache)``.

    The column matrix is kept in the cache: the weight gradient reuses it.  ``backend`` picks
    how the column matrix is built (``"numba"`` or ``"numpy"``, see the module docstring).
    """
    owner = "conv2d_im2col_forward"
    check_choice(backend, "backend", owner, ("numba", "numpy"))
    x = check_array(x, owner, name="input")
    w = check_array(w, owner, name="weights")
    ho, wo = check_conv_args(x, w, stride, pads, owner)
    kh, kw, cin, cout = w.shape
    if _is_pointwise(w, stride, pads):
        cols = np.ascontiguousarray(x).reshape(-1, cin)       # a 1x1 conv is already a GEMM
    elif backend == "numba":
        cols = im2col_numba(x, (kh, kw), stride, pads)
    else:
        cols = im2col(pad_nhwc(x, pads), (kh, kw), stride)
    y = cols @ w.reshape(kh * kw * cin, cout)
    if b is not None:
        y += b
    return y.reshape(x.shape[0], ho, wo, cout), (cols, x.shape, w, b is not None, stride, pads,
                                                 backend)


def conv2d_im2col_backward(dy, cache):
    """Backward of :func:`conv2d_im2col_forward`: two GEMMs and one col2im.

    ``dW = cols^T dY``, ``d cols = dY W^T``, ``dx = col2im(d cols)`` (cropped to the unpadded
    input), ``db = sum(dY)``.  Returns ``(dx, dw, db)``.
    """
    cols, x_shape, w, has_bias, stride, pads, backend = cache
    kh, kw, cin, cout = w.shape
    dy2 = dy.reshape(-1, cout)
    dw = (cols.T @ dy2).reshape(w.shape)
    dcols = dy2 @ w.reshape(kh * kw * cin, cout).T
    if _is_pointwise(w, stride, pads):
        dx = dcols.reshape(x_shape)
    elif backend == "numba":
        dx = col2im_numba(dcols, x_shape, (kh, kw), stride, pads)
    else:
        n, h, wd, c = x_shape
        padded = (n, h + sum(pads[0]), wd + sum(pads[1]), c)
        dx = unpad_nhwc(col2im(dcols, padded, (kh, kw), stride), pads)
    db = np.einsum("ij->j", dy2) if has_bias else None    # one pass, faster than sum(axis=0)
    return dx, dw, db
