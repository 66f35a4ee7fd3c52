"""The fully connected (dense) layer as pure functions; :class:`labkit.layers.Dense` calls them.

.. math::

    y = x W + b, \\qquad
    \\frac{\\partial L}{\\partial x} = \\delta W^T, \\quad
    \\frac{\\partial L}{\\partial W} = x^T \\delta, \\quad
    \\frac{\\partial L}{\\partial b} = \\sum_n \\delta_n

with ``x`` of shape ``(N, F_in)``, ``W`` ``(F_in, F_out)``, ``b`` ``(F_out,)`` and the upstream
gradient :math:`\\delta = \\partial L / \\partial y` of shape ``(N, F_out)``.
"""

from __future__ import annotations


def dense_forward(x, w, b=None):
    """Dense forward ``y = x W + b``.

    Parameters
    ----------
    x : ndarray, shape (N, F_in)
    w : ndarray, shape (F_in, F_out)
    b : ndarray, shape (F_out,), or None (no bias)

    Returns
    -------
    y : ndarray, shape (N, F_out)
    cache : tuple ``(x, w, has_bias)`` for :func:`dense_backward`.
    """
    y = x @ w
    if b is not None:
        y = y + b
    return y, (x, w, b is not None)


def dense_backward(dy, cache):
    """Dense backward: ``dx = dy W^T``, ``dW = x^T dy``, ``db = sum_n dy``.

    Parameters
    ----------
    dy : ndarray, shape (N, F_out)
        Upstream gradient :math:`\\partial L / \\partial y`.
    cache : tuple ``(x, w, has_bias)``
        From :func:`dense_forward`: ``x`` ``(N, F_in)``, ``w`` ``(F_in, F_out)``.

    Returns
    -------
    (dx, dw, db) : ndarrays of shapes ``(N, F_in)``, ``(F_in, F_out)``, ``(F_out,)``;
        ``db`` is None when the forward pass had no bias.
    """
    x, w, has_bias = cache
    dx = dy @ w.T
    dw = x.T @ dy
    db = dy.sum(axis=0) if has_bias else None
    return dx, dw, db
