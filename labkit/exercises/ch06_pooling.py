"""Chapter 6 (06_pooling.ipynb): max and average pooling, forward and backward.

Max pooling (padding with :math:`-\\infty`, so padding never wins):

.. math:: y[n, i, j, c] = \\max_{u < k_h, v < k_w} x_{pad}[n, i s_h + u, j s_w + v, c]

its cache stores, per output, the flat index ``u * kw + v`` of the first maximum in row-major
window order; the backward pass sends ``dy[n, i, j, c]`` to that pixel, *adding* up where
overlapping windows (stride < size) pick the same pixel.

Average pooling over the real (unpadded) pixels of each window (``count_include_pad=False``):
``y = sum / count`` and the backward gives every real pixel of the window ``dy / count``.

Forward exercises are graded on ``y`` (return ``(y, cache)`` like the reference, or ``y``).
Backward exercises receive the reference's cache: ``(x_shape, arg, size, stride, pads)`` for
max pooling, ``(x_shape, counts, size, stride, pads)`` for average pooling.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.conv import pad_nhwc, unpad_nhwc
from labkit.ops.im2col import sliding_windows
from labkit.ops.pooling import (
    avgpool_backward,
    avgpool_forward,
    check_pool_args,
    maxpool_backward,
    maxpool_forward,
    window_counts,
)


def _first(result):
    return result[0] if isinstance(result, tuple) else result


def _configs(rng, n_random=24):
    """(x_shape, size, stride, pads): overlapping, non-square, asymmetric padding, odd sizes."""
    fixed = [((1, 4, 4, 1), (2, 2), (2, 2), ((0, 0), (0, 0))),
             ((2, 5, 5, 3), (3, 3), (2, 2), ((0, 0), (0, 0))),
             ((1, 5, 5, 1), (3, 3), (1, 1), ((0, 0), (0, 0))),
             ((1, 6, 7, 2), (2, 3), (1, 2), ((0, 0), (0, 0))),
             ((2, 5, 5, 2), (3, 3), (2, 2), ((1, 1), (1, 1))),
             ((1, 6, 6, 1), (2, 2), (2, 2), ((0, 1), (1, 0))),
             ((1, 7, 5, 2), (3, 2), (2, 1), ((1, 0), (0, 1))),
             ((3, 4, 4, 1), (4, 4), (1, 1), ((0, 0), (0, 0))),
             ((1, 5, 6, 1), (3, 3), (3, 3), ((2, 2), (1, 1)))]
    out = list(fixed)
    while len(out) < len(fixed) + n_random:
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        pads = tuple(tuple(int(rng.integers(0, k)) for _ in range(2)) for k in (kh, kw))
        h = int(rng.integers(max(kh - sum(pads[0]), 1), 9))
        w = int(rng.integers(max(kw - sum(pads[1]), 1), 9))
        shape = (int(rng.integers(1, 3)), h, w, int(rng.integers(1, 4)))
        try:
            check_pool_args(shape, (kh, kw), (sh, sw), pads)
        except ValueError:
            continue
        out.append((shape, (kh, kw), (sh, sw), pads))
    return out


def _inputs(rng, shape, i):
    if i % 3 == 0:                           # small integers: ties inside windows
        x = rng.integers(-3, 2, size=shape).astype(np.float64)
    elif i % 3 == 1:                         # all negative: padding must never win
        x = -rng.uniform(0.5, 2.0, size=shape)
    else:
        x = rng.standard_normal(shape)
    return x.astype(np.float32) if i % 5 == 4 else x


def _label(name, x, size, stride, pads, extra=""):
    return (f"{name}(x {x.shape} {x.dtype.name}{extra}, size={size}, stride={stride}, "
            f"pads={pads})")


def _forward_cases(name):
    def cases(rng):
        for i, (shape, size, stride, pads) in enumerate(_configs(rng)):
            x = _inputs(rng, shape, i)
            yield Case(_label(name, x, size, stride, pads), (x, size, stride, pads))
    return cases


def _backward_cases(forward, name):
    def cases(rng):
        for i, (shape, size, stride, pads) in enumerate(_configs(rng)):
            x = _inputs(rng, shape, i)
            y, cache = forward(x, size, stride, pads)
            dy = rng.standard_normal(y.shape).astype(x.dtype)
            yield Case(f"{name}(dy {dy.shape} {dy.dtype.name}, cache of "
                       f"{forward.__name__}(x {x.shape}, size={size}, stride={stride}, "
                       f"pads={pads}))", (dy, cache))
    return cases


# ----------------------------------------------------------------------------- max forward

def _maxpool_zero_pad(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    win = sliding_windows(pad_nhwc(x, pads, 0.0), size, stride)
    return win.max(axis=(3, 4))


def _maxpool_one_side(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    moved = ((pads[0][0] + pads[0][1], 0), (pads[1][0] + pads[1][1], 0))
    return maxpool_forward(x, size, stride, moved)[0]


def _maxpool_stride_is_size(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return maxpool_forward(x, size, size, pads)[0]


def _maxpool_average(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return avgpool_forward(x, size, stride, pads)[0]


def _maxpool_swapped(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return maxpool_forward(x, size[::-1], stride[::-1], pads[::-1])[0]


# ----------------------------------------------------------------------------- max backward

def _maxback_overwrite(dy, cache):
    x_shape, arg, size, stride, pads = cache
    _kh, kw = size
    n, h, w, c = x_shape
    dxp = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dy.dtype)
    _, _ho, _wo, _ = dy.shape
    nn, ii, jj, cc = np.indices(dy.shape)
    u, v = np.divmod(arg, kw)
    dxp[nn, ii * stride[0] + u, jj * stride[1] + v, cc] = dy     # last write wins
    return unpad_nhwc(dxp, pads)


def _maxback_transposed_index(dy, cache):
    x_shape, arg, size, stride, pads = cache
    kh, _kw = size
    n, h, w, c = x_shape
    dxp = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dy.dtype)
    nn, ii, jj, cc = np.indices(dy.shape)
    v, u = np.divmod(arg, kh)                      # decoded as v * kh + u
    rows = ii * stride[0] + u
    cols = jj * stride[1] + v
    ok = (rows < dxp.shape[1]) & (cols < dxp.shape[2])
    np.add.at(dxp, (nn[ok], rows[ok], cols[ok], cc[ok]), dy[ok])
    return unpad_nhwc(dxp, pads)


def _maxback_uncropped(dy, cache):
    x_shape, arg, size, stride, pads = cache
    padded = (x_shape[0], x_shape[1] + sum(pads[0]), x_shape[2] + sum(pads[1]), x_shape[3])
    return maxpool_backward(dy, (padded, arg, size, stride, ((0, 0), (0, 0))))


def _maxback_spread(dy, cache):
    x_shape, _arg, size, stride, pads = cache
    counts = window_counts(x_shape[1:3], size, stride, pads, dy.dtype)
    dx = avgpool_backward(dy, (x_shape, counts, size, stride, pads))
    return dx


def _maxback_wrong_crop(dy, cache):
    x_shape, arg, size, stride, pads = cache
    (t, b), (l, r) = pads
    padded = (x_shape[0], x_shape[1] + t + b, x_shape[2] + l + r, x_shape[3])
    dxp = maxpool_backward(dy, (padded, arg, size, stride, ((0, 0), (0, 0))))
    return unpad_nhwc(dxp, ((b, t), (r, l)))


# ----------------------------------------------------------------------------- avg

def _avgpool_include_pad(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    win = sliding_windows(pad_nhwc(x, pads), size, stride)
    return win.sum(axis=(3, 4)) / (size[0] * size[1])


def _avgpool_one_side(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    moved = ((pads[0][0] + pads[0][1], 0), (pads[1][0] + pads[1][1], 0))
    return avgpool_forward(x, size, stride, moved)[0]


def _avgpool_stride_is_size(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return avgpool_forward(x, size, size, pads)[0]


def _avgback_no_division(dy, cache):
    x_shape, counts, size, stride, pads = cache
    return avgpool_backward(dy, (x_shape, np.ones_like(counts), size, stride, pads))


def _avgback_full_window(dy, cache):
    x_shape, counts, size, stride, pads = cache
    full = np.full_like(counts, size[0] * size[1])
    return avgpool_backward(dy, (x_shape, full, size, stride, pads))


def _avgback_overwrite(dy, cache):
    x_shape, counts, size, stride, pads = cache
    n, h, w, c = x_shape
    share = dy / counts[None, :, :, None]
    dxp = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), dtype=dy.dtype)
    _, ho, wo, _ = dy.shape
    for i in range(ho):
        for j in range(wo):
            dxp[:, i * stride[0]:i * stride[0] + size[0],
                j * stride[1]:j * stride[1] + size[1], :] = share[:, i:i + 1, j:j + 1, :]
    return unpad_nhwc(dxp, pads)


def _avgback_uncropped(dy, cache):
    x_shape, counts, size, stride, pads = cache
    padded = (x_shape[0], x_shape[1] + sum(pads[0]), x_shape[2] + sum(pads[1]), x_shape[3])
    return avgpool_backward(dy, (padded, counts, size, stride, ((0, 0), (0, 0))))


_OVERWRITE = ("Where pooling windows overlap (stride < size) the gradients are overwritten "
              "instead of summed: a pixel that belongs to several windows receives the sum of "
              "their contributions.")
_UNCROPPED = ("Your gradient still has the padded size: the gradient that lands on padding "
              "belongs to no input pixel, crop it away (the result has x's shape).")
_ONE_SIDE = ("Your output looks as if all the padding were applied on one side (top/left); "
             "pads = ((top, bottom), (left, right)) can be asymmetric.")
_STRIDE = ("Your windows move by the window size instead of the stride: with stride < size the "
           "windows overlap.")

EXERCISES = [
    Exercise(
        id="maxpool_forward",
        chapter="06_pooling.ipynb",
        reference="labkit.ops.pooling.maxpool_forward",
        summary="Max pooling forward on NHWC with window size, stride and (asymmetric) padding; "
                "padding never wins a maximum.",
        cases=_forward_cases("maxpool_forward"),
        output=_first,
        mistakes=[
            Mistake("zero padding", _maxpool_zero_pad,
                    "Padded windows of negative inputs give 0 in your output: pad with -inf "
                    "(padding must never win the maximum)."),
            Mistake("one-sided padding", _maxpool_one_side, _ONE_SIDE),
            Mistake("stride ignored", _maxpool_stride_is_size, _STRIDE),
            Mistake("average instead of max", _maxpool_average,
                    "Your output is the window average, not the maximum."),
            Mistake("axes swapped", _maxpool_swapped,
                    "Height and width are swapped: size, stride and pads are given as "
                    "(rows, columns)."),
        ],
    ),
    Exercise(
        id="maxpool_backward",
        chapter="06_pooling.ipynb",
        reference="labkit.ops.pooling.maxpool_backward",
        summary="Max pooling backward from the cache (x_shape, arg, size, stride, pads): each "
                "dy goes to its window's winning pixel (arg = u*kw + v), summed over windows.",
        cases=_backward_cases(maxpool_forward, "maxpool_backward"),
        mistakes=[
            Mistake("overlaps overwritten", _maxback_overwrite, _OVERWRITE),
            Mistake("argmax decoded transposed", _maxback_transposed_index,
                    "The winning tap index is decoded the wrong way round: the cache stores "
                    "arg = u * kw + v (u the row inside the window)."),
            Mistake("padding not cropped", _maxback_uncropped, _UNCROPPED),
            Mistake("spread over the window", _maxback_spread,
                    "Your gradient is spread over the whole window like average pooling; max "
                    "pooling sends all of dy to the one winning pixel."),
            Mistake("crop on the wrong sides", _maxback_wrong_crop,
                    "The padded border is removed from the wrong sides: pads = ((top, bottom), "
                    "(left, right))."),
        ],
    ),
    Exercise(
        id="avgpool_forward",
        chapter="06_pooling.ipynb",
        reference="labkit.ops.pooling.avgpool_forward",
        summary="Average pooling forward over the real (unpadded) pixels of each window "
                "(count_include_pad=False).",
        cases=_forward_cases("avgpool_forward"),
        output=_first,
        mistakes=[
            Mistake("count includes padding", _avgpool_include_pad,
                    "At the borders you divide by kh*kw, counting the padded zeros; divide by the "
                    "number of real pixels in the window."),
            Mistake("one-sided padding", _avgpool_one_side, _ONE_SIDE),
            Mistake("stride ignored", _avgpool_stride_is_size, _STRIDE),
        ],
    ),
    Exercise(
        id="avgpool_backward",
        chapter="06_pooling.ipynb",
        reference="labkit.ops.pooling.avgpool_backward",
        summary="Average pooling backward from the cache (x_shape, counts, size, stride, pads): "
                "every real pixel of a window gets dy / count, summed over windows.",
        cases=_backward_cases(avgpool_forward, "avgpool_backward"),
        mistakes=[
            Mistake("1/N forgotten", _avgback_no_division,
                    "Your gradient is too large by the window count: the forward pass is a mean, "
                    "its 1/N factor appears in the gradient too."),
            Mistake("divided by kh*kw", _avgback_full_window,
                    "At the borders you divide by kh*kw; the forward divided by the number of "
                    "real pixels (the counts in the cache)."),
            Mistake("overlaps overwritten", _avgback_overwrite, _OVERWRITE),
            Mistake("padding not cropped", _avgback_uncropped, _UNCROPPED),
        ],
    ),
]
