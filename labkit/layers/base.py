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

    #: Layers that take a second input (the :class:`~labkit.layers.Shortcut`) set this.
    needs_other = False

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.cache = None
        self._out_shape = None

    # -- the three methods of every layer -------------------------------------------------
    def forward(self, x, training: bool = True):
        raise ValueError(f"{type(self).__name__}: forward is defined by each layer subclass")

    def backward(self, dy):
        raise ValueError(f"{type(self).__name__}: backward is defined by each layer subclass")

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

    def astype(self, dtype) -> "Layer":
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
