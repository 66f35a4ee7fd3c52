"""Batch normalisation (Ioffe & Szegedy 2015) over every axis but the last (channels).

Training mode, with :math:`M` the number of elements per channel:

.. math::

    \\mu = \\frac{1}{M} \\sum x, \\qquad \\sigma^2 = \\frac{1}{M} \\sum (x - \\mu)^2, \\qquad
    \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\qquad y = \\gamma \\hat x + \\beta

and the input gradient, with :math:`g = \\gamma \\, \\partial L / \\partial y`,

.. math::

    \\frac{\\partial L}{\\partial x} = \\frac{1}{\\sqrt{\\sigma^2+\\epsilon}}
    \\left( g - \\overline{g} - \\hat x \\, \\overline{g \\hat x} \\right)

(bars are means over the :math:`M` elements of a channel).  Evaluation mode normalises with
fixed running statistics, so it is an affine map and its gradient is ``gamma * dy / std``.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array, check_float


def _check(owner, x, *per_channel):
    """``x`` (N, ..., C) float and per-channel vectors of shape (C,)."""
    x = check_array(x, owner, min_ndim=2)
    out = [x]
    for name, v in zip(("gamma", "beta", "running_mean", "running_var"), per_channel):
        v = check_array(v, owner, name=name)
        if v.shape != (x.shape[-1],):
            raise ValueError(f"{owner}: {name} must have shape {(x.shape[-1],)} (one per channel "
                             f"of the input {x.shape}), got {v.shape}")
        out.append(v)
    return out


def batchnorm_forward_train(x, gamma, beta, eps=1e-5):
    """Returns ``y``, the batch mean and biased variance ``(C,)``, and the cache."""
    owner = "batchnorm_forward_train"
    x, gamma, beta = _check(owner, x, gamma, beta)
    eps = check_float(eps, "eps", owner, min=0.0, min_open=True)
    if x.shape[0] * (x.size // max(x.shape[0], 1)) // x.shape[-1] < 2 or x.size == 0:
        raise ValueError(f"{owner}: need more than one value per channel, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: input of shape {x.shape} contains NaN or inf")
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    y = gamma * xhat + beta
    return y, mean, var, ("train", xhat, inv_std, gamma)


def batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Normalise with the running statistics; returns ``y`` and the cache."""
    owner = "batchnorm_forward_eval"
    x, gamma, beta, running_mean, running_var = _check(owner, x, gamma, beta, running_mean,
                                                       running_var)
    eps = check_float(eps, "eps", owner, min=0.0, min_open=True)
    if np.any(running_var < 0):
        raise ValueError(f"{owner}: running_var must be >= 0, got {running_var}")
    inv_std = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype)
    xhat = (x - running_mean.astype(x.dtype)) * inv_std
    return gamma * xhat + beta, ("eval", xhat, inv_std, gamma)


def batchnorm_backward(dy, cache):
    """Returns ``(dx, dgamma, dbeta)`` for either mode."""
    mode, xhat, inv_std, gamma = cache
    axes = tuple(range(dy.ndim - 1))
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    g = dy * gamma
    if mode == "eval":
        return g * inv_std, dgamma, dbeta
    m = dy.size // dy.shape[-1]
    dx = inv_std * (g - g.sum(axis=axes) / m - xhat * ((g * xhat).sum(axis=axes) / m))
    return dx, dgamma, dbeta
