"""Model builders: EDSR (Lim et al. 2017), WDSR (Yu et al. 2018) and small teaching nets.

Every builder returns a :class:`~labkit.network.Network` of NHWC layers whose input is the
low-resolution image ``(N, H, W, channels)`` and whose output is ``(N, H s, W s, channels)``.
"""

from __future__ import annotations

from labkit.layers import Activation, Conv2D, PixelShuffle, Shortcut
from labkit.network import Network


def _check_scale(scale, owner):
    if scale not in (2, 3, 4):
        raise ValueError(f"{owner}: scale must be 2, 3 or 4, got {scale!r}")


def _seed(seed, k):
    return None if seed is None else seed + k


def upsampler(scale: int, n_filters: int, seed=None, algorithm="auto") -> list:
    """EDSR's upsampler: conv to ``4F`` + ``PixelShuffle(2)`` once (x2) or twice (x4), or conv to
    ``9F`` + ``PixelShuffle(3)`` (x3)."""
    _check_scale(scale, "upsampler")
    steps = {2: [2], 3: [3], 4: [2, 2]}[scale]
    layers = []
    for k, r in enumerate(steps):
        layers += [Conv2D(n_filters, n_filters * r * r, 3, algorithm=algorithm, seed=_seed(seed, 1000 + k)),
                   PixelShuffle(r)]
    return layers


def edsr(scale, n_blocks=16, n_filters=64, res_scale=1.0, channels=1, seed=None,
         algorithm="auto") -> Network:
    """EDSR (Lim et al. 2017, "Enhanced Deep Residual Networks for Single Image SR").

    head conv 3x3 -> ``n_blocks`` x [conv 3x3, ReLU, conv 3x3, Shortcut(alpha=res_scale)]
    -> conv 3x3 -> Shortcut to the head output -> upsampler -> conv 3x3 to ``channels``.
    No batch normalisation: EDSR's point is that removing it helps SR.  ``edsr(2, 16, 64)`` has
    1,367,553 parameters (one channel), the same as PyTorch's EDSR-baseline.
    """
    _check_scale(scale, "edsr")
    if n_blocks < 0 or n_filters < 1 or channels < 1:
        raise ValueError(f"edsr: need n_blocks >= 0, n_filters >= 1, channels >= 1, got "
                         f"{n_blocks}, {n_filters}, {channels}")
    F = n_filters
    layers = [Conv2D(channels, F, 3, algorithm=algorithm, seed=_seed(seed, 0))]
    for b in range(n_blocks):
        layers += [Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 2 * b + 1)),
                   Activation("relu"),
                   Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 2 * b + 2)),
                   # y = res_scale * body(x) + x, x being the block input (4 layers back).
                   Shortcut(-4, alpha=res_scale)]
    layers += [Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 999)),
               Shortcut(0)]                         # global residual: back to the head output
    layers += upsampler(scale, F, seed, algorithm)
    layers += [Conv2D(F, channels, 3, algorithm=algorithm, seed=_seed(seed, 2000))]
    return Network(layers, name=f"edsr_x{scale}_{n_blocks}b_{F}f")
