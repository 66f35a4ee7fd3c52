"""Whole-network parity of labkit's ``edsr`` with a PyTorch EDSR-baseline of the same shape.

The torch module follows the EDSR reference code (head conv, residual blocks ``conv, ReLU,
conv`` scaled by ``res_scale``, body conv, global residual, upsampler of conv + pixel shuffle,
tail conv), without the mean shift (MRI has one channel in [0, 1]).  Weights are copied from
labkit (``(kh, kw, C_in, C_out)`` -> ``(C_out, C_in, kh, kw)``), activations converted NHWC <->
NCHW, and the output, input gradient, every weight/bias gradient and one Adam step compared.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the reference for these parity tests; "
                                            "install it with pip install torch==2.13.0")
from torch import nn

from labkit.layers import Conv2D
from labkit.models import edsr
from labkit.optimizers import Adam

TOL = {"rtol": 1e-9, "atol": 1e-11}


class Block(nn.Module):
    def __init__(self, f, res_scale):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(f, f, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x):
        return self.body(x) * self.res_scale + x


class TorchEDSR(nn.Module):
    def __init__(self, scale, n_blocks, f, res_scale=1.0, channels=1):
        super().__init__()
        self.head = nn.Conv2d(channels, f, 3, padding=1)
        self.body = nn.Sequential(*[Block(f, res_scale) for _ in range(n_blocks)],
                                  nn.Conv2d(f, f, 3, padding=1))
        up = []
        for r in {2: [2], 3: [3], 4: [2, 2]}[scale]:
            up += [nn.Conv2d(f, f * r * r, 3, padding=1), nn.PixelShuffle(r)]
        self.tail = nn.Sequential(*up, nn.Conv2d(f, channels, 3, padding=1))

    def forward(self, x):
        h = self.head(x)
        return self.tail(self.body(h) + h)


def copy_weights(net, model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    layers = [layer for layer in net.layers if isinstance(layer, Conv2D)]
    with torch.no_grad():
        for conv, layer in zip(convs, layers, strict=True):
            conv.weight.copy_(torch.from_numpy(layer.params["w"].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(layer.params["b"]))
    return convs, layers


def test_parameter_count_equals_torch():
    assert sum(p.numel() for p in TorchEDSR(2, 8, 32).parameters()) == edsr(2, 8, 32).n_params


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_forward_backward_and_adam_step_match_torch(scale, rng):
    net = edsr(scale, n_blocks=2, n_filters=6, res_scale=0.5, seed=0).astype(np.float64)
    model = TorchEDSR(scale, 2, 6, res_scale=0.5).double()
    convs, layers = copy_weights(net, model)
    x = rng.random((2, 7, 6, 1))
    target = rng.random((2, 7 * scale, 6 * scale, 1))

    y = net.forward(x)
    dy = np.sign(y - target) / y.size                       # L1 loss gradient
    dx = net.backward(dy)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    ty = model(tx)
    nn.functional.l1_loss(ty, torch.from_numpy(target.transpose(0, 3, 1, 2).copy())).backward()

    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), **TOL)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), **TOL)
    for i, (conv, layer) in enumerate(zip(convs, layers)):
        np.testing.assert_allclose(layer.grads["w"], conv.weight.grad.numpy().transpose(2, 3, 1, 0),
                                   **TOL, err_msg=f"conv {i} weight")
        np.testing.assert_allclose(layer.grads["b"], conv.bias.grad.numpy(), **TOL,
                                   err_msg=f"conv {i} bias")

    # One Adam step from the same gradients lands on the same weights.
    net.update(Adam(lr=1e-3))
    torch.optim.Adam(model.parameters(), lr=1e-3).step()
    for conv, layer in zip(convs, layers):
        np.testing.assert_allclose(layer.params["w"],
                                   conv.weight.detach().numpy().transpose(2, 3, 1, 0), **TOL)
