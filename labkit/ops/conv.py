"""Convolution as every deep-learning framework computes it (cross-correlation), NHWC.

The forward pass of a convolutional layer with weights ``w`` of shape ``(kh, kw, C_in, C_out)``,
bias ``b`` of shape ``(C_out,)`` and stride ``(sh, sw)`` on a zero-padded input ``x`` is

.. math::

    y[n, i, j, f] = b[f] + \\sum_{u=0}^{k_h-1} \\sum_{v=0}^{k_w-1} \\sum_{c}
                    x[n, i s_h + u, j s_w + v, c] \\; w[u, v, c, f]

This module holds the padding rules, the readable ``naive`` reference (a loop over the
``kh * kw`` kernel taps of the sum above) and the dispatcher that routes a call to one of the
algorithms (``naive``, ``im2col``, ``winograd``).  Every algorithm returns ``(y, cache)`` from
its forward and ``(dx, dw, db)`` from its backward, so they are interchangeable.
"""

from __future__ import annotations

import math

import numpy as np

Pads = tuple[tuple[int, int], tuple[int, int]]


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int) -> int:
    """Output length along one axis: ``floor((size + pad_total - kernel) / stride) + 1``."""
    return (size + pad_total - kernel) // stride + 1


def resolve_padding(padding, kernel: tuple[int, int], stride: tuple[int, int],
                    in_hw: tuple[int, int], owner: str = "conv2d") -> Pads:
    """Turn a padding spec into explicit ``((top, bottom), (left, right))`` pixel counts.

    ``"same"`` pads so that ``out = ceil(in / stride)``, splitting the total padding with the
    extra pixel at the bottom/right (TensorFlow's and PyTorch's rule); ``"valid"`` pads nothing;
    an int ``p`` or a pair ``(ph, pw)`` pads symmetrically.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{owner}: padding must be 'same', 'valid', an int or a pair, "
                             f"got {padding!r}")
        pads = []
        for n, k, s in zip(in_hw, kernel, stride):
            out = math.ceil(n / s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return pads[0], pads[1]
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        ph = pw = int(padding)
    else:
        try:
            ph, pw = (int(p) for p in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: padding must be 'same', 'valid', an int or a pair, "
                             f"got {padding!r}") from None
    if ph < 0 or pw < 0:
        raise ValueError(f"{owner}: padding must be >= 0, got {padding!r}")
    return (ph, ph), (pw, pw)


def pad_nhwc(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of an NHWC array (no copy when there is nothing to pad)."""
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def unpad_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Inverse of :func:`pad_nhwc`: drop the padded border (a view)."""
    (t, b), (l, r) = pads
    return x[:, t:x.shape[1] - b, l:x.shape[2] - r, :]


def check_conv_args(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], pads: Pads,
                    owner: str = "conv2d") -> tuple[int, int]:
    """Validate shapes for a convolution and return the output size ``(Ho, Wo)``."""
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected a 4-D input (N, H, W, C), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{owner}: expected weights (kh, kw, C_in, C_out), got shape {w.shape}")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"{owner}: input has {x.shape[3]} channels but the weights expect "
                         f"{w.shape[2]} (input {x.shape}, weights {w.shape})")
    sh, sw = stride
    if sh < 1 or sw < 1:
        raise ValueError(f"{owner}: stride must be >= 1, got {stride}")
    hp = x.shape[1] + pads[0][0] + pads[0][1]
    wp = x.shape[2] + pads[1][0] + pads[1][1]
    kh, kw = w.shape[:2]
    if kh > hp or kw > wp:
        raise ValueError(f"{owner}: kernel {kh}x{kw} is larger than the padded input {hp}x{wp} "
                         f"(input {x.shape}, padding {pads})")
    return (hp - kh) // sh + 1, (wp - kw) // sw + 1


# ----------------------------------------------------------------------------- naive reference

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
    n, ho, wo, _ = dy.shape
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


# ----------------------------------------------------------------------------- dispatcher

def _algorithms():
    # Imported lazily so that each algorithm module can import the helpers above.
    from labkit.ops import im2col, winograd
    return {
        "naive": (conv2d_naive_forward, conv2d_naive_backward),
        "im2col": (im2col.conv2d_im2col_forward, im2col.conv2d_im2col_backward),
        "winograd": (winograd.conv2d_winograd_forward, winograd.conv2d_winograd_backward),
    }


ALGORITHMS = ("naive", "im2col", "winograd")


def conv2d_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0)),
                   algorithm: str = "im2col"):
    """Convolution forward with the named algorithm; returns ``(y, cache)``."""
    table = _algorithms()
    if algorithm not in table:
        raise ValueError(f"conv2d_forward: unknown algorithm {algorithm!r}; "
                         f"choose one of {sorted(table)}")
    y, cache = table[algorithm][0](x, w, b, stride, pads)
    return y, (algorithm, cache)


def conv2d_backward(dy, cache):
    """Convolution backward matching :func:`conv2d_forward`; returns ``(dx, dw, db)``."""
    algorithm, inner = cache
    return _algorithms()[algorithm][1](dy, inner)


def conv2d(x, w, b=None, stride=(1, 1), padding="valid", algorithm: str = "im2col"):
    """Convenience forward for notebooks: padding spec as in :func:`resolve_padding`."""
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d: expected x (N, H, W, C) and w (kh, kw, C_in, C_out), "
                         f"got {x.shape} and {w.shape}")
    stride = (stride, stride) if np.isscalar(stride) else tuple(stride)
    pads = resolve_padding(padding, w.shape[:2], stride, x.shape[1:3], "conv2d")
    return conv2d_forward(x, w, b, stride, pads, algorithm)[0]
