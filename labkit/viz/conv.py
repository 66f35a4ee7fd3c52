"""Convolution on images: classic kernels, a network's feature maps, receptive-field growth.

The filter responses are computed by :func:`labkit.ops.filters.filter2d`, i.e. by the engine's
own convolution; feature maps and receptive-field maps are passed in as arrays (compute them
with a network or with :mod:`labkit.ops.receptive_field`).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Rectangle

from labkit.ops.filters import KERNELS, filter2d
from labkit.ops.geometry import resolve_padding
from labkit.viz import style

DEFAULT_GALLERY = ("sobel_x", "sobel_y", "laplacian", "sharpen", "box_blur", "gaussian_blur",
                   "outline")


def _kernel_dict(kernels, owner: str) -> dict:
    if kernels is None:
        kernels = DEFAULT_GALLERY
    if isinstance(kernels, dict):
        items = kernels.items()
    else:
        items = []
        for name in kernels:
            if name not in KERNELS:
                raise ValueError(f"{owner}: unknown kernel {name!r}; choose from {sorted(KERNELS)}")
            items.append((name, KERNELS[name]))
    out = {}
    for name, k in items:
        k = np.asarray(k, dtype=np.float64)
        if k.ndim != 2 or k.size == 0:
            raise ValueError(f"{owner}: kernel {name!r} must be a 2-D array, got shape {k.shape}")
        out[str(name)] = k
    if not out:
        raise ValueError(f"{owner}: no kernels given")
    return out


def _kernel_inset(ax, k: np.ndarray, name: str):
    """The kernel itself, small, in the lower-left corner of a response panel."""
    inset = ax.inset_axes([0.0, 0.0, 0.32, 0.32])
    im = inset.imshow(k, cmap=style.CMAP_SIGNED, vmin=style.symmetric_limits(k)[0],
                      vmax=style.symmetric_limits(k)[1], interpolation="nearest")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_label(f"kernel:{name}")
    if k.size <= 9:
        style.annotate_values(inset, k, "{:.2g}", fontsize=style.SMALL_SIZE, image=im)
    return inset


def kernel_gallery(img, kernels=None, stride=1, padding="same", ncols: int = 4,
                   cmap: str = style.CMAP_IMAGE):
    """An image and its responses to classic kernels (edges, sharpening, blurring).

    Parameters
    ----------
    img : ndarray, shape (H, W)
        E.g. an MRI slice.
    kernels : list of names or dict name -> (kh, kw) array, optional
        Names from :data:`labkit.ops.filters.KERNELS`; default Sobel x/y, Laplacian, sharpen,
        box and Gaussian blur, outline.
    stride, padding
        As for ``Conv2D`` (zero padding, default ``"same"``).
    ncols : int
        Panels per row.

    Returns
    -------
    Figure
        Axes ``"input"`` and one per kernel, labelled with its name, whose image data is
        ``filter2d(img, kernel, stride, padding)``; signed responses use a diverging map
        centred on zero, smoothing kernels (non-negative weights) the image's colour map.
        Each response has the kernel drawn as an inset (label ``"kernel:<name>"``).
    """
    owner = "kernel_gallery"
    x = style.check_image(img, owner)
    ks = _kernel_dict(kernels, owner)
    ncols = max(1, min(int(ncols), len(ks) + 1))
    nrows = math.ceil((len(ks) + 1) / ncols)
    fig, axes = style.new_figure(nrows, ncols, height=2.4 * nrows + 0.4)
    flat = axes.ravel()
    style.show_image(flat[0], x, f"input {x.shape[0]}×{x.shape[1]}", cmap=cmap, label="input")
    for ax, (name, k) in zip(flat[1:], ks.items()):
        y = filter2d(x, k, stride, padding)
        smoothing = bool(np.all(k >= 0))
        style.show_image(ax, y, name, cmap=cmap if smoothing else style.CMAP_SIGNED,
                         signed=not smoothing, label=name)
        _kernel_inset(ax, k, name)
    for ax in flat[len(ks) + 1:]:
        ax.set_axis_off()
    fig.suptitle("Classic kernels applied by labkit's convolution", fontsize=style.TITLE_SIZE + 1)
    return fig


def conv_figure(img, kernel, stride=1, padding="same", cmap: str = style.CMAP_IMAGE,
                name: str | None = None):
    """One convolution: padded input with the kernel's first window, the kernel, the output.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    kernel : (kh, kw) array or a name from :data:`labkit.ops.filters.KERNELS`
    stride : int or (int, int)
    padding : "same", "valid", int or (int, int)

    Returns
    -------
    Figure
        Axes ``"input"``, ``"kernel"`` (image data: the kernel) and ``"output"`` (image data:
        ``filter2d(img, kernel, stride, padding)``).
    """
    owner = "conv_figure"
    x = style.check_image(img, owner)
    if isinstance(kernel, str):
        name = name or kernel
        kernel = _kernel_dict([kernel], owner)[kernel]
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{owner}: kernel must be a 2-D array, got shape {k.shape}")
    st = style.check_pair(stride, owner, "stride")
    pads = resolve_padding(padding, k.shape, st, x.shape, owner)
    hp, wp = x.shape[0] + sum(pads[0]), x.shape[1] + sum(pads[1])
    if k.shape[0] > hp or k.shape[1] > wp:
        raise ValueError(f"{owner}: kernel {k.shape[0]}x{k.shape[1]} is larger than the padded "
                         f"input {hp}x{wp} (image {x.shape}, padding {pads})")
    y = filter2d(x, k, st, padding)
    fig, axes = style.new_figure(1, 3, height=3.4,
                                 gridspec_kw={"width_ratios": [1.0, 0.55, 1.0]})
    ax_in, ax_k, ax_out = axes[0]
    style.show_image(ax_in, x, f"input {x.shape[0]}×{x.shape[1]}", cmap=cmap, label="input")
    (pt, pb), (pl, pr) = pads
    ax_in.set_xlim(-pl - 0.5, x.shape[1] + pr - 0.5)
    ax_in.set_ylim(x.shape[0] + pb - 0.5, -pt - 0.5)
    if pt or pb or pl or pr:
        ax_in.set_facecolor("black")       # zero padding: the value 0 in the image's map
    colour = style.PALETTE[1]
    ax_in.add_patch(Rectangle((-pl - 0.5, -pt - 0.5), k.shape[1], k.shape[0], fill=True,
                              fc=colour, alpha=0.25, ec=colour, lw=2))
    title = f"kernel {name} {k.shape[0]}×{k.shape[1]}" if name else \
        f"kernel {k.shape[0]}×{k.shape[1]}"
    im = style.show_image(ax_k, k, title, signed=True, label="kernel")
    if k.size <= 49:
        style.annotate_values(ax_k, k, "{:.2g}", image=im)
    smoothing = bool(np.all(k >= 0))
    style.show_image(ax_out, y, f"output {y.shape[0]}×{y.shape[1]}",
                     cmap=cmap if smoothing else style.CMAP_SIGNED, signed=not smoothing,
                     label="output")
    ax_out.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, ec=colour, lw=2))
    fig.suptitle(f"Convolution: stride {st[0]}×{st[1]}, padding {pt}+{pb}×{pl}+{pr}",
                 fontsize=style.TITLE_SIZE + 1)
    return fig


def _as_maps(m, owner: str, k: int) -> np.ndarray:
    a = np.asarray(m, dtype=np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"{owner}: feature maps {k} must be (H, W, C), (1, H, W, C) or (H, W), "
                         f"got shape {np.shape(m)}")
    return a


def feature_maps(maps, names=None, max_channels: int = 6, signed: bool = True):
    """Feature maps of a network's layers: one row per layer, one panel per channel.

    Parameters
    ----------
    maps : ndarray or list of ndarrays
        Each ``(H, W, C)``, ``(1, H, W, C)`` (a layer output for one image) or ``(H, W)``.
    names : list of str, optional
        Row titles (default ``"layer 0"``, ``"layer 1"``, ...).
    max_channels : int
        Show the first ``max_channels`` channels of each layer.
    signed : bool
        Diverging colour map centred on 0 (pre-activation outputs); False for a sequential map.

    Returns
    -------
    Figure
        Axes labelled ``"<row>:<channel>"`` (e.g. ``"0:3"``) whose image data is that channel.
    """
    owner = "feature_maps"
    if isinstance(maps, np.ndarray):
        maps = [maps]
    maps = [_as_maps(m, owner, k) for k, m in enumerate(maps)]
    if not maps:
        raise ValueError(f"{owner}: no feature maps given")
    if names is None:
        names = [f"layer {k}" for k in range(len(maps))]
    if len(names) != len(maps):
        raise ValueError(f"{owner}: {len(names)} names for {len(maps)} layers")
    ncols = max(1, min(int(max_channels), max(m.shape[2] for m in maps)))
    fig, axes = style.new_figure(len(maps), ncols, height=1.75 * len(maps) + 0.5)
    for r, (m, name) in enumerate(zip(maps, names)):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= m.shape[2]:
                ax.set_axis_off()
                continue
            style.show_image(ax, m[:, :, c], f"ch {c}", signed=signed,
                             cmap=style.CMAP_SIGNED if signed else style.CMAP_MAGNITUDE,
                             label=f"{r}:{c}", colorbar=ncols <= 4)
        axes[r, 0].set_ylabel(f"{name}\n{m.shape[0]}×{m.shape[1]}×{m.shape[2]}",
                              fontsize=style.LABEL_SIZE)
    fig.suptitle("Feature maps", fontsize=style.TITLE_SIZE + 1)
    return fig


def receptive_field_figure(maps, sizes=None, depths=None, image=None):
    """Receptive-field growth: path-count maps at several depths and the size curve.

    Parameters
    ----------
    maps : list of ndarray, each (H, W)
        ``maps[l - 1]`` for depth ``l``, e.g. from
        :func:`labkit.ops.receptive_field.receptive_field_maps`.
    sizes : dict, optional
        Output of :func:`labkit.ops.receptive_field.receptive_field_sizes` (``depth``, ``size``)
        for the curve panel; default: measured from the maps (width of the non-zero region).
    depths : list of int, optional
        Which depths to draw (default up to four, evenly spread).
    image : ndarray, shape (H, W), optional
        Drawn underneath, with the maps as a translucent overlay.

    Returns
    -------
    Figure
        Axes ``"depth<l>"`` (data of the last image on the axes: ``maps[l - 1]``, masked
        outside the receptive field when drawn over ``image``) and ``"growth"`` (receptive field
        side in pixels vs depth).
    """
    owner = "receptive_field_figure"
    maps = [style.check_image(m, owner, f"maps[{k}]") for k, m in enumerate(maps)]
    if not maps:
        raise ValueError(f"{owner}: no maps given")
    shape = maps[0].shape
    if any(m.shape != shape for m in maps):
        raise ValueError(f"{owner}: all maps must share one shape, got "
                         f"{[m.shape for m in maps]}")
    if image is not None:
        image = style.check_image(image, owner, "image")
        if image.shape != shape:
            raise ValueError(f"{owner}: image {image.shape} and maps {shape} differ in shape")
    n = len(maps)
    if depths is None:
        depths = sorted({round(float(v)) for v in np.linspace(1, n, min(n, 4))})
    depths = [int(d) for d in depths]
    if any(not 1 <= d <= n for d in depths):
        raise ValueError(f"{owner}: depths must lie in 1..{n}, got {depths}")
    measured = np.array([1] + [int(np.any(m > 0, axis=0).sum()) for m in maps])
    if sizes is None:
        depth_axis, size_axis = np.arange(n + 1), measured
    else:
        depth_axis, size_axis = np.asarray(sizes["depth"]), np.asarray(sizes["size"])
    fig, axes = style.new_figure(1, len(depths) + 1, height=2.9)
    for ax, d in zip(axes[0], depths):
        m = maps[d - 1]
        if image is not None:
            style.show_image(ax, image, None, colorbar=False)
            overlay = np.ma.masked_where(m <= 0, m)
            ax.imshow(overlay, cmap=style.CMAP_MAGNITUDE, alpha=0.7, interpolation="nearest")
            ax.set_title(f"depth {d}: {measured[d]} px", fontsize=style.TITLE_SIZE)
            ax.set_label(f"depth{d}")
        else:
            style.show_image(ax, m, f"depth {d}: {measured[d]} px", cmap=style.CMAP_MAGNITUDE,
                             label=f"depth{d}", colorbar=False)
    ax = axes[0, -1]
    ax.plot(depth_axis, size_axis, "o-", color=style.PALETTE[0], label="receptive field")
    ax.set_xlabel("depth (layers)", fontsize=style.LABEL_SIZE)
    ax.set_ylabel("side (pixels)", fontsize=style.LABEL_SIZE)
    ax.set_title("growth with depth", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=0.3)
    ax.set_label("growth")
    fig.suptitle("Receptive field: how many input pixels one output pixel sees",
                 fontsize=style.TITLE_SIZE + 1)
    return fig
