"""Element-wise activation functions and their derivatives.

Each entry maps a name to ``(f, df)`` where ``f(x, **kw) -> y`` and ``df(x, y, **kw) -> dy/dx``
(given both ``x`` and ``y`` so that derivatives like the logistic's ``y (1 - y)`` reuse the
forward result).
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array


def _float(x, owner):
    # Integer input is computed in float (logistic(0) is 0.5, not 0); strings are refused.
    return x if isinstance(x, np.ndarray) and x.dtype.kind == "f" else check_array(x, owner)

# Klambauer et al. 2017, "Self-Normalizing Neural Networks".
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def linear(x):
    """:math:`f(x) = x`."""
    x = _float(x, "linear")
    return x.copy()


def d_linear(x, y):
    return np.ones_like(x)


def relu(x):
    """:math:`f(x) = \\max(0, x)`."""
    x = _float(x, "relu")
    return np.maximum(x, 0)


def relu_backward(x, dy):
    """Vector-Jacobian product of :func:`relu`: ``dx = dy * [x > 0]`` (the kink at 0 gets 0, as
    in PyTorch).  ``x`` may equally be the output ``y = relu(x)``: ``y > 0`` exactly where
    ``x > 0``, so a layer need not keep its input alive for the backward pass."""
    x = _float(x, "relu_backward")
    return np.multiply(dy, x > 0)


def d_relu(x, y):
    # The kink at 0 gets derivative 0, as in PyTorch.
    return (x > 0).astype(x.dtype)


def leaky(x, alpha=0.1):
    """:math:`f(x) = x` for :math:`x > 0`, else :math:`\\alpha x`."""
    x = _float(x, "leaky")
    return np.where(x > 0, x, alpha * x)


def d_leaky(x, y, alpha=0.1):
    return np.where(x > 0, 1.0, alpha).astype(x.dtype)


def elu(x, alpha=1.0):
    """:math:`f(x) = x` for :math:`x > 0`, else :math:`\\alpha (e^x - 1)` (Clevert et al. 2016)."""
    x = _float(x, "elu")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def d_elu(x, y, alpha=1.0):
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


def selu(x):
    """:math:`f(x) = \\lambda x` for :math:`x > 0`, else :math:`\\lambda \\alpha (e^x - 1)`."""
    x = _float(x, "selu")
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def d_selu(x, y):
    return (SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0)))).astype(x.dtype)


def logistic(x):
    """:math:`\\sigma(x) = 1 / (1 + e^{-x})`, evaluated without overflow for large ``|x|``."""
    x = _float(x, "logistic")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def d_logistic(x, y):
    return y * (1 - y)


def tanh(x):
    """:math:`f(x) = \\tanh x`."""
    x = _float(x, "tanh")
    return np.tanh(x)


def d_tanh(x, y):
    return 1 - y * y


def softplus(x):
    """:math:`f(x) = \\log(1 + e^x)`, computed as ``logaddexp(0, x)`` to avoid overflow."""
    x = _float(x, "softplus")
    return np.logaddexp(0, x).astype(x.dtype)


def d_softplus(x, y):
    return logistic(x)


#: Fused vector-Jacobian products ``dx = vjp(y, dy)`` computed from the *output* ``y``, where
#: one exists: the Activation layer uses them instead of forming ``f'(x)`` and multiplying, and
#: then need not keep ``x``.
VJPS = {"relu": relu_backward}

ACTIVATIONS = {
    "linear": (linear, d_linear),
    "relu": (relu, d_relu),
    "leaky": (leaky, d_leaky),
    "elu": (elu, d_elu),
    "selu": (selu, d_selu),
    "logistic": (logistic, d_logistic),
    "tanh": (tanh, d_tanh),
    "softplus": (softplus, d_softplus),
}
