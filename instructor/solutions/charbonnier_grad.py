import numpy as np


def my_charbonnier_grad(y, target, eps=0.001):
    """Gradient of the Charbonnier loss ``L = mean(sqrt((y - t)^2 + eps^2))`` with respect to ``y``."""
    diff = y - target
    return diff / np.sqrt(diff * diff + eps ** 2) / diff.size
