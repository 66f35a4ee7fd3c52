import numpy as np


def my_resolve_padding(padding, kernel, stride, in_hw, owner="conv2d"):
    """Turn a padding spec into explicit ``((top, bottom), (left, right))`` pixel counts."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{owner}: unknown padding {padding!r}")
        pads = []
        for n, k, s in zip(in_hw, kernel, stride):
            out = -(-n // s)                          # ceil(n / s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))   # the extra pixel at the bottom/right
        return tuple(pads)
    if np.ndim(padding) == 0:
        ph = pw = int(padding)
    else:
        ph, pw = (int(p) for p in padding)
    return (ph, ph), (pw, pw)
