"""Pixel shuffle, drawn: where each input channel's pixels land in the upscaled output.

A pixel shuffle with factor ``r`` turns ``C r^2`` low-resolution channels into ``C`` channels
``r`` times larger.  Each input channel becomes one *phase* (one fixed position ``(i, j)`` inside
every ``r x r`` output block).  The figure colours every input channel and paints each output
pixel in the colour of the channel it came from, so the two channel orders ("torch" and "tf",
see :mod:`labkit.ops.pixel_shuffle`) can be told apart at a glance.  The mapping is computed by
:func:`labkit.ops.pixel_shuffle.pixel_shuffle` itself, on an array of channel indices.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from labkit._validate import check_alloc, check_choice
from labkit.ops.pixel_shuffle import ORDERS, pixel_shuffle
from labkit.viz import style

__all__ = ["pixel_shuffle_figure", "pixel_shuffle_sources"]


def pixel_shuffle_sources(scale: int = 2, channels: int = 1, size=(2, 2),
                          order: str = "torch", _owner: str = "pixel_shuffle_sources") -> dict:
    """Which input channel and pixel each output pixel of a pixel shuffle reads.

    Parameters
    ----------
    scale : int
        Upscaling factor ``r``.
    channels : int
        Output channels ``C`` (the input has ``C r^2``).
    size : (int, int)
        Input spatial size ``(h, w)``.
    order : {"torch", "tf"}

    Returns
    -------
    dict
        ``channel`` and ``pixel`` (int arrays ``(h r, w r, C)``): the input channel index and the
        flat input pixel index ``a w + b`` behind each output pixel; ``scale``, ``channels``,
        ``size``, ``order``.
    """
    owner = _owner
    r = style.check_int(scale, owner, "scale")
    c = style.check_int(channels, owner, "channels")
    h, w = style.check_pair(size, owner, "size")
    check_choice(order, "order", owner, ORDERS)
    check_alloc((h * r, w * r, c), owner, "source map")
    k = c * r * r
    # One float per (pixel, channel): channel * h * w + pixel, exact in float64.
    ids = (np.arange(k)[None, None, :] * (h * w)
           + np.arange(h * w).reshape(h, w)[:, :, None]).astype(np.float64)
    out = pixel_shuffle(ids[None], r, order)[0].astype(np.int64)
    return {"channel": out // (h * w), "pixel": out % (h * w), "scale": r, "channels": c,
                "size": (h, w), "order": order}


def _channel_cmap(n: int) -> ListedColormap:
    base = list(style.PALETTE) + ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
                                   "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"]
    colours = [base[i % len(base)] for i in range(n)]
    return ListedColormap(colours)


def pixel_shuffle_figure(scale: int = 2, channels: int = 1, size=(2, 2), order: str = "torch",
                         annotate: bool = True):
    """Input channels (one colour each) and the shuffled output painted by source channel.

    Parameters
    ----------
    scale, channels, size, order
        As for :func:`pixel_shuffle_sources`.
    annotate : bool
        Write the source channel number in every cell (skipped when cells would be too small).

    Returns
    -------
    Figure
        Axes ``"input"`` (image data: the ``C r^2`` channel maps side by side, each cell holding
        its channel index, separated by blank columns) and ``"output0"``, ``"output1"``, ...
        (image data: :func:`pixel_shuffle_sources`'s ``channel`` map of each output channel).
    """
    src = pixel_shuffle_sources(scale, channels, size, order, _owner="pixel_shuffle_figure")
    r, c, (h, w) = src["scale"], src["channels"], src["size"]
    k = c * r * r
    cmap = _channel_cmap(k).with_extremes(bad="white")
    mosaic = np.full((h, k * (w + 1) - 1), np.nan)
    for ch in range(k):
        mosaic[:, ch * (w + 1):ch * (w + 1) + w] = ch
    # Top row: the input channels side by side; bottom row: the output channels, larger.
    fig = Figure(figsize=(style.FIG_WIDTH, 5.0), dpi=style.DPI, layout="constrained")
    gs = fig.add_gridspec(2, max(c, 2), height_ratios=[1.0, 2.4])
    ax = fig.add_subplot(gs[0, :])
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=-0.5, vmax=k - 0.5,
              interpolation="nearest")
    ax.set_label("input")
    ax.set_xticks([ch * (w + 1) + (w - 1) / 2 for ch in range(k)])
    ax.set_xticklabels([str(ch) for ch in range(k)], fontsize=style.ANNOTATION_SIZE)
    ax.set_yticks([])
    ax.set_xlabel("input channel", fontsize=style.LABEL_SIZE)
    ax.set_title(f"input: {k} channels of {h}×{w}", fontsize=style.TITLE_SIZE)
    cells = mosaic.size
    if annotate and cells <= 400:
        for (i, j), v in np.ndenumerate(mosaic):
            if np.isfinite(v):
                ax.text(j, i, f"{int(v)}", ha="center", va="center",
                        fontsize=style.ANNOTATION_SIZE, color="white")
    for oc in range(c):
        ax = fig.add_subplot(gs[1, oc])
        m = src["channel"][:, :, oc]
        ax.imshow(m, cmap=cmap, vmin=-0.5, vmax=k - 0.5, interpolation="nearest")
        ax.set_label(f"output{oc}")
        ax.set_xticks([])
        ax.set_yticks([])
        for t in range(1, h):
            ax.axhline(t * r - 0.5, color="black", lw=1.2)
        for t in range(1, w):
            ax.axvline(t * r - 0.5, color="black", lw=1.2)
        if annotate and m.size <= 400:
            for (i, j), v in np.ndenumerate(m):
                ax.text(j, i, str(v), ha="center", va="center", fontsize=style.ANNOTATION_SIZE,
                        color="white")
        ax.set_title(f"output channel {oc} ({h * r}×{w * r}), painted by source channel",
                     fontsize=style.TITLE_SIZE)
    fig.suptitle(f"PixelShuffle({r}, order={order!r}): each input channel fills one position of "
                 f"every {r}×{r} block", fontsize=style.TITLE_SIZE + 1)
    return fig
