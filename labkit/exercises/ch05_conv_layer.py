"""Chapter 5 (05_convolutional_layer.ipynb): im2col, col2im and the 1-D Winograd F(2, 3).

``im2col``: column matrix of an (already padded) NHWC input,

.. math:: \\mathrm{cols}[(n, i, j), (u, v, c)] = x[n, i s_h + u, j s_w + v, c]

of shape ``(N Ho Wo, kh kw C)`` with ``Ho = (H - kh) // sh + 1``.

``col2im``: its adjoint, scatter-*adding* every row back onto the pixels it was read from
(overlapping windows sum up).

``winograd_f2_3``: two outputs of the 3-tap correlation ``[d0 g0 + d1 g1 + d2 g2,
d1 g0 + d2 g1 + d3 g2]`` with the four Winograd products ``m1 = (d0 - d2) g0``,
``m2 = (d1 + d2)(g0 + g1 + g2)/2``, ``m3 = (d2 - d1)(g0 - g1 + g2)/2``, ``m4 = (d1 - d3) g2``,
output ``[m1 + m2 + m3, m2 - m3 - m4]``.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake, describe
from labkit.ops.im2col import col2im, im2col, sliding_windows


def _window_cases(rng, n_random=30):
    """(x_shape, kernel, stride) triples: the hard ones first, then random ones."""
    fixed = [((1, 4, 4, 1), (2, 2), (1, 1)), ((1, 5, 5, 1), (3, 3), (2, 2)),
             ((2, 5, 7, 3), (3, 2), (1, 2)), ((1, 6, 5, 2), (2, 3), (2, 1)),
             ((2, 7, 7, 2), (3, 3), (1, 1)), ((1, 3, 3, 4), (3, 3), (1, 1)),
             ((3, 6, 6, 1), (1, 1), (1, 1)), ((1, 8, 9, 2), (4, 3), (3, 2)),
             ((1, 5, 6, 1), (5, 1), (1, 3))]
    out = list(fixed)
    for _ in range(n_random):
        kh, kw = rng.integers(1, 5, size=2)
        sh, sw = rng.integers(1, 4, size=2)
        h = int(kh + rng.integers(0, 6))
        w = int(kw + rng.integers(0, 6))
        out.append(((int(rng.integers(1, 4)), h, w, int(rng.integers(1, 4))),
                    (int(kh), int(kw)), (int(sh), int(sw))))
    return out


def _im2col_cases(rng):
    for i, (shape, kernel, stride) in enumerate(_window_cases(rng)):
        dtype = np.float32 if i % 4 == 3 else np.float64
        x = rng.standard_normal(shape).astype(dtype)
        label = f"im2col(x {shape} {np.dtype(dtype).name}, kernel={kernel}, stride={stride})"
        yield Case(label, (x, kernel, stride))


def _im2col_cuv(x, kernel, stride=(1, 1)):
    win = sliding_windows(x, kernel, stride)                  # n, ho, wo, kh, kw, c
    n, ho, wo, kh, kw, c = win.shape
    return win.transpose(0, 1, 2, 5, 3, 4).reshape(n * ho * wo, kh * kw * c)


def _im2col_transposed(x, kernel, stride=(1, 1)):
    return im2col(x, kernel, stride).T


def _im2col_rows_colmajor(x, kernel, stride=(1, 1)):
    win = sliding_windows(x, kernel, stride)
    n, ho, wo, kh, kw, c = win.shape
    return win.transpose(0, 2, 1, 3, 4, 5).reshape(n * ho * wo, kh * kw * c)


def _im2col_vu(x, kernel, stride=(1, 1)):
    win = sliding_windows(x, kernel, stride)
    n, ho, wo, kh, kw, c = win.shape
    return win.transpose(0, 1, 2, 4, 3, 5).reshape(n * ho * wo, kh * kw * c)


def _im2col_swapped_stride(x, kernel, stride=(1, 1)):
    return im2col(x, kernel, stride[::-1])


def _col2im_cases(rng):
    for i, (shape, kernel, stride) in enumerate(_window_cases(rng)):
        dtype = np.float32 if i % 4 == 3 else np.float64
        n, h, w, c = shape
        ho = (h - kernel[0]) // stride[0] + 1
        wo = (w - kernel[1]) // stride[1] + 1
        cols = rng.standard_normal((n * ho * wo, kernel[0] * kernel[1] * c)).astype(dtype)
        label = (f"col2im(cols {cols.shape} {np.dtype(dtype).name}, x_shape={shape}, "
                 f"kernel={kernel}, stride={stride})")
        yield Case(label, (cols, shape, kernel, stride))


def _col2im_overwrite(cols, x_shape, kernel, stride=(1, 1)):
    n, h, w, c = x_shape
    kh, kw = kernel
    sh, sw = stride
    ho = (h - kh) // sh + 1
    wo = (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, kh, kw, c)
    out = np.zeros(x_shape, dtype=cols.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] = blocks[:, i, j]
    return out


def _col2im_average(cols, x_shape, kernel, stride=(1, 1)):
    out = col2im(cols, x_shape, kernel, stride)
    counts = col2im(im2col(np.ones(x_shape, dtype=cols.dtype), kernel, stride), x_shape, kernel,
                    stride)
    return np.where(counts > 0, out / np.maximum(counts, 1), 0).astype(cols.dtype)


def _col2im_cuv(cols, x_shape, kernel, stride=(1, 1)):
    _n, _h, _w, c = x_shape
    kh, kw = kernel
    reordered = cols.reshape(-1, c, kh, kw).transpose(0, 2, 3, 1).reshape(cols.shape)
    return col2im(reordered, x_shape, kernel, stride)


def _col2im_float64(cols, x_shape, kernel, stride=(1, 1)):
    return col2im(cols.astype(np.float64), x_shape, kernel, stride)


def _winograd_cases(rng):
    yield Case("winograd_f2_3(d=[1, 2, 3, 4], g=[1, 0, -1])",
               (np.array([1.0, 2, 3, 4]), np.array([1.0, 0, -1])))
    yield Case("winograd_f2_3(d=[0, 0, 1, 0] (lists), g=[1, 2, 3])", ([0, 0, 1, 0], [1, 2, 3]))
    yield Case("winograd_f2_3(d=ones, g=[0, 1, 0])", (np.ones(4), np.array([0.0, 1.0, 0.0])))
    for i in range(27):
        d = rng.standard_normal(4) * 10.0 ** rng.integers(-2, 3)
        g = rng.standard_normal(3)
        yield Case(f"winograd_f2_3(d={describe(np.round(d, 3).tolist())}, "
                   f"g={describe(np.round(g, 3).tolist())}) [random case {i}]", (d, g))


def _direct(d, g):
    d = np.asarray(d, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    return np.array([d[:3] @ g, d[1:] @ g])


def _wino_flipped(d, g):
    return _direct(d, np.asarray(g, dtype=np.float64)[::-1])


def _wino_no_half(d, g):
    d0, d1, d2, d3 = np.asarray(d, dtype=np.float64)
    g0, g1, g2 = np.asarray(g, dtype=np.float64)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * (g0 + g1 + g2)
    m3 = (d2 - d1) * (g0 - g1 + g2)
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


def _wino_sign(d, g):
    d0, d1, d2, d3 = np.asarray(d, dtype=np.float64)
    g0, g1, g2 = np.asarray(g, dtype=np.float64)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * ((g0 + g1 + g2) / 2)
    m3 = (d2 - d1) * ((g0 - g1 + g2) / 2)
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 + m4])


def _wino_reversed(d, g):
    return _direct(d, g)[::-1].copy()


EXERCISES = [
    Exercise(
        id="im2col",
        chapter="05_convolutional_layer.ipynb",
        reference="labkit.ops.im2col.im2col",
        summary="Lay every kh x kw window of an NHWC input out as one row: (N*Ho*Wo, kh*kw*C), "
                "rows in (n, i, j) order, columns in (u, v, c) order.",
        cases=_im2col_cases,
        mistakes=[
            Mistake("channel-first columns", _im2col_cuv,
                    "Your columns read each window channel by channel ((c, u, v) order); the "
                    "column index must follow w.reshape(kh*kw*C_in, C_out), i.e. (u, v, c) with "
                    "the channel fastest."),
            Mistake("transposed output", _im2col_transposed,
                    "Your output is the transposed matrix: one row per window (N*Ho*Wo rows), "
                    "one column per (u, v, c) tap."),
            Mistake("column-major windows", _im2col_rows_colmajor,
                    "Your rows visit the windows column by column; the row index is (n, i, j) "
                    "with the horizontal position j fastest."),
            Mistake("kernel taps transposed", _im2col_vu,
                    "Inside a window you read the taps column by column ((v, u, c)); read them "
                    "row by row (u, then v, then c)."),
            Mistake("strides swapped", _im2col_swapped_stride,
                    "Vertical and horizontal strides are swapped: stride = (sh, sw) moves rows by "
                    "sh and columns by sw."),
        ],
    ),
    Exercise(
        id="col2im",
        chapter="05_convolutional_layer.ipynb",
        reference="labkit.ops.im2col.col2im",
        summary="The adjoint of im2col: add every row of a column matrix back onto the input "
                "pixels it came from; overlapping windows sum up.",
        cases=_col2im_cases,
        mistakes=[
            Mistake("overlaps overwritten", _col2im_overwrite,
                    "Where windows overlap (stride < kernel) your values are overwritten instead "
                    "of summed: col2im is the gradient of im2col, every window a pixel belongs to "
                    "adds its contribution."),
            Mistake("overlaps averaged", _col2im_average,
                    "Your output averages the overlapping contributions; col2im sums them (it is "
                    "not an inverse of im2col but its adjoint)."),
            Mistake("channel-first columns", _col2im_cuv,
                    "You read the columns in (c, u, v) order; im2col writes them in (u, v, c) "
                    "order (channel fastest)."),
            Mistake("float64 output", _col2im_float64,
                    "Your output is float64 for a float32 input: allocate the result with "
                    "dtype=cols.dtype."),
        ],
    ),
    Exercise(
        id="winograd_f2_3",
        chapter="05_convolutional_layer.ipynb",
        reference="labkit.ops.winograd.winograd_f2_3",
        summary="Two outputs of the 3-tap correlation of d (4,) with g (3,) using Winograd's "
                "four products m1..m4.",
        cases=_winograd_cases,
        mistakes=[
            Mistake("kernel flipped", _wino_flipped,
                    "Your result equals a true convolution (the filter flipped); layers compute "
                    "the cross-correlation y_i = sum_k d_{i+k} g_k."),
            Mistake("missing 1/2", _wino_no_half,
                    "Your m2 and m3 lack the factor 1/2 of (g0 + g1 + g2)/2 and (g0 - g1 + g2)/2."),
            Mistake("sign of m4", _wino_sign,
                    "The second output has the wrong sign on m4: check y1 = d1 g0 + d2 g1 + d3 g2 "
                    "against your combination of m2, m3, m4 by expanding it."),
            Mistake("outputs reversed", _wino_reversed,
                    "Your two outputs are in reverse order: y0 uses d0..d2, y1 uses d1..d3."),
        ],
    ),
]
