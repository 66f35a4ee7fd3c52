import numpy as np


def my_conv2d_naive_backward(dy, cache):
    """Gradients ``(dx, dw, db)`` of the direct convolution, one kernel tap at a time."""
    x, w, has_bias, (sh, sw), ((pt, pb), (pl, pr)) = cache
    kh, kw, cin, cout = w.shape
    _, ho, wo, _ = dy.shape
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dxp = np.zeros(xp.shape, dtype=np.result_type(dy, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dy, x))
    dy2 = dy.reshape(-1, cout)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (ho - 1) + 1, sh)
            cols = slice(v, v + sw * (wo - 1) + 1, sw)
            # the tap (u, v) read xp[:, rows, cols]: its weight gradient pairs those pixels
            # with dy, and dy flows back onto the same pixels (added: windows overlap)
            dw[u, v] = xp[:, rows, cols, :].reshape(-1, cin).T @ dy2
            dxp[:, rows, cols, :] += dy @ w[u, v].T
    dx = dxp[:, pt:dxp.shape[1] - pb, pl:dxp.shape[2] - pr, :]
    db = dy2.sum(axis=0) if has_bias else None
    return dx, dw, db
