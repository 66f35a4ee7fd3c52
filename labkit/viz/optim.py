"""Optimisation pictures: gradient descent on a two-weight loss landscape, and a perceptron's
decision boundary moving as it learns.

The paths and histories are computed elsewhere (:func:`labkit.ops.descent.gradient_descent`,
a perceptron's recorded weights); these functions only draw them.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps, patheffects
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from labkit.viz import style


def _paths(paths, owner: str) -> dict:
    if paths is None:
        return {}
    if isinstance(paths, np.ndarray) or not isinstance(paths, dict):
        paths = {"gradient descent": paths}
    out = {}
    for name, p in paths.items():
        a = np.asarray(p, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] < 1:
            raise ValueError(f"{owner}: path {name!r} must have shape (steps + 1, 2), "
                             f"got {a.shape}")
        out[str(name)] = a
    return out


#: Line style per path (cycled), so that paths differ by more than their colour.
PATH_STYLES = ("-", "--", "-.", ":")


def _draw_landscape(ax, W1, W2, shown, levels=25):
    cs = ax.contourf(W1, W2, shown, levels=levels, cmap="viridis")
    ax.contour(W1, W2, shown, levels=cs.levels[::3], colors="white", linewidths=0.4, alpha=0.6)
    ax.set_xlim(W1.min(), W1.max())
    ax.set_ylim(W2.min(), W2.max())
    return cs


def _draw_path(ax, p, k, name, ls=None):
    colour = style.PALETTE[(k + 1) % 10]
    # A white outline keeps the path visible on every colour of the landscape.
    ax.plot(p[:, 0], p[:, 1], marker=".", ls=PATH_STYLES[k % len(PATH_STYLES)] if ls is None else ls,
            color=colour, lw=1.3, ms=4, label=name,
            path_effects=[patheffects.Stroke(linewidth=2.8, foreground="white"), patheffects.Normal()])
    ax.plot(p[0, 0], p[0, 1], "o", color=colour, mec="white", ms=7)
    ax.plot(p[-1, 0], p[-1, 1], "*", color=colour, mec="white", ms=11)


def landscape_figure(W1, W2, Z, paths=None, losses=None, log_levels: bool = True,
                     surface: bool = True, labels=("w₁", "w₂"), separate: bool = False,
                     minimum=None):
    """A loss surface over two weights, with gradient-descent paths on it.

    Parameters
    ----------
    W1, W2, Z : ndarray, shape (n1, n2)
        Grid and loss values, e.g. from :func:`labkit.ops.descent.evaluate_grid`.
    paths : ndarray (T + 1, 2) or dict name -> ndarray, optional
        Weight sequences (from :func:`labkit.ops.descent.gradient_descent`).
    losses : dict name -> ndarray (T + 1,), optional
        Loss along each path; adds a panel of loss vs step.
    log_levels : bool
        Contour levels spaced logarithmically (valleys stay visible), when ``Z > 0``.
    surface : bool
        Add a 3-D view of the surface.
    labels : (str, str)
        Axis names of the two weights.
    separate : bool
        Draw each path on its own copy of the landscape (one panel per path, in a row, with
        the loss and surface panels below), so that paths that cross the same region do not
        hide each other. Each path also has its own line style, in both layouts.
    minimum : (float, float), optional
        Position of the minimum, marked with a white ``+`` on every landscape panel.

    Returns
    -------
    Figure
        Axes ``"contour"`` (one line per path, label = its name, data = the path), or with
        ``separate=True`` one axes ``"contour: <name>"`` per path; optionally ``"surface"`` and
        ``"loss"`` (one line per entry of ``losses``, in its path's colour and line style).
    """
    owner = "landscape_figure"
    W1, W2, Z = (np.asarray(a, dtype=np.float64) for a in (W1, W2, Z))
    if W1.ndim != 2 or W1.shape != W2.shape or W1.shape != Z.shape or min(W1.shape) < 2:
        raise ValueError(f"{owner}: W1, W2, Z must be 2-D grids of one shape (at least 2x2), got "
                         f"{W1.shape}, {W2.shape}, {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError(f"{owner}: Z of shape {Z.shape} contains NaN or inf")
    if minimum is not None:
        minimum = np.asarray(minimum, dtype=np.float64).reshape(-1)
        if minimum.shape != (2,) or not np.all(np.isfinite(minimum)):
            raise ValueError(f"{owner}: minimum must be a finite pair (w1, w2), got {minimum}")
    ps = _paths(paths, owner)
    curves = {} if losses is None else {str(k): np.asarray(v, dtype=np.float64)
                                        for k, v in losses.items()}
    positive = bool(np.all(Z > 0))
    # Log-spaced levels keep a narrow valley visible next to steep walls.
    use_log = log_levels and positive and Z.max() / Z.min() > 10
    shown = np.log10(Z) if use_log else Z
    cbar_label = "log₁₀ loss" if use_log else "loss"
    separate = bool(separate) and len(ps) > 1
    if separate:
        below = int(surface) + int(bool(curves))
        fig = Figure(figsize=(style.FIG_WIDTH, 3.0 + 2.7 * (below > 0)), dpi=style.DPI,
                     layout="constrained")
        gs = fig.add_gridspec(1 + (below > 0), 1, height_ratios=[1.1, 1.0][:1 + (below > 0)])
        top = gs[0, 0].subgridspec(1, len(ps))
        bottom = gs[1, 0].subgridspec(1, below) if below else None
        contour_axes = []
        for k, (name, p) in enumerate(ps.items()):
            ax = fig.add_subplot(top[0, k], sharex=contour_axes[0] if contour_axes else None,
                                 sharey=contour_axes[0] if contour_axes else None)
            cs = _draw_landscape(ax, W1, W2, shown)
            _draw_path(ax, p, k, name, ls="-")      # one path per panel: solid is clearest
            ax.set_title(name, fontsize=style.TITLE_SIZE, color=style.PALETTE[(k + 1) % 10])
            ax.set_xlabel(labels[0], fontsize=style.LABEL_SIZE)
            if k == 0:
                ax.set_ylabel(labels[1], fontsize=style.LABEL_SIZE)
            else:
                ax.tick_params(labelleft=False)
            ax.set_label(f"contour: {name}")
            contour_axes.append(ax)
        style.add_colorbar(contour_axes, cs, cbar_label)
        slots = iter(range(below))
        title = "Gradient descent with two weights (○ start, ★ end"
    else:
        n_panels = 1 + int(surface) + int(bool(curves))
        fig = Figure(figsize=(style.FIG_WIDTH, 3.6), dpi=style.DPI, layout="constrained")
        gs = fig.add_gridspec(1, n_panels, width_ratios=[1.25] + [1.0] * (n_panels - 1))
        bottom = gs
        ax = fig.add_subplot(gs[0, 0])
        cs = _draw_landscape(ax, W1, W2, shown)
        style.add_colorbar(ax, cs, cbar_label)
        for k, (name, p) in enumerate(ps.items()):
            _draw_path(ax, p, k, name)
        ax.set_xlabel(labels[0], fontsize=style.LABEL_SIZE)
        ax.set_ylabel(labels[1], fontsize=style.LABEL_SIZE)
        ax.set_title("loss landscape (○ start, ★ end)", fontsize=style.TITLE_SIZE)
        if ps:
            ax.legend(fontsize=style.ANNOTATION_SIZE, loc="upper right")
        ax.set_label("contour")
        contour_axes = [ax]
        slots = iter(range(1, n_panels))
        title = "Gradient descent with two weights"
    if minimum is not None:
        for ax in contour_axes:
            ax.plot(*minimum, "+", color="white", ms=12, mew=2, label="_minimum")
        if separate:
            title += ", + minimum"
    if separate:
        title += ")"
    if surface:
        ax3 = fig.add_subplot(bottom[0, next(slots)], projection="3d")
        ax3.plot_surface(W1, W2, shown, cmap="viridis", linewidth=0, antialiased=False,
                         alpha=0.9)
        ax3.set_xlabel(labels[0], fontsize=style.ANNOTATION_SIZE)
        ax3.set_ylabel(labels[1], fontsize=style.ANNOTATION_SIZE)
        ax3.tick_params(labelsize=style.SMALL_SIZE)
        ax3.set_title("surface", fontsize=style.TITLE_SIZE)
        ax3.set_label("surface")
    if curves:
        ax4 = fig.add_subplot(bottom[0, next(slots)])
        for k, (name, v) in enumerate(curves.items()):
            ax4.plot(np.arange(v.size), v, color=style.PALETTE[(k + 1) % 10],
                     ls=PATH_STYLES[k % len(PATH_STYLES)], label=name)
        if all(np.all(v > 0) for v in curves.values()):
            ax4.set_yscale("log")
        ax4.set_xlabel("step", fontsize=style.LABEL_SIZE)
        ax4.set_ylabel("loss", fontsize=style.LABEL_SIZE)
        ax4.set_title("loss along the path", fontsize=style.TITLE_SIZE)
        ax4.grid(alpha=0.3, which="both")
        ax4.legend(fontsize=style.ANNOTATION_SIZE)
        ax4.set_label("loss")
    fig.suptitle(title, fontsize=style.TITLE_SIZE + 1)
    return fig


def boundary_segment(w, b: float, xlim, ylim):
    """End points of the line ``w[0] x + w[1] y + b = 0`` across the box ``xlim x ylim``.

    Returns ``(xs, ys)`` (two points each) or None when ``w = 0`` (no boundary).  The segment
    spans the box along the axis the line is least steep in; matplotlib clips the rest.
    """
    w0, w1 = float(w[0]), float(w[1])
    if w0 == 0.0 and w1 == 0.0:
        return None
    if abs(w1) >= abs(w0):
        xs = np.array(xlim, dtype=np.float64)
        return xs, -(w0 * xs + b) / w1
    ys = np.array(ylim, dtype=np.float64)
    return -(w1 * ys + b) / w0, ys


def perceptron_figure(X, y, weights, biases, steps=None, errors=None, max_lines: int = 8,
                      limits=None):
    """A perceptron's decision boundary over time, on its 2-D training data.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
    y : ndarray, shape (N,)
        Class labels; two distinct values (e.g. 0/1 or -1/+1).
    weights : ndarray, shape (T + 1, 2)
        Weights after each step (row 0: start), e.g. a training history.
    biases : ndarray, shape (T + 1,)
    steps : list of int, optional
        Which rows to draw; default up to ``max_lines`` of the rows where the weights changed
        (the boundary moves only on a mistake), always including the first and the last.
    errors : ndarray, optional
        Misclassified samples per epoch (adds a panel; epochs numbered from 1).
    limits : ((float, float), (float, float)), optional
        ``(xlim, ylim)`` of the data panel; default the data's range plus 10 %. A wider view
        shows boundaries that pass beside the data (XOR's wander around the unit square).

    Returns
    -------
    Figure
        Axes ``"data"`` with one line per drawn step (line label ``"step <t>"``; points on it
        satisfy ``w·x + b = 0``), the final one black and thick, and optionally ``"errors"``.
    """
    owner = "perceptron_figure"
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    W = np.asarray(weights, dtype=np.float64)
    B = np.asarray(biases, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
        raise ValueError(f"{owner}: expected X (N, 2) and y (N,), got {X.shape} and {y.shape}")
    if W.ndim != 2 or W.shape[1] != 2 or B.shape != (W.shape[0],) or W.shape[0] == 0:
        raise ValueError(f"{owner}: expected weights (T + 1, 2) and biases (T + 1,), got "
                         f"{W.shape} and {B.shape}")
    classes = np.unique(y)
    if classes.size > 2:
        raise ValueError(f"{owner}: y must hold two classes, got {classes.size}")
    last = W.shape[0] - 1
    if steps is None:
        # The boundary only moves on a mistake: draw the states after updates, spread evenly.
        changed = np.flatnonzero(np.any(W[1:] != W[:-1], axis=1) | (B[1:] != B[:-1])) + 1
        states = np.unique(np.concatenate([[0], changed, [last]]))
        pick = np.unique(np.linspace(0, states.size - 1, min(max_lines, states.size)).round())
        steps = states[pick.astype(int)]
    steps = [int(s) for s in steps]
    if any(not 0 <= s <= last for s in steps):
        raise ValueError(f"{owner}: steps must lie in 0..{last}, got {steps}")
    ncols = 1 if errors is None else 2
    fig, axes = style.new_figure(1, ncols, height=3.8,
                                 gridspec_kw={"width_ratios": [1.9, 1.0][:ncols]})
    ax = axes[0, 0]
    if limits is None:
        pad = 0.1 * (np.ptp(X, axis=0) + 1e-9)
        xlim = (X[:, 0].min() - pad[0], X[:, 0].max() + pad[0])
        ylim = (X[:, 1].min() - pad[1], X[:, 1].max() + pad[1])
    else:
        lim = np.asarray(limits, dtype=np.float64)
        if lim.shape != (2, 2) or not np.all(np.isfinite(lim)) or np.any(lim[:, 1] <= lim[:, 0]):
            raise ValueError(f"{owner}: limits must be ((xmin, xmax), (ymin, ymax)) with min < max, "
                             f"got {limits}")
        xlim, ylim = tuple(lim[0]), tuple(lim[1])
    markers = ("o", "s")
    for k, c in enumerate(classes):
        sel = y == c
        ax.scatter(X[sel, 0], X[sel, 1], s=16 if X.shape[0] > 20 else 70, marker=markers[k],
                   color=style.PALETTE[k * 3],
                   edgecolor="white", linewidth=0.5, label=f"class {c:g}", zorder=3)
    for rank, s in enumerate(steps):
        seg = boundary_segment(W[s], B[s], xlim, ylim)
        if seg is None:
            continue
        final = s == steps[-1]
        # light (early) to dark (late) blue, the final boundary black
        shade = colormaps["Blues"](0.3 + 0.6 * rank / max(len(steps) - 1, 1))
        ax.plot(*seg, color="black" if final else shade, lw=2.2 if final else 1.2,
                label=f"step {s}")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x₁", fontsize=style.LABEL_SIZE)
    ax.set_ylabel("x₂", fontsize=style.LABEL_SIZE)
    ax.set_title("decision boundary w·x + b = 0 over time", fontsize=style.TITLE_SIZE)
    # outside the data, so that no point or line hides behind it
    ax.legend(fontsize=style.ANNOTATION_SIZE, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, handlelength=1.5)
    ax.set_label("data")
    if errors is not None:
        e = np.asarray(errors, dtype=np.float64).reshape(-1)
        ax2 = axes[0, 1]
        ax2.plot(np.arange(1, e.size + 1), e, "o-", color=style.PALETTE[3], ms=3)
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.set_ylim(bottom=0)
        ax2.set_xlabel("epoch", fontsize=style.LABEL_SIZE)
        ax2.set_ylabel("misclassified samples", fontsize=style.LABEL_SIZE)
        ax2.set_title("mistakes per epoch", fontsize=style.TITLE_SIZE)
        ax2.grid(alpha=0.3)
        ax2.set_label("errors")
    fig.suptitle("Perceptron learning", fontsize=style.TITLE_SIZE + 1)
    return fig
