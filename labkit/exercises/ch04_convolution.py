"""Chapter 4 (04_convolution.ipynb): direct convolution and the "same" padding rule.

``conv2d_naive_forward(x, w, b, stride, pads)``: the cross-correlation every framework calls
convolution, on NHWC arrays with weights ``(kh, kw, C_in, C_out)``:

.. math:: y[n, i, j, f] = b[f] + \\sum_{u, v, c} x_{pad}[n, i s_h + u, j s_w + v, c]\\, w[u, v, c, f]

with ``Ho = (H + top + bottom - kh) // sh + 1``.  Graded on ``y`` (return ``(y, cache)`` like the
reference or just ``y``).

``conv2d_naive_backward(dy, cache)`` with the forward's cache ``(x, w, has_bias, stride, pads)``
returns ``(dx, dw, db)``:

.. math:: dw[u, v] = \\sum_{n, i, j} x_{pad}[n, i s_h + u, j s_w + v, :]^T\\, dy[n, i, j, :],
          \\qquad db = \\sum_{n, i, j} dy[n, i, j, :]

and ``dx`` scatters ``dy[n, i, j] w[u, v]^T`` back onto the padded input pixel
``(i s_h + u, j s_w + v)`` it was read from, summed over taps and windows, then cropped to
``x``'s shape; ``db`` is None when ``has_bias`` is False.

``resolve_padding(padding, kernel, stride, in_hw)``: explicit ``((top, bottom), (left, right))``
for ``"valid"`` (none), an int or a pair (symmetric), and ``"same"``: ``out = ceil(in / s)``,
``total = max((out - 1) s + k - in, 0)``, split with the extra pixel at the bottom/right.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.conv import (
    conv2d_naive_backward,
    conv2d_naive_forward,
    pad_nhwc,
    resolve_padding,
    unpad_nhwc,
)


def _first(result):
    return result[0] if isinstance(result, tuple) else result


def _conv_configs(rng):
    fixed = [((1, 5, 5, 1), (3, 3, 1, 1), (1, 1), ((0, 0), (0, 0)), False),
             ((2, 6, 7, 3), (3, 3, 3, 2), (1, 1), ((1, 1), (1, 1)), True),
             ((1, 7, 7, 2), (3, 3, 2, 2), (2, 2), ((1, 1), (1, 1)), True),
             ((1, 6, 8, 1), (2, 3, 1, 3), (1, 2), ((0, 0), (0, 0)), True),
             ((2, 6, 6, 2), (2, 2, 2, 1), (1, 1), ((0, 1), (0, 1)), False),
             ((1, 5, 6, 2), (3, 2, 2, 2), (2, 1), ((1, 0), (2, 1)), True),
             ((1, 4, 4, 3), (1, 1, 3, 2), (1, 1), ((0, 0), (0, 0)), True),
             ((1, 9, 9, 1), (5, 5, 1, 1), (3, 3), ((2, 2), (2, 2)), False)]
    out = list(fixed)
    for _ in range(24):
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        pads = tuple(tuple(int(rng.integers(0, k)) for _ in range(2)) for k in (kh, kw))
        h = int(rng.integers(max(kh - sum(pads[0]), 1), 9))
        w = int(rng.integers(max(kw - sum(pads[1]), 1), 9))
        cin, cout = (int(v) for v in rng.integers(1, 4, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        out.append(((int(rng.integers(1, 3)), h, w, cin), (kh, kw, cin, cout), stride, pads,
                    bool(rng.integers(0, 2))))
    return out


def _conv_cases(rng):
    for i, (xs, ws, stride, pads, bias) in enumerate(_conv_configs(rng)):
        dtype = np.float32 if i % 5 == 4 else np.float64
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[3]).astype(dtype) if bias else None
        label = (f"conv2d_naive_forward(x {xs} {np.dtype(dtype).name}, w {ws}, "
                 f"b={f'({ws[3]},)' if bias else None}, stride={stride}, pads={pads})")
        yield Case(label, (x, w, b, stride, pads))


def _conv_flipped(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return conv2d_naive_forward(x, w[::-1, ::-1].copy(), b, stride, pads)[0]


def _conv_one_side(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    moved = ((pads[0][0] + pads[0][1], 0), (pads[1][0] + pads[1][1], 0))
    return conv2d_naive_forward(x, w, b, stride, moved)[0]


def _conv_no_bias(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return conv2d_naive_forward(x, w, None, stride, pads)[0]


def _conv_stride_swapped(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return conv2d_naive_forward(x, w, b, stride[::-1], pads)[0]


def _conv_kernel_transposed(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    if w.shape[0] != w.shape[1]:
        raise ValueError("not applicable")
    return conv2d_naive_forward(x, w.transpose(1, 0, 2, 3).copy(), b, stride, pads)[0]


def _conv_backward_cases(rng):
    for i, (xs, ws, stride, pads, bias) in enumerate(_conv_configs(rng)):
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        b = rng.standard_normal(ws[3]) if bias else None
        y, cache = conv2d_naive_forward(x, w, b, stride, pads)
        dy = rng.standard_normal(y.shape)
        label = (f"conv2d_naive_backward(dy {dy.shape}, cache of conv2d_naive_forward(x {xs}, "
                 f"w {ws}, b={f'({ws[3]},)' if bias else None}, stride={stride}, "
                 f"pads={pads}))")
        yield Case(label, (dy, cache))


def _cb_overwrite(dy, cache):
    x, w, _has_bias, (sh, sw), pads = cache
    _, dw, db = conv2d_naive_backward(dy, cache)
    kh, kw = w.shape[:2]
    xp = pad_nhwc(x, pads)
    dxp = np.zeros(xp.shape)
    _, ho, wo, _ = dy.shape
    for i in range(ho):
        for j in range(wo):
            dxp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] = np.einsum("nf,uvcf->nuvc",
                                                                         dy[:, i, j], w)
    return unpad_nhwc(dxp, pads), dw, db


def _cb_uncropped(dy, cache):
    x, w, has_bias, stride, pads = cache
    return conv2d_naive_backward(dy, (pad_nhwc(x, pads), w, has_bias, stride,
                                      ((0, 0), (0, 0))))


def _cb_db_mean(dy, cache):
    dx, dw, db = conv2d_naive_backward(dy, cache)
    if db is None:
        raise ValueError("not applicable")
    return dx, dw, db / (dy.size // dy.shape[-1])


def _cb_db_always(dy, cache):
    dx, dw, _db = conv2d_naive_backward(dy, cache)
    return dx, dw, dy.sum(axis=(0, 1, 2))


def _cb_dx_flipped(dy, cache):
    x, w, has_bias, stride, pads = cache
    dx, _, _ = conv2d_naive_backward(dy, (x, w[::-1, ::-1].copy(), has_bias, stride, pads))
    _, dw, db = conv2d_naive_backward(dy, cache)
    return dx, dw, db


def _cb_dw_flipped(dy, cache):
    dx, dw, db = conv2d_naive_backward(dy, cache)
    return dx, dw[::-1, ::-1].copy(), db


def _padding_cases(rng):
    yield Case("resolve_padding('valid', kernel=(3, 3), stride=(1, 1), in_hw=(8, 8))",
               ("valid", (3, 3), (1, 1), (8, 8)))
    yield Case("resolve_padding(2, kernel=(5, 5), stride=(1, 1), in_hw=(8, 8))",
               (2, (5, 5), (1, 1), (8, 8)))
    yield Case("resolve_padding((1, 0), kernel=(3, 1), stride=(1, 1), in_hw=(8, 8))",
               ((1, 0), (3, 1), (1, 1), (8, 8)))
    yield Case("resolve_padding((0, 2), kernel=(1, 5), stride=(1, 1), in_hw=(6, 9))",
               ((0, 2), (1, 5), (1, 1), (6, 9)))
    yield Case("resolve_padding((2, 1), kernel=(5, 3), stride=(2, 2), in_hw=(9, 9))",
               ((2, 1), (5, 3), (2, 2), (9, 9)))
    fixed = [((3, 3), (1, 1), (8, 8)), ((2, 2), (1, 1), (6, 6)), ((4, 4), (1, 1), (7, 7)),
             ((3, 3), (2, 2), (8, 8)), ((3, 3), (2, 2), (7, 7)), ((1, 1), (2, 2), (7, 7)),
             ((1, 1), (3, 3), (8, 8)), ((2, 3), (2, 1), (9, 6)), ((5, 4), (3, 2), (10, 9)),
             ((3, 3), (4, 4), (9, 9))]
    for kernel, stride, hw in fixed:
        yield Case(f"resolve_padding('same', kernel={kernel}, stride={stride}, in_hw={hw})",
                   ("same", kernel, stride, hw))
    for _ in range(22):
        kernel = tuple(int(v) for v in rng.integers(1, 7, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 5, size=2))
        hw = tuple(int(v) for v in rng.integers(3, 17, size=2))
        yield Case(f"resolve_padding('same', kernel={kernel}, stride={stride}, in_hw={hw})",
                   ("same", kernel, stride, hw))


def _pad_extra_top(padding, kernel, stride, in_hw, owner="conv2d"):
    pads = resolve_padding(padding, kernel, stride, in_hw, owner)
    return tuple((b, a) for a, b in pads)


def _pad_ignore_stride(padding, kernel, stride, in_hw, owner="conv2d"):
    if padding == "same":
        return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel)
    return resolve_padding(padding, kernel, stride, in_hw, owner)


def _pad_negative(padding, kernel, stride, in_hw, owner="conv2d"):
    if padding != "same":
        return resolve_padding(padding, kernel, stride, in_hw, owner)
    pads = []
    for n, k, s in zip(in_hw, kernel, stride):
        total = (math.ceil(n / s) - 1) * s + k - n
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _pad_floor(padding, kernel, stride, in_hw, owner="conv2d"):
    if padding != "same":
        return resolve_padding(padding, kernel, stride, in_hw, owner)
    pads = []
    for n, k, s in zip(in_hw, kernel, stride):
        total = max((n // s - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _pad_pair_swapped(padding, kernel, stride, in_hw, owner="conv2d"):
    if isinstance(padding, tuple):
        padding = padding[::-1]
    return resolve_padding(padding, kernel, stride, in_hw, owner)


def _rf_cases(rng):
    yield Case("receptive_field_sizes([3, 3, 3])", ([3, 3, 3],))
    yield Case("receptive_field_sizes([])", ([],))
    yield Case("receptive_field_sizes([3] * 8)", ([3] * 8,))
    yield Case("receptive_field_sizes([5, 3], strides=2)", ([5, 3],), {"strides": 2})
    yield Case("receptive_field_sizes([3, 3, 3], strides=[2, 1, 2])", ([3, 3, 3], [2, 1, 2]))
    yield Case("receptive_field_sizes([3, 3, 3], dilations=[1, 2, 4])", ([3, 3, 3],),
               {"dilations": [1, 2, 4]})
    yield Case("receptive_field_sizes([1, 1])", ([1, 1],))
    for _ in range(18):
        n = int(rng.integers(1, 7))
        kernels = [int(k) for k in rng.choice([1, 2, 3, 5, 7], size=n)]
        strides = [int(v) for v in rng.integers(1, 4, size=n)] if rng.integers(0, 2) else None
        dilations = [int(v) for v in rng.integers(1, 4, size=n)] if rng.integers(0, 2) else 1
        yield Case(f"receptive_field_sizes({kernels}, strides={strides}, dilations={dilations})",
                   (kernels, strides, dilations))


def _rf_per_layer(value, n):
    if value is None:
        value = 1
    return [int(value)] * n if np.isscalar(value) else [int(v) for v in value]


def _rf_core(kernels, strides=None, dilations=None, *, new_jump=False, use_dilation=True,
             full_kernel=False, drop_first=False):
    kernels = [int(k) for k in kernels]
    n = len(kernels)
    strides = _rf_per_layer(strides, n)
    dilations = _rf_per_layer(dilations, n) if use_dilation else [1] * n
    size, jump = [1], [1]
    for k, st, d in zip(kernels, strides, dilations):
        j = jump[-1] * st if new_jump else jump[-1]
        size.append(size[-1] + d * (k if full_kernel else k - 1) * j)
        jump.append(jump[-1] * st)
    out = {"depth": np.arange(n + 1), "size": np.array(size), "jump": np.array(jump)}
    if drop_first:
        out = {key: v[1:] for key, v in out.items()}
    return out


def _rf_variant(**twist):
    def variant(kernels, strides=None, dilations=None):
        return _rf_core(kernels, strides, dilations, **twist)
    return variant


EXERCISES = [
    Exercise(
        id="conv2d_naive_forward",
        chapter="04_convolution.ipynb",
        reference="labkit.ops.conv.conv2d_naive_forward",
        summary="Direct convolution (cross-correlation) of an NHWC batch with weights "
                "(kh, kw, C_in, C_out), optional bias, stride and asymmetric zero padding.",
        cases=_conv_cases,
        output=_first,
        mistakes=[
            Mistake("true convolution", _conv_flipped,
                    "Your output equals a true convolution (kernel flipped); layers use "
                    "cross-correlation: y[i, j] = sum x[i s + u, j s + v] w[u, v]."),
            Mistake("one-sided padding", _conv_one_side,
                    "Your output looks as if all the padding were applied on one side "
                    "(top/left); pads = ((top, bottom), (left, right))."),
            Mistake("bias ignored", _conv_no_bias,
                    "The bias b is missing from your output (add b[f] to every output of filter "
                    "f when b is not None)."),
            Mistake("strides swapped", _conv_stride_swapped,
                    "Vertical and horizontal strides are swapped: stride = (sh, sw)."),
            Mistake("kernel transposed", _conv_kernel_transposed,
                    "Your kernel is transposed (rows and columns of w swapped): w[u, v] "
                    "multiplies the pixel u rows down and v columns right."),
        ],
    ),
    Exercise(
        id="conv2d_naive_backward",
        chapter="04_convolution.ipynb",
        reference="labkit.ops.conv.conv2d_naive_backward",
        summary="Gradients (dx, dw, db) of the direct convolution from its cache "
                "(x, w, has_bias, stride, pads); db is None when the forward had no bias.",
        cases=_conv_backward_cases,
        mistakes=[
            Mistake("overlaps overwritten", _cb_overwrite,
                    "Where windows overlap (stride < kernel) your dx overwrites instead of "
                    "summing: every window that read a pixel adds its contribution."),
            Mistake("padding not cropped", _cb_uncropped,
                    "Your dx still has the padded size: crop the gradient that landed on the "
                    "padding (dx has x's shape)."),
            Mistake("db as a mean", _cb_db_mean,
                    "db is the sum of dy over N, Ho and Wo, not its mean."),
            Mistake("db without bias", _cb_db_always,
                    "The forward pass had no bias (has_bias is False): return db = None."),
            Mistake("dx with a flipped kernel", _cb_dx_flipped,
                    "Your dx uses the kernel flipped: scattering dy[i, j] @ w[u, v]^T back onto "
                    "the pixel (i s + u, j s + v) it was read from needs no flip."),
            Mistake("dw flipped", _cb_dw_flipped,
                    "Your dw is flipped in space: dw[u, v] pairs dy[i, j] with "
                    "x_pad[i s + u, j s + v]."),
        ],
    ),
    Exercise(
        id="receptive_field_sizes",
        chapter="04_convolution.ipynb",
        reference="labkit.ops.receptive_field.receptive_field_sizes",
        summary="Receptive field r_l = r_{l-1} + d_l (k_l - 1) j_{l-1} and jump j_l = j_{l-1} s_l "
                "after each layer of a stack; returns dict(depth, size, jump).",
        cases=_rf_cases,
        mistakes=[
            Mistake("jump of the current layer", _rf_variant(new_jump=True),
                    "A layer's growth is measured in the jump of the layers *before* it: "
                    "r_l = r_{l-1} + d_l (k_l - 1) j_{l-1}; its own stride only affects later "
                    "layers."),
            Mistake("dilation ignored", _rf_variant(use_dilation=False),
                    "dilations are ignored: a dilated kernel spans d (k - 1) + 1 pixels."),
            Mistake("k instead of k - 1", _rf_variant(full_kernel=True),
                    "Each layer widens the field by k - 1 (times the jump), not by k: one 3x3 "
                    "layer sees 3 pixels, not 4."),
            Mistake("input entry missing", _rf_variant(drop_first=True),
                    "The arrays start with the input itself (depth 0, size 1, jump 1): L + 1 "
                    "entries for L layers."),
        ],
    ),
    Exercise(
        id="resolve_padding",
        chapter="04_convolution.ipynb",
        reference="labkit.ops.geometry.resolve_padding",
        summary="Turn 'valid', 'same', an int or a pair into ((top, bottom), (left, right)); "
                "'same' gives out = ceil(in / stride).",
        cases=_padding_cases,
        mistakes=[
            Mistake("extra pixel top/left", _pad_extra_top,
                    "When the total padding is odd you put the extra pixel at the top/left; "
                    "TensorFlow and PyTorch put it at the bottom/right."),
            Mistake("stride ignored", _pad_ignore_stride,
                    "With stride > 1 'same' does not mean k - 1 pixels of padding: it means "
                    "out = ceil(in / stride); derive the total from that output size."),
            Mistake("negative padding", _pad_negative,
                    "Your padding goes negative when the stride exceeds the kernel: the total "
                    "can never be below 0."),
            Mistake("floor instead of ceil", _pad_floor,
                    "'same' output size is ceil(in / stride), not floor."),
            Mistake("pair order", _pad_pair_swapped,
                    "A pair padding=(ph, pw) pads ph rows at top and bottom, pw columns at left "
                    "and right."),
        ],
    ),
]
