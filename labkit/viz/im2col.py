"""im2col and col2im: convolution as a matrix product, drawn.

* :func:`im2col_figure`: the input with its sliding windows coloured, and the column matrix in
  which each window became one row, framed in the same colour.
* :func:`im2col_gemm_figure`: the GEMM ``columns @ filters = output`` and the output reshaped
  back to feature maps.
* :func:`col2im_figure`: col2im adding every row back onto the pixels it came from; pixels
  covered by several windows receive the sum, and the overlap counts explain why.

Every matrix is computed by :mod:`labkit.ops.im2col`, the code the ``im2col`` convolution runs.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from labkit.ops.geometry import check_window, pad_nhwc, resolve_padding, unpad_nhwc
from labkit.ops.im2col import col2im, im2col
from labkit.viz import style


def _check_input(img, owner: str) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` -> float ``(1, H, W, C)``."""
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"{owner}: image must be (H, W) or (H, W, C), got shape {np.shape(img)}")
    if a.dtype.kind not in "biuf" or not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: image of shape {a.shape} must hold finite numbers")
    return a.astype(np.float64)[None]


def _geometry(x4, kernel, stride, padding, owner):
    kernel = style.check_pair(kernel, owner, "kernel")
    stride = style.check_pair(stride, owner, "stride")
    pads = resolve_padding(padding, kernel, stride, x4.shape[1:3], owner)
    ho, wo = check_window(x4.shape[1:3], kernel, stride, pads, owner, "kernel", x4.shape[1:3])
    return kernel, stride, pads, ho, wo


def im2col_arrays(img, kernel=2, stride=1, padding=0, owner: str = "im2col_arrays") -> dict:
    """The column matrix of a 2-D (or ``(H, W, C)``) image, and the geometry behind it.

    Returns
    -------
    dict
        ``padded`` (Hp, Wp, C), ``columns`` (Ho*Wo, kh*kw*C) from
        :func:`labkit.ops.im2col.im2col`, ``kernel``, ``stride``, ``pads``, ``out_hw``.
    """
    x4 = _check_input(img, owner)
    kernel, stride, pads, ho, wo = _geometry(x4, kernel, stride, padding, owner)
    xp = pad_nhwc(x4, pads)
    return {"padded": xp[0],
            "columns": im2col(xp, kernel, stride),
            "kernel": kernel,
            "stride": stride,
            "pads": pads,
            "out_hw": (ho, wo)}


def _colour(k: int) -> str:
    return style.PALETTE[k % len(style.PALETTE)]


def _highlighted(highlight, n: int) -> list[int]:
    if highlight is None:
        return list(range(min(n, 4)))
    if isinstance(highlight, (int, np.integer)):
        highlight = [highlight]
    return sorted({int(k) for k in highlight if 0 <= int(k) < n})


def _draw_padded_input(ax, a: dict, channel: int, title: str, label: str, highlight: list[int],
                       annotate: bool):
    xp = a["padded"][:, :, channel]
    (pt, pb), (pl, pr) = a["pads"]
    im = style.show_image(ax, xp, title, label=label, colorbar=False)
    if pt or pb or pl or pr:
        # The real image inside the zero padding.
        ax.add_patch(Rectangle((pl - 0.5, pt - 0.5), xp.shape[1] - pl - pr,
                               xp.shape[0] - pt - pb, fill=False, ls="--", ec="#555555", lw=1))
    (kh, kw), (sh, sw) = a["kernel"], a["stride"]
    wo = a["out_hw"][1]
    for rank, k in enumerate(highlight):
        i, j = divmod(k, wo)
        c = _colour(k)
        # Nudge each outline inwards a little so that overlapping windows stay distinguishable.
        d = 0.06 * (rank % 4)
        ax.add_patch(Rectangle((j * sw - 0.5 + d, i * sh - 0.5 + d), kw - 2 * d, kh - 2 * d,
                               fc=c, alpha=0.22, ec="none"))
        ax.add_patch(Rectangle((j * sw - 0.5 + d, i * sh - 0.5 + d), kw - 2 * d, kh - 2 * d,
                               fill=False, ec=c, lw=2.0))
    if annotate:
        style.annotate_values(ax, xp, "{:.3g}", image=im)
    return im


def _row_stripes(ax, n_rows: int, highlight: list[int], width: int):
    """A colour stripe left of each matrix row (every window its colour), a frame on highlights."""
    for k in range(n_rows):
        ax.add_patch(Rectangle((-1.6, k - 0.5), 0.9, 1, fc=_colour(k), ec="none", clip_on=False))
    for k in highlight:
        ax.add_patch(Rectangle((-0.5, k - 0.5), width, 1, fill=False, ec=_colour(k), lw=2.0))
    ax.set_xlim(-1.7, width - 0.5)


def im2col_figure(img, kernel=2, stride=1, padding=0, highlight=None, max_annotate: int = 200):
    """The input with its sliding windows and the column matrix they become.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C)
        Use ``np.arange(H * W).reshape(H, W)`` to see where each entry comes from: the values
        are printed in the cells of both panels when they fit.
    kernel, stride : int or (int, int)
    padding : int, (int, int), "same" or "valid"
        As for ``Conv2D`` (zero padding).
    highlight : int or list of int, optional
        Windows (row-major index ``i * Wo + j`` = row of the column matrix) to fill with their
        colour in the input and frame in the matrix; default the first four.
    max_annotate : int
        Print values only when the column matrix has at most this many cells.

    Returns
    -------
    Figure
        Axes ``"input"`` (channel 0 of the padded input) and ``"columns"`` (image data: the
        column matrix of :func:`labkit.ops.im2col.im2col`, shape ``(Ho*Wo, kh*kw*C)``).
    """
    a = im2col_arrays(img, kernel, stride, padding, owner="im2col_figure")
    cols = a["columns"]
    (kh, kw), (ho, wo) = a["kernel"], a["out_hw"]
    c = a["padded"].shape[2]
    hl = _highlighted(highlight, cols.shape[0])
    annotate = cols.size <= max_annotate
    # Tall matrices get a taller figure, up to a size that still fits a screen.
    fig, axes = style.new_figure(1, 2, height=float(np.clip(0.25 * cols.shape[0], 3.2, 7.5)))
    hp, wp = a["padded"].shape[:2]
    _draw_padded_input(axes[0, 0], a, 0, f"padded input {hp}×{wp}" + (f" (channel 0 of {c})"
                       if c > 1 else ""), "input", hl, annotate)
    im = style.show_image(axes[0, 1], cols, f"column matrix {cols.shape[0]}×{cols.shape[1]}",
                          label="columns", colorbar=False)
    ax = axes[0, 1]
    ax.set_aspect("auto" if cols.shape[0] > 3 * cols.shape[1] else "equal")
    _row_stripes(ax, cols.shape[0], hl, cols.shape[1])
    ax.set_xlabel(f"kernel tap (u, v{', c' if c > 1 else ''}): {kh}·{kw}"
                  + (f"·{c}" if c > 1 else "") + " columns", fontsize=style.LABEL_SIZE)
    ax.set_ylabel(f"window (i, j): {ho}·{wo} rows", fontsize=style.LABEL_SIZE)
    if annotate:
        style.annotate_values(ax, cols, "{:.3g}", image=im)
    (ph, _), (pw, _) = a["pads"]
    fig.suptitle(f"im2col: kernel {kh}×{kw}, stride {a['stride'][0]}×{a['stride'][1]}, "
                 f"padding {ph}×{pw} → {ho}×{wo} windows", fontsize=style.TITLE_SIZE + 1)
    return fig


def im2col_gemm_figure(img, weights, stride=1, padding=0, max_maps: int = 4,
                       max_annotate: int = 300):
    """Convolution as one GEMM: ``columns (M×K) @ filters (K×F) = output (M×F)``.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C)
    weights : ndarray, shape (kh, kw, C, F)
        Conv weights in labkit's layout; the filter matrix is ``weights.reshape(kh*kw*C, F)``.
    stride, padding
        As for ``Conv2D``.
    max_maps : int
        Show at most this many output feature maps.
    max_annotate : int
        Print values in matrices with at most this many cells.

    Returns
    -------
    Figure
        Axes ``"columns"``, ``"filters"``, ``"product"`` (the GEMM result, image data equal to
        ``im2col(x) @ W``) and ``"map0"``, ``"map1"``, ... (the product reshaped to
        ``(Ho, Wo)`` per filter, equal to :func:`labkit.ops.conv.conv2d` of the image).
    """
    owner = "im2col_gemm_figure"
    x4 = _check_input(img, owner)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4 or w.shape[2] != x4.shape[3]:
        raise ValueError(f"{owner}: weights must be (kh, kw, C_in, C_out) with C_in = "
                         f"{x4.shape[3]} (image {np.shape(img)}), got {w.shape}")
    a = im2col_arrays(img, w.shape[:2], stride, padding, owner=owner)
    cols = a["columns"]
    wmat = w.reshape(-1, w.shape[3])
    prod = cols @ wmat
    ho, wo = a["out_hw"]
    n_maps = min(w.shape[3], max_maps)
    fig = Figure(figsize=(style.FIG_WIDTH, 5.4), dpi=style.DPI, layout="constrained")
    gs = fig.add_gridspec(2, max(n_maps, 1) * 2 + 1, height_ratios=[1.5, 1.0])
    third = (max(n_maps, 1) * 2 + 1) // 3
    ax_c = fig.add_subplot(gs[0, :third])
    ax_w = fig.add_subplot(gs[0, third:2 * third])
    ax_p = fig.add_subplot(gs[0, 2 * third:])
    for ax, m, title, label, signed in ((ax_c, cols, f"columns {cols.shape[0]}×{cols.shape[1]}",
                                         "columns", False),
                                        (ax_w, wmat, f"filters {wmat.shape[0]}×{wmat.shape[1]}",
                                         "filters", True),
                                        (ax_p, prod, f"= output {prod.shape[0]}×{prod.shape[1]}",
                                         "product", True)):
        im = style.show_image(ax, m, title, label=label, signed=signed, colorbar=False)
        ax.set_aspect("auto")
        if m.size <= max_annotate:
            style.annotate_values(ax, m, "{:.2g}", image=im)
    ax_c.set_ylabel("window", fontsize=style.LABEL_SIZE)
    ax_c.set_xlabel("tap", fontsize=style.LABEL_SIZE)
    ax_w.set_xlabel("filter", fontsize=style.LABEL_SIZE)
    ax_p.set_xlabel("filter", fontsize=style.LABEL_SIZE)
    ax_c.text(1.04, 0.5, "@", transform=ax_c.transAxes, fontsize=16, va="center")
    maps = prod.reshape(ho, wo, -1)
    for f in range(n_maps):
        ax = fig.add_subplot(gs[1, 2 * f:2 * f + 2])
        style.show_image(ax, maps[:, :, f], f"map {f} ({ho}×{wo})", label=f"map{f}",
                         signed=True)
    fig.suptitle("Convolution as a matrix product (im2col + GEMM)", fontsize=style.TITLE_SIZE + 1)
    return fig


def col2im_figure(img, kernel=2, stride=1, padding=0, cols=None, max_annotate: int = 300):
    """col2im: each row of a column matrix is added back onto the pixels its window covers.

    Parameters
    ----------
    img : ndarray, shape (H, W)
        Gives the geometry and, when ``cols`` is None, the columns ``im2col(img)``; then the
        result is ``img * counts`` (each pixel summed once per window containing it).
    kernel, stride, padding
        As for ``Conv2D``.
    cols : ndarray, shape (Ho*Wo, kh*kw), optional
        The column matrix to fold back (e.g. the column gradient ``dY W^T`` of a backward pass).

    Returns
    -------
    Figure
        Axes ``"columns"``, ``"col2im"`` (image data: :func:`labkit.ops.im2col.col2im` of the
        columns, cropped to the unpadded input as the convolution backward does) and
        ``"counts"`` (how many windows cover each pixel: col2im of all-ones columns).
    """
    owner = "col2im_figure"
    x = style.check_image(img, owner)
    a = im2col_arrays(x, kernel, stride, padding, owner=owner)
    padded_shape = (1,) + a["padded"].shape
    if cols is None:
        cols = a["columns"]
    else:
        cols = np.asarray(cols, dtype=np.float64)
        if cols.shape != a["columns"].shape:
            raise ValueError(f"{owner}: cols must have shape {a['columns'].shape} for image "
                             f"{x.shape}, kernel {a['kernel']}, stride {a['stride']}; got "
                             f"{cols.shape}")
    summed = unpad_nhwc(col2im(cols, padded_shape, a["kernel"], a["stride"]), a["pads"])[0, :, :, 0]
    counts = unpad_nhwc(col2im(np.ones_like(cols), padded_shape, a["kernel"], a["stride"]),
                        a["pads"])[0, :, :, 0]
    fig, axes = style.new_figure(1, 3, height=3.6)
    annotate = cols.size <= max_annotate
    im = style.show_image(axes[0, 0], cols, f"columns {cols.shape[0]}×{cols.shape[1]}",
                          label="columns", colorbar=False)
    axes[0, 0].set_aspect("auto")
    _row_stripes(axes[0, 0], cols.shape[0], [], cols.shape[1])
    if annotate:
        style.annotate_values(axes[0, 0], cols, "{:.3g}", image=im)
    im = style.show_image(axes[0, 1], summed, "col2im: sum over windows", label="col2im")
    if annotate:
        style.annotate_values(axes[0, 1], summed, "{:.3g}", image=im)
    im = style.show_image(axes[0, 2], counts, "windows covering each pixel", label="counts",
                          cmap=style.CMAP_COUNT, vmin=0)
    if annotate:
        style.annotate_values(axes[0, 2], counts, "{:.0f}", image=im)
    fig.suptitle(f"col2im: kernel {a['kernel'][0]}×{a['kernel'][1]}, stride "
                 f"{a['stride'][0]}×{a['stride'][1]} — overlaps add up",
                 fontsize=style.TITLE_SIZE + 1)
    return fig
