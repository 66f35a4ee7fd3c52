"""Fully connected layer on ``(N, F)`` arrays."""

from __future__ import annotations

import numpy as np

from labkit._validate import check_alloc, check_bool, check_float_dtype, check_int, check_seed
from labkit.layers.base import Layer


class Dense(Layer):
    """``y = x W + b`` with ``W`` of shape ``(in_features, out_features)``.

    Backward: ``dW = x^T dy``, ``db = sum_n dy``, ``dx = dy W^T``.  He-normal initialisation.
    """

    def __init__(self, in_features, out_features, bias=True, seed=None, dtype=np.float32):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", "Dense", min=1)
        self.out_features = check_int(out_features, "out_features", "Dense", min=1)
        self.use_bias = check_bool(bias, "bias", "Dense")
        seed = check_seed(seed, "seed", "Dense")
        dtype = check_float_dtype(dtype, "Dense")
        check_alloc((self.in_features, self.out_features), "Dense", "weight",
                    np.dtype(dtype).itemsize)
        rng = np.random.default_rng(seed)
        self.params["w"] = rng.normal(0, np.sqrt(2.0 / self.in_features),
                                      size=(self.in_features, self.out_features)).astype(dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(self.out_features, dtype=dtype)

    def get_config(self):
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.use_bias}

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
