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


class Loss:
    """``forward(y, target) -> float`` then ``backward() -> dy`` (same shape as ``y``)."""

    def __init__(self):
        self.cache = None

    def _check(self, y, target):
        y = np.asarray(y)
        target = np.asarray(target)
        if y.shape != target.shape:
            raise ValueError(f"{type(self).__name__}: prediction {y.shape} and target "
                             f"{target.shape} must have the same shape")
        if y.size == 0:
            raise ValueError(f"{type(self).__name__}: empty input of shape {y.shape}")
        if not np.all(np.isfinite(target)):
            raise ValueError(f"{type(self).__name__}: target of shape {target.shape} contains "
                             f"NaN or inf")
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
        diff = y - target
        self.cache = diff
        return float(np.abs(diff).mean(dtype=np.float64))

    def _backward(self):
        return np.sign(self.cache) / self.cache.size


class MSELoss(Loss):
    """Mean squared error."""

    def forward(self, y, target):
        y, target = self._check(y, target)
        diff = y - target
        self.cache = diff
        return float(np.square(diff).mean(dtype=np.float64))

    def _backward(self):
        return 2 * self.cache / self.cache.size


class CharbonnierLoss(Loss):
    """Charbonnier (smooth L1) loss with ``eps = 1e-3``."""

    def __init__(self, eps=1e-3):
        super().__init__()
        if eps <= 0:
            raise ValueError(f"CharbonnierLoss: eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def forward(self, y, target):
        y, target = self._check(y, target)
        diff = y - target
        root = np.sqrt(diff * diff + self.eps ** 2)
        self.cache = (diff, root)
        return float(root.mean(dtype=np.float64))

    def _backward(self):
        diff, root = self.cache
        return diff / root / diff.size


LOSSES = {"l1": L1Loss, "mse": MSELoss, "charbonnier": CharbonnierLoss}
