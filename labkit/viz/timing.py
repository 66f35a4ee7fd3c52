"""Timing plots of the convolution algorithms, from :mod:`labkit.bench` rows.

A benchmark row is a dict with at least ``algorithm``, ``H``, ``W``, ``C_in``, ``C_out``,
``pass`` (``"forward"``/``"backward"``) and ``seconds``; other keys are ignored.  Repeated
measurements of one configuration are summarised by their median (robust to a busy machine).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from labkit.viz import style

REQUIRED = ("algorithm", "H", "W", "C_in", "C_out", "pass", "seconds")
CONFIG_KEYS = ("N", "H", "W", "C_in", "C_out", "kernel", "stride")
X_AXES = {"H": "image side H (pixels)", "W": "image width W (pixels)",
          "pixels": "pixels H·W", "C_in": "input channels", "C_out": "output channels",
          "channels": "channels (C_in = C_out)"}


def _check_rows(rows, owner: str, where: dict | None = None) -> list[dict]:
    rows = list(rows)
    if where:
        rows = [r for r in rows if isinstance(r, dict)
                and all(r.get(k) == v for k, v in where.items())]
    if not rows:
        raise ValueError(f"{owner}: no benchmark rows given"
                         + (f" (none match {where})" if where else ""))
    for k, r in enumerate(rows):
        if not isinstance(r, dict):
            # ValueError, not TypeError: the project's contract for every bad argument.
            raise ValueError(f"{owner}: row {k} is a {type(r).__name__}, "  # noqa: TRY004
                             f"not a dict")
        missing = [key for key in REQUIRED if key not in r]
        if missing:
            raise ValueError(f"{owner}: row {k} lacks {missing} (has {sorted(r)})")
        if not (np.isfinite(r["seconds"]) and r["seconds"] > 0):
            raise ValueError(f"{owner}: row {k} has seconds={r['seconds']!r}; need a positive time")
    return rows


def _algorithms(rows) -> list[str]:
    order = list(style.ALGORITHM_COLOURS)
    found = {str(r["algorithm"]) for r in rows}
    return [a for a in order if a in found] + sorted(found - set(order))


def _passes(rows) -> list[str]:
    found = {str(r["pass"]) for r in rows}
    return [p for p in ("forward", "backward") if p in found] + sorted(found - {"forward",
                                                                               "backward"})


def _colour(alg: str, k: int) -> str:
    return style.ALGORITHM_COLOURS.get(alg, style.PALETTE[(k + 5) % 10])


def _config(r) -> tuple:
    return tuple(r.get(k) for k in CONFIG_KEYS)


def _config_label(r) -> str:
    n = f"{r['N']}×" if r.get("N") not in (None, 1) else ""
    return f"{n}{r['H']}×{r['W']}\n{r['C_in']}→{r['C_out']}"


def median_seconds(rows, key) -> dict:
    """``{(pass, algorithm, key(row)): median seconds}`` over repeated rows."""
    acc = defaultdict(list)
    for r in rows:
        acc[(str(r["pass"]), str(r["algorithm"]), key(r))].append(float(r["seconds"]))
    return {k: float(np.median(v)) for k, v in acc.items()}


def timing_bars(rows, logy: bool = True, where: dict | None = None,
                title: str = "Convolution algorithms: time per call"):
    """Grouped bars: one group per configuration, one bar per algorithm, one panel per pass.

    Parameters
    ----------
    rows : list of dict
        Benchmark rows (see module docstring).
    logy : bool
        Logarithmic time axis (the algorithms differ by orders of magnitude).
    where : dict, optional
        Keep only rows with these values, e.g. ``{"C_in": 32}``.

    Returns
    -------
    Figure
        Axes ``"bars:forward"``, ``"bars:backward"`` (those present); bar containers labelled
        by algorithm, heights = median seconds in configuration order of first appearance.
    """
    owner = "timing_bars"
    rows = _check_rows(rows, owner, where)
    algs, passes = _algorithms(rows), _passes(rows)
    configs, labels = [], {}
    for r in rows:
        c = _config(r)
        if c not in labels:
            configs.append(c)
            labels[c] = _config_label(r)
    med = median_seconds(rows, _config)
    fig, axes = style.new_figure(1, len(passes), height=3.6)
    width = 0.8 / len(algs)
    x = np.arange(len(configs))
    for ax, p in zip(axes[0], passes):
        for k, alg in enumerate(algs):
            h = [med.get((p, alg, c), np.nan) for c in configs]
            ax.bar(x + (k - (len(algs) - 1) / 2) * width, h, width, color=_colour(alg, k),
                   label=alg)
        ax.set_xticks(x, [labels[c] for c in configs], fontsize=style.ANNOTATION_SIZE)
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel("seconds (median)", fontsize=style.LABEL_SIZE)
        ax.set_title(p, fontsize=style.TITLE_SIZE)
        ax.grid(alpha=0.3, axis="y", which="both")
        ax.set_label(f"bars:{p}")
    # One legend below both panels: inside an axes it would hide the first group's bars.
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(algs), 6),
               fontsize=style.ANNOTATION_SIZE, frameon=False)
    fig.suptitle(title, fontsize=style.TITLE_SIZE + 1)
    return fig


def _x_value(r, x: str, owner: str):
    if x == "pixels":
        return int(r["H"]) * int(r["W"])
    if x == "channels":
        return int(r["C_in"])
    if x not in X_AXES:
        raise ValueError(f"{owner}: x must be one of {sorted(X_AXES)}, got {x!r}")
    return int(r[x])


def timing_scaling(rows, x: str = "H", logx: bool = True, logy: bool = True,
                   reference_slope: float | None = None, where: dict | None = None,
                   title: str | None = None):
    """Time vs problem size: one line per algorithm, one panel per pass.

    Parameters
    ----------
    rows : list of dict
        Benchmark rows in which only the quantity on ``x`` varies (filter them first, or with
        ``where``).
    x : {"H", "W", "pixels", "C_in", "C_out", "channels"}
        What varies; ``"pixels"`` is ``H * W``, ``"channels"`` reads ``C_in``.
    logx, logy : bool
    reference_slope : float, optional
        Draw a dashed power law ``t ∝ x^slope`` through the first point of the slowest
        algorithm (e.g. 2 for time vs side H: cost proportional to the pixel count).
    where : dict, optional
        Keep only rows with these values, e.g. ``{"C_in": 32}`` when plotting against ``H``.

    Returns
    -------
    Figure
        Axes ``"scaling:<pass>"``; one line per algorithm (label = algorithm), x data sorted,
        y data the median seconds.
    """
    owner = "timing_scaling"
    rows = _check_rows(rows, owner, where)
    for r in rows:
        _x_value(r, x, owner)
    algs, passes = _algorithms(rows), _passes(rows)
    med = median_seconds(rows, lambda r: _x_value(r, x, owner))
    fig, axes = style.new_figure(1, len(passes), height=3.6)
    for ax, p in zip(axes[0], passes):
        slowest = None
        for k, alg in enumerate(algs):
            pts = sorted((xv, t) for (pp, a, xv), t in med.items() if pp == p and a == alg)
            if not pts:
                continue
            xs, ts = np.array(pts).T
            ax.plot(xs, ts, "o-", ms=4, color=_colour(alg, k), label=alg)
            if slowest is None or ts[0] > slowest[1]:
                slowest = (xs[0], ts[0], xs)
        if reference_slope is not None and slowest is not None:
            x0, t0, xs = slowest
            ax.plot(xs, t0 * (xs / x0) ** reference_slope, "--", color="#777777", lw=1,
                    label=f"∝ x^{reference_slope:g}")
        if logx:
            ax.set_xscale("log")
            # Ticks at the measured sizes, as plain numbers (log-axis labels like 3x10^1
            # collide at this width).
            measured = sorted({xv for (pp, _, xv) in med if pp == p})
            ax.set_xticks(measured, [f"{v:g}" for v in measured])
            ax.minorticks_off()
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(X_AXES[x], fontsize=style.LABEL_SIZE)
        ax.set_ylabel("seconds (median)", fontsize=style.LABEL_SIZE)
        ax.set_title(p, fontsize=style.TITLE_SIZE)
        ax.grid(alpha=0.3, which="both")
        ax.set_label(f"scaling:{p}")
    # One legend below both panels, where it hides no line.
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 7),
               fontsize=style.ANNOTATION_SIZE, frameon=False)
    fig.suptitle(title or f"Scaling with {X_AXES[x]}", fontsize=style.TITLE_SIZE + 1)
    return fig
