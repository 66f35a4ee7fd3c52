"""Gradient flow: the size of the gradient each layer receives, plain vs with shortcuts.

Feed it the per-layer gradient norms of a deep network (e.g. from
:func:`labkit.ops.gradient_flow.gradient_norms`, or from a ``Network``'s layers after a backward
pass) and it shows the degradation problem that motivates residual connections: in a deep plain
network the first layers receive gradients many orders of magnitude smaller than the last.
"""

from __future__ import annotations

import numpy as np

from labkit.viz import style


def _curves(values, owner: str, name: str) -> dict:
    if isinstance(values, np.ndarray) or not isinstance(values, dict):
        values = {name: values}
    out = {}
    for k, v in values.items():
        a = np.asarray(v, dtype=np.float64)
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"{owner}: {name} {k!r} must be a non-empty 1-D array (one value per "
                             f"layer), got shape {a.shape}")
        out[str(k)] = a
    if not out:
        raise ValueError(f"{owner}: no {name} given")
    return out


def gradient_flow_figure(norms, activation_std=None, logy: bool = True,
                         title: str = "Gradient flow through depth"):
    """Gradient norm per layer, one curve per network (e.g. plain vs shortcuts).

    Parameters
    ----------
    norms : dict name -> ndarray (L,), or one ndarray
        ``norms[name][l]`` is the gradient norm of layer ``l + 1`` (input side first).
    activation_std : dict name -> ndarray (L,), optional
        Spread of each layer's output, drawn in a second panel (does the forward signal survive?).
    logy : bool
        Logarithmic gradient axis (vanishing gradients span many decades).
    title : str

    Returns
    -------
    Figure
        Axes ``"norms"`` (one line per entry of ``norms``, y data equal to it, x = 1..L, line
        label = the name) and, if given, ``"activations"``.
    """
    owner = "gradient_flow_figure"
    curves = _curves(norms, owner, "norms")
    acts = None if activation_std is None else _curves(activation_std, owner, "activation_std")
    ncols = 1 if acts is None else 2
    fig, axes = style.new_figure(1, ncols, height=3.4)
    ax = axes[0, 0]
    for k, (name, v) in enumerate(curves.items()):
        layers = np.arange(1, v.size + 1)
        shown = np.where(v > 0, v, np.nan) if logy else v     # log axes cannot show zeros
        ax.plot(layers, shown, "o-", ms=3, color=style.PALETTE[k % 10], label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("layer (1 = next to the input)", fontsize=style.LABEL_SIZE)
    ax.set_ylabel("‖∂C/∂W‖", fontsize=style.LABEL_SIZE)
    ax.set_title("gradient norm per layer", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=style.LABEL_SIZE)
    ax.set_label("norms")
    if acts is not None:
        ax2 = axes[0, 1]
        for k, (name, v) in enumerate(acts.items()):
            ax2.plot(np.arange(1, v.size + 1), v, "o-", ms=3, color=style.PALETTE[k % 10],
                     label=name)
        ax2.set_xlabel("layer", fontsize=style.LABEL_SIZE)
        ax2.set_ylabel("std of layer output", fontsize=style.LABEL_SIZE)
        ax2.set_title("forward signal", fontsize=style.TITLE_SIZE)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=style.LABEL_SIZE)
        ax2.set_label("activations")
    fig.suptitle(title, fontsize=style.TITLE_SIZE + 1)
    return fig
