"""The contract every layer follows.

A layer owns ``params`` (name -> array), and after :meth:`Layer.backward` the ``grads`` with the
same keys and shapes (overwritten, never accumulated, by each call).  ``forward`` keeps what
the backward pass needs in ``self.cache``; ``backward(dy)`` returns the gradient with respect
to the layer's input.  ``buffers`` hold state that is saved but not trained (BatchNorm's
running statistics).
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_array


class Layer:
    """Base class: parameter bookkeeping, dtype casting, update and config for saving."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.cache = None
        self._out_shape = None

    # -- the three methods of every layer -------------------------------------------------
    def forward(self, x, training: bool = True):
        raise NotImplementedError(f"{type(self).__name__}: forward is defined by each layer "
                                  f"subclass")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__}: backward is defined by each layer "
                                  f"subclass")

    def update(self, optimizer) -> None:
        """Apply ``optimizer`` to this layer's parameters using the last computed ``grads``."""
        if not self.params:
            return
        missing = [k for k in self.params if k not in self.grads]
        if missing:
            raise ValueError(f"{self!r}: no gradients for {missing}; call backward before update")
        optimizer.update(self.params, self.grads)

    # -- helpers ---------------------------------------------------------------------------
    def __call__(self, x, training: bool = True):
        return self.forward(x, training=training)

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    @property
    def dtype(self):
        for p in self.params.values():
            return p.dtype
        return np.dtype(np.float32)

    def astype(self, dtype) -> Layer:
        """Convert parameters and buffers in place to ``dtype`` (float64 for gradient checks)."""
        for store in (self.params, self.buffers):
            for k, v in store.items():
                store[k] = v.astype(dtype)
        self.grads = {}
        return self

    def get_config(self) -> dict:
        """Constructor arguments, JSON-serialisable, used by ``Network.save``."""
        return {}

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of the output for an input of ``input_shape`` (batch size may be anything)."""
        return tuple(input_shape)

    def _input(self, x, ndim: int | None = 4, channels: int | None = None) -> np.ndarray:
        return check_array(x, repr(self), ndim=ndim, channels=channels)

    def _remember_output(self, y):
        self._out_shape = y.shape
        return y

    def _check_dy(self, dy) -> np.ndarray:
        if self.cache is None:
            raise ValueError(f"{self!r}: backward called before forward")
        dy = np.asarray(dy)
        if dy.shape != self._out_shape:
            raise ValueError(f"{self!r}: upstream gradient has shape {dy.shape}, but the last "
                             f"forward produced {self._out_shape}")
        return dy

    def _param(self, name: str, dtype) -> np.ndarray:
        # Compute in the input's dtype; a float64 input to a float32 layer is not downcast.
        p = self.params[name]
        return p if p.dtype == dtype else p.astype(dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MergeLayer(Layer):
    """A layer with a second input: the output of an earlier layer ``index`` of the network.

    The one mechanism behind every two-input layer (:class:`~labkit.layers.Shortcut`,
    :class:`~labkit.layers.Route`): :class:`~labkit.network.Network` resolves ``index`` with
    :meth:`source_position`, passes that output as ``forward(x, other=...)`` and, after
    :meth:`backward`, adds :attr:`d_other` to that output's gradient.

    ``index`` (contract): negative counts back from this layer (``-1`` is the previous layer),
    non-negative is an absolute position in the network.
    """

    #: Kept for readers that test the attribute instead of the class (labkit.interop).
    needs_other = True

    def __init__(self, index):
        super().__init__()
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise ValueError(  # noqa: TRY004 - the contract: bad input is ValueError
                f"{type(self).__name__}: index must be an int, got {index!r}")
        self.index = int(index)
        self.d_other = None

    def source_position(self, p: int) -> int:
        """Absolute position of the layer whose output is this layer's second input, when this
        layer sits at position ``p`` (``-1`` means the network input)."""
        a = p + self.index if self.index < 0 else self.index
        if not -1 <= a < p:
            raise ValueError(f"Network: {self!r} at position {p} points to layer {a}, but it can "
                             f"only read an earlier output (positions -1 .. {p - 1}; -1 is the "
                             f"network input)")
        return a

    def _other(self, other):
        if other is None:
            raise ValueError(f"{self!r}: needs the output of layer {self.index} as other=...; "
                             f"use it inside a Network")
        return other

    def forward(self, x, training: bool = True, other=None):
        raise NotImplementedError(f"{type(self).__name__}: forward is defined by each layer "
                                  f"subclass")

    def output_shape(self, input_shape: tuple, other_shape: tuple | None = None) -> tuple:
        """Shape of the output for inputs of ``input_shape`` and ``other_shape``."""
        return tuple(input_shape)
