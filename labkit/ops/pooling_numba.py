"""numba backend of max and average pooling, with the signatures of :mod:`labkit.ops.pooling`.

The numpy versions build a strided view of the windows and reduce it, then loop over the
``kh * kw`` taps in the backward pass; every step walks the whole array.  These versions make
one parallel pass over the output rows (forward) or the input rows (backward, as a gather, so
overlapping windows never race), with the padding handled by bounds checks instead of a padded
copy.  Caches are the same tuples as the numpy versions', so a forward from one backend can be
followed by the backward of the other.

Max pooling keeps the *first* maximum of each window in row-major order, like ``argmax``
(NaN inputs are the one difference: numpy's ``argmax`` picks a NaN, these kernels skip it).
"""

from __future__ import annotations

import numpy as np

from labkit.ops.geometry import Pads
from labkit.ops.pooling import _pool_input, check_pool_args, pool_output_shape


def maxpool_forward(x, size=(2, 2), stride=(2, 2), pads: Pads = ((0, 0), (0, 0))):
    """Max pooling forward; returns ``y`` ``(N, Ho, Wo, C)`` and the cache (winning taps)."""
    from labkit.ops._numba_kernels import maxpool_forward_numba
    x = _pool_input(x, "maxpool_forward")
    check_pool_args(x.shape, size, stride, pads, "maxpool_forward")
    shape = pool_output_shape(x.shape, size, stride, pads)
    y = np.empty(shape, dtype=x.dtype)
    arg = np.zeros(shape, dtype=np.int32)
    maxpool_forward_numba(np.ascontiguousarray(x), size[0], size[1], stride[0], stride[1],
                          pads[0][0], pads[1][0], y, arg)
    return y, (x.shape, arg, size, stride, pads)


def maxpool_backward(dy, cache):
    """Max pooling backward: each ``dy`` goes to the input pixel that won its window."""
    from labkit.ops._numba_kernels import maxpool_backward_numba
    x_shape, arg, size, stride, pads = cache
    dx = np.zeros(x_shape, dtype=dy.dtype)
    maxpool_backward_numba(np.ascontiguousarray(dy), np.ascontiguousarray(arg), size[0],
                           size[1], stride[0], stride[1], pads[0][0], pads[1][0], dx)
    return dx


def avgpool_forward(x, size=(2, 2), stride=(2, 2), pads: Pads = ((0, 0), (0, 0))):
    """Average pooling forward over the real pixels of each window
    (``count_include_pad=False``); returns ``y`` and the cache (window counts)."""
    from labkit.ops._numba_kernels import avgpool_forward_numba
    x = _pool_input(x, "avgpool_forward")
    check_pool_args(x.shape, size, stride, pads, "avgpool_forward")
    shape = pool_output_shape(x.shape, size, stride, pads)
    y = np.zeros(shape, dtype=x.dtype)
    counts = np.zeros(shape[1:3], dtype=x.dtype)
    avgpool_forward_numba(np.ascontiguousarray(x), size[0], size[1], stride[0], stride[1],
                          pads[0][0], pads[1][0], y, counts)
    return y, (x.shape, counts, size, stride, pads)


def avgpool_backward(dy, cache):
    """Average pooling backward: every real pixel of a window gets ``dy / count``."""
    from labkit.ops._numba_kernels import avgpool_backward_numba
    x_shape, counts, size, stride, pads = cache
    dx = np.zeros(x_shape, dtype=dy.dtype)
    avgpool_backward_numba(np.ascontiguousarray(dy), np.ascontiguousarray(counts, dy.dtype),
                           size[0], size[1], stride[0], stride[1], pads[0][0], pads[1][0], dx)
    return dx
