"""Pooling explorer: kind, window, stride, padding and slice -> forward and backward figure."""

from __future__ import annotations

import numpy as np

from labkit.viz.pooling import pooling_arrays, pooling_figure
from labkit.widgets._base import Explorer, check_control, slider, toggles

KINDS = [("max", "max"), ("average", "avg")]


def _stack(images, owner: str) -> np.ndarray:
    """``(H, W)`` or ``(N, H, W)`` -> ``(N, H, W)`` float array (checked once, up front)."""
    try:
        a = np.asarray(images)
    except ValueError:
        raise ValueError(f"{owner}: images must be an array (H, W) or (N, H, W)") from None
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] == 0 or min(a.shape[1:]) < 1:
        raise ValueError(f"{owner}: images must be (H, W) or (N, H, W), got shape "
                         f"{np.shape(images)}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: images must hold numbers, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: images of shape {a.shape} must hold finite numbers")
    return a.astype(np.float64, copy=False)


def default_slices(n: int = 5, region: int | None = 32) -> np.ndarray:
    """A few axial slices of the built-in phantom, centre-cropped to ``region`` pixels.

    Small crops keep the windows of the pooling explorer visible.
    """
    from labkit.data import load_volume
    vol = load_volume("phantom")[0]
    zs = np.linspace(vol.shape[2] * 0.35, vol.shape[2] * 0.65, n).astype(int)
    sl = np.stack([vol[:, :, z].T for z in zs])
    if region:
        h, w = sl.shape[1:]
        r0, c0 = (h - region) // 2, (w - region) // 2
        sl = sl[:, r0:r0 + region, c0:c0 + region]
    return sl


def pooling_explorer(images=None, kind: str = "max", size: int = 2, stride: int = 2,
                     padding: int = 0, max_size: int = 8, max_padding: int = 4):
    """Interactive max/average pooling: input with windows, output, backward map.

    Parameters
    ----------
    images : ndarray, shape (H, W) or (N, H, W), optional
        The image(s) to pool; the ``slice`` slider picks one.  Default: five 32×32 crops of the
        built-in phantom (:func:`default_slices`).
    kind : {"max", "avg"}
    size, stride, padding : int
        Initial window size, stride and padding.
    max_size, max_padding : int
        Slider ranges (stride goes up to ``max_size``).

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``kind``, ``size``, ``stride``, ``padding``, ``slice``;
        ``state.arrays``: :func:`labkit.viz.pooling.pooling_arrays` of the current values
        (``output``, ``dx``, ...); ``state.figure``: the current figure.  Combinations that
        pooling rejects (padding >= size, window larger than the padded image) show the
        engine's message instead of a figure.
    """
    stack = _stack(default_slices() if images is None else images, "pooling_explorer")
    owner = "pooling_explorer"
    check_control(owner, "kind", kind, options=KINDS)
    max_size = check_control(owner, "max_size", max_size, 1, 32)
    max_padding = check_control(owner, "max_padding", max_padding, 0, 16)
    size = check_control(owner, "size", size, 1, max_size)
    stride = check_control(owner, "stride", stride, 1, max_size)
    padding = check_control(owner, "padding", padding, 0, max_padding)
    controls = {
        "kind": toggles("pooling", KINDS, kind),
        "size": slider("window", size, 1, max_size),
        "stride": slider("stride", stride, 1, max_size),
        "padding": slider("padding", padding, 0, max_padding),
        "slice": slider("slice", 0, 0, stack.shape[0] - 1),
    }
    controls["slice"].disabled = stack.shape[0] == 1

    def render(v):
        img = stack[v["slice"]]
        arrays = pooling_arrays(img, v["kind"], v["size"], v["stride"], v["padding"],
                                owner="pooling explorer")
        fig = pooling_figure(img, v["kind"], v["size"], v["stride"], v["padding"])
        return fig, arrays

    state = Explorer("Pooling explorer", controls, render,
                     info="Move a slider; the backward panel shows which input pixels receive "
                          "gradient.")
    return state.ui, state
