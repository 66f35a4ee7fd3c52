import numpy as np


def my_conv2d_naive_forward(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    """Direct convolution: accumulate the sum over kernel taps ``(u, v)`` one tap at a time."""
    (pt, pb), (pl, pr) = pads
    sh, sw = stride
    kh, kw = w.shape[:2]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]), dtype=np.result_type(x, w))
    for u in range(kh):
        for v in range(kw):
            y += xp[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw, :] @ w[u, v]
    if b is not None:
        y += b
    return y
