"""Which convolution algorithm ``Conv2D(algorithm="auto")`` runs: a fixed, documented rule.

The rule comes from timing the algorithms against each other on the course machine, not from
timing each call.  CPU milliseconds of one thread (so that a busy machine does not tilt the
comparison), float32, 'same' padding, forward / forward+backward (measured 2026-12-02):

=======================  ================  ================  ================  =========
shape                    im2col            Winograd F(4x4)   direct            fastest
=======================  ================  ================  ================  =========
16x48x48, 1 -> 32         2.0 /   9.9       6.7 /  11.8       1.8 /   6.1      direct
16x48x48, 1 -> 64         4.0 /  11.4      12.2 /  20.8       3.0 /  10.1      direct
16x48x48, 2 -> 32         2.7 /   9.3       2.7 /  10.0       3.2 /   9.7      im2col
16x48x48, 4 -> 64         7.3 /  19.7       5.0 /  16.7       9.9 /  27.3      Winograd
16x48x48, 8 -> 8          4.9 /  16.2       2.3 /   6.9       8.9 /  29.3      Winograd
16x48x48, 16 -> 16       11.6 /  35.4       3.7 /  11.0      25.1 /  72.0      Winograd
16x48x48, 32 -> 1        12.6 /  45.0       2.6 /  11.7       1.7 /   5.9      direct
16x48x48, 32 -> 4        17.2 /  47.2       3.8 /  10.8       4.1 /  15.2      Winograd
16x48x48, 64 -> 1        23.1 /  77.7       4.8 /  21.4       3.0 /   9.5      direct
16x96x96, 1 -> 64        17.7 /  46.5      46.6 /  75.8      12.1 /  38.7      direct
16x96x96, 32 -> 1        49.2 / 175.1      10.6 /  45.3       7.5 /  23.9      direct
16x48x48, 1 -> 64, 9x9   12.9 /  50.0       -                19.7 /  61.5      im2col
16x48x48, 32 -> 1, 5x5   32.1 / 108.1       -                 4.5 /  14.6      direct
4x16x16, 32 -> 1          0.4 /   1.1       0.2 /   0.7       0.1 /   0.3      direct
=======================  ================  ================  ================  =========

(Earlier measurements of im2col against Winograd alone, on the same machine: 32 -> 32 16.0 /
46.2 against 3.5 / 10.6, 64 -> 64 49.6 / 123.7 against 8.4 / 27.8, 64 -> 256 90.9 / 364.5
against 39.6 / 142.3; 4x16x16, 32 -> 32: 0.27 / 0.85 against 0.30 / 0.97.)

* ``direct`` (stride 1) when one side has a single channel: ``C_out = 1`` with any kernel, or
  ``C_in = 1`` with a kernel of at most 3x3 taps.  There a GEMM has a dimension of size 1, and
  both im2col and Winograd move many times more data than they compute with (an SR network's
  head ``1 -> F`` and tail ``F -> 1``).  With a large kernel and one input channel im2col's
  column matrix is small and its GEMM is long, and it wins.
* Otherwise Winograd needs a 3x3 kernel and stride 1 (anything else: ``im2col``), and what
  decides is the number of *input* channels: im2col's cost is building the column matrix,
  ``9 C_in`` values per output pixel, and its GEMM; with a few input channels both are small,
  while Winograd still pays an output transform for every output channel.  From ``C_in = 8``
  on Winograd wins, by 4-6x at 32-64 channels.
* Small batches of small images (fewer than ``MIN_TILES`` 4x4 output tiles) do not repay
  Winograd's fixed costs (transformed filters, thread hand-off).

``naive`` is never chosen: it exists to be read, not to be fast.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_int
from labkit.ops.geometry import check_pads, output_hw

#: Largest number of kernel taps for which a one-input-channel convolution runs ``direct``.
DIRECT_MAX_TAPS_ONE_INPUT = 9
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
        ``"direct"`` for stride 1 with ``C_out = 1``, or ``C_in = 1`` and at most
        ``DIRECT_MAX_TAPS_ONE_INPUT`` kernel taps; else ``"winograd"`` when the kernel is 3x3
        with stride 1, ``C_in >= WINOGRAD_MIN_CHANNELS`` and there are at least ``MIN_TILES``
        4x4 output tiles; ``"im2col"`` otherwise.
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
    kh, kw, c_in, c_out = w_shape
    if stride == (1, 1) and (c_out == 1 or (c_in == 1 and kh * kw <= DIRECT_MAX_TAPS_ONE_INPUT)):
        return "direct"
    if not winograd_applicable(w_shape, stride):
        return "im2col"
    n, h, w, _ = x_shape
    c_in = w_shape[2]
    ho, wo = output_hw((h, w), w_shape[:2], stride, check_pads(pads, owner))
    tiles = n * -(-ho // 4) * -(-wo // 4)
    if c_in >= WINOGRAD_MIN_CHANNELS and tiles >= MIN_TILES:
        return "winograd"
    return "im2col"
