"""WDSR and weight normalisation against PyTorch (``torch.nn.utils.parametrizations.weight_norm``).

Weights are copied from labkit to torch (``v``: ``(kh, kw, C_in, C_out)`` -> ``(C_out, C_in, kh,
kw)``; ``g``: ``(C_out,)`` -> ``(C_out, 1, 1, 1)``), both run in float64 on the same input, and
the output, the input gradient and every parameter gradient are compared.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the reference for these parity tests; "
                                            "install it with pip install torch==2.13.0")
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from labkit.layers import Conv2D
from labkit.models import wdsr_a, wdsr_b

TOL = {"rtol": 1e-9, "atol": 1e-11}


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def wn_conv(layer: Conv2D) -> nn.Module:
    """A weight-normalised torch conv holding the labkit layer's ``v``, ``g`` and ``b``."""
    kh, kw = layer.kernel_size
    conv = nn.Conv2d(layer.in_channels, layer.out_channels, (kh, kw), padding=(kh // 2, kw // 2),
                     bias=layer.use_bias).double()
    conv = weight_norm(conv)                      # dim=0: one gain per output filter
    p = conv.parametrizations.weight
    with torch.no_grad():
        p.original1.copy_(torch.from_numpy(layer.params["v"].transpose(3, 2, 0, 1).copy()))
        p.original0.copy_(torch.from_numpy(layer.params["g"].reshape(-1, 1, 1, 1)))
        if layer.use_bias:
            conv.bias.copy_(torch.from_numpy(layer.params["b"]))
    return conv


def wn_grads(conv: nn.Module) -> dict:
    p = conv.parametrizations.weight
    out = {"v": p.original1.grad.numpy().transpose(2, 3, 1, 0),
           "g": p.original0.grad.numpy().reshape(-1)}
    if conv.bias is not None:
        out["b"] = conv.bias.grad.numpy()
    return out


def test_weight_norm_conv_matches_torch(rng):
    layer = Conv2D(3, 5, 3, weight_norm=True, seed=0, algorithm="im2col").astype(np.float64)
    layer.params["g"] = rng.uniform(0.5, 2.0, 5)            # gains different from ||v||
    x = rng.standard_normal((2, 6, 7, 3))
    dy = rng.standard_normal((2, 6, 7, 5))
    y = layer.forward(x)
    dx = layer.backward(dy)

    conv = wn_conv(layer)
    tx = nchw(x).requires_grad_(True)
    ty = conv(tx)
    ty.backward(nchw(dy))
    np.testing.assert_allclose(y, nhwc(ty), **TOL)
    np.testing.assert_allclose(dx, nhwc(tx.grad), **TOL)
    for k, g in wn_grads(conv).items():
        np.testing.assert_allclose(layer.grads[k], g, **TOL, err_msg=k)


class TorchWDSR(nn.Module):
    """WDSR-A / WDSR-B in PyTorch (after Yu et al.'s reference code), weights from labkit."""

    def __init__(self, net, kind):
        super().__init__()
        convs = [wn_conv(layer) for layer in net.layers if isinstance(layer, Conv2D)]
        self.scale = net.layers[1].scale
        per_block = 2 if kind == "a" else 3
        self.skip, self.head, self.tail = convs[0], convs[1], convs[-1]
        body = convs[2:-1]
        self.blocks = nn.ModuleList(nn.ModuleList(body[i:i + per_block])
                                    for i in range(0, len(body), per_block))
        self.res_scale = next(layer.alpha for layer in net.layers
                              if type(layer).__name__ == "Shortcut")
        self.kind = kind

    def forward(self, x):
        s = nn.functional.pixel_shuffle(self.skip(x), self.scale)
        h = self.head(x)
        for block in self.blocks:
            if self.kind == "a":
                r = block[1](torch.relu(block[0](h)))
            else:
                r = block[2](block[1](torch.relu(block[0](h))))
            h = h + self.res_scale * r
        return nn.functional.pixel_shuffle(self.tail(h), self.scale) + s


@pytest.mark.parametrize("kind,scale", [("a", 2), ("b", 3), ("b", 4)])
def test_wdsr_network_matches_torch(kind, scale, rng):
    if kind == "a":
        net = wdsr_a(scale, n_blocks=2, n_filters=4, expansion=3, res_scale=0.5, seed=3)
    else:
        net = wdsr_b(scale, n_blocks=2, n_filters=5, expansion=4, res_scale=0.5, seed=3)
    net.astype(np.float64)
    ref = TorchWDSR(net, kind)
    x = rng.random((2, 6, 7, 1))
    y = net.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = net.backward(dy)

    tx = nchw(x).requires_grad_(True)
    ty = ref(tx)
    ty.backward(nchw(dy))
    np.testing.assert_allclose(y, nhwc(ty), **TOL)
    np.testing.assert_allclose(dx, nhwc(tx.grad), **TOL)
    convs = [(i, layer) for i, layer in enumerate(net.layers) if isinstance(layer, Conv2D)]
    torch_convs = [ref.skip, ref.head, *[c for b in ref.blocks for c in b], ref.tail]
    for (i, layer), conv in zip(convs, torch_convs, strict=True):
        for k, g in wn_grads(conv).items():
            np.testing.assert_allclose(layer.grads[k], g, **TOL, err_msg=f"layer {i} {k}")
