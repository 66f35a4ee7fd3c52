def my_pixel_unshuffle(y, scale, order="torch"):
    """Space to depth, the inverse of :func:`pixel_shuffle`: ``(N, H r, W r, C) -> (N, H, W, C r^2)``."""
    n, hr, wr, c = y.shape
    r = int(scale)
    t = y.reshape(n, hr // r, r, wr // r, r, c)                  # n, h, i, w, j, c
    if order == "torch":
        t = t.transpose(0, 1, 3, 5, 2, 4)                        # n, h, w, c, i, j
    else:
        t = t.transpose(0, 1, 3, 2, 4, 5)                        # n, h, w, i, j, c
    return t.reshape(n, hr // r, wr // r, c * r * r)
