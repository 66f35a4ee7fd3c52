"""Chapter 7 (07_shortcut_pixelshuffle_batchnorm.ipynb): pixel shuffle and batch norm.

``pixel_shuffle(x, scale, order)``: depth to space ``(N, H, W, C r^2) -> (N, H r, W r, C)``,

* ``"torch"``: ``out[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]``
* ``"tf"``:    ``out[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]``

``pixel_unshuffle`` is its inverse.

``batchnorm_forward_train(x, gamma, beta, eps)`` normalises over every axis but the last with
the batch mean and the *biased* variance ``mean((x - mu)^2)`` and returns
``(y, mean, var, cache)`` (graded on ``y, mean, var``).

``batchnorm_backward(dy, cache)`` returns ``(dx, dgamma, dbeta)``; for a training cache
``("train", xhat, inv_std, gamma)``, with ``g = gamma dy`` and bars the means over the M
elements of a channel,

.. math:: dx = \\mathrm{inv\\_std}\\,(g - \\bar g - \\hat x\\, \\overline{g \\hat x})

and for an evaluation cache ``("eval", ...)`` simply ``dx = g inv_std``.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.batchnorm import batchnorm_backward, batchnorm_forward_eval, batchnorm_forward_train
from labkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle


def _shuffle_configs(rng):
    fixed = [(1, 1, 1, 1, 2), (1, 2, 3, 1, 2), (2, 2, 2, 3, 2), (1, 3, 2, 2, 3), (1, 1, 2, 4, 2),
             (2, 3, 3, 1, 3), (1, 2, 2, 2, 1)]
    out = list(fixed)
    for _ in range(10):
        out.append((int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                    int(rng.integers(1, 4)), int(rng.integers(2, 4))))
    return out


def _shuffle_cases(rng):
    for i, (n, h, w, c, r) in enumerate(_shuffle_configs(rng)):
        for order in ("torch", "tf"):
            dtype = np.float32 if i % 3 == 2 else np.float64
            x = rng.standard_normal((n, h, w, c * r * r)).astype(dtype)
            yield Case(f"pixel_shuffle(x {x.shape} {x.dtype.name}, scale={r}, order={order!r})",
                       (x, r, order))


def _unshuffle_cases(rng):
    for i, (n, h, w, c, r) in enumerate(_shuffle_configs(rng)):
        for order in ("torch", "tf"):
            dtype = np.float32 if i % 3 == 2 else np.float64
            y = rng.standard_normal((n, h * r, w * r, c)).astype(dtype)
            yield Case(f"pixel_unshuffle(y {y.shape} {y.dtype.name}, scale={r}, order={order!r})",
                       (y, r, order))


def _other(order):
    return "tf" if order == "torch" else "torch"


def _shuffle_swapped_order(x, scale, order="torch"):
    return pixel_shuffle(x, scale, _other(order))


def _shuffle_ij(x, scale, order="torch"):
    y = pixel_shuffle(x, scale, order)
    n, hr, wr, c = y.shape
    r = scale
    return np.ascontiguousarray(y.reshape(n, hr // r, r, wr // r, r, c).transpose(0, 1, 4, 3, 2, 5)
                                ).reshape(y.shape)


def _shuffle_blocks(x, scale, order="torch"):
    # sub-pixels laid out as r x r blocks of whole images (h and i swapped)
    y = pixel_shuffle(x, scale, order)
    n, hr, wr, c = y.shape
    r = scale
    t = y.reshape(n, hr // r, r, wr // r, r, c).transpose(0, 2, 1, 4, 3, 5)
    return np.ascontiguousarray(t).reshape(y.shape)


def _unshuffle_swapped_order(y, scale, order="torch"):
    return pixel_unshuffle(y, scale, _other(order))


def _unshuffle_ij(y, scale, order="torch"):
    n, hr, wr, c = y.shape
    r = scale
    t = np.ascontiguousarray(y.reshape(n, hr // r, r, wr // r, r, c).transpose(0, 1, 4, 3, 2, 5))
    return pixel_unshuffle(t.reshape(y.shape), scale, order)


def _unshuffle_blocks(y, scale, order="torch"):
    n, hr, wr, c = y.shape
    r = scale
    t = np.ascontiguousarray(y.reshape(n, r, hr // r, r, wr // r, c).transpose(0, 2, 1, 4, 3, 5))
    return pixel_unshuffle(t.reshape(y.shape), scale, order)


_ORDER_HINT = ("TensorFlow vs PyTorch channel order: your output uses the other layout "
               "(torch: channel c r^2 + i r + j; tf: channel (i r + j) C + c).")
_IJ_HINT = ("Sub-pixel rows and columns are swapped: channel offset i r + j goes to row "
            "offset i and column offset j.")
_BLOCK_HINT = ("Your output places the r x r sub-pixels as whole shifted images instead of "
               "interleaving them: output row h r + i comes from input row h.")


# ----------------------------------------------------------------------------- batch norm

def _bn_shapes(rng):
    fixed = [(8, 3), (5, 1), (2, 3, 3, 2), (4, 2, 5, 3), (1, 4, 4, 2), (3, 1, 1, 4), (7, 2)]
    out = list(fixed)
    while len(out) < len(fixed) + 16:
        if rng.integers(0, 2):
            out.append((int(rng.integers(2, 10)), int(rng.integers(1, 5))))
        else:
            shape = tuple(int(v) for v in rng.integers(1, 5, size=3)) + (int(rng.integers(1, 4)),)
            if np.prod(shape[:-1]) >= 2:     # one value per channel has no batch statistics
                out.append(shape)
    return out


def _bn_forward_cases(rng):
    for i, shape in enumerate(_bn_shapes(rng)):
        c = shape[-1]
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)
        gamma = rng.uniform(0.5, 2, size=c)
        beta = rng.standard_normal(c)
        eps = [1e-5, 1e-3, 0.1][i % 3]
        if i % 4 == 3:
            x, gamma, beta = x.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32)
        yield Case(f"batchnorm_forward_train(x {shape} {x.dtype.name}, gamma ({c},), "
                   f"beta ({c},), eps={eps})", (x, gamma, beta, eps))


def _bn_forward_out(result):
    return tuple(result[:3]) if isinstance(result, (tuple, list)) else result


def _bnf_unbiased(x, gamma, beta, eps=1e-5):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes, ddof=1) if x.size // x.shape[-1] > 1 else x.var(axis=axes)
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return y, mean, var, None


def _bnf_eps_outside(x, gamma, beta, eps=1e-5):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = gamma * (x - mean) / (np.sqrt(var) + eps) + beta
    return y, mean, var, None


def _bnf_global(x, gamma, beta, eps=1e-5):
    mean = np.full(x.shape[-1], x.mean(), dtype=x.dtype)
    var = np.full(x.shape[-1], x.var(), dtype=x.dtype)
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return y, mean, var, None


def _bnf_first_axis(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    if x.ndim == 2:
        raise ValueError("not applicable")
    return y, mean, var, None


def _bn_backward_cases(rng):
    for i, shape in enumerate(_bn_shapes(rng)):
        c = shape[-1]
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)
        gamma = rng.uniform(0.5, 2, size=c)
        beta = rng.standard_normal(c)
        for mode in ("train", "eval") if i % 3 == 0 else ("train",):
            if mode == "train":
                _y, _, _, cache = batchnorm_forward_train(x, gamma, beta)
            else:
                _y, cache = batchnorm_forward_eval(x, gamma, beta, rng.standard_normal(c),
                                                   rng.uniform(0.5, 2, size=c))
            dy = rng.standard_normal(_y.shape)
            yield Case(f"batchnorm_backward(dy {shape}, cache of batchnorm_forward_{mode}"
                       f"(x {shape}))", (dy, cache))


def _bnb_constant_stats(dy, cache):
    _mode, xhat, inv_std, gamma = cache
    dx, dg, db = batchnorm_backward(dy, ("eval", xhat, inv_std, gamma))
    return dx, dg, db


def _bnb_unbiased(dy, cache):
    mode, xhat, inv_std, gamma = cache
    if mode == "eval":
        return batchnorm_backward(dy, cache)
    axes = tuple(range(dy.ndim - 1))
    m = dy.size // dy.shape[-1]
    if m < 2:
        raise ValueError("not applicable")
    g = dy * gamma
    dx = inv_std * (g - g.sum(axis=axes) / m - xhat * ((g * xhat).sum(axis=axes) / (m - 1)))
    return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


def _bnb_no_gamma(dy, cache):
    mode, xhat, inv_std, gamma = cache
    dx, dg, db = batchnorm_backward(dy, (mode, xhat, inv_std, np.ones_like(gamma)))
    return dx, dg, db


def _bnb_swapped(dy, cache):
    dx, dg, db = batchnorm_backward(dy, cache)
    return dx, db, dg


def _bnb_mean_params(dy, cache):
    dx, dg, db = batchnorm_backward(dy, cache)
    m = dy.size // dy.shape[-1]
    if m < 2:
        raise ValueError("not applicable")
    return dx, dg / m, db / m


EXERCISES = [
    Exercise(
        id="pixel_shuffle",
        chapter="07_shortcut_pixelshuffle_batchnorm.ipynb",
        reference="labkit.ops.pixel_shuffle.pixel_shuffle",
        summary="Depth to space (N, H, W, C r^2) -> (N, H r, W r, C) in PyTorch ('torch') or "
                "TensorFlow ('tf') channel order.",
        cases=_shuffle_cases,
        mistakes=[
            Mistake("torch/tf order swapped", _shuffle_swapped_order, _ORDER_HINT),
            Mistake("i and j swapped", _shuffle_ij, _IJ_HINT),
            Mistake("blocks instead of interleaving", _shuffle_blocks, _BLOCK_HINT),
        ],
    ),
    Exercise(
        id="pixel_unshuffle",
        chapter="07_shortcut_pixelshuffle_batchnorm.ipynb",
        reference="labkit.ops.pixel_shuffle.pixel_unshuffle",
        summary="Space to depth (N, H r, W r, C) -> (N, H, W, C r^2), the inverse of "
                "pixel_shuffle, in 'torch' or 'tf' channel order.",
        cases=_unshuffle_cases,
        mistakes=[
            Mistake("torch/tf order swapped", _unshuffle_swapped_order, _ORDER_HINT),
            Mistake("i and j swapped", _unshuffle_ij, _IJ_HINT),
            Mistake("blocks instead of interleaving", _unshuffle_blocks, _BLOCK_HINT),
        ],
    ),
    Exercise(
        id="batchnorm_forward_train",
        chapter="07_shortcut_pixelshuffle_batchnorm.ipynb",
        reference="labkit.ops.batchnorm.batchnorm_forward_train",
        summary="Batch norm in training mode: per-channel batch mean and biased variance, "
                "y = gamma (x - mean) / sqrt(var + eps) + beta; returns (y, mean, var, cache).",
        cases=_bn_forward_cases,
        output=_bn_forward_out,
        mistakes=[
            Mistake("unbiased variance", _bnf_unbiased,
                    "Biased vs unbiased variance: batch norm divides by M (np.var's default "
                    "ddof=0), not by M - 1."),
            Mistake("eps outside the root", _bnf_eps_outside,
                    "eps belongs inside the square root: sqrt(var + eps)."),
            Mistake("global statistics", _bnf_global,
                    "Your statistics are taken over all axes; batch norm keeps one mean and "
                    "variance per channel (reduce over every axis but the last)."),
            Mistake("first axis only", _bnf_first_axis,
                    "For an NHWC input the statistics are over N, H and W together, not over "
                    "the batch axis alone."),
        ],
    ),
    Exercise(
        id="batchnorm_backward",
        chapter="07_shortcut_pixelshuffle_batchnorm.ipynb",
        reference="labkit.ops.batchnorm.batchnorm_backward",
        summary="Batch-norm backward from the cache (mode, xhat, inv_std, gamma): returns "
                "(dx, dgamma, dbeta) for training and evaluation caches.",
        cases=_bn_backward_cases,
        mistakes=[
            Mistake("batch statistics treated as constants", _bnb_constant_stats,
                    "In training mode the mean and variance depend on x: your dx is the "
                    "evaluation-mode gradient gamma * dy * inv_std, missing the two mean terms."),
            Mistake("unbiased variance", _bnb_unbiased,
                    "Biased vs unbiased variance: a 1/(M - 1) appears where the forward pass "
                    "used 1/M."),
            Mistake("gamma forgotten", _bnb_no_gamma,
                    "gamma is missing from dx: the gradient reaching xhat is gamma * dy."),
            Mistake("dgamma and dbeta swapped", _bnb_swapped,
                    "dgamma and dbeta are swapped: dbeta = sum(dy), dgamma = sum(dy * xhat)."),
            Mistake("mean instead of sum", _bnb_mean_params,
                    "dgamma and dbeta are sums over the batch (and H, W), not means."),
        ],
    ),
]
