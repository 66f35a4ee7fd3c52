def my_pixel_shuffle(x, scale, order="torch"):
    """Depth to space: ``(N, H, W, C r^2) -> (N, H r, W r, C)``."""
    n, h, w, cr2 = x.shape
    r = int(scale)
    c = cr2 // (r * r)
    if order == "torch":       # channel index c r^2 + i r + j
        t = x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)
    else:                      # channel index (i r + j) C + c
        t = x.reshape(n, h, w, r, r, c).transpose(0, 1, 3, 2, 4, 5)
    return t.reshape(n, h * r, w * r, c)
