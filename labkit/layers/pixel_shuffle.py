"""Pixel shuffle layer: rearranges ``C r^2`` channels into an ``r``-times larger image."""

from __future__ import annotations

from labkit._validate import check_choice, check_int
from labkit.layers.base import Layer
from labkit.ops.pixel_shuffle import ORDERS, pixel_shuffle, pixel_unshuffle


class PixelShuffle(Layer):
    """``(N, H, W, C r^2) -> (N, H r, W r, C)``; ``order`` "torch" or "tf" (see ops.pixel_shuffle)."""

    def __init__(self, scale, order="torch"):
        super().__init__()
        scale = check_int(scale, "scale", "PixelShuffle", min=1)
        check_choice(order, "order", "PixelShuffle", ORDERS)
        self.scale = int(scale)
        self.order = order

    def get_config(self):
        return {"scale": self.scale, "order": self.order}

    def output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.scale
        return n, h * r, w * r, c // (r * r)

    def forward(self, x, training=True):
        x = self._input(x, 4)
        if x.shape[3] % (self.scale ** 2):
            raise ValueError(f"{self!r}: input channels must be a multiple of scale^2 = "
                             f"{self.scale ** 2}, got shape {x.shape}")
        self.cache = True
        return self._remember_output(pixel_shuffle(x, self.scale, self.order))

    def backward(self, dy):
        dy = self._check_dy(dy)
        return pixel_unshuffle(dy, self.scale, self.order)
