"""Pixel shuffle (sub-pixel convolution, Shi et al. 2016): depth to space on NHWC arrays.

With upscale factor ``r`` an input ``(N, H, W, C r^2)`` becomes ``(N, H r, W r, C)``.  Two
channel orders are in use:

* ``"torch"`` (PyTorch ``nn.PixelShuffle``):
  ``out[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]``
* ``"tf"`` (TensorFlow ``depth_to_space``):
  ``out[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]``

Both are pure permutations, so the backward pass is the inverse permutation
(:func:`pixel_unshuffle`).

``backend="numpy"`` is the readable reshape-and-transpose; ``"numba"`` (the default) does the
same permutation in one pass on labkit's worker threads (:mod:`labkit.ops.workers`): numpy
copies a 6-D transposed view element by element on one core, which in an EDSR training step's
backward took as long as a convolution.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array, check_choice, check_int

ORDERS = ("torch", "tf")
BACKENDS = ("numba", "numpy")


def _check(x, scale, order, owner, backend="numpy"):
    check_choice(order, "order", owner, ORDERS)
    check_choice(backend, "backend", owner, BACKENDS)
    check_int(scale, "scale", owner, min=1)
    return check_array(x, owner, ndim=4)


def pixel_shuffle(x: np.ndarray, scale: int, order: str = "torch",
                  backend: str = "numba") -> np.ndarray:
    """Depth to space: ``(N, H, W, C r^2) -> (N, H r, W r, C)``."""
    x = _check(x, scale, order, "pixel_shuffle", backend)
    scale = int(scale)
    n, h, w, cr2 = x.shape
    r = scale
    if cr2 % (r * r):
        raise ValueError(f"pixel_shuffle: channels {cr2} of input {x.shape} are not a multiple "
                         f"of scale^2 = {r * r}")
    c = cr2 // (r * r)
    if backend == "numba":
        from labkit.ops._numba_kernels import pixel_shuffle_rows
        from labkit.ops.workers import run_ranges
        out = np.empty((n, h * r, w * r, c), dtype=x.dtype)
        run_ranges(pixel_shuffle_rows, n * h * r, np.ascontiguousarray(x), r, order == "torch",
                   out, grain=max(1, (1 << 15) // max(1, w * r * c)))
        return out
    if order == "torch":
        t = x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)   # n, h, i, w, j, c
    else:
        t = x.reshape(n, h, w, r, r, c).transpose(0, 1, 3, 2, 4, 5)   # n, h, i, w, j, c
    return t.reshape(n, h * r, w * r, c)


def pixel_unshuffle(y: np.ndarray, scale: int, order: str = "torch",
                    backend: str = "numba") -> np.ndarray:
    """Space to depth, the inverse of :func:`pixel_shuffle`: ``(N, H r, W r, C) -> (N, H, W, C r^2)``."""
    y = _check(y, scale, order, "pixel_unshuffle", backend)
    scale = int(scale)
    n, hr, wr, c = y.shape
    r = scale
    if hr % r or wr % r:
        raise ValueError(f"pixel_unshuffle: spatial size {hr}x{wr} of {y.shape} is not a "
                         f"multiple of scale {r}")
    if backend == "numba":
        from labkit.ops._numba_kernels import pixel_unshuffle_rows
        from labkit.ops.workers import run_ranges
        out = np.empty((n, hr // r, wr // r, c * r * r), dtype=y.dtype)
        run_ranges(pixel_unshuffle_rows, n * (hr // r), np.ascontiguousarray(y), r,
                   order == "torch", out, grain=max(1, (1 << 15) // max(1, wr * c)))
        return out
    t = y.reshape(n, hr // r, r, wr // r, r, c)                        # n, h, i, w, j, c
    if order == "torch":
        t = t.transpose(0, 1, 3, 5, 2, 4)                              # n, h, w, c, i, j
    else:
        t = t.transpose(0, 1, 3, 2, 4, 5)                              # n, h, w, i, j, c
    return np.ascontiguousarray(t).reshape(n, hr // r, wr // r, c * r * r)
