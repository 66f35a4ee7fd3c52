"""Which convolution algorithm ``Conv2D(algorithm="auto")`` runs: a fixed, documented rule.

The rule comes from timing im2col against Winograd ``F(4x4, 3x3)`` on the course machine, not
from timing each call.  CPU milliseconds of one thread (so that a busy machine does not tilt
the comparison), float32, 3x3 'same', forward / forward+backward:

==================  ================  ================  =========
shape               im2col            Winograd F(4x4)   faster
==================  ================  ================  =========
16x48x48, 1 -> 64    1.9 /   5.7       8.6 /  15.3      im2col
16x48x48, 4 -> 64    2.9 /   8.3       3.3 /   9.6      im2col
16x48x48, 8 -> 8     2.1 /   6.1       1.2 /   3.9      Winograd
16x48x48, 32 -> 32  16.0 /  46.2       3.5 /  10.6      Winograd
16x48x48, 64 -> 64  49.6 / 123.7       8.4 /  27.8      Winograd
16x48x48, 64 -> 256 90.9 / 364.5      39.6 / 142.3      Winograd
16x48x48, 64 -> 1   19.6 /  86.0       3.1 /  14.9      Winograd
16x96x96, 1 -> 64    9.4 /  33.5      39.0 /  64.4      im2col
16x96x96, 64 -> 1   99.6 / 323.3      12.6 /  63.8      Winograd
4x16x16, 32 -> 32   0.27 /  0.85      0.30 /  0.97      im2col
2x32x32, 32 -> 32   0.49 /  2.74      0.25 /  0.76      Winograd
==================  ================  ================  =========

* Winograd needs a 3x3 kernel and stride 1 (anything else: ``im2col``).
* What decides is the number of *input* channels.  im2col's cost is building the column matrix,
  ``9 C_in`` values per output pixel, and its GEMM; with one or a few input channels both are
  tiny, while Winograd still pays an output transform for every output channel.  From
  ``C_in = 8`` on Winograd wins, by 4-6x at 32-64 channels, and also when ``C_out`` is small:
  a final ``64 -> 1`` convolution is 6x faster with Winograd, because im2col then builds a
  64-channel column matrix for a GEMM with one column.
* Small batches of small images (fewer than ``MIN_TILES`` 4x4 output tiles) do not repay
  Winograd's fixed costs (transformed filters, thread hand-off).

So in an SR network only the head convolution (``1 -> F`` on a grey MRI slice) runs im2col.
``naive`` is never chosen: it exists to be read, not to be fast.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_int
from labkit.ops.geometry import check_pads, output_hw

#: Smallest ``C_in`` for which Winograd beats im2col.
WINOGRAD_MIN_CHANNELS = 8
#: Smallest number of 4x4 output tiles (over the whole batch) for which Winograd pays off.
MIN_TILES = 100


def winograd_applicable(w_shape, stride) -> bool:
    """True when Winograd ``F(m x m, 3 x 3)`` can run: 3x3 kernel, stride 1."""
    return tuple(w_shape[:2]) == (3, 3) and tuple(stride) == (1, 1)


def choose_algorithm(x_shape, w_shape, stride, pads, dtype=None) -> str:
    """The algorithm ``Conv2D(algorithm="auto")`` uses for this convolution.

    Parameters
    ----------
    x_shape : (N, H, W, C_in)
    w_shape : (kh, kw, C_in, C_out)
    stride : (sh, sw)
    pads : ((top, bottom), (left, right))
    dtype : numpy dtype, optional
        Accepted for completeness; the choice is the same for float32 and float64.

    Returns
    -------
    str
        ``"winograd"`` when the kernel is 3x3 with stride 1, ``C_in >= WINOGRAD_MIN_CHANNELS``
        and there are at least ``MIN_TILES`` 4x4 output tiles; ``"im2col"`` otherwise.
    """
    owner = "choose_algorithm"
    shapes = []
    for name, shp in (("x_shape", x_shape), ("w_shape", w_shape)):
        if isinstance(shp, (str, bytes)) or np.ndim(shp) != 1 or len(shp) != 4:
            raise ValueError(f"{owner}: expected x (N, H, W, C) and w (kh, kw, C_in, C_out) "
                             f"shapes, got {x_shape!r} and {w_shape!r}")
        shapes.append(tuple(check_int(v, name, owner, min=0) for v in shp))
    x_shape, w_shape = shapes
    stride = as_pair(stride, "stride", owner, min=1)
    if not winograd_applicable(w_shape, stride):
        return "im2col"
    n, h, w, _ = x_shape
    c_in = w_shape[2]
    ho, wo = output_hw((h, w), w_shape[:2], stride, check_pads(pads, owner))
    tiles = n * -(-ho // 4) * -(-wo // 4)
    if c_in >= WINOGRAD_MIN_CHANNELS and tiles >= MIN_TILES:
        return "winograd"
    return "im2col"
