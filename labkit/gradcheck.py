"""Numerical gradient checks by central differences.

For a scalar function :math:`L(\\theta)` the central difference

.. math:: \\frac{\\partial L}{\\partial \\theta_i} \\approx
          \\frac{L(\\theta + h e_i) - L(\\theta - h e_i)}{2h}

has error :math:`O(h^2)`.  A layer is checked on the scalar :math:`L = \\sum y \\odot G` with a
random upstream gradient :math:`G` (an all-ones :math:`G` would hide errors that cancel when
summed), and the analytic and numerical gradients are compared with the relative error

.. math:: \\mathrm{rel}(a, n) = \\frac{\\lVert a - n \\rVert_2}{\\lVert a \\rVert_2 + \\lVert n \\rVert_2}

(0 for identical gradients, 1 for unrelated ones).  Run it in float64: in float32 rounding
alone limits it to about 1e-3.
"""

from __future__ import annotations

import numpy as np

from labkit.layers.base import MergeLayer


def relative_error(a, n) -> float:
    """``||a - n|| / (||a|| + ||n||)``; 0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {n.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` w.r.t. the array ``x``.

    ``x`` is perturbed in place (one element at a time) and restored, so ``f`` may close over
    it (a layer's parameter, or the input).
    """
    if x.dtype != np.float64:
        raise ValueError(f"numerical_gradient: use float64 arrays, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def check_layer(layer, x, training: bool = True, seed: int = 0, h: float = 1e-6,
                other=None) -> dict[str, float]:
    """Relative errors of a layer's analytic gradients: ``{"x": .., "<param>": ..}``.

    The layer must be float64 (``layer.astype(np.float64)``).  ``other`` is the second input of
    a two-input layer (a :class:`~labkit.layers.base.MergeLayer`: Shortcut, Route); its
    gradient, :attr:`~labkit.layers.base.MergeLayer.d_other`, is reported as ``"other"``.
    """
    merge = isinstance(layer, MergeLayer)
    if merge != (other is not None):
        raise ValueError(f"check_layer: {layer!r} " + ("needs its second input as other=..."
                         if merge else "takes one input; other= is only for two-input layers"))
    x = np.array(x, dtype=np.float64)
    kwargs = {} if other is None else {"other": np.array(other, dtype=np.float64)}
    y = layer.forward(x, training=training, **kwargs)
    upstream = np.random.default_rng(seed).standard_normal(y.shape)
    dx = layer.backward(upstream)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    if other is not None:
        analytic["other"] = layer.d_other

    def loss():
        return float(np.sum(layer.forward(x, training=training, **kwargs) * upstream))

    numeric = {"x": numerical_gradient(loss, x, h)}
    for name, p in layer.params.items():
        if p.dtype != np.float64:
            raise ValueError(f"check_layer: {layer!r} parameter {name!r} is {p.dtype}; "
                             f"call layer.astype(np.float64) first")
        numeric[name] = numerical_gradient(loss, p, h)
    if other is not None:
        numeric["other"] = numerical_gradient(loss, kwargs["other"], h)
    return {k: relative_error(analytic[k], numeric[k]) for k in numeric}


def check_network(net, x, seed: int = 0, h: float = 1e-6, training: bool = True) -> dict[str, float]:
    """Relative errors for a whole :class:`~labkit.network.Network`: input and every parameter."""
    x = np.array(x, dtype=np.float64)
    y = net.forward(x, training=training)
    upstream = np.random.default_rng(seed).standard_normal(y.shape)
    dx = net.backward(upstream)
    analytic = {"x": dx, **{k: v.copy() for k, v in net.named_grads().items()}}

    def loss():
        return float(np.sum(net.forward(x, training=training) * upstream))

    out = {"x": relative_error(dx, numerical_gradient(loss, x, h))}
    for name, p in net.named_params().items():
        out[name] = relative_error(analytic[name], numerical_gradient(loss, p, h))
    return out
