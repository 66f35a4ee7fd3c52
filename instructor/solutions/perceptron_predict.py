import numpy as np


def my_perceptron_predict(x, w, b):
    """Outputs ``H(x w + b)`` of shape ``(N,)`` for inputs ``x`` of shape ``(N, F)``."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    return (x @ w + float(b) >= 0).astype(np.float64)
