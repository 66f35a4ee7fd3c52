"""Activation layer: applies one of :data:`labkit.ops.activations.ACTIVATIONS` element-wise."""

from __future__ import annotations

from labkit._validate import check_choice, check_float
from labkit.layers.base import Layer
from labkit.ops.activations import ACTIVATIONS, VJPS

_KEYWORDS = {"leaky": {"alpha": 0.1}, "elu": {"alpha": 1.0}}


class Activation(Layer):
    """``y = f(x)``; backward ``dx = f'(x) * dy``.

    ``name`` is one of linear, relu, leaky (``alpha=0.1``), elu (``alpha=1.0``), selu, logistic,
    tanh, softplus.
    """

    def __init__(self, name, **kw):
        super().__init__()
        check_choice(name, "name", "Activation", sorted(ACTIVATIONS))
        allowed = _KEYWORDS.get(name, {})
        unknown = set(kw) - set(allowed)
        if unknown:
            raise ValueError(f"Activation({name!r}): unexpected keyword(s) {sorted(unknown)}; "
                             f"accepted: {sorted(allowed) or 'none'}")
        self.name = name
        self.kw = {**allowed, **{k: check_float(v, k, f"Activation({name!r})")
                                     for k, v in kw.items()}}
        self.f, self.df = ACTIVATIONS[name]
        self.vjp = VJPS.get(name)

    def get_config(self):
        return dict(name=self.name, **self.kw)

    def __repr__(self):
        extra = "".join(f", {k}={v}" for k, v in self.kw.items())
        return f"Activation({self.name!r}{extra})"

    def forward(self, x, training=True):
        x = self._input(x, None)
        y = self.f(x, **self.kw)
        # A fused VJP needs only y (relu: y > 0 exactly where x > 0), so x is not kept alive:
        # in a residual block that is one feature map per activation less to hold.
        self.cache = (None if self.vjp is not None else x, y)
        return self._remember_output(y)

    def adopt_output(self, y):
        """Take ``y`` as this layer's output without computing it: the preceding convolution
        already applied this ReLU in its forward (:meth:`labkit.layers.Conv2D.forward`)."""
        if self.name != "relu":
            raise ValueError(f"{self!r}: only a ReLU can be fused into the layer before it")
        self.cache = (None, y)
        return self._remember_output(y)

    def backward(self, dy):
        dy = self._check_dy(dy)
        x, y = self.cache
        if self.vjp is not None:                 # dy * f'(x) in one pass, read off y
            return self.vjp(y, dy)
        return self.df(x, y, **self.kw) * dy
