import numpy as np


def my_cubic_kernel(x, a=-0.5):
    """Keys (1981) cubic convolution kernel, support ``[-2, 2]``."""
    ax = np.abs(np.asarray(x))
    inner = ((a + 2) * ax**3 - (a + 3) * ax**2 + 1) * (ax <= 1)
    outer = (a * ax**3 - 5 * a * ax**2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax <= 2))
    return inner + outer
