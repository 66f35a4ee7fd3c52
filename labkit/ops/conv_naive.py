"""The naive convolution: the defining sum, one kernel tap at a time (NHWC, cross-correlation).

.. math::

    y[n, i, j, f] = b[f] + \\sum_{u=0}^{k_h-1} \\sum_{v=0}^{k_w-1} \\sum_{c}
                    x[n, i s_h + u, j s_w + v, c] \\; w[u, v, c, f]

It is the reference every faster algorithm is tested against (:mod:`labkit.ops.conv` routes to
it as ``algorithm="naive"``) and the numpy path of the compiled direct convolution
(:mod:`labkit.ops.conv_direct`).
"""

from __future__ import annotations

import numpy as np

from labkit.ops.geometry import Pads, check_conv_args, pad_nhwc, unpad_nhwc


def conv2d_naive_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0))):
    """Direct convolution: accumulate the sum over kernel taps ``(u, v)`` one tap at a time.

    For each tap the strided slice ``x_pad[:, u::sh, v::sw, :]`` (shape ``(N, Ho, Wo, C_in)``)
    is multiplied by the ``(C_in, C_out)`` matrix ``w[u, v]``: the equation in the module
    docstring with the two spatial sums written as Python loops.

    Returns ``y`` of shape ``(N, Ho, Wo, C_out)`` and the cache for the backward pass.
    """
    ho, wo = check_conv_args(x, w, stride, pads, "conv2d_naive_forward")
    sh, sw = stride
    kh, kw = w.shape[:2]
    xp = pad_nhwc(x, pads)
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]), dtype=np.result_type(x, w))
    for u in range(kh):
        for v in range(kw):
            patch = xp[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw, :]
            y += patch @ w[u, v]
    if b is not None:
        y += b
    return y, (x, w, b is not None, stride, pads)


def conv2d_naive_backward(dy, cache):
    """Gradients of the direct convolution, tap by tap.

    ``dw[u, v] = sum_{n,i,j} x_pad[n, i sh + u, j sw + v, :]^T dy[n, i, j, :]`` and each tap
    scatters ``dy @ w[u, v]^T`` back onto the input positions it read.
    Returns ``(dx, dw, db)`` (``db`` is None when the forward had no bias).
    """
    x, w, has_bias, (sh, sw), pads = cache
    kh, kw, cin, cout = w.shape
    _, ho, wo, _ = dy.shape
    xp = pad_nhwc(x, pads)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dy, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dy, x))
    dy2 = dy.reshape(-1, cout)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (ho - 1) + 1, sh)
            cols = slice(v, v + sw * (wo - 1) + 1, sw)
            dw[u, v] = xp[:, rows, cols, :].reshape(-1, cin).T @ dy2
            dxp[:, rows, cols, :] += dy @ w[u, v].T
    db = dy2.sum(axis=0) if has_bias else None
    return unpad_nhwc(dxp, pads), dw, db
