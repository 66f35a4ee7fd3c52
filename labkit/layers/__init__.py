"""Stateful layers built on :mod:`labkit.ops`. Each has ``params``, ``grads``, ``forward``,
``backward`` and ``update``; arrays are NHWC."""

from labkit.layers.activation import Activation
from labkit.layers.base import Layer
from labkit.layers.batchnorm import BatchNorm
from labkit.layers.conv import Conv2D
from labkit.layers.dense import Dense
from labkit.layers.pixel_shuffle import PixelShuffle
from labkit.layers.pooling import AvgPool2D, MaxPool2D
from labkit.layers.shortcut import Route, Shortcut

LAYER_TYPES = {cls.__name__: cls for cls in
               (Activation, BatchNorm, Conv2D, Dense, PixelShuffle, AvgPool2D, MaxPool2D, Shortcut, Route)}

__all__ = ["Layer", "Activation", "BatchNorm", "Conv2D", "Dense", "PixelShuffle", "AvgPool2D",
           "MaxPool2D", "Shortcut", "Route", "LAYER_TYPES"]
