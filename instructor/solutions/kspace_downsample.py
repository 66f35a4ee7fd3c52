import numpy as np


def my_kspace_downsample(img, scale):
    """Central ``(H/s, W/s)`` block of k-space on imresize's pixel grid, intensities preserved."""
    x = np.asarray(img)
    sh, sw = (scale, scale) if np.isscalar(scale) else tuple(scale)
    big_h, big_w = x.shape[-2:]
    h, w = big_h // sh, big_w // sw
    axes = (-2, -1)
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), axes=axes, norm="ortho"),
                        axes=axes)
    for axis, (n, s, m) in zip(axes, ((big_h, sh, h), (big_w, sw, w))):
        # shift from the FFT grid to imresize's (LR pixel j centred on s j + (s - 1) / 2)
        delta = (s - 1) / 2 - n // 2 + s * (m // 2)
        ramp = np.exp(2j * np.pi * (np.arange(n) - n // 2) * delta / n)
        k = k * (ramp[:, None] if axis == -2 else ramp[None, :])
    r0, c0 = big_h // 2 - h // 2, big_w // 2 - w // 2
    small = k[..., r0:r0 + h, c0:c0 + w]
    y = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(small, axes=axes), axes=axes, norm="ortho"),
                        axes=axes)
    return (y.real * np.sqrt(h * w / (big_h * big_w))).astype(x.dtype, copy=False)
