import numpy as np


def my_im2col(x, kernel, stride=(1, 1)):
    """Column matrix of an (already padded) NHWC input: ``(N * Ho * Wo, kh * kw * C)``."""
    n, h, w, c = x.shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.empty((n, ho, wo, kh, kw, c), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            cols[:, :, :, u, v, :] = x[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw, :]
    return cols.reshape(n * ho * wo, kh * kw * c)
