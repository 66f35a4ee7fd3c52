"""Max and average pooling layers."""

from __future__ import annotations

from labkit._validate import as_pair, check_choice
from labkit.layers.base import Layer
from labkit.ops import pooling as P
from labkit.ops import pooling_numba as PN

BACKENDS = ("numba", "numpy")


class _Pool2D(Layer):
    kind = ""

    def __init__(self, size, stride=None, padding=0, backend="numba"):
        super().__init__()
        name = type(self).__name__
        check_choice(backend, "backend", name, BACKENDS)
        # numba: one parallel pass over the output; numpy: the strided-view version to read.
        self.backend = backend
        module = PN if backend == "numba" else P
        self._forward = getattr(module, f"{self.kind}pool_forward")
        self._backward = getattr(module, f"{self.kind}pool_backward")
        self.size = as_pair(size, "size", name, min=1)
        self.stride = self.size if stride is None else as_pair(stride, "stride", name, min=1)
        self.padding = as_pair(padding, "padding", name, min=0)
        if self.padding[0] >= self.size[0] or self.padding[1] >= self.size[1]:
            raise ValueError(f"{name}: padding must satisfy 0 <= padding < size, got padding "
                             f"{padding!r} with size {size!r}")

    @property
    def pads(self):
        ph, pw = self.padding
        return (ph, ph), (pw, pw)

    def get_config(self):
        cfg = {"size": list(self.size), "stride": list(self.stride), "padding": list(self.padding)}
        if self.backend != "numba":
            cfg["backend"] = self.backend
        return cfg

    def output_shape(self, input_shape):
        return P.pool_output_shape(input_shape, self.size, self.stride, self.pads)

    def forward(self, x, training=True):
        x = self._input(x, 4)
        P.check_pool_args(x.shape, self.size, self.stride, self.pads, repr(self))
        y, self.cache = self._forward(x, self.size, self.stride, self.pads)
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        return self._backward(dy, self.cache)


class MaxPool2D(_Pool2D):
    """Max pooling with window ``size``, ``stride`` (default: ``size``) and ``-inf`` padding.

    ``backend`` "numba" (default) or "numpy": same results, see :mod:`labkit.ops.pooling`."""

    kind = "max"


class AvgPool2D(_Pool2D):
    """Average pooling over the real (unpadded) pixels of each window.

    ``backend`` "numba" (default) or "numpy": same results, see :mod:`labkit.ops.pooling`."""

    kind = "avg"
