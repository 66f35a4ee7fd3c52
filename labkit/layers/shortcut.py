"""Shortcut (residual) connection, darknet style: add the output of an earlier layer."""

from __future__ import annotations

import numpy as np

from labkit.layers.base import MergeLayer


class Shortcut(MergeLayer):
    """``y = alpha * x_prev + beta * x_index``.

    ``x_prev`` is the previous layer's output (this layer's ordinary input) and ``x_index`` the
    output of layer ``index`` in the :class:`~labkit.network.Network`: negative indices count
    back from this layer (``-1`` is the previous layer), non-negative ones are absolute
    positions.  Inside a network the second input is passed as ``other=``; the gradient for it
    is left in :attr:`d_other` after :meth:`backward`.  The shapes must match (no broadcasting).
    """

    def __init__(self, index, alpha=1.0, beta=1.0):
        super().__init__(index)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def get_config(self):
        return dict(index=self.index, alpha=self.alpha, beta=self.beta)

    def forward(self, x, training=True, other=None):
        x = self._input(x, None)
        other = self._input(self._other(other), None)
        if x.shape != other.shape:
            raise ValueError(f"{self!r}: previous output {x.shape} and output of layer "
                             f"{self.index} {other.shape} must have the same shape")
        self.cache = True
        if self.alpha == 1.0 and self.beta == 1.0:     # the plain residual: one pass, no copies
            return self._remember_output(x + other)
        return self._remember_output(self.alpha * x + self.beta * other)

    def adopt_output(self, y):
        """Take ``y`` as this layer's output without computing it: the preceding convolution
        already added the shortcut's source in its forward (only for unit weights)."""
        if self.alpha != 1.0 or self.beta != 1.0:
            raise ValueError(f"{self!r}: only a shortcut with alpha = beta = 1 can be fused "
                             f"into the layer before it")
        self.cache = True
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        # With unit weights both inputs receive dy itself (layers never write into a gradient
        # they are given; the network sums gradients out of place).
        self.d_other = dy if self.beta == 1.0 else self.beta * dy
        return dy if self.alpha == 1.0 else self.alpha * dy


class Route(MergeLayer):
    """Route (darknet's name): output the output of an earlier layer, ignoring the previous one.

    ``y = x_index``.  It starts a side branch from an earlier point of the network (WDSR's
    skip branch reads the network input).  ``index`` follows the :class:`Shortcut` rules;
    the previous layer receives a zero gradient.
    """

    def __init__(self, index):
        super().__init__(index)

    def get_config(self):
        return dict(index=self.index)

    def forward(self, x, training=True, other=None):
        other = self._other(other)
        self.cache = np.shape(x), np.asarray(x).dtype
        return self._remember_output(np.asarray(other))

    def output_shape(self, input_shape, other_shape=None):
        return tuple(input_shape if other_shape is None else other_shape)

    def backward(self, dy):
        dy = self._check_dy(dy)
        self.d_other = dy
        shape, dtype = self.cache
        return np.zeros(shape, dtype=np.result_type(dtype, dy.dtype))
