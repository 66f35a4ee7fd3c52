import numpy as np


def my_psnr(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB, per image."""
    x = np.asarray(x, dtype=np.float64)          # float64 first: uint8 differences must not wrap
    ref = np.asarray(ref, dtype=np.float64)
    if x.ndim == 4:                              # NHWC with one channel
        x, ref = x[..., 0], ref[..., 0]
    single = x.ndim == 2
    x = x.reshape((-1,) + x.shape[-2:])
    ref = ref.reshape(x.shape)
    if mask is None:
        mask = np.ones(x.shape, dtype=bool)
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim == 4:
            mask = mask[..., 0]
        mask = np.broadcast_to(mask, x.shape)
    h, w = x.shape[-2:]
    window = (slice(None), slice(crop, h - crop), slice(crop, w - crop))
    x, ref, mask = x[window], ref[window], mask[window]
    mse = np.where(mask, (x - ref) ** 2, 0.0).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(data_range ** 2 / mse)
    if single:
        return float(values[0])
    return float(values.mean()) if reduce else values
