"""Batch normalisation layer with PyTorch's running-statistics update."""

from __future__ import annotations

import numpy as np

from labkit._validate import check_alloc, check_float, check_float_dtype, check_int
from labkit.layers.base import Layer
from labkit.ops.batchnorm import batchnorm_backward, batchnorm_forward_eval, batchnorm_forward_train


class BatchNorm(Layer):
    """Normalise each channel over ``N, H, W`` (or ``N`` for ``(N, F)`` inputs).

    ``training=True`` uses the batch mean and biased variance and updates
    ``running_mean = (1 - momentum) running_mean + momentum mean`` and
    ``running_var = (1 - momentum) running_var + momentum var * M / (M - 1)`` (unbiased, as
    PyTorch does); ``training=False`` uses the running statistics.
    """

    def __init__(self, channels, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__()
        self.channels = check_int(channels, "channels", "BatchNorm", min=1)
        self.momentum = check_float(momentum, "momentum", "BatchNorm", min=0.0, max=1.0)
        self.eps = check_float(eps, "eps", "BatchNorm", min=0.0, min_open=True)
        dtype = check_float_dtype(dtype, "BatchNorm")
        check_alloc((self.channels,), "BatchNorm", "parameter")
        channels = self.channels
        self.params["gamma"] = np.ones(channels, dtype=dtype)
        self.params["beta"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_mean"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_var"] = np.ones(channels, dtype=dtype)

    def get_config(self):
        return {"channels": self.channels, "momentum": self.momentum, "eps": self.eps}

    def forward(self, x, training=True):
        x = self._input(x, None, self.channels)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: expected (N, C) or (N, H, W, C), got shape {x.shape}")
        gamma, beta = self._param("gamma", x.dtype), self._param("beta", x.dtype)
        if training:
            m = x.size // x.shape[-1]
            if m < 2:
                raise ValueError(f"{self!r}: training needs more than one value per channel, "
                                 f"got input shape {x.shape}")
            if not np.all(np.isfinite(x)):
                # One NaN would poison running_mean/running_var for good: refuse it first.
                raise ValueError(f"{self!r}: training input of shape {x.shape} contains NaN or "
                                 f"inf; the running statistics are left unchanged")
            y, mean, var, self.cache = batchnorm_forward_train(x, gamma, beta, self.eps)
            mom, rm, rv = self.momentum, self.buffers["running_mean"], self.buffers["running_var"]
            rm[...] = (1 - mom) * rm + mom * mean
            rv[...] = (1 - mom) * rv + mom * var * (m / (m - 1))
        else:
            y, self.cache = batchnorm_forward_eval(x, gamma, beta, self.buffers["running_mean"],
                                                   self.buffers["running_var"], self.eps)
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        dx, dgamma, dbeta = batchnorm_backward(dy, self.cache)
        pdtype = self.params["gamma"].dtype
        self.grads["gamma"] = dgamma.astype(pdtype, copy=False)
        self.grads["beta"] = dbeta.astype(pdtype, copy=False)
        return dx
