"""Gradient descent on small loss landscapes with two weights, where the path can be drawn.

Gradient descent repeats :math:`\\mathbf w_{t+1} = \\mathbf w_t - \\eta \\nabla C(\\mathbf w_t)`
(with momentum :math:`\\mu`: :math:`\\mathbf v_{t+1} = \\mu \\mathbf v_t + \\nabla C`,
:math:`\\mathbf w_{t+1} = \\mathbf w_t - \\eta \\mathbf v_{t+1}`, PyTorch's form).  With two
weights the loss is a surface over the plane and the sequence of weights a path on it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "evaluate_grid",
    "gradient_descent",
    "linear_regression_loss",
    "quadratic_bowl",
    "rosenbrock",
]


def gradient_descent(grad_fn, w0, lr: float, steps: int, momentum: float = 0.0) -> np.ndarray:
    """The path of (momentum) gradient descent.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(w) -> dC/dw`` with the shape of ``w``.
    w0 : array_like, shape (D,)
    lr : float
        Step size :math:`\\eta > 0`.
    steps : int
        Number of updates, >= 0.
    momentum : float
        :math:`0 \\le \\mu < 1`.

    Returns
    -------
    ndarray, shape (steps + 1, D)
        ``path[0] = w0``; the path stops early (rows repeated) if it diverges to inf/NaN, so
        plots of an unstable learning rate still work.
    """
    w = np.array(w0, dtype=np.float64).reshape(-1)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"gradient_descent: lr must be > 0, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"gradient_descent: steps must be an int >= 0, got {steps!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"gradient_descent: momentum must be in [0, 1), got {momentum!r}")
    path = np.empty((steps + 1, w.size))
    path[0] = w
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        g = np.asarray(grad_fn(w), dtype=np.float64).reshape(-1)
        if g.shape != w.shape:
            raise ValueError(f"gradient_descent: grad_fn returned shape {g.shape} for weights "
                             f"of shape {w.shape}")
        v = momentum * v + g
        new = w - lr * v
        if not np.all(np.isfinite(new)) or np.max(np.abs(new)) > 1e12:
            path[t:] = w                   # diverged: freeze, so the caller can still plot
            break
        w = new
        path[t] = w
    return path


def evaluate_grid(loss_fn, w1_range, w2_range, n: int = 101):
    """Loss on an ``n x n`` grid: returns ``(W1, W2, Z)``, each ``(n, n)``, ``Z[i, j] =
    loss_fn([W1[i, j], W2[i, j]])``; ranges are ``(min, max)``."""
    w1 = np.linspace(*w1_range, n)
    w2 = np.linspace(*w2_range, n)
    W1, W2 = np.meshgrid(w1, w2)
    Z = np.array([loss_fn(np.array([a, b])) for a, b in zip(W1.ravel(), W2.ravel())])
    return W1, W2, Z.reshape(n, n)


def quadratic_bowl(a: float = 1.0, b: float = 10.0):
    """``C(w) = (a w1^2 + b w2^2) / 2`` and its gradient: an elongated bowl whose condition
    number ``b / a`` makes plain gradient descent zig-zag.  Returns ``(loss, grad)``."""
    def loss(w):
        return 0.5 * (a * w[0] ** 2 + b * w[1] ** 2)

    def grad(w):
        return np.array([a * w[0], b * w[1]])
    return loss, grad


def rosenbrock(a: float = 1.0, b: float = 100.0):
    """Rosenbrock's banana valley ``(a - w1)^2 + b (w2 - w1^2)^2``; minimum at ``(a, a^2)``.
    Returns ``(loss, grad)``."""
    def loss(w):
        return (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2

    def grad(w):
        return np.array([-2 * (a - w[0]) - 4 * b * w[0] * (w[1] - w[0] ** 2),
                         2 * b * (w[1] - w[0] ** 2)])
    return loss, grad


def linear_regression_loss(x, t):
    """Mean squared error of the two-weight model ``y = w1 x + w2`` on data ``(x, t)``.

    ``C(w) = mean((w1 x + w2 - t)^2) / 2``: the simplest real "network" whose loss landscape
    is a surface over two weights.  Returns ``(loss, grad)``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    t = np.asarray(t, dtype=np.float64).ravel()
    if x.shape != t.shape or x.size == 0:
        raise ValueError(f"linear_regression_loss: x and t must be non-empty and the same "
                         f"size, got {x.shape} and {t.shape}")

    def loss(w):
        r = w[0] * x + w[1] - t
        return 0.5 * float(np.mean(r * r))

    def grad(w):
        r = w[0] * x + w[1] - t
        return np.array([np.mean(r * x), np.mean(r)])
    return loss, grad
