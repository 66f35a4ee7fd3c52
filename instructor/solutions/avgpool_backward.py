import numpy as np


def my_avgpool_backward(dy, cache):
    """Average pooling backward: every real pixel of a window gets ``dy / count``."""
    x_shape, counts, (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = cache
    n, h, w, c = x_shape
    _, ho, wo, _ = dy.shape
    share = dy / counts[None, :, :, None]
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dy.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (ho - 1) + 1, sh)
            cols = slice(v, v + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols, :] += share
    return dxp[:, pt:pt + h, pl:pl + w, :]       # what landed on padding is dropped
