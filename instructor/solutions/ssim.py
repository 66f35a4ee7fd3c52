import numpy as np


def my_ssim(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    """Mean SSIM (Wang et al. 2004): 11 x 11 Gaussian window, sigma 1.5, valid windows only."""
    x = np.asarray(x, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if x.ndim == 4:
        x, ref = x[..., 0], ref[..., 0]
    single = x.ndim == 2
    x = x.reshape((-1,) + x.shape[-2:])
    ref = ref.reshape(x.shape)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim == 4:
            mask = mask[..., 0]
        mask = np.broadcast_to(mask, x.shape)
    h, w = x.shape[-2:]
    window = (slice(None), slice(crop, h - crop), slice(crop, w - crop))
    x, ref = x[window], ref[window]
    radius = 5
    k = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (k / 1.5) ** 2)
    g /= g.sum()

    def local_mean(a):                           # separable 'valid' Gaussian filter
        ho, wo = a.shape[1] - 2 * radius, a.shape[2] - 2 * radius
        rows = sum(g[i] * a[:, i:i + ho, :] for i in range(g.size))
        return sum(g[j] * rows[:, :, j:j + wo] for j in range(g.size))

    mu_x, mu_r = local_mean(x), local_mean(ref)
    var_x = local_mean(x * x) - mu_x ** 2        # population statistics
    var_r = local_mean(ref * ref) - mu_r ** 2
    cov = local_mean(x * ref) - mu_x * mu_r
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    smap = ((2 * mu_x * mu_r + c1) * (2 * cov + c2)) / (
        (mu_x ** 2 + mu_r ** 2 + c1) * (var_x + var_r + c2))
    if mask is None:
        values = smap.mean(axis=(1, 2))
    else:
        m = mask[window][:, radius:-radius, radius:-radius]   # the pixels the map belongs to
        values = np.where(m, smap, 0.0).sum(axis=(1, 2)) / m.sum(axis=(1, 2))
    if single:
        return float(values[0])
    return float(values.mean()) if reduce else values
