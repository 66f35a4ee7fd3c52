"""PyTorch modules mirroring labkit layers (NCHW).  Imported only by :mod:`labkit.interop.convert`
once PyTorch is known to be installed; nothing else in labkit imports this file.

Each module computes exactly what its labkit layer computes with ``training=False``, in NCHW:
``y_torch = transpose(y_labkit, (0, 3, 1, 2))``.  Two-input layers (Shortcut, Route) take
``(x_prev, x_index)``; :class:`LabkitGraph` feeds them from the network's index-based graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm


def _same_total(n, k: int, s: int):
    """Total "same" padding along one axis for input length ``n``: ``out = ceil(n / s)``.

    ``(ceil(n/s) - 1) s + k - n = ((-n) mod s) + k - s``, clipped at 0.  ``n`` is an int in eager
    mode and a 0-d tensor while ``torch.onnx.export`` traces, so the ONNX graph computes the
    padding from the actual input size (dynamic H, W) instead of freezing the example's.
    """
    total = (-n) % s + (k - s)
    if k >= s:                     # never negative: no clamp node in the graph
        return total
    return torch.clamp(total, min=0) if isinstance(total, torch.Tensor) else max(total, 0)


class Conv2dLabkit(nn.Module):
    """:class:`labkit.layers.Conv2D` as ``nn.Conv2d`` (``self.conv``), weight
    ``(C_out, C_in, kh, kw)``.

    Symmetric padding is the conv's own ``padding``; asymmetric "same" padding (even kernels, or
    stride > 1 where it depends on the input size) is an explicit ``F.pad`` with the extra pixel
    at the bottom/right, labkit's (and TensorFlow's) rule.  With ``weight_norm`` the conv is
    wrapped by ``torch.nn.utils.parametrizations.weight_norm`` (dim 0: one gain per filter), so
    ``original0`` is labkit's ``g`` and ``original1`` its ``v``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, pads, bias,
                 weight_norm=False):
        """``pads``: ``((top, bottom), (left, right))``, or ``"same"`` for "same" padding that
        depends on the input size (stride > 1), computed in :meth:`forward`."""
        super().__init__()
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(stride)
        self.dynamic = pads == "same"
        conv_pad = (0, 0)
        self.pads = None                               # (left, right, top, bottom) for F.pad
        if not self.dynamic:
            (top, bottom), (left, right) = pads
            if top == bottom and left == right:
                conv_pad = (top, left)
            else:
                self.pads = (left, right, top, bottom)
        self.conv = nn.Conv2d(in_channels, out_channels, self.kernel_size, stride=self.stride,
                              padding=conv_pad, bias=bias)
        if weight_norm:
            self.conv = _weight_norm(self.conv, dim=0)
        self.weight_norm = bool(weight_norm)

    def forward(self, x):
        if self.dynamic:
            th = _same_total(x.shape[2], self.kernel_size[0], self.stride[0])
            tw = _same_total(x.shape[3], self.kernel_size[1], self.stride[1])
            x = F.pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2))
        elif self.pads is not None:
            x = F.pad(x, self.pads)
        return self.conv(x)


class ActivationLabkit(nn.Module):
    """One of labkit's eight activations (``labkit.ops.activations``) by name."""

    NAMES = ("linear", "relu", "leaky", "elu", "selu", "logistic", "tanh", "softplus")

    def __init__(self, name, alpha=None):
        super().__init__()
        self.name = name
        self.alpha = alpha

    def extra_repr(self):
        return self.name if self.alpha is None else f"{self.name}, alpha={self.alpha}"

    def forward(self, x):
        n = self.name
        if n == "linear":
            return x
        if n == "relu":
            return torch.relu(x)
        if n == "leaky":
            # labkit: where(x > 0, x, alpha x); leaky_relu is max(0,x) + alpha min(0,x): equal.
            return F.leaky_relu(x, self.alpha)
        if n == "elu":
            return F.elu(x, self.alpha)
        if n == "selu":
            return F.selu(x)
        if n == "logistic":
            return torch.sigmoid(x)
        if n == "tanh":
            return torch.tanh(x)
        # softplus as labkit's logaddexp(0, x) = max(x, 0) + log1p(e^-|x|): F.softplus returns x
        # itself above 20 (off by up to 2e-9, visible in float64) and the naive log(1 + e^x)
        # overflows; this form does neither, in torch and in ONNX.
        return torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))


class PixelShuffleLabkit(nn.Module):
    """Depth to space.  ``order="torch"`` is ``nn.PixelShuffle`` (input channel
    ``c r^2 + i r + j``);
    ``order="tf"`` reads channel ``(i r + j) C + c`` (TensorFlow's ``depth_to_space``, ONNX
    DepthToSpace mode DCR)."""

    def __init__(self, scale, order="torch"):
        super().__init__()
        self.scale = int(scale)
        self.order = order

    def extra_repr(self):
        return f"scale={self.scale}, order={self.order!r}"

    def forward(self, x):
        r = self.scale
        if self.order == "torch":
            return F.pixel_shuffle(x, r)
        # (N, r r C, H, W) -> (N, r, r, C, H, W) -> (N, C, H, r, W, r) -> (N, C, H r, W r);
        # unflatten/flatten keep N, H, W symbolic in the ONNX graph.
        t = x.unflatten(1, (r, r, -1)).permute(0, 3, 4, 1, 5, 2)
        return t.flatten(4, 5).flatten(2, 3)


class ShortcutLabkit(nn.Module):
    """``y = alpha * x_prev + beta * x_index`` (multiplications by 1 are left out of the graph)."""

    def __init__(self, alpha=1.0, beta=1.0):
        super().__init__()
        self.alpha = float(alpha)
        self.beta = float(beta)

    def extra_repr(self):
        return f"alpha={self.alpha}, beta={self.beta}"

    def forward(self, x, other):
        a = x if self.alpha == 1.0 else self.alpha * x
        b = other if self.beta == 1.0 else self.beta * other
        return a + b


class RouteLabkit(nn.Module):
    """``y = x_index``: the previous output is ignored."""

    def forward(self, x, other):
        return other


class BatchNormLabkit(nn.modules.batchnorm._BatchNorm):
    """``nn.BatchNorm2d`` that also takes ``(N, C)`` inputs, as labkit's BatchNorm does (the
    channel axis is 1 for both ranks in NCHW).  ``weight``/``bias`` are ``gamma``/``beta``;
    ``.eval()`` uses the running statistics, ``.train()`` updates them as labkit does."""

    def _check_input_dim(self, input):
        if input.dim() not in (2, 4):
            raise ValueError(f"BatchNormLabkit: expected a 2-D or 4-D input, got {input.dim()}-D")


class MaxPool2dLabkit(nn.Module):
    """Max pooling with ``-inf`` padding.  ``nn.MaxPool2d`` refuses padding above half the window,
    which labkit allows (padding < size), so larger paddings are an explicit ``F.pad``."""

    def __init__(self, size, stride, padding):
        super().__init__()
        self.size, self.stride, self.padding = tuple(size), tuple(stride), tuple(padding)
        self.explicit = any(p > k // 2 for p, k in zip(self.padding, self.size))

    def extra_repr(self):
        return f"size={self.size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        if self.explicit:
            ph, pw = self.padding
            x = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
            return F.max_pool2d(x, self.size, self.stride)
        return F.max_pool2d(x, self.size, self.stride, self.padding)


class AvgPool2dLabkit(nn.Module):
    """Average over the real (unpadded) pixels of each window (``count_include_pad=False``).

    For padding above half the window (refused by ``nn.AvgPool2d``) the average is the window
    sum of the zero-padded input divided by the window sum of a zero-padded mask of ones.
    """

    def __init__(self, size, stride, padding):
        super().__init__()
        self.size, self.stride, self.padding = tuple(size), tuple(stride), tuple(padding)
        self.explicit = any(p > k // 2 for p, k in zip(self.padding, self.size))

    def extra_repr(self):
        return f"size={self.size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        if self.explicit:
            ph, pw = self.padding
            pad = (pw, pw, ph, ph)
            s = F.avg_pool2d(F.pad(x, pad), self.size, self.stride)
            m = F.avg_pool2d(F.pad(torch.ones_like(x[:, :1]), pad), self.size, self.stride)
            return s / m
        return F.avg_pool2d(x, self.size, self.stride, self.padding, count_include_pad=False)


class LabkitGraph(nn.Module):
    """A labkit :class:`~labkit.network.Network` as a PyTorch module (NCHW).

    ``layers[p]`` reads the output of layer ``p - 1`` (``-1``: the network input); a layer with
    ``sources[p] = a`` (Shortcut, Route) also reads the output of layer ``a``.  Only the outputs
    a later layer reads again are kept, as ``Network.predict`` does.

    Input ``(N, C, H, W)`` (or ``(N, F)`` for networks starting with Dense), output likewise.
    """

    def __init__(self, layers, sources, name="network"):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.sources = [None if s is None else int(s) for s in sources]
        self.keep = sorted({s for s in self.sources if s is not None})
        self.name = name

    def extra_repr(self):
        links = {p: s for p, s in enumerate(self.sources) if s is not None}
        return f"name={self.name!r}, second inputs={links}"

    def forward(self, x):
        keep = self.keep
        saved = {-1: x} if -1 in keep else {}
        for p, layer in enumerate(self.layers):
            src = self.sources[p]
            x = layer(x) if src is None else layer(x, saved[src])
            if p in keep:
                saved[p] = x
        return x
