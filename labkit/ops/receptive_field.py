"""Receptive fields of stacked convolutions: how far back into the input one output pixel sees.

For a stack of layers with kernel sizes :math:`k_l`, strides :math:`s_l` and dilations
:math:`d_l`, the receptive field :math:`r_l` and the *jump* :math:`j_l` (distance in input
pixels between two neighbouring outputs of layer :math:`l`) follow the recursion

.. math::

    r_0 = 1,\\; j_0 = 1, \\qquad
    r_l = r_{l-1} + d_l (k_l - 1)\\, j_{l-1}, \\qquad j_l = j_{l-1} s_l

so ``L`` stacked 3x3 stride-1 convolutions see ``2L + 1`` pixels, and every stride multiplies
the growth of all later layers.

Not every pixel inside the receptive field matters equally: the number of paths through the
network from an input pixel to the output pixel is largest at the centre (Luo et al. 2016,
"effective receptive field").  :func:`receptive_field_maps` counts those paths by back-propagating
a single unit gradient through all-ones kernels with :func:`labkit.ops.conv.conv2d_backward`.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_alloc, check_int
from labkit.ops.conv import conv2d_backward, conv2d_forward
from labkit.ops.geometry import resolve_padding

__all__ = ["receptive_field_maps", "receptive_field_sizes"]


def _int_list(values, name: str, owner: str) -> list[int]:
    """A list of ints (bools, floats and strings refused) from a sequence."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{owner}: {name} must be a list of ints, got {values!r}")
    return [check_int(v, name, owner) for v in values]


def _per_layer(value, n: int, name: str, owner: str) -> list[int]:
    if value is None:
        value = 1
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [int(value)] * n
    value = _int_list(value, name, owner)
    if len(value) != n:
        raise ValueError(f"{owner}: {name} has {len(value)} entries for {n} layers")
    if min(value, default=1) < 1:
        raise ValueError(f"{owner}: every {name} must be >= 1, got {value}")
    return value


def receptive_field_sizes(kernels, strides=None, dilations=None) -> dict:
    """Receptive field and jump after each layer of a stack of convolutions.

    Parameters
    ----------
    kernels : sequence of int
        Kernel side of each layer (square kernels), e.g. ``[3] * 8``.
    strides, dilations : int or sequence of int, optional
        Per layer (or one value for all); default 1.

    Returns
    -------
    dict
        ``depth`` (0..L), ``size`` (r_0..r_L) and ``jump`` (j_0..j_L), int arrays of length
        ``L + 1``; ``size[0] = 1`` is the input pixel itself.
    """
    kernels = _int_list(kernels, "kernels", "receptive_field_sizes")
    n = len(kernels)
    if min(kernels, default=1) < 1:
        raise ValueError(f"receptive_field_sizes: kernel sizes must be >= 1, got {kernels}")
    strides = _per_layer(strides, n, "stride", "receptive_field_sizes")
    dilations = _per_layer(dilations, n, "dilation", "receptive_field_sizes")
    size, jump = [1], [1]
    for k, s, d in zip(kernels, strides, dilations):
        size.append(size[-1] + d * (k - 1) * jump[-1])
        jump.append(jump[-1] * s)
    return {"depth": np.arange(n + 1), "size": np.array(size), "jump": np.array(jump)}


def receptive_field_maps(shape, kernels, strides=None, position=None) -> list[np.ndarray]:
    """Path counts from every input pixel to one output pixel, after each depth.

    Layer ``l`` is a one-channel convolution with an all-ones ``k_l x k_l`` kernel, stride
    ``s_l`` and ``"same"`` padding.  Back-propagating ``dy = e_(i, j)`` (one at the chosen
    output pixel) through layers ``l, l-1, ..., 1`` gives, at each input pixel, the number of
    paths that connect it to that output: zero outside the receptive field and largest at its
    centre.

    Parameters
    ----------
    shape : (int, int)
        Input size ``(H, W)``.
    kernels : sequence of int
    strides : int or sequence of int, optional
    position : (int, int), optional
        Output pixel (same for every depth); default the centre of each depth's output.

    Returns
    -------
    list of ndarray
        ``maps[l - 1]`` has shape ``(H, W)``: the path counts for the output of layer ``l``.
    """
    owner = "receptive_field_maps"
    h, w = as_pair(shape, "shape", owner, min=1)
    check_alloc((h, w), owner, "map")
    kernels = _int_list(kernels, "kernels", owner)
    if min(kernels, default=1) < 1:
        raise ValueError(f"receptive_field_maps: kernel sizes must be >= 1, got {kernels}")
    strides = _per_layer(strides, len(kernels), "stride", "receptive_field_maps")
    x = np.zeros((1, h, w, 1))
    caches, shapes = [], []
    for k, s in zip(kernels, strides):
        pads = resolve_padding("same", (k, k), (s, s), x.shape[1:3], "receptive_field_maps")
        x, cache = conv2d_forward(x, np.ones((k, k, 1, 1)), None, (s, s), pads, "naive")
        caches.append(cache)
        shapes.append(x.shape)
    maps = []
    for depth in range(1, len(kernels) + 1):
        dy = np.zeros(shapes[depth - 1])
        i, j = (dy.shape[1] // 2, dy.shape[2] // 2) if position is None else position
        if not (0 <= i < dy.shape[1] and 0 <= j < dy.shape[2]):
            raise ValueError(f"receptive_field_maps: position {position!r} is outside the "
                             f"{dy.shape[1]}x{dy.shape[2]} output of layer {depth}")
        dy[0, i, j, 0] = 1.0
        for cache in reversed(caches[:depth]):
            dy = conv2d_backward(dy, cache)[0]
        maps.append(dy[0, :, :, 0].copy())
    return maps
