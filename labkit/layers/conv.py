"""2-D convolutional layer (cross-correlation, NHWC), with optional weight normalisation."""

from __future__ import annotations

import numpy as np

from labkit._validate import (
    as_pair,
    check_alloc,
    check_bool,
    check_choice,
    check_float_dtype,
    check_int,
    check_seed,
)
from labkit.layers.base import Layer
from labkit.ops.conv import ALGORITHMS, conv2d_backward, conv2d_forward
from labkit.ops.geometry import check_conv_args, check_padding_spec, output_hw, resolve_padding


class Conv2D(Layer):
    """Convolution ``y = x * w + b`` with weights ``(kh, kw, C_in, C_out)`` and bias ``(C_out,)``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride : int or (int, int)
    padding : "same", "valid", int or (int, int)
        ``"same"`` gives ``out = ceil(in / stride)``; ints pad symmetrically with zeros.
    bias : bool
    algorithm : "naive", "im2col", "winograd" or "auto"
        All give the same result within float tolerance; ``"winograd"`` needs a 3x3 kernel and
        stride 1; ``"auto"`` picks the fastest valid one for each input shape.
    seed : int or None
        Seed of the He-normal initialisation, ``w ~ N(0, 2 / (kh kw C_in))`` (He et al. 2015).
    weight_norm : bool
        Weight normalisation (Salimans & Kingma 2016), as used by WDSR: the parameters are a
        direction ``v`` and a per-filter gain ``g`` and the effective weight is
        ``w[..., f] = g[f] v[..., f] / ||v[..., f]||``.
    dtype : float32 (default) or float64
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="same",
                 bias=True, algorithm="auto", seed=None, weight_norm=False, dtype=np.float32):
        super().__init__()
        name = "Conv2D"
        self.in_channels = check_int(in_channels, "in_channels", name, min=1)
        self.out_channels = check_int(out_channels, "out_channels", name, min=1)
        self.kernel_size = as_pair(kernel_size, "kernel_size", name, min=1)
        self.stride = as_pair(stride, "stride", name, min=1)
        # Validate the padding spec now so mistakes surface at construction.
        spec = check_padding_spec(padding, name)
        self.padding = spec if isinstance(spec, str) or not np.isscalar(padding) else spec[0]
        self.algorithm = check_choice(algorithm, "algorithm", name, ALGORITHMS + ("auto",))
        if algorithm == "winograd" and (self.kernel_size != (3, 3) or self.stride != (1, 1)):
            raise ValueError(f"{name}: algorithm='winograd' needs a 3x3 kernel with stride 1, got "
                             f"kernel {self.kernel_size} and stride {self.stride}")
        if algorithm == "direct" and self.stride != (1, 1):
            raise ValueError(f"{name}: algorithm='direct' needs stride 1, got stride "
                             f"{self.stride}")
        self.use_bias = check_bool(bias, "bias", name)
        self.weight_norm = check_bool(weight_norm, "weight_norm", name)
        self.seed = check_seed(seed, "seed", name)
        dtype = check_float_dtype(dtype, name)
        check_alloc((*self.kernel_size, self.in_channels, self.out_channels), name,
                    "weight", np.dtype(dtype).itemsize)

        kh, kw = self.kernel_size
        rng = np.random.default_rng(seed)
        w = rng.normal(0.0, np.sqrt(2.0 / (kh * kw * self.in_channels)),
                       size=(kh, kw, self.in_channels, self.out_channels)).astype(dtype)
        if self.weight_norm:
            self.params["v"] = w
            self.params["g"] = np.sqrt((w.astype(np.float64) ** 2).sum(axis=(0, 1, 2))).astype(dtype)
        else:
            self.params["w"] = w
        if self.use_bias:
            self.params["b"] = np.zeros(self.out_channels, dtype=dtype)

    def get_config(self):
        cfg = {"in_channels": self.in_channels, "out_channels": self.out_channels,
                   "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                   "padding": self.padding if not isinstance(self.padding, tuple) else list(self.padding),
                   "bias": self.use_bias, "algorithm": self.algorithm}
        if self.weight_norm:
            cfg["weight_norm"] = True
        return cfg

    def __repr__(self):
        k = "x".join(map(str, self.kernel_size))
        s = "" if self.stride == (1, 1) else f", stride={self.stride}"
        wn = ", weight_norm" if self.weight_norm else ""
        return f"Conv2D({self.in_channels}->{self.out_channels}, {k}{s}, padding={self.padding!r}{wn})"

    # -- weights -------------------------------------------------------------------------
    @property
    def weight(self) -> np.ndarray:
        """The effective ``(kh, kw, C_in, C_out)`` weight (``g v / ||v||`` with weight norm)."""
        if not self.weight_norm:
            return self.params["w"]
        v, g = self.params["v"], self.params["g"]
        return v * (g / np.sqrt((v * v).sum(axis=(0, 1, 2))))

    def pads_for(self, hw):
        return resolve_padding(self.padding, self.kernel_size, self.stride, hw, repr(self))

    def output_shape(self, input_shape):
        n, h, w, _ = input_shape
        ho, wo = output_hw((h, w), self.kernel_size, self.stride, self.pads_for((h, w)))
        return n, ho, wo, self.out_channels

    def algorithm_for(self, x_shape, pads, dtype) -> str:
        if self.algorithm != "auto":
            return self.algorithm
        # The rule depends only on the shapes, so the last answer is kept (a training step asks
        # the same question of every layer in every step, and the rule's checks cost ~50 us).
        key = (tuple(x_shape), pads, self.kernel_size, self.in_channels, self.out_channels,
               self.stride)
        cached = getattr(self, "_algorithm_memo", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        from labkit.ops.conv_select import choose_algorithm
        algorithm = choose_algorithm(x_shape, self.weight.shape, self.stride, pads, dtype)
        self._algorithm_memo = (key, algorithm)
        return algorithm

    # -- passes --------------------------------------------------------------------------
    def forward(self, x, training=True, relu=False, residual=None):
        """``y = x * w + b``; ``+ residual`` when given and ``max(0, .)`` with ``relu``: a
        following shortcut or ReLU fused in.  The :class:`labkit.network.Network` uses them;
        the fused layer then only back-propagates."""
        x = self._input(x, 4, self.in_channels)
        pads = self.pads_for(x.shape[1:3])
        w = self.weight
        w = w if w.dtype == x.dtype else w.astype(x.dtype)
        check_conv_args(x, w, self.stride, pads, repr(self))
        b = self._param("b", x.dtype) if self.use_bias else None
        algorithm = self.algorithm_for(x.shape, pads, x.dtype)
        y, self.cache = conv2d_forward(x, w, b, self.stride, pads, algorithm, relu=relu,
                                       residual=residual)
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        dx, dw, db = conv2d_backward(dy, self.cache)
        pdtype = next(iter(self.params.values())).dtype
        if self.weight_norm:
            # w = g v / n with n = ||v|| per filter:
            # dL/dg = sum(dw * v) / n,  dL/dv = (g / n) (dw - (dL/dg / n) v)
            v, g = self.params["v"].astype(dw.dtype), self.params["g"].astype(dw.dtype)
            n = np.sqrt((v * v).sum(axis=(0, 1, 2)))
            dg = (dw * v).sum(axis=(0, 1, 2)) / n
            self.grads["v"] = ((g / n) * (dw - (dg / n) * v)).astype(pdtype)
            self.grads["g"] = dg.astype(pdtype)
        else:
            self.grads["w"] = dw.astype(pdtype, copy=False)
        if self.use_bias:
            self.grads["b"] = db.astype(pdtype, copy=False)
        return dx
