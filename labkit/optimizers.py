"""Optimizers with PyTorch's update rules (one step on the same params and grads gives the
same result as ``torch.optim.SGD`` / ``torch.optim.Adam``).

The optimizer keeps per-parameter state keyed by the parameter array itself (its ``id``), and
updates parameters in place, so layers keep their arrays.  :meth:`Optimizer.state_dict` and
:meth:`Optimizer.load_state_dict` take a ``name -> array`` mapping of the parameters (as
:meth:`labkit.network.Network.named_params` gives) so that state survives a save and load.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array, check_float


def sgd_step(p, g, lr, momentum=0.0, buf=None):
    """One SGD step, as ``torch.optim.SGD`` (no dampening, no Nesterov, no weight decay).

    .. math::

        b_t = \\mu\\, b_{t-1} + g \\quad (b_1 = g), \\qquad p \\leftarrow p - \\eta\\, b_t

    (with ``momentum == 0``: :math:`p \\leftarrow p - \\eta g` and no buffer).

    Parameters
    ----------
    p, g : ndarray, same shape (any)
        Parameter and its gradient (``g`` in ``p``'s dtype).
    lr : float
        Learning rate :math:`\\eta`.
    momentum : float
        :math:`0 \\le \\mu < 1`.
    buf : ndarray of p's shape, or None
        Momentum buffer :math:`b_{t-1}`; None on the first step.

    Returns
    -------
    (p_new, buf_new) : ndarrays of p's shape (``buf_new`` is None when ``momentum == 0``).
        The inputs are not modified.
    """
    if momentum:
        buf = g.copy() if buf is None else momentum * buf + g
        return p - lr * buf, buf
    return p - lr * g, None


def adam_step(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba 2015) exactly as ``torch.optim.Adam`` computes it.

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g, \\quad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g^2,
        \\quad p \\leftarrow p - \\frac{lr}{1-\\beta_1^t}
        \\frac{m_t}{\\sqrt{v_t} / \\sqrt{1-\\beta_2^t} + \\epsilon}

    Parameters
    ----------
    p, g, m, v : ndarray, same shape (any)
        Parameter, its gradient, and the first and second moments :math:`m_{t-1}, v_{t-1}`
        (zeros before the first step), all in ``p``'s dtype.
    t : int
        The step number, 1 on the first step (bias corrections :math:`1 - \\beta^t`).
    lr, beta1, beta2, eps : float

    Returns
    -------
    (p_new, m_new, v_new) : ndarrays of p's shape and dtype.  The inputs are not modified.
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    bias1 = 1 - beta1 ** t
    bias2 = 1 - beta2 ** t
    denom = np.sqrt(v) / np.sqrt(bias2) + eps
    # np.sqrt of the Python float bias2 is a float64 scalar: the step is computed in float64
    # and the new parameter rounded to p's dtype (what the in-place ``p -= ...`` always did).
    return (p - (lr / bias1) * m / denom).astype(p.dtype, copy=False), m, v


class Optimizer:
    """Base class: ``update(params, grads)`` steps every array in ``params`` in place."""

    def __init__(self, lr):
        self.lr = check_float(lr, "lr", type(self).__name__, min=0.0)
        self.state: dict[int, dict] = {}

    def update(self, params: dict, grads: dict) -> None:
        owner = type(self).__name__
        for k, p in params.items():
            if k not in grads:
                raise ValueError(f"{owner}: no gradient for parameter {k!r} (gradients for "
                                 f"{sorted(grads)})")
            g = grads[k]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise ValueError(f"{owner}: parameter {k!r} must be a float array, got "
                                 f"{getattr(p, 'dtype', type(p).__name__)}")
            g = check_array(g, owner, name=f"gradient {k!r}")
            if g.shape != p.shape:
                raise ValueError(f"{owner}: gradient {k!r} has shape {g.shape}, "
                                 f"parameter has {p.shape}")
            if not np.all(np.isfinite(g)):
                # A NaN step would silently ruin the parameter (and Adam's moments) for good.
                raise ValueError(f"{owner}: gradient {k!r} of shape {g.shape} contains NaN or "
                                 f"inf; parameters left unchanged")
            self._step(p, g.astype(p.dtype, copy=False), self.state.setdefault(id(p), {}))

    def _step(self, p, g, state):
        raise ValueError(f"{type(self).__name__}: _step is defined by each optimizer")

    def state_dict(self, named_params: dict) -> dict:
        """Flat ``{"<param name>/<slot>": array}`` for every parameter that has state."""
        out = {}
        for name, p in named_params.items():
            for slot, value in self.state.get(id(p), {}).items():
                out[f"{name}/{slot}"] = np.asarray(value)
        return out

    def load_state_dict(self, named_params: dict, state: dict) -> None:
        self.state = {}
        for key, value in state.items():
            name, slot = key.rsplit("/", 1)
            if name not in named_params:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for unknown "
                                 f"parameter {name!r}")
            p = named_params[name]
            value = np.array(value)
            self.state.setdefault(id(p), {})[slot] = int(value) if slot == "step" else value.astype(p.dtype)


class SGD(Optimizer):
    """``buf = momentum buf + g`` (``buf = g`` on the first step), ``p -= lr buf``."""

    def __init__(self, lr, momentum=0.0):
        super().__init__(lr)
        self.momentum = check_float(momentum, "momentum", "SGD", min=0.0, max=1.0, max_open=True)

    def _step(self, p, g, state):
        new, buf = sgd_step(p, g, self.lr, self.momentum, state.get("buf"))
        if buf is not None:
            state["buf"] = buf
        p[...] = new                    # in place: layers keep their arrays


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) exactly as ``torch.optim.Adam`` computes it:

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g, \\quad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g^2,
        \\quad p \\leftarrow p - \\frac{lr}{1-\\beta_1^t}
        \\frac{m_t}{\\sqrt{v_t} / \\sqrt{1-\\beta_2^t} + \\epsilon}
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = check_float(beta1, "beta1", "Adam", min=0.0, max=1.0, max_open=True)
        self.beta2 = check_float(beta2, "beta2", "Adam", min=0.0, max=1.0, max_open=True)
        self.eps = check_float(eps, "eps", "Adam", min=0.0, min_open=True)

    def _step(self, p, g, state):
        if "m" not in state:
            state["step"] = 0
            state["m"] = np.zeros_like(p)
            state["v"] = np.zeros_like(p)
        state["step"] += 1
        new, state["m"], state["v"] = adam_step(p, g, state["m"], state["v"], state["step"],
                                                self.lr, self.beta1, self.beta2, self.eps)
        p[...] = new                    # in place: layers keep their arrays

