"""Gradient descent on small loss landscapes with two weights, where the path can be drawn.

Gradient descent repeats :math:`\\mathbf w_{t+1} = \\mathbf w_t - \\eta \\nabla C(\\mathbf w_t)`
(with momentum :math:`\\mu`: :math:`\\mathbf v_{t+1} = \\mu \\mathbf v_t + \\nabla C`,
:math:`\\mathbf w_{t+1} = \\mathbf w_t - \\eta \\mathbf v_{t+1}`, PyTorch's form).  With two
weights the loss is a surface over the plane and the sequence of weights a path on it.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_alloc, check_array, check_float, check_int

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
    owner = "gradient_descent"
    w = check_array(w0, owner, name="w0", finite=True, nonempty=True,
                    int_dtype=np.float64).astype(np.float64).reshape(-1)
    lr = check_float(lr, "lr", owner, min=0.0, min_open=True)
    steps = check_int(steps, "steps", owner, min=0, max=10**7)
    momentum = check_float(momentum, "momentum", owner, min=0.0, max=1.0, max_open=True)
    check_alloc((steps + 1, w.size), owner, "path")
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
    owner = "evaluate_grid"
    n = check_int(n, "n", owner, min=2, max=4096)
    ranges = []
    for name, rng_ in (("w1_range", w1_range), ("w2_range", w2_range)):
        if isinstance(rng_, (str, bytes)) or np.ndim(rng_) != 1 or len(rng_) != 2:
            raise ValueError(f"{owner}: {name} must be a pair (min, max), got {rng_!r}")
        ranges.append(tuple(check_float(v, name, owner) for v in rng_))
    w1 = np.linspace(*ranges[0], n)
    w2 = np.linspace(*ranges[1], n)
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
