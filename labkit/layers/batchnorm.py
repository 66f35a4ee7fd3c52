"""Batch normalisation layer with PyTorch's running-statistics update."""

from __future__ import annotations

import numpy as np

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
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"BatchNorm: channels must be a positive int, got {channels!r}")
        if not 0.0 <= momentum <= 1.0 or eps <= 0:
            raise ValueError(f"BatchNorm: need 0 <= momentum <= 1 and eps > 0, got momentum="
                             f"{momentum!r}, eps={eps!r}")
        self.channels = int(channels)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.params["gamma"] = np.ones(channels, dtype=dtype)
        self.params["beta"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_mean"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_var"] = np.ones(channels, dtype=dtype)

    def get_config(self):
        return dict(channels=self.channels, momentum=self.momentum, eps=self.eps)

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
