"""Losses for regression and super-resolution, each a mean over all elements.

==============  ==========================================  =====================================
loss            value                                       gradient ``d/dy``
==============  ==========================================  =====================================
``L1Loss``      :math:`\\frac1M \\sum |y - t|`                :math:`\\mathrm{sign}(y - t) / M`
``MSELoss``     :math:`\\frac1M \\sum (y - t)^2`              :math:`2 (y - t) / M`
``Charbonnier`` :math:`\\frac1M \\sum \\sqrt{(y-t)^2 + \\epsilon^2}`  :math:`(y - t) / (M \\sqrt{(y-t)^2+\\epsilon^2})`
==============  ==========================================  =====================================

L1 is what EDSR trains with (Lim et al. 2017); Charbonnier (Lai et al. 2017, LapSRN) is a
differentiable L1.  The L1 gradient at ``y == t`` is 0, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array, check_float, check_same_shape


def l1_grad(y, target):
    """Gradient of the mean absolute error ``L = mean(|y - t|)`` with respect to ``y``.

    .. math:: \\frac{\\partial L}{\\partial y} = \\frac{\\mathrm{sign}(y - t)}{M}

    ``y``, ``target``: arrays of the same shape (any), ``M = y.size``; 0 where ``y == t`` (as
    PyTorch).  Returns an array of y's shape and dtype.
    """
    return np.sign(y - target) / y.size


def mse_grad(y, target):
    """Gradient of the mean squared error ``L = mean((y - t)^2)`` with respect to ``y``.

    .. math:: \\frac{\\partial L}{\\partial y} = \\frac{2 (y - t)}{M}

    ``y``, ``target``: arrays of the same shape (any), ``M = y.size``.  Returns an array of y's
    shape and dtype.
    """
    return 2 * (y - target) / y.size


def charbonnier_grad(y, target, eps=1e-3):
    """Gradient of the Charbonnier loss ``L = mean(sqrt((y - t)^2 + eps^2))`` with respect to ``y``.

    .. math:: \\frac{\\partial L}{\\partial y} = \\frac{y - t}{M \\sqrt{(y-t)^2+\\epsilon^2}}

    ``y``, ``target``: arrays of the same shape (any), ``M = y.size``.  Returns an array of y's
    shape and dtype.
    """
    diff = y - target
    return diff / np.sqrt(diff * diff + eps ** 2) / diff.size


class Loss:
    """``forward(y, target) -> float`` then ``backward() -> dy`` (same shape as ``y``)."""

    def __init__(self):
        self.cache = None

    def _check(self, y, target):
        owner = type(self).__name__
        # Integer predictions are converted to float before any arithmetic (an integer
        # ``y - target`` would truncate: L1 of [0, 0] against [0.7, 0.7] must be 0.7, not 0).
        y = check_array(y, owner, name="prediction", nonempty=True)
        target = check_array(target, owner, name="target", finite=True)
        check_same_shape(y, target, owner)
        return y, target.astype(y.dtype, copy=False)

    def __call__(self, y, target):
        return self.forward(y, target)

    def backward(self):
        if self.cache is None:
            raise ValueError(f"{type(self).__name__}: backward called before forward")
        return self._backward()


class L1Loss(Loss):
    """Mean absolute error."""

    def forward(self, y, target):
        y, target = self._check(y, target)
        self.cache = (y, target)
        return float(np.abs(y - target).mean(dtype=np.float64))

    def _backward(self):
        return l1_grad(*self.cache)


class MSELoss(Loss):
    """Mean squared error."""

    def forward(self, y, target):
        y, target = self._check(y, target)
        self.cache = (y, target)
        return float(np.square(y - target).mean(dtype=np.float64))

    def _backward(self):
        return mse_grad(*self.cache)


class CharbonnierLoss(Loss):
    """Charbonnier (smooth L1) loss with ``eps = 1e-3``."""

    def __init__(self, eps=1e-3):
        super().__init__()
        self.eps = check_float(eps, "eps", "CharbonnierLoss", min=0.0, min_open=True)

    def forward(self, y, target):
        y, target = self._check(y, target)
        diff = y - target
        self.cache = (y, target)
        return float(np.sqrt(diff * diff + self.eps ** 2).mean(dtype=np.float64))

    def _backward(self):
        return charbonnier_grad(*self.cache, eps=self.eps)


LOSSES = {"l1": L1Loss, "mse": MSELoss, "charbonnier": CharbonnierLoss}
