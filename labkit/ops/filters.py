"""Classic hand-made convolution kernels (edges, sharpening, blurring) and a 2-D filter helper.

Before networks *learned* their kernels, image processing designed them by hand.  Each kernel
below is a small weight matrix; applied with :func:`filter2d` (the same cross-correlation that
``Conv2D`` computes, see :func:`labkit.ops.conv.conv2d`) it turns an image into a feature map.
A trained network's first layer usually ends up with kernels that look much like these.

Because deep-learning "convolution" is a cross-correlation (the kernel is not flipped), the
Sobel kernels here respond positively where intensity *increases* left-to-right (``sobel_x``)
or top-to-bottom (``sobel_y``).
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_array, check_choice, check_float, check_int
from labkit.ops.conv import conv2d_forward
from labkit.ops.geometry import check_window, resolve_padding

__all__ = ["KERNELS", "classic_kernel", "filter2d", "gaussian_kernel"]


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """Normalised 2-D Gaussian ``g[u, v] ∝ exp(-((u-c)^2 + (v-c)^2) / (2 sigma^2))``, sum 1.

    Parameters
    ----------
    size : int
        Odd side length, >= 1.
    sigma : float
        Standard deviation in pixels, > 0.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1 \
            or size % 2 == 0:
        raise ValueError(f"gaussian_kernel: size must be an odd int >= 1, got {size!r}")
    check_int(size, "size", "gaussian_kernel", min=1, max=10001)
    sigma = check_float(sigma, "sigma", "gaussian_kernel", min=0.0, min_open=True)
    t = np.arange(size) - size // 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


#: name -> 2-D kernel.  Sums: 1 for identity, blurs and sharpen (brightness preserved),
#: 0 for edge detectors (a flat region gives zero response).
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "box_blur": np.full((3, 3), 1.0 / 9.0),
    "gaussian_blur": gaussian_kernel(5, 1.0),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "outline": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
}


def classic_kernel(name: str) -> np.ndarray:
    """A copy of the kernel called ``name`` (one of :data:`KERNELS`)."""
    check_choice(name, "name", "classic_kernel", sorted(KERNELS))
    return KERNELS[name].copy()


def filter2d(img, kernel, stride=1, padding="same") -> np.ndarray:
    """Cross-correlate a 2-D image with a 2-D kernel, exactly as a one-channel ``Conv2D``.

    Parameters
    ----------
    img : array_like, shape (H, W)
    kernel : array_like, shape (kh, kw), or a name from :data:`KERNELS`
    stride : int or (int, int)
    padding : "same", "valid", int or (int, int)
        Zero padding, as :func:`labkit.ops.conv.resolve_padding` reads it.

    Returns
    -------
    ndarray, shape (Ho, Wo), float64
    """
    owner = "filter2d"
    if isinstance(kernel, str):
        check_choice(kernel, "kernel", owner, sorted(KERNELS))
        k = KERNELS[kernel]
    else:
        k = check_array(kernel, owner, name="kernel", finite=True).astype(np.float64, copy=False)
    x = check_array(img, owner, name="image").astype(np.float64, copy=False)
    if x.ndim != 2 or k.ndim != 2:
        raise ValueError(f"filter2d: expected a 2-D image and a 2-D kernel, got shapes "
                         f"{np.shape(img)} and {k.shape}")
    stride = as_pair(stride, "stride", owner, min=1)
    pads = resolve_padding(padding, k.shape, stride, x.shape, owner)
    check_window(x.shape, k.shape, stride, pads, owner, "kernel", x.shape)
    return conv2d_forward(x[None, :, :, None], k[:, :, None, None], None, stride, pads,
                          "im2col")[0][0, :, :, 0]
