import numpy as np


def my_d_elu(x, y, alpha=1.0):
    """Derivative of ELU: 1 for x > 0, alpha e^x for x <= 0, in x's dtype."""
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)
