"""Winograd minimal filtering for 3x3 stride-1 convolution (Lavin & Gray 2015).

Placeholder module filled in by the convolution-engines work: until then the Winograd entry
points reject every call with a clear message.
"""

from __future__ import annotations


def conv2d_winograd_forward(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    raise ValueError("conv2d_winograd_forward: the Winograd algorithm is not available yet; "
                     "use algorithm='im2col'")


def conv2d_winograd_backward(dy, cache):
    raise ValueError("conv2d_winograd_backward: the Winograd algorithm is not available yet")
