import numpy as np


def my_maxpool_forward(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    """Max pooling forward.  Returns ``y`` ``(N, Ho, Wo, C)`` and the cache."""
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, size, axis=(1, 2))  # (N, H', W', C, kh, kw)
    win = win[:, ::stride[0], ::stride[1]]
    return win.max(axis=(4, 5))
