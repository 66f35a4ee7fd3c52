import numpy as np


def my_l1_grad(y, target):
    """Gradient of the mean absolute error ``L = mean(|y - t|)`` with respect to ``y``."""
    return np.sign(y - target) / y.size
