"""MRI figures: orthogonal slices, k-space and truncation masks, SR comparisons, per-slice scores.

Volumes are ``(X, Y, Z)`` arrays in RAS+ orientation (what :func:`labkit.data.load_volume`
returns): ``X`` runs left to right, ``Y`` posterior to anterior, ``Z`` inferior to superior.
Slices are drawn with the second in-plane axis pointing up: axial and coronal slices in the
neurological convention (the subject's left on the left), sagittal slices with the face on the
right and the top of the head at the top.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from labkit._validate import check_int
from labkit.ops.kspace import fft2c, ifft2c, kspace_mask
from labkit.viz import style

AXIS_NAMES = ("sagittal", "coronal", "axial")


def slice_image(volume, axis: int, index: int) -> np.ndarray:
    """The slice of ``volume`` at ``index`` along ``axis``, oriented for display.

    Returns the 2-D array that :func:`orthogonal_slices` and :func:`slice_figure` draw with
    ``origin="lower"``: the slice transposed, so rows run along the second remaining axis.
    """
    vol = style.check_volume(volume, "slice_image")
    axis = check_int(axis, "axis", "slice_image", min=0, max=2)
    n = vol.shape[axis]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise ValueError(f"slice_image: index {index!r} is outside 0..{n - 1} for axis {axis} of a "
                         f"volume of shape {vol.shape}")
    return np.take(vol, int(index), axis=axis).T


def _aspect(voxel_size, axis: int) -> float:
    # Rows of the displayed slice run along the last remaining axis, columns along the first.
    rest = [a for a in range(3) if a != axis]
    return float(voxel_size[rest[1]]) / float(voxel_size[rest[0]])


def _voxel_size(voxel_size, owner: str):
    if voxel_size is None:
        return (1.0, 1.0, 1.0)
    v = tuple(float(s) for s in voxel_size)
    if len(v) != 3 or min(v) <= 0 or not all(np.isfinite(v)):
        raise ValueError(f"{owner}: voxel_size must be three positive numbers, got {voxel_size!r}")
    return v


def orthogonal_slices(volume, index=None, voxel_size=None, cmap: str = style.CMAP_IMAGE,
                      crosshair: bool = True, vmax=None):
    """Sagittal, coronal and axial slices through one point of a volume.

    Parameters
    ----------
    volume : ndarray, shape (X, Y, Z)
    index : (int, int, int), optional
        The point ``(i, j, k)``; default the centre.
    voxel_size : (float, float, float), optional
        Millimetres per voxel; sets each panel's aspect ratio (default isotropic).
    crosshair : bool
        Lines marking where the other two slices cut this one.
    vmax : float, optional
        Upper colour limit (default the volume maximum), shared by the three panels.

    Returns
    -------
    Figure
        Axes ``"sagittal"``, ``"coronal"``, ``"axial"``, image data
        ``slice_image(volume, axis, index[axis])``.
    """
    owner = "orthogonal_slices"
    vol = style.check_volume(volume, owner)
    vs = _voxel_size(voxel_size, owner)
    if index is None:
        index = tuple(s // 2 for s in vol.shape)
    index = tuple(int(i) for i in index)
    if len(index) != 3 or any(not 0 <= i < s for i, s in zip(index, vol.shape)):
        raise ValueError(f"{owner}: index {index} is outside the volume of shape {vol.shape}")
    vmax = float(vol.max()) if vmax is None else vmax
    fig, axes = style.new_figure(1, 3, height=3.3)
    for axis, ax in enumerate(axes[0]):
        img = slice_image(vol, axis, index[axis])
        style.show_image(ax, img, f"{AXIS_NAMES[axis]} {'xyz'[axis]} = {index[axis]}",
                         cmap=cmap, vmin=min(0.0, float(vol.min())), vmax=vmax,
                         label=AXIS_NAMES[axis], colorbar=axis == 2)
        ax.invert_yaxis()                    # second in-plane axis points up (origin lower)
        ax.set_aspect(_aspect(vs, axis))
        if crosshair:
            rest = [a for a in range(3) if a != axis]
            ax.axvline(index[rest[0]], color=style.PALETTE[1], lw=0.7, alpha=0.8)
            ax.axhline(index[rest[1]], color=style.PALETTE[1], lw=0.7, alpha=0.8)
    fig.suptitle(f"Orthogonal slices of a {vol.shape[0]}×{vol.shape[1]}×{vol.shape[2]} volume",
                 fontsize=style.TITLE_SIZE + 1)
    return fig


def slice_figure(volume, axis: int = 2, index=None, voxel_size=None,
                 cmap: str = style.CMAP_IMAGE):
    """One slice of a volume, with a colourbar (the volume slice viewer's figure).

    Returns
    -------
    Figure
        Axes ``"slice"`` with image data ``slice_image(volume, axis, index)``.
    """
    owner = "slice_figure"
    vol = style.check_volume(volume, owner)
    vs = _voxel_size(voxel_size, owner)
    axis = check_int(axis, "axis", owner, min=0, max=2)
    index = vol.shape[axis] // 2 if index is None else check_int(
        index, "index", owner, min=0, max=vol.shape[axis] - 1)
    img = slice_image(vol, axis, index)
    fig, axes = style.new_figure(1, 1, width=5.0, height=4.4)
    ax = axes[0, 0]
    style.show_image(ax, img, f"{AXIS_NAMES[axis]} slice {index} of {vol.shape[axis]}",
                     cmap=cmap, vmin=min(0.0, float(vol.min())), vmax=float(vol.max()),
                     label="slice")
    ax.invert_yaxis()
    ax.set_aspect(_aspect(vs, axis))
    return fig


def kspace_figure(img, scale: int = 2, eps: float = 1e-6, cmap: str = style.CMAP_IMAGE):
    """An image, its k-space, the low-frequency block that an ``s``-times lower resolution keeps,
    and what that block alone reconstructs (zero-filled, showing Gibbs ringing).

    Parameters
    ----------
    img : ndarray, shape (H, W)
    scale : int
        Truncation factor: the kept block is ``(H // s, W // s)`` (``kspace_mask``).
    eps : float
        Added before the logarithm of the magnitude.

    Returns
    -------
    Figure
        Axes ``"image"``, ``"kspace"`` (``log10(|fft2c(img)| + eps)``), ``"masked"`` (same,
        outside the mask set to ``log10(eps)``) and ``"reconstruction"``
        (``Re ifft2c(fft2c(img) * mask)``).
    """
    owner = "kspace_figure"
    x = style.check_image(img, owner)
    s = style.check_int(scale, owner, "scale")
    if x.shape[0] // s < 1 or x.shape[1] // s < 1:
        raise ValueError(f"{owner}: scale {s} leaves no k-space for an image of shape {x.shape}")
    k = fft2c(x)
    mask = kspace_mask(x.shape, (x.shape[0] // s, x.shape[1] // s))
    logk = np.log10(np.abs(k) + eps)
    masked = np.where(mask, logk, np.log10(eps))
    recon = ifft2c(k * mask).real
    fig, axes = style.new_figure(1, 4, height=2.9)
    vmin, vmax = float(x.min()), float(x.max())
    style.show_image(axes[0, 0], x, f"image {x.shape[0]}×{x.shape[1]}", cmap=cmap, vmin=vmin,
                     vmax=vmax, label="image", colorbar=False)
    lo, hi = float(np.percentile(logk, 1)), float(logk.max())
    style.show_image(axes[0, 1], logk, "k-space log₁₀|K|", cmap=style.CMAP_MAGNITUDE, vmin=lo,
                     vmax=hi, label="kspace")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    for ax in (axes[0, 1], axes[0, 2]):
        ax.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), cols.size, rows.size,
                               fill=False, ec=style.PALETTE[2], lw=1.2))
    style.show_image(axes[0, 2], masked, f"kept 1/{s}×1/{s} block", cmap=style.CMAP_MAGNITUDE,
                     vmin=lo, vmax=hi, label="masked", colorbar=False)
    style.show_image(axes[0, 3], recon, "zero-filled reconstruction", cmap=cmap, vmin=vmin,
                     vmax=vmax, label="reconstruction", colorbar=False)
    fig.suptitle(f"k-space truncation ×{s}: low frequencies keep contrast, edges ring",
                 fontsize=style.TITLE_SIZE + 1)
    return fig


def _zoom_box(zoom, shape, owner: str):
    if zoom is None:
        h, w = shape
        size = max(4, min(h, w) // 4)
        return (h - size) // 2, (w - size) // 2, size
    try:
        r0, c0, size = (int(v) for v in zoom)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: zoom must be (row, col, size), got {zoom!r}") from None
    if size < 2 or r0 < 0 or c0 < 0 or r0 + size > shape[0] or c0 + size > shape[1]:
        raise ValueError(f"{owner}: zoom window {(r0, c0, size)} does not fit in the image of "
                         f"shape {shape}")
    return r0, c0, size


def sr_comparison(hr, images, zoom=None, scores=None, error: bool = True,
                  cmap: str = style.CMAP_IMAGE, error_vmax=None):
    """LR / bicubic / SR / HR side by side, with a zoomed inset row and error maps.

    Parameters
    ----------
    hr : ndarray, shape (H, W)
        Reference high-resolution image (drawn last).
    images : dict name -> ndarray
        Images to compare, in display order.  Each is ``(H, W)`` or, for a low-resolution
        input, ``(H / s, W / s)`` with an integer ``s``: it is drawn stretched onto the HR grid
        (nearest neighbour, so its pixels show) and gets no error map.
    zoom : (row, col, size), optional
        Zoom window in HR pixels (default a centred quarter).
    scores : dict name -> str or (psnr, ssim), optional
        Shown under each title (e.g. ``(31.2, 0.912)`` -> ``"31.20 dB / 0.912"``).
    error : bool
        Add the row of ``|image - hr|`` maps (one shared colour scale).
    error_vmax : float, optional
        Upper limit of the error colour scale; default the largest 99.5th percentile of the
        errors shown, so that a few extreme pixels do not turn every map black (the colourbar
        is marked as extended when values exceed it).

    Returns
    -------
    Figure
        Axes ``"<name>"`` (image data: the image), ``"<name>:zoom"`` (the zoom crop, in the
        image's own pixels) and ``"<name>:error"`` (``|image - hr|``), plus ``"HR"`` and
        ``"HR:zoom"``.
    """
    owner = "sr_comparison"
    ref = style.check_image(hr, owner, "hr")
    if not isinstance(images, dict) or not images:
        raise ValueError(f"{owner}: images must be a non-empty dict name -> image")
    panels, factors = {}, {}
    for name, im in images.items():
        a = style.check_image(im, owner, f"images[{name!r}]")
        if a.shape == ref.shape:
            factors[name] = 1
        else:
            fh, fw = ref.shape[0] / a.shape[0], ref.shape[1] / a.shape[1]
            if fh != fw or fh != int(fh) or int(fh) < 1:
                raise ValueError(f"{owner}: image {name!r} of shape {a.shape} is neither the HR "
                                 f"shape {ref.shape} nor an integer fraction of it")
            factors[name] = int(fh)
        panels[str(name)] = a
    panels["HR"], factors["HR"] = ref, 1
    r0, c0, size = _zoom_box(zoom, ref.shape, owner)
    errors = {n: np.abs(a - ref) for n, a in panels.items() if factors[n] == 1 and n != "HR"}
    if error_vmax is None:
        error_vmax = max([float(np.percentile(e, 99.5)) for e in errors.values()] + [1e-12])
    n = len(panels)
    nrows = 3 if error and errors else 2
    panel_w = style.FIG_WIDTH / n
    row_h = panel_w * ref.shape[0] / ref.shape[1] + 0.45
    height = 2 * row_h + panel_w + 0.3 if nrows == 3 else row_h + panel_w + 0.3
    fig = Figure(figsize=(style.FIG_WIDTH, height), dpi=style.DPI, layout="constrained")
    axes = fig.subplots(nrows, n, squeeze=False)
    vmin, vmax = float(ref.min()), float(ref.max())
    colour = style.PALETTE[1]
    last_err = None
    for col, (name, a) in enumerate(panels.items()):
        f = factors[name]
        title = name
        if scores and name in scores:
            sc = scores[name]
            title += "\n" + (sc if isinstance(sc, str) else f"{sc[0]:.2f} dB / {sc[1]:.3f}")
        extent = (-0.5, ref.shape[1] - 0.5, ref.shape[0] - 0.5, -0.5)
        style.show_image(axes[0, col], a, title, cmap=cmap, vmin=vmin, vmax=vmax, label=name,
                         colorbar=False, extent=extent)
        axes[0, col].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), size, size, fill=False,
                                         ec=colour, lw=1.2))
        # The zoom crop in the image's own pixels (an LR image shows its coarse pixels).
        crop = a[r0 // f:-(-(r0 + size) // f), c0 // f:-(-(c0 + size) // f)]
        style.show_image(axes[1, col], crop, None, cmap=cmap, vmin=vmin, vmax=vmax,
                         label=f"{name}:zoom", colorbar=False)
        for side in axes[1, col].spines.values():
            side.set_edgecolor(colour)
            side.set_linewidth(1.5)
        if nrows == 3:
            if name in errors:
                last_err = style.show_image(axes[2, col], errors[name], f"|error| {name}",
                                            cmap=style.CMAP_MAGNITUDE, vmin=0, vmax=error_vmax,
                                            label=f"{name}:error", colorbar=False)
            else:
                axes[2, col].set_axis_off()
    style.add_colorbar(axes[0, :], axes[0, -1].images[0], "intensity")
    if last_err is not None:
        cb = style.add_colorbar(axes[2, :], last_err, "|image − HR|")
        if max(float(e.max()) for e in errors.values()) > error_vmax:
            cb.ax.set_title("▲ more", fontsize=style.ANNOTATION_SIZE)
    fig.suptitle("Super-resolution: whole slice, zoom, error", fontsize=style.TITLE_SIZE + 1)
    return fig


def psnr_per_slice(z, values, ylabel: str = "PSNR (dB)", baseline: str | None = None,
                   title: str = "Score per test slice"):
    """Per-slice scores of several methods (e.g. bicubic vs models) along the slice index.

    Parameters
    ----------
    z : array_like, shape (n,)
        Slice indices (e.g. ``split["test_z"]``).
    values : dict name -> array (n,)
        One score per slice and method (e.g. ``psnr(..., reduce=False)``).
    ylabel : str
    baseline : str, optional
        Name in ``values``; adds a panel with every other method's gain over it.

    Returns
    -------
    Figure
        Axes ``"per_slice"`` (one line per method, label ``"<name> (mean m)"``, y data the
        scores) and, with a baseline, ``"gain"``.
    """
    owner = "psnr_per_slice"
    z = np.asarray(z)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"{owner}: z must be a non-empty 1-D array, got shape {z.shape}")
    if not isinstance(values, dict) or not values:
        raise ValueError(f"{owner}: values must be a non-empty dict name -> scores")
    vals = {}
    for name, v in values.items():
        a = np.asarray(v, dtype=np.float64)
        if a.shape != z.shape:
            raise ValueError(f"{owner}: values[{name!r}] has shape {a.shape}, z has {z.shape}")
        vals[str(name)] = a
    if baseline is not None and baseline not in vals:
        raise ValueError(f"{owner}: baseline {baseline!r} is not one of {sorted(vals)}")
    ncols = 1 if baseline is None else 2
    fig, axes = style.new_figure(1, ncols, height=3.3)
    ax = axes[0, 0]
    order = np.argsort(z, kind="stable")
    for k, (name, a) in enumerate(vals.items()):
        ax.plot(z[order], a[order], "o-", ms=3, lw=1, color=style.PALETTE[k % 10],
                label=f"{name} (mean {np.mean(a):.2f})")
    ax.set_xlabel("slice z", fontsize=style.LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=style.ANNOTATION_SIZE)
    ax.set_title("per slice", fontsize=style.TITLE_SIZE)
    ax.set_label("per_slice")
    if baseline is not None:
        ax2 = axes[0, 1]
        for k, (name, a) in enumerate(vals.items()):
            if name == baseline:
                continue
            ax2.plot(z[order], (a - vals[baseline])[order], "o-", ms=3, lw=1,
                     color=style.PALETTE[k % 10], label=name)
        ax2.axhline(0, color="black", lw=0.8)
        ax2.set_xlabel("slice z", fontsize=style.LABEL_SIZE)
        ax2.set_ylabel(f"gain over {baseline}", fontsize=style.LABEL_SIZE)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=style.ANNOTATION_SIZE)
        ax2.set_title(f"gain over {baseline}", fontsize=style.TITLE_SIZE)
        ax2.set_label("gain")
    fig.suptitle(title, fontsize=style.TITLE_SIZE + 1)
    return fig
