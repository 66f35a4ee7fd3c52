"""Pooling, forward and backward: the windows on the input, the pooled output, and which input
pixels receive gradient.

All numbers come from :mod:`labkit.ops.pooling` (the same functions the ``MaxPool2D`` and
``AvgPool2D`` layers call), so the figure shows exactly what the engine computes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle

from labkit.ops import pooling as P
from labkit.viz import style


def pooling_arrays(img, kind: str = "max", size=2, stride=None, padding=0, dy=None,
                   owner: str = "pooling_arrays") -> dict:
    """Run one pooling forward and backward on a 2-D image through :mod:`labkit.ops.pooling`.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    kind : {"max", "avg"}
    size, stride, padding : int or (int, int)
        As for ``MaxPool2D``/``AvgPool2D`` (``stride`` defaults to ``size``; symmetric padding,
        ``0 <= padding < size``).
    dy : ndarray, shape (Ho, Wo), optional
        Upstream gradient; default all ones, so that the backward map counts, for max pooling,
        how many windows each input pixel wins and, for average pooling, the total share of
        each pixel.

    Returns
    -------
    dict
        ``input`` (H, W), ``output`` (Ho, Wo), ``dy`` (Ho, Wo), ``dx`` (H, W), plus ``size``,
        ``stride``, ``pads`` and, for max pooling, ``argmax`` (Ho, Wo) flat window index of the
        winner.
    """
    x = style.check_image(img, owner)
    if kind not in ("max", "avg"):
        raise ValueError(f"{owner}: kind must be 'max' or 'avg', got {kind!r}")
    size = style.check_pair(size, owner, "size")
    stride = size if stride is None else style.check_pair(stride, owner, "stride")
    ph, pw = style.check_pair(padding, owner, "padding", minimum=0)
    pads = ((ph, ph), (pw, pw))
    x4 = x[None, :, :, None]
    # Checked here, under the caller's name, before the op would complain under its own.
    P.check_pool_args(x4.shape, size, stride, pads, owner)
    fwd, bwd = (P.maxpool_forward, P.maxpool_backward) if kind == "max" else \
        (P.avgpool_forward, P.avgpool_backward)
    y, cache = fwd(x4, size, stride, pads)
    if dy is None:
        dy4 = np.ones_like(y)
    else:
        dy = np.asarray(dy, dtype=x.dtype)
        if dy.shape != y.shape[1:3]:
            raise ValueError(f"{owner}: dy must have the output's shape {y.shape[1:3]}, "
                             f"got {dy.shape} (input {x.shape})")
        dy4 = dy[None, :, :, None]
    dx = bwd(dy4, cache)
    out = {"input": x,
           "output": y[0, :, :, 0],
           "dy": dy4[0, :, :, 0],
           "dx": np.asarray(dx[0, :, :, 0]),
           "size": size,
           "stride": stride,
           "pads": pads,
           "kind": kind}
    if kind == "max":
        out["argmax"] = cache[1][0, :, :, 0]
    return out


def _window_rect(i, j, size, stride, pads, **kw):
    # Window (i, j) covers padded rows i*sh .. i*sh+kh-1, i.e. input rows shifted by the pad.
    r0 = i * stride[0] - pads[0][0]
    c0 = j * stride[1] - pads[1][0]
    return Rectangle((c0 - 0.5, r0 - 0.5), size[1], size[0], **kw)


def _winner_pixel(a: dict, i: int, j: int) -> tuple[int, int]:
    """Input coordinates of the max of window ``(i, j)`` (can lie in no real pixel: never, as
    padding is -inf and every window holds at least one real pixel)."""
    kw = a["size"][1]
    u, v = divmod(int(a["argmax"][i, j]), kw)
    return (i * a["stride"][0] + u - a["pads"][0][0], j * a["stride"][1] + v - a["pads"][1][0])


def _draw_pooling(fig, axes, a: dict, prefix: str, highlight, max_windows: int,
                  cmap_input: str) -> None:
    x, y, dx = a["input"], a["output"], a["dx"]
    size, stride, pads = a["size"], a["stride"], a["pads"]
    ho, wo = y.shape
    name = "max" if a["kind"] == "max" else "average"
    ax_in, ax_out, ax_back = axes
    vmin, vmax = float(x.min()), float(x.max())

    im_in = style.show_image(ax_in, x, f"input {x.shape[0]}×{x.shape[1]}", cmap=cmap_input,
                             vmin=vmin, vmax=vmax, label=prefix + "input")
    # Show the padded border: the axes extend over it and a dashed frame marks it.
    (pt, pb), (pl, pr) = pads
    ax_in.set_xlim(-pl - 0.5, x.shape[1] + pr - 0.5)
    ax_in.set_ylim(x.shape[0] + pb - 0.5, -pt - 0.5)
    if pt or pb or pl or pr:
        ax_in.set_facecolor("#e8e8f0")
        ax_in.add_patch(Rectangle((-pl - 0.5, -pt - 0.5), x.shape[1] + pl + pr,
                                  x.shape[0] + pt + pb, fill=False, ls="--", lw=1.0,
                                  ec="#555555"))
    n_windows = ho * wo
    if n_windows <= max_windows:
        patches = [_window_rect(i, j, size, stride, pads) for i in range(ho) for j in range(wo)]
        colours = [style.PALETTE[(i + j) % len(style.PALETTE)]
                   for i in range(ho) for j in range(wo)]
        lw = 1.2 if n_windows <= 64 else 0.6
        ax_in.add_collection(PatchCollection(patches, facecolor="none", edgecolor=colours,
                                             linewidth=lw, label=prefix + "windows"))
    hi, hj = highlight
    hi, hj = min(max(hi, 0), ho - 1), min(max(hj, 0), wo - 1)
    colour = style.PALETTE[1]
    ax_in.add_patch(_window_rect(hi, hj, size, stride, pads, fill=True, fc=colour, alpha=0.25,
                                 ec=colour, lw=2.0))
    ax_in.add_patch(_window_rect(hi, hj, size, stride, pads, fill=False, ec=colour, lw=2.0))

    im_out = style.show_image(ax_out, y, f"{name} pool → {ho}×{wo}", cmap=cmap_input,
                              vmin=vmin, vmax=vmax, label=prefix + "output")
    ax_out.add_patch(Rectangle((hj - 0.5, hi - 0.5), 1, 1, fill=False, ec=colour, lw=2.0))

    back_title = ("backward: wins per pixel" if a["kind"] == "max" and np.all(a["dy"] == 1)
                  else "backward: ∂L/∂x")
    im_back = style.show_image(ax_back, dx, back_title, cmap=style.CMAP_MAGNITUDE,
                               vmin=min(0.0, float(dx.min())), label=prefix + "backward",
                               cbar_label="gradient received")
    nz = np.argwhere(dx != 0)
    if max(x.shape) > 48 and 0 < len(nz) <= 0.02 * dx.size:
        # Single pixels vanish at screen resolution: ring each one that receives gradient.
        ax_back.scatter(nz[:, 1], nz[:, 0], s=14, facecolors="none", edgecolors="#ffd54f",
                        linewidths=0.8, label=prefix + "receivers")
    # Same frame as the input (padding included), so windows line up across the two panels.
    ax_back.set_xlim(ax_in.get_xlim())
    ax_back.set_ylim(ax_in.get_ylim())
    ax_back.add_patch(_window_rect(hi, hj, size, stride, pads, fill=False, ec=colour, lw=2.0))
    if a["kind"] == "max":
        # The one pixel of the highlighted window that receives its gradient.
        r, c = _winner_pixel(a, hi, hj)
        for ax in (ax_in, ax_back):
            ax.plot([c], [r], marker="o", ms=5, mfc="none", mec=colour, mew=1.5)
    if max(x.shape) <= 12:
        style.annotate_values(ax_in, x, "{:.2g}", image=im_in)
        style.annotate_values(ax_out, y, "{:.2g}", image=im_out)
        style.annotate_values(ax_back, dx, "{:.2g}", image=im_back)


def _describe(a: dict) -> str:
    (ph, _), (pw, _) = a["pads"]
    return (f"window {a['size'][0]}×{a['size'][1]}, stride {a['stride'][0]}×{a['stride'][1]}, "
            f"padding {ph}×{pw}")


def pooling_figure(img, kind: str = "max", size=2, stride=None, padding=0, dy=None,
                   highlight=(0, 0), max_windows: int = 144, cmap: str = style.CMAP_IMAGE):
    """Input with the pooling windows, pooled output, and the backward map, side by side.

    Parameters
    ----------
    img : ndarray, shape (H, W)
        The image to pool (a slice, or a small test array: values are printed in the cells when
        it is at most 12×12).
    kind : {"max", "avg"}
    size, stride, padding : int or (int, int)
        Window, stride (default ``size``) and symmetric padding, as in ``MaxPool2D``.
    dy : ndarray, shape (Ho, Wo), optional
        Upstream gradient (default ones).
    highlight : (int, int)
        Output pixel whose window is filled in the input, framed in the output and, for max
        pooling, whose winning input pixel is circled (clipped to the output).
    max_windows : int
        Draw every window outline (colours cycle) only up to this many windows.
    cmap : str
        Colour map of input and output.

    Returns
    -------
    Figure
        Axes labelled ``"input"``, ``"output"`` (image data: the pooled array) and
        ``"backward"`` (image data: ``dx`` of :func:`labkit.ops.pooling.maxpool_backward` or
        ``avgpool_backward`` for ``dy``).
    """
    a = pooling_arrays(img, kind, size, stride, padding, dy, owner="pooling_figure")
    fig, axes = style.new_figure(1, 3, height=3.4)
    _draw_pooling(fig, axes[0], a, "", highlight, max_windows, cmap)
    fig.suptitle(f"{'Max' if kind == 'max' else 'Average'} pooling: {_describe(a)}",
                 fontsize=style.TITLE_SIZE + 1)
    return fig


def pooling_comparison(img, size=2, stride=None, padding=0, highlight=(0, 0),
                       max_windows: int = 144, cmap: str = style.CMAP_IMAGE):
    """Max and average pooling of the same image with the same windows, one row each.

    Same parameters as :func:`pooling_figure`.  Axes are labelled ``"max:input"``,
    ``"max:output"``, ``"max:backward"``, ``"avg:input"``, ``"avg:output"``, ``"avg:backward"``.
    The backward rows show where the gradient goes: max pooling sends it to one pixel per
    window (a sparse map), average pooling spreads it evenly over the window.
    """
    fig, axes = style.new_figure(2, 3, height=6.4)
    for row, kind in enumerate(("max", "avg")):
        a = pooling_arrays(img, kind, size, stride, padding, owner="pooling_comparison")
        _draw_pooling(fig, axes[row], a, kind + ":", highlight, max_windows, cmap)
        axes[row, 0].set_ylabel("max" if kind == "max" else "average",
                                fontsize=style.TITLE_SIZE)
    fig.suptitle(f"Max vs average pooling: {_describe(a)}", fontsize=style.TITLE_SIZE + 1)
    return fig
