"""Convolution as every deep-learning framework computes it (cross-correlation), NHWC.

The forward pass of a convolutional layer with weights ``w`` of shape ``(kh, kw, C_in, C_out)``,
bias ``b`` of shape ``(C_out,)`` and stride ``(sh, sw)`` on a zero-padded input ``x`` is

.. math::

    y[n, i, j, f] = b[f] + \\sum_{u=0}^{k_h-1} \\sum_{v=0}^{k_w-1} \\sum_{c}
                    x[n, i s_h + u, j s_w + v, c] \\; w[u, v, c, f]

This module is the dispatcher that routes a call to one of the algorithms: ``naive`` (the
readable reference, a loop over the ``kh * kw`` kernel taps of the sum above,
:mod:`labkit.ops.conv_naive`), ``im2col``, ``winograd`` and ``direct`` (the sum compiled, for
few channels on one side).  Every algorithm returns ``(y, cache)`` from its forward and
``(dx, dw, db)`` from its backward, so they are interchangeable.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_array, check_choice
from labkit.ops import conv_direct as _direct
from labkit.ops import im2col as _im2col
from labkit.ops import winograd as _winograd
from labkit.ops.conv_naive import conv2d_naive_backward, conv2d_naive_forward

# The geometry (padding rules, output sizes, argument checks) lives in labkit.ops.geometry so
# that this module, im2col and winograd all import it from below; it is re-exported here
# because notebooks and tests import these names from labkit.ops.conv.
from labkit.ops.geometry import (  # noqa: F401 - re-exported
    Pads,
    check_conv_args,
    check_padding_spec,
    conv_output_size,
    output_hw,
    pad_nhwc,
    resolve_padding,
    same_output_size,
    unpad_nhwc,
)

# ----------------------------------------------------------------------------- dispatcher

_TABLE = {
    "naive": (conv2d_naive_forward, conv2d_naive_backward),
    "im2col": (_im2col.conv2d_im2col_forward, _im2col.conv2d_im2col_backward),
    "winograd": (_winograd.conv2d_winograd_forward, _winograd.conv2d_winograd_backward),
    "direct": (_direct.conv2d_direct_forward, _direct.conv2d_direct_backward),
}


ALGORITHMS = ("naive", "im2col", "winograd", "direct")


def conv2d_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0)),
                   algorithm: str = "im2col", relu: bool = False, residual=None):
    """Convolution forward with the named algorithm; returns ``(y, cache)``.

    With ``residual`` (shaped like ``y``) the result is ``y + residual``, and with ``relu``
    then ``max(0, .)``: Winograd applies both in its output transform (no extra pass over
    ``y``), the other algorithms in place afterwards.  The cache (and so
    :func:`conv2d_backward`) is that of the convolution alone."""
    table = _TABLE
    if not isinstance(algorithm, str) or algorithm not in table:
        raise ValueError(f"conv2d_forward: unknown algorithm {algorithm!r}; "
                         f"choose one of {sorted(table)}")
    x = check_array(x, "conv2d_forward", name="input")
    w = check_array(w, "conv2d_forward", name="weights")
    check_conv_args(x, w, stride, pads, "conv2d_forward")
    if b is not None and np.shape(b) != (w.shape[3],):
        raise ValueError(f"conv2d_forward: bias must have shape {(w.shape[3],)}, "
                         f"got {np.shape(b)}")
    if algorithm == "winograd":
        y, cache = table[algorithm][0](x, w, b, stride, pads, relu=bool(relu), residual=residual)
    else:
        y, cache = table[algorithm][0](x, w, b, stride, pads)
        if residual is not None:
            if np.shape(residual) != y.shape:
                raise ValueError(f"conv2d_forward: residual must have the output's shape "
                                 f"{y.shape}, got {np.shape(residual)}")
            y += residual
        if relu:
            np.maximum(y, 0, out=y)
    return y, (algorithm, cache)


def conv2d_backward(dy, cache):
    """Convolution backward matching :func:`conv2d_forward`; returns ``(dx, dw, db)``."""
    try:
        algorithm, inner = cache
        fn = _TABLE[algorithm][1]
    except (TypeError, ValueError, KeyError):
        raise ValueError("conv2d_backward: cache must be the second value conv2d_forward "
                         "returned; call conv2d_forward first") from None
    return fn(dy, inner)


def conv2d(x, w, b=None, stride=(1, 1), padding="valid", algorithm: str = "im2col"):
    """Convenience forward for notebooks: padding spec as in :func:`resolve_padding`."""
    owner = "conv2d"
    x = check_array(x, owner, name="input")
    w = check_array(w, owner, name="weights")
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d: expected x (N, H, W, C) and w (kh, kw, C_in, C_out), "
                         f"got {x.shape} and {w.shape}")
    stride = as_pair(stride, "stride", owner, min=1)
    check_choice(algorithm, "algorithm", owner, ALGORITHMS)
    pads = resolve_padding(padding, w.shape[:2], stride, x.shape[1:3], owner)
    check_conv_args(x, w, stride, pads, owner)
    if b is not None:
        b = check_array(b, owner, name="bias")
        if b.shape != (w.shape[3],):
            raise ValueError(f"conv2d: bias must have shape {(w.shape[3],)} (one per output "
                             f"channel), got {b.shape}")
    return conv2d_forward(x, w, b, stride, pads, algorithm)[0]
