"""Gradient flow through a deep stack of layers, with and without shortcut connections.

A plain deep network multiplies the back-propagated gradient by one Jacobian per layer,
:math:`\\partial h_l / \\partial h_{l-1} = \\operatorname{diag}(f'(a_l))\\, W_l^\\top`; when those
factors are smaller than one (saturating activations, small weights) the gradient reaching the
first layers shrinks geometrically with depth, and those layers barely learn: the degradation
problem that He et al. (2016) solved with shortcut connections.  A residual block
:math:`h_l = h_{l-1} + \\alpha f(h_{l-1} W_l)` has Jacobian
:math:`I + \\alpha\\, \\partial f / \\partial h_{l-1}`: the identity term carries the gradient back
unchanged, whatever the branch does.

:func:`gradient_norms` measures this on a stack of dense layers written out in numpy (the same
maths as ``Dense`` + ``Activation`` + ``Shortcut`` layers, kept here as a pure function so a
figure can sweep depth quickly).
"""

from __future__ import annotations

import numpy as np

from labkit._validate import (
    check_alloc,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from labkit.ops.activations import ACTIVATIONS

__all__ = ["gradient_norms"]


def gradient_norms(depth: int = 30, width: int = 32, shortcut: bool = False,
                   activation: str = "logistic", n: int = 64, weight_scale: float = 1.0,
                   res_scale: float = 1.0, seed: int = 0) -> dict:
    """Weight-gradient norm of every layer of a deep MLP at initialisation.

    Layer ``l`` computes ``a_l = h_{l-1} W_l`` and ``h_l = f(a_l)`` (plain) or
    ``h_l = h_{l-1} + res_scale * f(a_l)`` (with shortcuts).  ``W_l`` is drawn from
    ``N(0, weight_scale^2 / width)``; the input ``x`` and the targets are standard normal;
    the loss is ``C = sum((h_L - t)^2) / (2 n)``.  The same seed gives the same weights with
    and without shortcuts, so the two runs differ only by the shortcuts.

    Parameters
    ----------
    depth, width, n : int
        Number of layers, units per layer, batch size.
    shortcut : bool
    activation : str
        A name from :data:`labkit.ops.activations.ACTIVATIONS`.
    weight_scale, res_scale : float
    seed : int

    Returns
    -------
    dict
        ``layer`` (1..depth), ``grad_norm`` (depth,) Frobenius norm of ``dC/dW_l``,
        ``activation_std`` (depth,) standard deviation of ``h_l``, and ``loss``.
    """
    owner = "gradient_norms"
    depth, width, n = (check_int(v, name, owner, min=1)
                       for name, v in (("depth", depth), ("width", width), ("n", n)))
    check_alloc((depth, width, width), owner, "weights")
    check_alloc((depth, n, width), owner, "activations")
    shortcut = check_bool(shortcut, "shortcut", owner)
    check_choice(activation, "activation", owner, sorted(ACTIVATIONS))
    weight_scale = check_float(weight_scale, "weight_scale", owner, min=0.0)
    res_scale = check_float(res_scale, "res_scale", owner)
    seed = check_seed(seed, "seed", owner)
    f, df = ACTIVATIONS[activation]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, width))
    t = rng.standard_normal((n, width))
    ws = [rng.standard_normal((width, width)) * (weight_scale / np.sqrt(width))
          for _ in range(depth)]
    hs, pre, post = [x], [], []
    for w in ws:
        a = hs[-1] @ w
        y = f(a)
        pre.append(a)
        post.append(y)
        hs.append(hs[-1] + res_scale * y if shortcut else y)
    out = hs[-1]
    loss = float(np.sum((out - t) ** 2) / (2 * n))
    dh = (out - t) / n
    norms = np.empty(depth)
    for l in range(depth - 1, -1, -1):
        da = dh * df(pre[l], post[l]) * (res_scale if shortcut else 1.0)
        norms[l] = np.linalg.norm(hs[l].T @ da)
        dprev = da @ ws[l].T
        # The shortcut adds the identity path: the gradient of h_l flows to h_{l-1} unchanged.
        dh = dh + dprev if shortcut else dprev
    return {"layer": np.arange(1, depth + 1),
            "grad_norm": norms,
            "activation_std": np.array([h.std() for h in hs[1:]]),
            "loss": loss}
