"""Sliding-window geometry, written once: output sizes, padding specs, padding and cropping.

Convolution and pooling slide a ``k``-wide window with stride ``s`` over an input of length
``n`` padded with ``p_0`` pixels before and ``p_1`` after.  The number of window positions is

.. math::

    n_{out} = \\left\\lfloor \\frac{n + p_0 + p_1 - k}{s} \\right\\rfloor + 1

(:func:`conv_output_size`).  ``padding="same"`` picks the smallest total padding that gives
``n_out = ceil(n / s)`` (:func:`same_output_size`), with the odd pixel at the bottom/right as
TensorFlow and PyTorch do; ``"valid"`` pads nothing.

Every module that needs these rules (the convolution algorithms, pooling, layers, the network's
shape inference, the benchmark, the visualisations) imports them from here; this module imports
nothing from labkit except the shared validation helpers, so dependencies go one way.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_int

Pads = tuple[tuple[int, int], tuple[int, int]]

NO_PADS: Pads = ((0, 0), (0, 0))


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int = 0) -> int:
    """Output length along one axis: ``floor((size + pad_total - kernel) / stride) + 1``."""
    return (size + pad_total - kernel) // stride + 1


def same_output_size(size: int, stride: int) -> int:
    """Output length of ``padding="same"``: ``ceil(size / stride)`` (integer arithmetic)."""
    return -(-size // stride)


def output_hw(in_hw, kernel, stride, pads: Pads = NO_PADS) -> tuple[int, int]:
    """``(Ho, Wo)`` of a window ``kernel`` sliding with ``stride`` over ``in_hw`` padded by ``pads``."""
    return (conv_output_size(in_hw[0], kernel[0], stride[0], pads[0][0] + pads[0][1]),
            conv_output_size(in_hw[1], kernel[1], stride[1], pads[1][0] + pads[1][1]))


def padded_hw(in_hw, pads: Pads) -> tuple[int, int]:
    """Height and width after padding."""
    return in_hw[0] + pads[0][0] + pads[0][1], in_hw[1] + pads[1][0] + pads[1][1]


def same_pads(in_hw, kernel, stride) -> Pads:
    """Explicit padding of ``"same"``: total ``max((ceil(n/s) - 1) s + k - n, 0)`` per axis."""
    pads = []
    for n, k, s in zip(in_hw, kernel, stride):
        total = max((same_output_size(n, s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads[0], pads[1]


def check_padding_spec(padding, owner: str = "conv2d"):
    """Validate a padding spec without an input size: ``"same"``, ``"valid"``, an int >= 0
    or a pair of ints >= 0.  Returns the string or the ``(ph, pw)`` pair."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{owner}: padding must be 'same', 'valid', an int or a pair, "
                             f"got {padding!r}")
        return padding
    try:
        ph, pw = as_pair(padding, "padding", owner)
    except ValueError:
        raise ValueError(f"{owner}: padding must be 'same', 'valid', an int or a pair, "
                         f"got {padding!r}") from None
    if ph < 0 or pw < 0:
        raise ValueError(f"{owner}: padding must be >= 0, got {padding!r}")
    return ph, pw


def resolve_padding(padding, kernel: tuple[int, int], stride: tuple[int, int],
                    in_hw: tuple[int, int], owner: str = "conv2d") -> Pads:
    """Turn a padding spec into explicit ``((top, bottom), (left, right))`` pixel counts.

    ``"same"`` pads so that ``out = ceil(in / stride)``, splitting the total padding with the
    extra pixel at the bottom/right (TensorFlow's and PyTorch's rule); ``"valid"`` pads nothing;
    an int ``p`` or a pair ``(ph, pw)`` pads symmetrically.
    """
    spec = check_padding_spec(padding, owner)
    if spec == "valid":
        return NO_PADS
    if spec == "same":
        return same_pads(in_hw, kernel, stride)
    ph, pw = spec
    return (ph, ph), (pw, pw)


def pad_nhwc(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of an NHWC array (no copy when there is nothing to pad)."""
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def unpad_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Inverse of :func:`pad_nhwc`: drop the padded border (a view)."""
    (t, b), (l, r) = pads
    return x[:, t:x.shape[1] - b, l:x.shape[2] - r, :]


def check_pads(pads, owner: str) -> Pads:
    """Explicit pads ``((top, bottom), (left, right))`` of ints >= 0 (bools refused)."""
    try:
        (t, b), (l, r) = pads
        t, b, l, r = (check_int(v, "pads", owner, min=0) for v in (t, b, l, r))
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: pads must be ((top, bottom), (left, right)) with ints >= 0, "
                         f"got {pads!r}") from None
    return (t, b), (l, r)


def check_window(in_hw, kernel, stride, pads: Pads, owner: str, what: str = "kernel",
                 x_shape=None) -> tuple[int, int]:
    """Refuse stride < 1, a window < 1 or one larger than the padded input; return ``(Ho, Wo)``."""
    if min(stride) < 1:
        raise ValueError(f"{owner}: stride must be >= 1, got {tuple(stride)}")
    if min(kernel) < 1:
        raise ValueError(f"{owner}: {what} size must be >= 1, got {tuple(kernel)}")
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"{owner}: padding must be >= 0, got {pads}")
    hp, wp = padded_hw(in_hw, pads)
    if kernel[0] > hp or kernel[1] > wp:
        shown = tuple(x_shape) if x_shape is not None else tuple(in_hw)
        raise ValueError(f"{owner}: {what} {kernel[0]}x{kernel[1]} is larger than the padded "
                         f"input {hp}x{wp} (input {shown}, padding {pads})")
    return output_hw(in_hw, kernel, stride, pads)


def check_conv_args(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], pads: Pads,
                    owner: str = "conv2d") -> tuple[int, int]:
    """Validate shapes for a convolution and return the output size ``(Ho, Wo)``."""
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"{owner}: expected a 4-D input (N, H, W, C), "
                         f"got shape {np.shape(x)}")
    if getattr(w, "ndim", None) != 4:
        raise ValueError(f"{owner}: expected weights (kh, kw, C_in, C_out), "
                         f"got shape {np.shape(w)}")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"{owner}: input has {x.shape[3]} channels but the weights expect "
                         f"{w.shape[2]} (input {x.shape}, weights {w.shape})")
    stride = as_pair(stride, "stride", owner)
    pads = check_pads(pads, owner)
    return check_window(x.shape[1:3], w.shape[:2], stride, pads, owner, "kernel", x.shape)
