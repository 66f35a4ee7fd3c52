"""Winograd minimal filtering, drawn: the overlapping tiles and the transforms of one tile.

``F(m x m, 3 x 3)`` cuts the input into ``a x a`` tiles (``a = m + 2``) that overlap by two
pixels and advance by ``m``; each gives an ``m x m`` output tile through

.. math:: Y = A^T \\left[ (G g G^T) \\odot (B^T d B) \\right] A .

The matrices come from :data:`labkit.ops.winograd.VARIANTS`, the ones the engine's Winograd
convolution uses.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from labkit.ops.conv import conv2d
from labkit.viz import style


def _variant(variant: str, owner: str):
    from labkit.ops.winograd import VARIANTS
    if variant not in VARIANTS:
        raise ValueError(f"{owner}: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[variant]


def _check_kernel(kernel, owner: str) -> np.ndarray:
    g = np.asarray(kernel, dtype=np.float64)
    if g.shape != (3, 3) or not np.all(np.isfinite(g)):
        raise ValueError(f"{owner}: kernel must be a finite 3x3 array, got shape {g.shape}")
    return g


def winograd_tile_arrays(d, g, variant: str = "f2x3", owner: str = "winograd_tile_arrays") -> dict:
    """Every intermediate of ``F(m x m, 3 x 3)`` on one ``a x a`` input tile.

    Returns
    -------
    dict
        ``d`` (a, a), ``g`` (3, 3), ``V = B^T d B``, ``U = G g G^T``, ``M = U ⊙ V`` (a, a),
        ``Y = A^T M A`` and ``direct`` (the valid 3x3 correlation of ``d``), both (m, m), and
        the matrices ``BT``, ``G``, ``AT``.
    """
    m, BT, G, AT = _variant(variant, owner)
    a = m + 2
    d = np.asarray(d, dtype=np.float64)
    if d.shape != (a, a) or not np.all(np.isfinite(d)):
        raise ValueError(f"{owner}: input tile must be a finite {a}x{a} array for {variant}, "
                         f"got shape {d.shape}")
    g = _check_kernel(g, owner)
    V = BT @ d @ BT.T
    U = G @ g @ G.T
    M = U * V
    Y = AT @ M @ AT.T
    direct = conv2d(d[None, :, :, None], g[:, :, None, None], algorithm="naive")[0, :, :, 0]
    return {"d": d, "g": g, "V": V, "U": U, "M": M, "Y": Y, "direct": direct, "BT": BT, "G": G,
            "AT": AT, "m": m}


#: Widths of the characters a number label uses, in ems (DejaVu Sans, matplotlib's default).
_EM = {**dict.fromkeys("0123456789", 0.636), ".": 0.318, "-": 0.361, "e": 0.615, "+": 0.838,
       "n": 0.634, "a": 0.613, "i": 0.278, "f": 0.352}


def _compact(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits and no leading zero: ``-0.0431 -> "-.0431"``."""
    text = f"{v + 0.0:.{digits}g}"
    if text.startswith("0.") and len(text) > 2:
        return text[1:]
    if text.startswith("-0.") and len(text) > 3:
        return "-" + text[2:]
    return text


def _annotate_fitting(ax, a: np.ndarray, image, panel_width_pt: float) -> int:
    """Write the values of ``a`` into its cells in the largest size and precision that fit.

    Tries 3 significant digits at the annotation size, then at the small size, then 2 digits at
    the small size; a label may take 80 % of a cell's width.  When even that does not fit the
    panel keeps its colours only (numbers that overlap their neighbours help nobody).  Values
    below ``1e-9`` of the largest are written as 0 (rounding residue of exact zeros).
    Returns the font size used, 0 when nothing was written.
    """
    cell = panel_width_pt / a.shape[1]
    # rounding residue (1e-14 where the exact value is 0) is shown as the 0 it stands for
    a = np.where(np.abs(a) <= 1e-9 * np.abs(a).max(), 0.0, a)
    for digits, size in ((3, style.ANNOTATION_SIZE), (3, style.SMALL_SIZE), (2, style.SMALL_SIZE)):
        labels = [_compact(v, digits) for v in a.ravel()]
        widest = max(sum(_EM.get(ch, 0.7) for ch in text) for text in labels) * size
        if widest <= 0.8 * cell:
            style.annotate_values(ax, a, f"{{:.{digits}g}}", fontsize=size, image=image)
            for t, text in zip(ax.texts[-a.size:], labels):
                t.set_text(text)
            return size
    return 0


def winograd_transform_figure(d, g, variant: str = "f2x3"):
    """The transforms of one tile: ``d → BᵀdB``, ``g → GgGᵀ``, their product, ``AᵀMA = Y``.

    Parameters
    ----------
    d : ndarray, shape (a, a)
        Input tile (``a = 4`` for ``"f2x3"``, 6 for ``"f4x3"``).
    g : ndarray, shape (3, 3)
        Filter.
    variant : {"f2x3", "f4x3"}

    Returns
    -------
    Figure
        Axes ``"d"``, ``"V"``, ``"M"``, ``"Y"`` (top row: input side to output) and ``"g"``,
        ``"U"``, ``"direct"`` (bottom row), whose image data are the arrays of
        :func:`winograd_tile_arrays`; ``Y`` equals ``direct`` up to rounding.
    """
    t = winograd_tile_arrays(d, g, variant, owner="winograd_transform_figure")
    m = t["m"]
    fig = Figure(figsize=(style.FIG_WIDTH, 4.8), dpi=style.DPI, layout="constrained")
    axes = fig.subplots(2, 4, squeeze=False)
    panels = [(0, 0, "d", "input tile d"), (0, 1, "V", "V = Bᵀ d B"),
              (0, 2, "M", "M = U ⊙ V"), (0, 3, "Y", "Y = Aᵀ M A"),
              (1, 0, "g", "filter g"), (1, 1, "U", "U = G g Gᵀ"),
              (1, 3, "direct", "direct correlation")]
    # Four square panels across the figure: each about 0.22 of its width (72 pt per inch).
    panel_pt = 0.22 * style.FIG_WIDTH * 72
    for r, c, key, title in panels:
        a = t[key]
        im = style.show_image(axes[r, c], a, f"{title} ({a.shape[0]}×{a.shape[1]})",
                              signed=True, label=key, colorbar=False)
        _annotate_fitting(axes[r, c], a, im, panel_pt)
    ax = axes[1, 2]
    ax.set_axis_off()
    a = m + 2
    ratio = 9 * m * m / (a * a)
    ax.text(0.5, 0.5, f"F({m}×{m}, 3×3)\n\n{a * a} multiplications\nfor {m * m} outputs\n"
            f"(direct: {9 * m * m})\n→ {ratio:.2f}× fewer\n\nmax |Y − direct| =\n"
            f"{np.max(np.abs(t['Y'] - t['direct'])):.1e}",
            ha="center", va="center", fontsize=style.LABEL_SIZE, transform=ax.transAxes)
    fig.suptitle(f"Winograd F({m}×{m}, 3×3) on one tile", fontsize=style.TITLE_SIZE + 1)
    return fig


def winograd_tiles_figure(img, kernel, variant: str = "f2x3", highlight=(0, 0),
                          max_tiles: int = 400):
    """How ``F(m x m, 3 x 3)`` tiles an image: overlapping ``a x a`` input tiles, ``m x m``
    output tiles.

    Parameters
    ----------
    img : ndarray, shape (H, W), H, W >= 3
    kernel : ndarray, shape (3, 3)
    variant : {"f2x3", "f4x3"}
    highlight : (int, int)
        Tile whose input footprint is filled (and its output tile framed).
    max_tiles : int
        Draw every tile outline only up to this many tiles.

    Returns
    -------
    Figure
        Axes ``"input"`` and ``"output"`` (image data: the valid correlation of ``img`` with
        ``kernel`` computed by labkit's Winograd convolution).
    """
    owner = "winograd_tiles_figure"
    x = style.check_image(img, owner)
    g = _check_kernel(kernel, owner)
    m = _variant(variant, owner)[0]
    if min(x.shape) < 3:
        raise ValueError(f"{owner}: image must be at least 3x3 for a 3x3 kernel, got {x.shape}")
    y = conv2d(x[None, :, :, None], g[:, :, None, None], algorithm="winograd")[0, :, :, 0]
    ho, wo = y.shape
    th, tw = -(-ho // m), -(-wo // m)
    fig, axes = style.new_figure(1, 2, height=3.8)
    ax_in, ax_out = axes[0]
    style.show_image(ax_in, x, f"input {x.shape[0]}×{x.shape[1]}: {th}×{tw} tiles of "
                     f"{m + 2}×{m + 2}", label="input")
    style.show_image(ax_out, y, f"output {ho}×{wo}: tiles of {m}×{m}", signed=True,
                     label="output")
    if th * tw <= max_tiles:
        for i in range(th):
            for j in range(tw):
                colour = style.PALETTE[(i + j) % 2 * 2]
                # Input tiles overlap by 2 pixels; a small inset keeps neighbours apart.
                ax_in.add_patch(Rectangle((j * m - 0.5 + 0.1, i * m - 0.5 + 0.1), m + 1.8,
                                          m + 1.8, fill=False, ec=colour, lw=0.8))
                ax_out.add_patch(Rectangle((j * m - 0.5, i * m - 0.5), m, m, fill=False,
                                           ec=colour, lw=0.8))
    hi = min(max(int(highlight[0]), 0), th - 1)
    hj = min(max(int(highlight[1]), 0), tw - 1)
    colour = style.PALETTE[1]
    ax_in.add_patch(Rectangle((hj * m - 0.5, hi * m - 0.5), m + 2, m + 2, fc=colour, alpha=0.3,
                              ec=colour, lw=2))
    ax_out.add_patch(Rectangle((hj * m - 0.5, hi * m - 0.5), m, m, fill=False, ec=colour, lw=2))
    for ax, (h, w) in ((ax_in, x.shape), (ax_out, y.shape)):
        ax.set_xlim(-0.5, max(w, tw * m + (2 if ax is ax_in else 0)) - 0.5)
        ax.set_ylim(max(h, th * m + (2 if ax is ax_in else 0)) - 0.5, -0.5)
    fig.suptitle(f"Winograd F({m}×{m}, 3×3): input tiles overlap by 2, step {m}",
                 fontsize=style.TITLE_SIZE + 1)
    return fig
