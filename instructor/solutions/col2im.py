import numpy as np


def my_col2im(cols, x_shape, kernel, stride=(1, 1)):
    """Adjoint of :func:`im2col`: scatter-add rows back to an array of shape ``x_shape``."""
    n, h, w, c = x_shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, kh, kw, c)
    out = np.zeros(x_shape, dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):            # overlapping windows add up
            out[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw, :] += blocks[:, :, :, u, v, :]
    return out
