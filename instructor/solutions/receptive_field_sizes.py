import numpy as np


def my_receptive_field_sizes(kernels, strides=None, dilations=None):
    """Receptive field and jump after each layer of a stack of convolutions."""
    kernels = [int(k) for k in kernels]
    n = len(kernels)

    def per_layer(value):
        if value is None:
            return [1] * n
        if np.isscalar(value):
            return [int(value)] * n
        return [int(v) for v in value]

    size, jump = [1], [1]
    for k, s, d in zip(kernels, per_layer(strides), per_layer(dilations)):
        size.append(size[-1] + d * (k - 1) * jump[-1])     # r_l = r_{l-1} + d (k - 1) j_{l-1}
        jump.append(jump[-1] * s)                          # j_l = j_{l-1} s
    return {"depth": np.arange(n + 1), "size": np.array(size), "jump": np.array(jump)}
