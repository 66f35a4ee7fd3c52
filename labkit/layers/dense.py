"""Fully connected layer on ``(N, F)`` arrays."""

from __future__ import annotations

import numpy as np

from labkit._validate import check_alloc, check_bool, check_float_dtype, check_int, check_seed
from labkit.layers.base import Layer
from labkit.ops.dense import dense_backward, dense_forward


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
        y, _ = dense_forward(x, self._param("w", x.dtype),
                             self._param("b", x.dtype) if self.use_bias else None)
        self.cache = x
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        x = self.cache
        pdtype = self.params["w"].dtype
        dx, dw, db = dense_backward(dy, (x, self._param("w", dy.dtype), self.use_bias))
        self.grads["w"] = dw.astype(pdtype, copy=False)
        if self.use_bias:
            self.grads["b"] = db.astype(pdtype, copy=False)
        return dx
