"""Convolution and im2col explorers: kernel, stride, padding -> input, kernel, output; and
image size, kernel, stride -> the windows and the column matrix."""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array
from labkit.ops.filters import KERNELS, filter2d
from labkit.viz.conv import conv_figure
from labkit.viz.im2col import im2col_arrays, im2col_figure
from labkit.widgets._base import Explorer, check_control, dropdown, slider
from labkit.widgets.pooling import _stack, default_slices

PADDINGS = [("same", "same"), ("valid", "valid"), ("0", 0), ("1", 1), ("2", 2), ("3", 3)]


def convolution_explorer(images=None, kernel: str = "sobel_x", stride: int = 1, padding="same",
                  kernels=None, max_stride: int = 4):
    """Interactive 2-D convolution with classic kernels.

    Parameters
    ----------
    images : ndarray, shape (H, W) or (N, H, W), optional
        Default: crops of the built-in phantom.
    kernel : str
        Initial kernel name.
    stride : int
    padding : "same", "valid" or int 0..3
    kernels : dict name -> (kh, kw) array, optional
        The kernels to choose from (default :data:`labkit.ops.filters.KERNELS`).
    max_stride : int

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``kernel``, ``stride``, ``padding``, ``slice``; ``state.arrays``:
        ``output`` (``filter2d`` of the image) and ``kernel``.
    """
    stack = _stack(default_slices(region=48) if images is None else images,
                   "convolution_explorer")
    owner = "convolution_explorer"
    if kernels is not None and not isinstance(kernels, dict):
        raise ValueError(f"{owner}: kernels must be a dict name -> 2-D array, got "
                         f"{type(kernels).__name__}")
    table = {}
    for name, k in (KERNELS if kernels is None else kernels).items():
        k = check_array(k, owner, name=f"kernel {name!r}", finite=True)
        if k.ndim != 2 or min(k.shape) < 1:
            raise ValueError(f"{owner}: kernel {name!r} must be a 2-D array, got shape {k.shape}")
        table[name] = k
    if not table:
        raise ValueError(f"{owner}: kernels is empty")
    check_control(owner, "kernel", kernel, options=sorted(table))
    max_stride = check_control(owner, "max_stride", max_stride, 1, 16)
    stride = check_control(owner, "stride", stride, 1, max_stride)
    check_control(owner, "padding", padding, options=PADDINGS)
    controls = {
        "kernel": dropdown("kernel", sorted(table), kernel),
        "stride": slider("stride", stride, 1, max_stride),
        "padding": dropdown("padding", PADDINGS, padding),
        "slice": slider("slice", 0, 0, stack.shape[0] - 1),
    }
    controls["slice"].disabled = stack.shape[0] == 1

    def render(v):
        img = stack[v["slice"]]
        k = np.asarray(table[v["kernel"]], dtype=np.float64)
        fig = conv_figure(img, k, v["stride"], v["padding"], name=v["kernel"])
        out = filter2d(img, k, v["stride"], v["padding"])
        return fig, {"output": out, "kernel": k, "input": img}

    state = Explorer("Convolution explorer", controls, render)
    return state.ui, state


def im2col_explorer(size: int = 4, kernel: int = 2, stride: int = 1, padding: int = 0,
                    max_size: int = 8, max_kernel: int = 4, max_stride: int = 3,
                    max_padding: int = 2):
    """Interactive im2col on a small ``size x size`` image holding ``0, 1, 2, ...``.

    The values are the pixel indices, so each entry of the column matrix says where it came
    from.

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``size``, ``kernel``, ``stride``, ``padding``; ``state.arrays``:
        :func:`labkit.viz.im2col.im2col_arrays` (``columns``, ``padded``, ...).  A kernel larger
        than the padded image shows a message.
    """
    owner = "im2col_explorer"
    max_size = check_control(owner, "max_size", max_size, 2, 32)
    max_kernel = check_control(owner, "max_kernel", max_kernel, 1, 16)
    max_stride = check_control(owner, "max_stride", max_stride, 1, 16)
    max_padding = check_control(owner, "max_padding", max_padding, 0, 16)
    size = check_control(owner, "size", size, 2, max_size)
    kernel = check_control(owner, "kernel", kernel, 1, max_kernel)
    stride = check_control(owner, "stride", stride, 1, max_stride)
    padding = check_control(owner, "padding", padding, 0, max_padding)
    controls = {
        "size": slider("image size", size, 2, max_size),
        "kernel": slider("kernel", kernel, 1, max_kernel),
        "stride": slider("stride", stride, 1, max_stride),
        "padding": slider("padding", padding, 0, max_padding),
    }

    def render(v):
        n = v["size"]
        img = np.arange(n * n, dtype=np.float64).reshape(n, n)
        arrays = im2col_arrays(img, v["kernel"], v["stride"], v["padding"],
                               owner="im2col explorer")
        fig = im2col_figure(img, v["kernel"], v["stride"], v["padding"])
        arrays["input"] = img
        return fig, arrays

    state = Explorer("im2col explorer", controls, render)
    return state.ui, state


#: Short alias of :func:`convolution_explorer`.
conv_explorer = convolution_explorer
