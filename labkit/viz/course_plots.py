"""General course figures: curves, image panels with zoom boxes, grouped bars, slice positions.

These are the small, reusable figures of the early chapters (activations and losses, image
quality, the dataset). Like every :mod:`labkit.viz` function they take arrays, compute nothing
of their own beyond layout, and return a :class:`matplotlib.figure.Figure` in the labkit style
(:mod:`labkit.viz.style`); every data axes carries a label so that tests can find it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from labkit.viz import style

__all__ = ["curve_panels", "decision_surface", "grouped_bars", "image_panels", "slice_positions"]


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = n if ncols is None else max(1, min(int(ncols), n))
    return -(-n // ncols), ncols


def curve_panels(x, panels, ncols: int | None = None, xlabel: str = "x", ylabel=None,
                 height: float | None = None, ylim=None, logy: bool = False, markers: bool = False,
                 hline=None, legend: bool = True):
    """One axes per panel, several labelled curves each.

    Parameters
    ----------
    x : array_like, shape (M,), or None
        Common abscissa (each curve may instead be a pair ``(x_k, y_k)``; ``x`` may be None
        when every curve is such a pair).
    panels : list of (title, {label: y})
        ``y`` is an array of shape ``(M,)`` or a pair ``(x_k, y_k)``.
    ncols : int, optional
        Panels per row (default: all in one row).
    xlabel : str
    ylabel : str or list of str, optional
        One label for every panel or one per panel.
    height : float, optional
        Figure height in inches.
    ylim : (float, float), optional
        Common y limits.
    logy : bool
        Logarithmic y axis.
    markers : bool
        Draw a marker at each point (for short sweeps).
    hline : float, optional
        A dotted horizontal reference line (e.g. 0).
    legend : bool

    Returns
    -------
    Figure
        Axes labelled by their panel titles.
    """
    x = None if x is None else np.asarray(x, dtype=np.float64)
    panels = list(panels)
    if not panels:
        raise ValueError("curve_panels: need at least one panel")
    nrows, ncols = _grid(len(panels), ncols)
    if height is None:
        height = 2.9 * nrows
    fig, axes = style.new_figure(nrows, ncols, height=height)
    ylabels = ylabel if isinstance(ylabel, (list, tuple)) else [ylabel] * len(panels)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        title, series = panels[k]
        for c, (label, y) in enumerate(series.items()):
            if isinstance(y, tuple) and len(y) == 2:
                xs, ys = np.asarray(y[0], dtype=np.float64), np.asarray(y[1], dtype=np.float64)
            else:
                if x is None:
                    raise ValueError(f"curve_panels: panel {title!r}, curve {label!r} has no x "
                                     f"(give x or an (x, y) pair)")
                xs, ys = x, np.asarray(y, dtype=np.float64)
            if xs.shape != ys.shape:
                raise ValueError(f"curve_panels: panel {title!r}, curve {label!r}: x has shape "
                                 f"{xs.shape}, y has shape {ys.shape}")
            ax.plot(xs, ys, label=label, color=style.PALETTE[c % len(style.PALETTE)], lw=1.6,
                    marker="o" if markers else None, ms=3.5)
        if hline is not None:
            ax.axhline(hline, color="#888888", lw=0.8, ls=":")
        if logy:
            ax.set_yscale("log")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_title(title, fontsize=style.TITLE_SIZE)
        ax.set_xlabel(xlabel, fontsize=style.LABEL_SIZE)
        if ylabels[k]:
            ax.set_ylabel(ylabels[k], fontsize=style.LABEL_SIZE)
        ax.tick_params(labelsize=style.ANNOTATION_SIZE + 1)
        ax.grid(alpha=0.3)
        if legend and len(series) > 1:
            ax.legend(fontsize=style.ANNOTATION_SIZE + 1)
        ax.set_label(title)
    return fig


def image_panels(images, titles=None, zoom=None, ncols: int | None = None, vmin=None, vmax=None,
                 cmap: str = style.CMAP_IMAGE, signed: bool = False, colorbar: bool = False,
                 width: float = style.FIG_WIDTH, height: float | None = None, suptitle=None):
    """A row (or grid) of 2-D images on a common colour scale, optionally with zoomed crops.

    Parameters
    ----------
    images : list of ndarray, each (H_k, W_k)
    titles : list of str, optional
    zoom : (row0, row1, col0, col1), optional
        A box in the coordinates of the *first* image. It is drawn on every full image (scaled
        to that image's size, so an LR image gets the same anatomical box) and a second row shows
        the crops enlarged.
    ncols : int, optional
        Without ``zoom``: images per row (default all in one row).
    vmin, vmax : float, optional
        Common colour limits (default: the first image's minimum and maximum).
    cmap : str
    signed : bool
        Diverging colour map symmetric about 0 (for difference images).
    colorbar : bool
    width, height : float
    suptitle : str, optional

    Returns
    -------
    Figure
        Axes labelled ``"image0"``, ``"image1"``, ... and, with ``zoom``, ``"zoom0"``, ...
    """
    imgs = [style.check_image(im, "image_panels", f"images[{k}]") for k, im in enumerate(images)]
    if not imgs:
        raise ValueError("image_panels: need at least one image")
    titles = list(titles) if titles is not None else [None] * len(imgs)
    if len(titles) != len(imgs):
        raise ValueError(f"image_panels: {len(imgs)} images but {len(titles)} titles")
    if signed:
        lo, hi = style.symmetric_limits(np.concatenate([im.ravel() for im in imgs]))
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    else:
        vmin = float(imgs[0].min()) if vmin is None else vmin
        vmax = float(imgs[0].max()) if vmax is None else vmax
    if zoom is not None:
        nrows, ncols = 2, len(imgs)
    else:
        nrows, ncols = _grid(len(imgs), ncols)
    if height is None:
        h0, w0 = imgs[0].shape
        height = max(2.0, width / ncols * nrows * h0 / w0 * (1.15 if colorbar else 1.0) + 0.5)
    fig, axes = style.new_figure(nrows, ncols, width=width, height=height)
    ref_h, ref_w = imgs[0].shape
    for k, im in enumerate(imgs):
        ax = axes.ravel()[k] if zoom is None else axes[0, k]
        style.show_image(ax, im, titles[k], cmap=cmap, vmin=vmin, vmax=vmax, signed=signed,
                         colorbar=colorbar, label=f"image{k}")
        if zoom is None:
            continue
        r0, r1, c0, c1 = zoom
        fy, fx = im.shape[0] / ref_h, im.shape[1] / ref_w
        rr0, rr1, cc0, cc1 = (round(r0 * fy), round(r1 * fy),
                              round(c0 * fx), round(c1 * fx))
        ax.add_patch(Rectangle((cc0 - 0.5, rr0 - 0.5), cc1 - cc0, rr1 - rr0, fill=False,
                               ec=style.PALETTE[1], lw=1.5))
        style.show_image(axes[1, k], im[rr0:rr1, cc0:cc1], None, cmap=cmap, vmin=vmin,
                         vmax=vmax, signed=signed, colorbar=colorbar, label=f"zoom{k}")
        for side in axes[1, k].spines.values():
            side.set_edgecolor(style.PALETTE[1])
    for ax in axes.ravel()[len(imgs):] if zoom is None else []:
        ax.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=style.TITLE_SIZE + 1)
    return fig


def grouped_bars(categories, groups, ylabel: str = "", title: str | None = None,
                 ylim=None, fmt: str = "{:.3g}", width: float = style.FIG_WIDTH,
                 height: float = 3.2, ax_label: str = "bars"):
    """Grouped bar chart: one group per category, one bar per series, values written on top.

    Parameters
    ----------
    categories : list of str
    groups : {series label: array of shape (len(categories),)}
    ylabel, title : str
    ylim : (float, float), optional
    fmt : str
        Format of the value labels.

    Returns
    -------
    Figure
        One axes labelled ``ax_label``.
    """
    categories = list(categories)
    fig, axes = style.new_figure(1, 1, width=width, height=height)
    ax = axes[0, 0]
    n = len(groups)
    bar_w = 0.8 / max(n, 1)
    pos = np.arange(len(categories), dtype=np.float64)
    for k, (label, values) in enumerate(groups.items()):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(categories),):
            raise ValueError(f"grouped_bars: series {label!r} has shape {values.shape}, expected "
                             f"({len(categories)},)")
        bars = ax.bar(pos + (k - (n - 1) / 2) * bar_w, values, bar_w * 0.95, label=label,
                      color=style.PALETTE[k % len(style.PALETTE)])
        for b, v in zip(bars, values):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), fmt.format(v), ha="center",
                    va="bottom", fontsize=style.ANNOTATION_SIZE)
    ax.set_xticks(pos, categories, fontsize=style.LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=style.TITLE_SIZE)
    if n > 1:
        ax.legend(fontsize=style.ANNOTATION_SIZE + 1)
    ax.grid(axis="y", alpha=0.3)
    ax.set_label(ax_label)
    return fig


def slice_positions(image, positions, title: str | None = None, xlabel: str = "",
                    ylabel: str = "", origin_lower: bool = True, height: float = 4.2):
    """An image (e.g. a sagittal slice) with horizontal lines at given rows, colour per group.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Row ``i`` is the position that ``positions`` refer to (e.g. the axial index ``z``).
    positions : {group label: list of int}
        Rows to mark; each group gets a colour and a legend entry with its count.
    origin_lower : bool
        Draw row 0 at the bottom (``z`` increasing upwards, as anatomy is shown).

    Returns
    -------
    Figure
        One axes labelled ``"positions"``.
    """
    img = style.check_image(image, "slice_positions")
    fig, axes = style.new_figure(1, 1, width=style.FIG_WIDTH * 0.75, height=height)
    ax = axes[0, 0]
    style.show_image(ax, img, title, colorbar=False, label="positions")
    if origin_lower:
        ax.set_ylim(-0.5, img.shape[0] - 0.5)
    for k, (label, rows) in enumerate(positions.items()):
        rows = list(rows)
        colour = style.PALETTE[k % len(style.PALETTE)]
        for j, r in enumerate(rows):
            ax.axhline(r, color=colour, lw=0.7, alpha=0.6,
                       label=f"{label} ({len(rows)})" if j == 0 else None)
    ax.set_xlabel(xlabel, fontsize=style.LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
    if ylabel:
        ax.set_yticks(np.arange(0, img.shape[0], 20))
        ax.tick_params(labelsize=style.ANNOTATION_SIZE)
    ax.legend(fontsize=style.ANNOTATION_SIZE + 1, loc="upper right", framealpha=0.9)
    return fig


def decision_surface(grid_x, grid_y, values, X, y, title: str | None = None,
                     threshold: float = 0.5, height: float = 3.8):
    """A classifier's output over the plane, its decision boundary, and the training points.

    Parameters
    ----------
    grid_x, grid_y : ndarray, shape (n1, n2)
        Coordinates of the grid (``numpy.meshgrid``).
    values : ndarray, shape (n1, n2)
        The classifier's output at each grid point (e.g. a network's logistic output in [0, 1]).
    X : ndarray, shape (N, 2)
        Training inputs.
    y : ndarray, shape (N,)
        Their labels (two classes).
    title : str, optional
    threshold : float
        Output level drawn as the decision boundary (a black contour).

    Returns
    -------
    Figure
        One axes labelled ``"surface"``.
    """
    owner = "decision_surface"
    gx, gy, v = (np.asarray(a, dtype=np.float64) for a in (grid_x, grid_y, values))
    if gx.ndim != 2 or gx.shape != gy.shape or gx.shape != v.shape:
        raise ValueError(f"{owner}: grid_x, grid_y and values must be 2-D of one shape, got "
                         f"{gx.shape}, {gy.shape}, {v.shape}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"{owner}: expected X (N, 2) and y (N,), got {X.shape} and {y.shape}")
    fig, axes = style.new_figure(1, 1, width=style.FIG_WIDTH * 0.6, height=height)
    ax = axes[0, 0]
    cs = ax.contourf(gx, gy, v, levels=20, cmap=style.CMAP_SIGNED, alpha=0.85)
    style.add_colorbar(ax, cs, "output")
    if v.min() < threshold < v.max():
        ax.contour(gx, gy, v, levels=[threshold], colors="black", linewidths=1.8)
    markers = ("o", "s")
    for k, c in enumerate(np.unique(y)):
        sel = y == c
        ax.scatter(X[sel, 0], X[sel, 1], s=60, marker=markers[k % 2], color=style.PALETTE[k * 3],
                   edgecolor="black", linewidth=0.8, label=f"class {c:g}", zorder=3)
    ax.set_xlabel("x₁", fontsize=style.LABEL_SIZE)
    ax.set_ylabel("x₂", fontsize=style.LABEL_SIZE)
    if title:
        ax.set_title(title, fontsize=style.TITLE_SIZE)
    ax.legend(fontsize=style.ANNOTATION_SIZE + 1, loc="upper right")
    ax.set_label("surface")
    return fig
