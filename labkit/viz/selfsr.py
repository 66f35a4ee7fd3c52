"""Figures of through-plane super-resolution (chapter 13): orthogonal views and per-slice PSNR.

Volumes are ``(X, Y, Z)`` arrays drawn as :mod:`labkit.viz.mri` draws them (sagittal, coronal
and axial slices with the second in-plane axis pointing up).  A thick-slice volume, shorter by
an integer factor along one axis, is shown on the fine grid with each thick slice repeated
(nearest neighbour), so its slices look as thick as they are.

:func:`slice_psnr` scores a volume slice by slice with the brain mask of
:func:`labkit.ops.slice_profile.brain_psnr`, so the per-slice curves and the single number of
``brain_psnr`` come from the same voxels.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._validate import check_float, check_int
from labkit.ops.slice_profile import brain_mask
from labkit.viz import style
from labkit.viz.mri import AXIS_NAMES, slice_image

__all__ = ["on_fine_grid", "orthogonal_comparison", "slice_psnr", "slice_psnr_figure"]


def _axis(axis, owner: str) -> int:
    return check_int(axis, "axis", owner, min=0, max=2)


def slice_psnr(pred, truth, axis: int = 2, exclude: int = 4, threshold: float = 0.05,
               data_range=None) -> np.ndarray:
    """PSNR of every slice along ``axis``, inside the brain mask of ``brain_psnr``.

    Slice ``k``: ``10 log10(R^2 / mean((pred - truth)^2))`` over the voxels of
    :func:`labkit.ops.slice_profile.brain_mask` (``truth > threshold * max(truth)``, the
    ``exclude`` end slices dropped) in that slice; ``R`` defaults to ``max(truth)``.

    Returns
    -------
    ndarray, shape ``(truth.shape[axis],)``
        float64; NaN for a slice without mask voxels (the excluded end slices, empty slices),
        ``inf`` for a slice without error.
    """
    owner = "slice_psnr"
    p = style.check_volume(pred, owner, "pred").astype(np.float64)
    t = style.check_volume(truth, owner, "truth").astype(np.float64)
    if p.shape != t.shape:
        raise ValueError(f"{owner}: pred has shape {p.shape}, truth {t.shape}")
    axis = _axis(axis, owner)
    mask = brain_mask(t, axis, exclude, threshold)
    r = float(t.max()) if data_range is None else check_float(
        data_range, "data_range", owner, min=0.0, min_open=True)
    others = tuple(a for a in range(3) if a != axis)
    sq = np.where(mask, (p - t) ** 2, 0.0).sum(axis=others)
    n = mask.sum(axis=others)
    out = np.full(t.shape[axis], np.nan)
    has = n > 0
    mse = sq[has] / n[has]
    with np.errstate(divide="ignore"):
        out[has] = np.where(mse == 0, np.inf, 10.0 * np.log10(r * r / np.where(mse == 0, 1, mse)))
    return out


def on_fine_grid(volume, shape) -> np.ndarray:
    """``volume`` on the grid of ``shape``: an axis ``f`` times shorter is repeated ``f`` times.

    A thick-slice scan ``(X, Y, Z)`` becomes ``(X, Y, f Z)`` with thick slice ``i`` filling
    fine slices ``f i .. f i + f - 1`` (the edge-aligned grids of
    :mod:`labkit.ops.slice_profile`).  A volume already of ``shape`` is returned as is.
    """
    owner = "on_fine_grid"
    vol = style.check_volume(volume, owner)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ValueError(f"{owner}: shape must have 3 sizes, got {shape}")
    out = vol
    for a in range(3):
        n, m = vol.shape[a], shape[a]
        if n == m:
            continue
        if n == 0 or m % n or m < n:
            raise ValueError(f"{owner}: axis {a} of shape {vol.shape} is not an integer "
                             f"fraction of {shape}")
        out = np.repeat(out, m // n, axis=a)
    return out


def _views(views, owner: str) -> list[int]:
    if isinstance(views, (str, int)):
        views = (views,)
    out = []
    for v in views:
        if isinstance(v, str):
            if v not in AXIS_NAMES:
                raise ValueError(f"{owner}: unknown view {v!r}; choose from {AXIS_NAMES}")
            out.append(AXIS_NAMES.index(v))
        else:
            out.append(_axis(v, owner))
    if not out:
        raise ValueError(f"{owner}: views is empty")
    return out


def orthogonal_comparison(truth, volumes, index=None, voxel_size=None,
                          views=("sagittal", "coronal", "axial"), error: bool = False,
                          error_vmax=None, truth_name: str = "truth", title: str | None = None,
                          rows: str = "views"):
    """Sagittal, coronal and axial slices of several volumes side by side, or their errors.

    Parameters
    ----------
    truth : ndarray (X, Y, Z)
        The reference; its shape is the display grid.
    volumes : dict name -> ndarray
        Volumes of ``truth``'s shape, or shorter along one axis by an integer factor (a
        thick-slice scan, shown with :func:`on_fine_grid`).
    index : (int, int, int), optional
        The point the slices go through (default the centre of ``truth``).
    voxel_size : 3 floats, optional
        Millimetres per voxel of ``truth``'s grid (each panel's aspect ratio).
    views : sequence of "sagittal", "coronal", "axial" (or 0, 1, 2)
    error : bool
        Draw ``|volume - truth|`` (one shared scale, magma) instead of the images; the truth
        column is then left out.
    error_vmax : float, optional
        Upper limit of the error scale; default the largest 99.5th percentile of the shown
        error slices (the colourbar says when values exceed it).
    rows : "views" or "volumes"
        One row per view and a column per volume (default), or the transpose.

    Returns
    -------
    Figure
        Axes ``"<view>:<name>"`` (``"coronal:cubic"``, ``"axial:truth"`` ...), image data
        ``slice_image(v, axis, index[axis])`` of the (repeated) volume or of its error.
    """
    owner = "orthogonal_comparison"
    ref = style.check_volume(truth, owner, "truth").astype(np.float64)
    if not isinstance(volumes, dict) or not volumes:
        raise ValueError(f"{owner}: volumes must be a non-empty dict name -> volume")
    vols = {}
    for name, v in volumes.items():
        try:
            vols[str(name)] = on_fine_grid(v, ref.shape).astype(np.float64)
        except ValueError as exc:
            raise ValueError(f"{owner}: volumes[{name!r}]: {exc}") from None
    axes_shown = _views(views, owner)
    if rows not in ("views", "volumes"):
        raise ValueError(f"{owner}: rows must be 'views' or 'volumes', got {rows!r}")
    if voxel_size is None:
        vs = (1.0, 1.0, 1.0)
    else:
        vs = tuple(float(s) for s in voxel_size)
        if len(vs) != 3 or not all(math.isfinite(s) and s > 0 for s in vs):
            raise ValueError(f"{owner}: voxel_size must be three positive numbers, got "
                             f"{voxel_size!r}")
    if index is None:
        index = tuple(s // 2 for s in ref.shape)
    index = tuple(int(i) for i in index)
    if len(index) != 3 or any(not 0 <= i < s for i, s in zip(index, ref.shape)):
        raise ValueError(f"{owner}: index {index} is outside the volume of shape {ref.shape}")
    error = bool(error)
    panels = vols if error else {str(truth_name): ref, **vols}
    images = {}
    for axis in axes_shown:
        for name, v in panels.items():
            img = slice_image(v, axis, index[axis])
            if error:
                img = np.abs(img - slice_image(ref, axis, index[axis]))
            images[axis, name] = img
    if error:
        if error_vmax is None:
            error_vmax = max(float(np.percentile(a, 99.5)) for a in images.values())
        vmin, vmax, cmap = 0.0, max(float(error_vmax), 1e-12), style.CMAP_MAGNITUDE
    else:
        vmin, vmax, cmap = min(0.0, float(ref.min())), float(ref.max()), style.CMAP_IMAGE

    def aspect(axis):                      # displayed height / width of a panel of this view
        rest = [a for a in range(3) if a != axis]
        img = images[axis, next(iter(panels))]
        return img.shape[0] * vs[rest[1]] / (img.shape[1] * vs[rest[0]])

    names = list(panels)
    if rows == "views":
        grid = [[(axis, name) for name in names] for axis in axes_shown]
        ratios = [aspect(axis) for axis in axes_shown]
        widths = None
    else:
        grid = [[(axis, name) for axis in axes_shown] for name in names]
        # Columns as wide as each view needs for one common row height.
        widths = [1.0 / aspect(axis) for axis in axes_shown]
        ratios = [1.0] * len(names)
    ncols = len(grid[0])
    if widths is None:
        row_h = [style.FIG_WIDTH * 0.9 / ncols * r for r in ratios]
    else:
        row_h = [style.FIG_WIDTH * 0.9 / sum(widths)] * len(grid)
    height = sum(h + 0.3 for h in row_h) + 0.5
    kw = {"height_ratios": ratios}
    if widths is not None:
        kw["width_ratios"] = widths
    fig, axes = style.new_figure(len(grid), ncols, height=height, gridspec_kw=kw)
    for r, row in enumerate(grid):
        im = None
        for c, (axis, name) in enumerate(row):
            ax = axes[r, c]
            rest = [a for a in range(3) if a != axis]
            view = f"{AXIS_NAMES[axis]} {'xyz'[axis]} = {index[axis]}"
            if rows == "views":
                t, side = (name if r == 0 else None), view.replace(" ", "\n", 1)
            else:
                t, side = (view if r == 0 else None), name
            im = style.show_image(ax, images[axis, name], t, cmap=cmap, vmin=vmin, vmax=vmax,
                                  label=f"{AXIS_NAMES[axis]}:{name}", colorbar=False)
            ax.invert_yaxis()
            ax.set_aspect(vs[rest[1]] / vs[rest[0]])
            if c == 0:
                ax.set_ylabel(side, fontsize=style.LABEL_SIZE)
        cb = style.add_colorbar(axes[r, :], im, "|error|" if error else None)
        if error and max(float(images[k].max()) for k in row) > vmax:
            cb.ax.set_title("▲ more", fontsize=style.ANNOTATION_SIZE)
    if title is None:
        title = ("Absolute error against the truth" if error else
                 "Orthogonal views through one point")
    fig.suptitle(title, fontsize=style.TITLE_SIZE + 1)
    return fig


def slice_psnr_figure(values, factor: int | None = None, baseline: str | None = None,
                      z=None, title: str = "PSNR slice by slice"):
    """Per-slice scores of several methods, their gain over a baseline, and (with ``factor``)
    the same averaged by the position of a fine slice inside its thick slice.

    Parameters
    ----------
    values : dict name -> array (n,)
        One score per fine slice (NaN where there is none, e.g. :func:`slice_psnr`).
    factor : int, optional
        Thick slice ``i`` covers fine slices ``f i .. f i + f - 1``: adds panels with the mean
        over slices at each position ``z mod f`` (the centre positions are the easy ones).
    baseline : str, optional
        Name in ``values``: adds the row of every other method's gain over it.
    z : array (n,), optional
        Slice indices (default ``0 .. n - 1``; ``z mod f`` is taken from them).

    Returns
    -------
    Figure
        Axes ``"per_slice"`` (one line per method, y data the scores), ``"phase"`` (with
        ``factor``: bars, heights ``nanmean`` per position), ``"gain"`` and ``"gain_phase"``
        (with ``baseline``).
    """
    owner = "slice_psnr_figure"
    if not isinstance(values, dict) or not values:
        raise ValueError(f"{owner}: values must be a non-empty dict name -> scores")
    vals = {str(k): np.asarray(v, dtype=np.float64) for k, v in values.items()}
    n = next(iter(vals.values())).shape
    for k, v in vals.items():
        if v.ndim != 1 or v.shape != n or v.size == 0:
            raise ValueError(f"{owner}: values[{k!r}] has shape {v.shape}; all must be the same "
                             f"non-empty 1-D shape")
    z = np.arange(n[0]) if z is None else np.asarray(z)
    if z.shape != n:
        raise ValueError(f"{owner}: z has shape {z.shape}, the values {n}")
    if baseline is not None and baseline not in vals:
        raise ValueError(f"{owner}: baseline {baseline!r} is not one of {sorted(vals)}")
    if factor is not None:
        factor = check_int(factor, "factor", owner, min=2, max=64)
    nrows = 1 if baseline is None or len(vals) < 2 else 2
    ncols = 1 if factor is None else 2
    kw = {"gridspec_kw": {"width_ratios": [3, 1]}} if ncols == 2 else {}
    fig, axes = style.new_figure(nrows, ncols, height=3.0 * nrows + 0.4, **kw)
    colours = {k: style.PALETTE[i % 10] for i, k in enumerate(vals)}

    def curves(ax, series, ylabel, label):
        for k, v in series.items():
            finite = np.isfinite(v)
            mean = float(np.mean(v[finite])) if finite.any() else float("nan")
            ax.plot(z, np.where(finite, v, np.nan), "-", lw=1.2, color=colours[k],
                    label=f"{k} (mean {mean:+.2f})" if label == "gain" else
                    f"{k} (mean {mean:.2f})")
        ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=style.ANNOTATION_SIZE)
        ax.set_label(label)

    def bars(ax, series, label, ylabel):
        k_of = np.mod(z, factor)
        width = 0.8 / len(series)
        lo = []
        for i, (k, v) in enumerate(series.items()):
            means = [float(np.nanmean(np.where(np.isfinite(v) & (k_of == p), v, np.nan)))
                     if np.any(np.isfinite(v) & (k_of == p)) else np.nan for p in range(factor)]
            ax.bar(np.arange(factor) + (i - (len(series) - 1) / 2) * width, means, width,
                   color=colours[k], label=k)
            lo += [m for m in means if np.isfinite(m)]
        if label == "phase" and lo:
            # PSNR bars: start the axis just below the lowest bar so differences show.
            span = max(lo) - min(lo)
            ax.set_ylim(min(lo) - max(0.5, span), max(lo) + 0.3 * max(0.5, span))
        else:
            ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(factor))
        ax.set_xlabel(f"z mod {factor}", fontsize=style.LABEL_SIZE)
        ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
        ax.grid(alpha=0.3, axis="y")
        ax.set_label(label)

    curves(axes[0, 0], vals, "PSNR (dB)", "per_slice")
    axes[0, 0].set_title(title, fontsize=style.TITLE_SIZE)
    if factor is not None:
        bars(axes[0, 1], vals, "phase", "mean PSNR (dB)")
        axes[0, 1].set_title("by position in\nthe thick slice", fontsize=style.TITLE_SIZE)
    if nrows == 2:
        gains = {k: v - vals[baseline] for k, v in vals.items() if k != baseline}
        curves(axes[1, 0], gains, f"gain over {baseline} (dB)", "gain")
        axes[1, 0].axhline(0, color="black", lw=0.8)
        if factor is not None:
            bars(axes[1, 1], gains, "gain_phase", "mean gain (dB)")
    axes[-1, 0].set_xlabel("fine slice z", fontsize=style.LABEL_SIZE)
    return fig
