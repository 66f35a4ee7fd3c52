"""Where a training step's time goes, and how close each part runs to the machine.

* :func:`step_profile_bars`: the step's time per layer kind (forward and backward stacked), from
  :func:`labkit.modelbench.profile_train_step`;
* :func:`roofline`: Williams, Waterman and Patterson's roofline ("Roofline: an insightful visual
  performance model for multicore architectures", CACM 2009): achieved GFLOP/s against
  arithmetic intensity (flop per byte moved), under the two roofs ``bandwidth x intensity``
  (memory-bound) and the float32 peak (compute-bound), from
  :func:`labkit.modelbench.roofline_points`.
"""

from __future__ import annotations

import numpy as np

from labkit.viz import style


def step_profile_bars(profile: dict, title: str = "Where a training step goes"):
    """Horizontal stacked bars (forward, backward) of milliseconds per layer kind, largest
    first, with the loss and the optimizer update; the axis is labelled ``"profile"``."""
    if not isinstance(profile, dict) or "by_kind" not in profile:
        raise ValueError("step_profile_bars: expected the dict of profile_train_step, got "
                         f"{type(profile).__name__}")
    kinds = list(profile["by_kind"])
    labels = [f"{k['layer']} (x{k['count']})" for k in kinds] + ["optimizer update"]
    fwd = np.array([k["forward_s"] for k in kinds] + [0.0]) * 1e3
    bwd = np.array([k["backward_s"] for k in kinds] + [profile["update_s"]]) * 1e3
    fig, axes = style.new_figure(1, 1, height=0.45 * len(labels) + 1.6)
    ax = axes[0, 0]
    y = np.arange(len(labels))[::-1]
    ax.barh(y, fwd, color=style.PALETTE[0], label="forward")
    ax.barh(y, bwd, left=fwd, color=style.PALETTE[1], label="backward / update")
    ax.set_yticks(y, labels, fontsize=style.ANNOTATION_SIZE)
    step = profile["step_s"] * 1e3
    for yi, f, b in zip(y, fwd, bwd):
        ax.annotate(f"{(f + b) / step:.0%}", (f + b, yi), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=style.SMALL_SIZE)
    ax.set_xlabel(f"milliseconds per step (step {step:.0f} ms)", fontsize=style.LABEL_SIZE)
    ax.set_xlim(0, max(fwd + bwd) * 1.15)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=style.ANNOTATION_SIZE, loc="lower right")
    ax.set_title(title, fontsize=style.TITLE_SIZE)
    ax.set_label("profile")
    return fig


def roofline(points, peak_gflops: float, bandwidth_gbs: float,
             title: str = "Roofline of a training step"):
    """Log-log roofline: the roof ``min(peak, bandwidth * intensity)`` and one labelled point
    per ``{"layer", "intensity", "gflops"}`` dict (points with no flops are left out).  The axis
    is labelled ``"roofline"``; the roof is the line labelled ``"roof"``."""
    pts = [p for p in points if p.get("gflops", 0) > 0 and p.get("intensity", 0) > 0]
    if not pts:
        raise ValueError("roofline: no point with positive intensity and GFLOP/s")
    for name, v in (("peak_gflops", peak_gflops), ("bandwidth_gbs", bandwidth_gbs)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ValueError(f"roofline: {name} must be a positive number, got {v!r}")
    fig, axes = style.new_figure(1, 1, height=4.6)
    ax = axes[0, 0]
    lo = min(p["intensity"] for p in pts) / 3
    hi = max(max(p["intensity"] for p in pts) * 3, 3 * peak_gflops / bandwidth_gbs)
    ai = np.geomspace(lo, hi, 200)
    ax.plot(ai, np.minimum(peak_gflops, bandwidth_gbs * ai), color="#444444", lw=2,
            label="roof")
    ridge = peak_gflops / bandwidth_gbs
    ax.annotate(f"peak {peak_gflops:.0f} GFLOP/s", (hi, peak_gflops), xytext=(-4, 4),
                textcoords="offset points", ha="right", fontsize=style.ANNOTATION_SIZE)
    ax.annotate(f"memory {bandwidth_gbs:.0f} GB/s", (lo * 1.5, bandwidth_gbs * lo * 1.5),
                xytext=(4, 6), textcoords="offset points", rotation=33,
                fontsize=style.ANNOTATION_SIZE)
    ax.axvline(ridge, color="#999999", ls=":", lw=1)
    for k, p in enumerate(pts):
        ax.scatter(p["intensity"], p["gflops"], s=40, color=style.PALETTE[k % 10], zorder=3,
                   label=p["layer"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (flop per byte of compulsory traffic)",
                  fontsize=style.LABEL_SIZE)
    ax.set_ylabel("achieved GFLOP/s (flops spent)", fontsize=style.LABEL_SIZE)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title, fontsize=style.TITLE_SIZE)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right upper", fontsize=style.SMALL_SIZE,
               frameon=False)
    ax.set_label("roofline")
    return fig
