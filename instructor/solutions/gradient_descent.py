import numpy as np


def my_gradient_descent(grad_fn, w0, lr, steps, momentum=0.0):
    """The path of (momentum) gradient descent."""
    w = np.asarray(w0, dtype=np.float64).reshape(-1)
    path = np.empty((steps + 1, w.size))
    path[0] = w
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        v = momentum * v + np.asarray(grad_fn(w), dtype=np.float64).reshape(-1)
        new = w - lr * v
        if not np.all(np.isfinite(new)) or np.max(np.abs(new)) > 1e12:
            path[t:] = w                  # diverged: repeat the last finite point
            break
        w = new
        path[t] = w
    return path
