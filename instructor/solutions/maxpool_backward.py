import numpy as np


def my_maxpool_backward(dy, cache):
    """Max pooling backward: each output's gradient goes to the input pixel that won."""
    x_shape, arg, (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = cache
    n, h, w, c = x_shape
    _, ho, wo, _ = dy.shape
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dy.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (ho - 1) + 1, sh)
            cols = slice(v, v + sw * (wo - 1) + 1, sw)
            # windows whose winner is tap (u, v) send dy to the pixel that tap read
            dxp[:, rows, cols, :] += np.where(arg == u * kw + v, dy, 0)
    return dxp[:, pt:pt + h, pl:pl + w, :]
