"""Fully connected layer on ``(N, F)`` arrays."""

from __future__ import annotations

import numpy as np

from labkit.layers.base import Layer


class Dense(Layer):
    """``y = x W + b`` with ``W`` of shape ``(in_features, out_features)``.

    Backward: ``dW = x^T dy``, ``db = sum_n dy``, ``dx = dy W^T``.  He-normal initialisation.
    """

    def __init__(self, in_features, out_features, bias=True, seed=None, dtype=np.float32):
        super().__init__()
        for label, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Dense: {label} must be a positive int, got {v!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.use_bias = bool(bias)
        rng = np.random.default_rng(seed)
        self.params["w"] = rng.normal(0, np.sqrt(2.0 / in_features),
                                      size=(in_features, out_features)).astype(dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(out_features, dtype=dtype)

    def get_config(self):
        return dict(in_features=self.in_features, out_features=self.out_features, bias=self.use_bias)

    def output_shape(self, input_shape):
        return input_shape[0], self.out_features

    def forward(self, x, training=True):
        x = self._input(x, 2, self.in_features)
        y = x @ self._param("w", x.dtype)
        if self.use_bias:
            y = y + self._param("b", x.dtype)
        self.cache = x
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        x = self.cache
        pdtype = self.params["w"].dtype
        self.grads["w"] = (x.T @ dy).astype(pdtype, copy=False)
        if self.use_bias:
            self.grads["b"] = dy.sum(axis=0).astype(pdtype, copy=False)
        return dy @ self._param("w", dy.dtype).T
