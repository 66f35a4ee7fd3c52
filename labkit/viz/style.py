"""One look for every labkit figure: sizes, colour maps, image panels and input checks.

Every viz function builds its own :class:`matplotlib.figure.Figure` through
:func:`new_figure`.  The figure is *not* registered with ``pyplot``: nothing has to be closed by
hand and a widget that redraws a thousand times does not pile up figures (``plt.get_fignums()``
stays as it was).  Jupyter shows a returned figure inline once the inline backend is active
(``%matplotlib inline``, which every course notebook runs first): it registers a PNG formatter
for any ``Figure``.

Conventions used by every figure
--------------------------------
* Width :data:`FIG_WIDTH` inches at :data:`DPI`, which fits a JupyterLab notebook column.
* Intensity images (MRI, inputs) use :data:`CMAP_IMAGE`; signed maps (filter responses,
  gradients of either sign, kernels) use :data:`CMAP_SIGNED` with limits symmetric about 0, so
  white always means zero; magnitudes and errors use :data:`CMAP_MAGNITUDE`; counts use
  :data:`CMAP_COUNT`.
* Each data axes gets a *label* (``ax.get_label()``) such as ``"input"`` or ``"output"``; the
  tests and the widgets find panels by label, not by position.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from labkit import _validate

#: Figure width in inches: a JupyterLab notebook column at 100 % zoom.
FIG_WIDTH = 9.0
#: Screen resolution of a figure; notebooks store PNGs at this dpi. With the sizes below the
#: smallest text (annotations, 9 pt) is 12 px high at 100 % zoom, which reads on a laptop.
DPI = 96
#: Resolution of the PNGs the widgets send to the browser.
WIDGET_DPI = 72

CMAP_IMAGE = "gray"
CMAP_SIGNED = "RdBu_r"
CMAP_MAGNITUDE = "magma"
CMAP_COUNT = "viridis"

#: Qualitative colours (matplotlib's tab10) for windows, curves and algorithms.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

#: Fixed colour per algorithm so that every timing plot agrees.
ALGORITHM_COLOURS = {"naive": PALETTE[3], "im2col": PALETTE[0], "winograd": PALETTE[2],
                     "winograd_f2x3": PALETTE[4], "winograd_f4x3": PALETTE[2],
                     "torch": PALETTE[7], "torch_nchw": PALETTE[7],
                     "torch_channels_last": "#333333"}

TITLE_SIZE = 12
LABEL_SIZE = 11
ANNOTATION_SIZE = 9
#: Numbers written into dense grids (8 x 8 Winograd matrices, kernel insets): the smallest text
#: a figure uses, still 10 px high at :data:`DPI`.
SMALL_SIZE = 8


def new_figure(nrows: int = 1, ncols: int = 1, width: float = FIG_WIDTH,
               height: float | None = None, **subplot_kw):
    """Create a figure with a grid of axes in the labkit style.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    width : float
        Width in inches (default :data:`FIG_WIDTH`).
    height : float, optional
        Height in inches; default ``width / ncols * nrows * 0.9`` (square-ish panels).
    **subplot_kw
        Passed to :meth:`Figure.subplots` (e.g. ``gridspec_kw``).

    Returns
    -------
    fig : Figure
    axes : ndarray of Axes, shape ``(nrows, ncols)``
    """
    if height is None:
        height = max(2.0, width / ncols * nrows * 0.9)
    # constrained layout keeps colourbars and titles from overlapping at any panel count.
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def symmetric_limits(a) -> tuple[float, float]:
    """``(-m, m)`` with ``m = max|a|`` (``(-1, 1)`` for an all-zero array)."""
    m = float(np.max(np.abs(a))) if np.size(a) else 0.0
    if not np.isfinite(m) or m == 0.0:
        m = 1.0
    return -m, m


def show_image(ax, img, title: str | None = None, cmap: str = CMAP_IMAGE, vmin=None,
               vmax=None, signed: bool = False, colorbar: bool = True, label: str | None = None,
               extent=None, cbar_label: str | None = None):
    """Draw a 2-D array on ``ax`` with pixel centres on integer coordinates.

    Parameters
    ----------
    ax : Axes
    img : ndarray, shape (H, W)
    title : str, optional
    cmap : str
    vmin, vmax : float, optional
        Colour limits; with ``signed=True`` they default to ``±max|img|`` and ``cmap`` to
        :data:`CMAP_SIGNED`.
    signed : bool
        Diverging colour map centred on zero.
    colorbar : bool
        Attach a colourbar (use it wherever the values matter).
    label : str, optional
        Axes label (``ax.get_label()``) by which tests and widgets find the panel.
    extent : tuple, optional
        Passed to ``imshow`` (default: pixel ``(i, j)`` centred on ``(j, i)``).
    cbar_label : str, optional
        Text along the colourbar.

    Returns
    -------
    AxesImage
    """
    img = np.asarray(img)
    if signed:
        lo, hi = symmetric_limits(img)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
        if cmap == CMAP_IMAGE:
            cmap = CMAP_SIGNED
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                   extent=extent)
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE)
    if label:
        ax.set_label(label)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        add_colorbar(ax, im, cbar_label)
    return im


def add_colorbar(ax, mappable, label: str | None = None):
    """A slim colourbar beside ``ax`` (an Axes, or a list of Axes sharing one colourbar)."""
    fig = np.ravel(ax)[0].figure if isinstance(ax, (list, tuple, np.ndarray)) else ax.figure
    cb = fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02, shrink=0.9)
    cb.ax.tick_params(labelsize=ANNOTATION_SIZE)
    if label:
        cb.set_label(label, fontsize=ANNOTATION_SIZE)
    return cb


def annotate_values(ax, a, fmt: str = "{:.2g}", fontsize: int = ANNOTATION_SIZE,
                    max_cells: int = 400, origin=(0, 0), image=None) -> int:
    """Write each value of a small 2-D array into its cell.

    Nothing is written when ``a`` has more than ``max_cells`` cells (the numbers would be
    unreadable).  With ``image`` (the ``AxesImage`` showing ``a``) the text is white on dark
    cells and black on light ones.  Returns the number of labels drawn.
    """
    a = np.asarray(a)
    if a.ndim != 2 or a.size > max_cells:
        return 0
    r0, c0 = origin
    for (i, j), v in np.ndenumerate(a):
        colour = "black"
        if image is not None and np.isfinite(v):
            r, g, b, _ = image.cmap(image.norm(v))
            # Relative luminance (ITU-R BT.709): dark cells get white text.
            if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5:
                colour = "white"
        # "+ 0.0" turns -0.0 into 0.0, so that exact zeros never print as "-0".
        text = fmt.format(v + 0.0) if np.isfinite(v) else str(v)
        ax.text(c0 + j, r0 + i, text, ha="center", va="center", fontsize=fontsize, color=colour)
    return a.size


def panel_axes(fig) -> dict:
    """``{label: Axes}`` for every labelled data axes of ``fig``, insets included (colourbars
    excluded)."""
    found = {}
    for ax in fig.axes:
        for a in [ax, *getattr(ax, "child_axes", [])]:
            if a.get_label() and not a.get_label().startswith("<"):
                found[a.get_label()] = a
    return found


def figure_to_png(fig, dpi: int = WIDGET_DPI) -> bytes:
    """Render ``fig`` to PNG bytes (Agg, independent of the active backend)."""
    if not hasattr(fig, "savefig"):
        raise ValueError(f"figure_to_png: expected a matplotlib Figure, got {type(fig).__name__}")
    dpi = _validate.check_int(dpi, "dpi", "figure_to_png", min=10, max=1200)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ----------------------------------------------------------------------------- input checks

def check_image(img, owner: str, name: str = "image", finite: bool = True) -> np.ndarray:
    """Return ``img`` as a 2-D float array; accept ``(H, W)``, ``(H, W, 1)`` or ``(1, H, W, 1)``.

    Raises ``ValueError`` naming ``owner`` and the shape for anything else, for an empty image
    and (with ``finite``) for NaN or inf.
    """
    a = np.asarray(img)
    shape = a.shape
    if a.ndim == 4 and a.shape[0] == 1 and a.shape[3] == 1:
        a = a[0, :, :, 0]
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2:
        raise ValueError(f"{owner}: {name} must be a 2-D image (H, W), got shape {shape}")
    if a.size == 0:
        raise ValueError(f"{owner}: {name} is empty, shape {shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: {name} must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64) if a.dtype.kind != "f" else a
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: {name} of shape {shape} contains NaN or inf")
    return a


def check_volume(vol, owner: str, name: str = "volume") -> np.ndarray:
    """Return ``vol`` as a 3-D float array, or raise ``ValueError`` naming ``owner``."""
    a = np.asarray(vol)
    if a.ndim == 4 and a.shape[3] == 1:
        a = a[..., 0]
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"{owner}: {name} must be a 3-D array (X, Y, Z), "
                         f"got shape {np.shape(vol)}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: {name} must be numeric, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: {name} of shape {a.shape} contains NaN or inf")
    return a


def check_int(value, owner: str, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (numpy ints accepted, bools rejected): :func:`labkit._validate.check_int`
    with the argument order the viz modules use."""
    return _validate.check_int(value, name, owner, min=minimum)


def check_pair(value, owner: str, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each ``>= minimum``, as a pair (:func:`labkit._validate.as_pair`)."""
    return _validate.as_pair(value, name, owner, min=minimum)
