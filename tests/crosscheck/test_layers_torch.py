"""Every layer, loss and optimizer against PyTorch (the reference framework), in float64.

Tolerance: 1e-10 relative (max abs difference / max abs reference value) for forward outputs
and all gradients; the two frameworks sum in different orders, nothing else differs.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is only a test reference: pip install torch==2.13.0")
F = torch.nn.functional

from labkit.layers import (Activation, AvgPool2D, BatchNorm, Conv2D, Dense, MaxPool2D,  # noqa: E402
                           PixelShuffle)
from labkit.losses import CharbonnierLoss, L1Loss, MSELoss  # noqa: E402
from labkit.optimizers import SGD, Adam  # noqa: E402

TOL = 1e-10


def close(a, ref, tol=TOL):
    a, ref = np.asarray(a), np.asarray(ref)
    assert a.shape == ref.shape, (a.shape, ref.shape)
    scale = max(np.abs(ref).max(), 1e-300)
    assert np.abs(a - ref).max() / scale < tol


def nchw(x):
    return torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)


def to_nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def run_layer(layer, x, torch_fn, rng):
    """Forward both, backward a random upstream gradient; return labkit/torch outputs and dx."""
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    xt = nchw(x)
    yt = torch_fn(xt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    return y, to_nhwc(yt), dx, to_nhwc(xt.grad)


@pytest.mark.parametrize("algorithm", ["naive", "im2col"])
@pytest.mark.parametrize("cin,cout,kernel,stride,padding,hw", [
    (3, 5, 3, 1, "same", (9, 8)),
    (2, 4, (3, 2), (2, 1), 1, (7, 9)),
    (4, 3, (1, 5), (1, 3), (0, 2), (6, 10)),
    (1, 2, 4, 2, "valid", (9, 9)),
])
def test_conv2d(algorithm, cin, cout, kernel, stride, padding, hw, rng):
    layer = Conv2D(cin, cout, kernel, stride, padding, algorithm=algorithm, seed=0).astype(np.float64)
    layer.params["b"][:] = rng.standard_normal(cout)
    w = torch.tensor(layer.params["w"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
    b = torch.tensor(layer.params["b"].copy(), requires_grad=True)
    s = (stride, stride) if isinstance(stride, int) else stride
    if padding == "same":
        tpad = "same"
    elif padding == "valid":
        tpad = 0
    else:
        tpad = (padding, padding) if isinstance(padding, int) else padding
    x = rng.standard_normal((2, *hw, cin))
    y, yt, dx, dxt = run_layer(layer, x, lambda t: F.conv2d(t, w, b, stride=s, padding=tpad), rng)
    close(y, yt)
    close(dx, dxt)
    close(layer.grads["w"], w.grad.numpy().transpose(2, 3, 1, 0))
    close(layer.grads["b"], b.grad.numpy())


def test_conv2d_same_padding_with_stride_matches_tensorflow_rule(rng):
    # PyTorch refuses padding='same' with stride > 1; TF pads (total//2, total - total//2).
    layer = Conv2D(2, 3, 3, stride=2, padding="same", algorithm="im2col").astype(np.float64)
    x = rng.standard_normal((1, 8, 7, 2))
    w = torch.tensor(layer.params["w"].transpose(3, 2, 0, 1).copy())
    # in 8, out 4: total pad = 3*2+3-8 = 1 -> (0, 1); in 7, out 4: total = 3*2+3-7 = 2 -> (1, 1)
    xt = F.pad(torch.tensor(x.transpose(0, 3, 1, 2).copy()), (1, 1, 0, 1))
    close(layer.forward(x), to_nhwc(F.conv2d(xt, w, stride=2)))


def test_conv2d_weight_norm(rng):
    layer = Conv2D(3, 4, 3, weight_norm=True, algorithm="im2col", seed=0).astype(np.float64)
    layer.params["g"][:] = rng.uniform(0.5, 2, 4)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(layer.params["v"].transpose(3, 2, 0, 1)))
        conv.bias.zero_()
    conv = torch.nn.utils.parametrizations.weight_norm(conv)
    with torch.no_grad():
        conv.parametrizations.weight.original0.copy_(torch.tensor(layer.params["g"]).view(4, 1, 1, 1))
    x = rng.standard_normal((2, 5, 6, 3))
    y, yt, dx, dxt = run_layer(layer, x, conv, rng)
    close(y, yt)
    close(dx, dxt)
    close(layer.grads["g"], conv.parametrizations.weight.original0.grad.numpy().ravel())
    close(layer.grads["v"], conv.parametrizations.weight.original1.grad.numpy().transpose(2, 3, 1, 0))


@pytest.mark.parametrize("size,stride,padding,hw", [
    (2, None, 0, (6, 8)), (3, 2, 1, (7, 9)), (3, 1, 1, (5, 6)), ((3, 2), (2, 1), (1, 0), (7, 5)),
])
def test_pooling(size, stride, padding, hw, rng):
    x = rng.standard_normal((2, *hw, 3))
    to2 = (lambda v: v if isinstance(v, tuple) else (v, v))
    k, s, p = to2(size), to2(stride if stride is not None else size), to2(padding)
    y, yt, dx, dxt = run_layer(MaxPool2D(size, stride, padding), x,
                               lambda t: F.max_pool2d(t, k, s, p), rng)
    close(y, yt)
    close(dx, dxt)
    y, yt, dx, dxt = run_layer(AvgPool2D(size, stride, padding), x,
                               lambda t: F.avg_pool2d(t, k, s, p, count_include_pad=False), rng)
    close(y, yt)
    close(dx, dxt)


@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_torch_order(scale, rng):
    x = rng.standard_normal((2, 3, 4, 2 * scale * scale))
    y, yt, dx, dxt = run_layer(PixelShuffle(scale), x, lambda t: F.pixel_shuffle(t, scale), rng)
    close(y, yt)
    close(dx, dxt)


@pytest.mark.parametrize("name,kw,fn", [
    ("linear", {}, lambda t: t * 1), ("relu", {}, F.relu),
    ("leaky", {}, lambda t: F.leaky_relu(t, 0.1)), ("elu", {"alpha": 0.7}, lambda t: F.elu(t, 0.7)),
    ("selu", {}, F.selu), ("logistic", {}, torch.sigmoid), ("tanh", {}, torch.tanh),
    ("softplus", {}, F.softplus),
])
def test_activations(name, kw, fn, rng):
    x = rng.standard_normal((2, 4, 5, 3)) * 4
    y, yt, dx, dxt = run_layer(Activation(name, **kw), x, fn, rng)
    close(y, yt)
    close(dx, dxt)


def test_batchnorm_train_and_eval(rng):
    bn = BatchNorm(3, momentum=0.2).astype(np.float64)
    ref = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    bn.params["gamma"][:] = rng.uniform(0.5, 2, 3)
    bn.params["beta"][:] = rng.standard_normal(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(bn.params["gamma"]))
        ref.bias.copy_(torch.tensor(bn.params["beta"]))
    for step in range(3):
        x = rng.standard_normal((4, 5, 3, 3)) * (step + 1) + step
        ref.train()
        y, yt, dx, dxt = run_layer(bn, x, ref, rng)
        close(y, yt)
        close(dx, dxt)
        close(bn.grads["gamma"], ref.weight.grad.numpy())
        close(bn.grads["beta"], ref.bias.grad.numpy())
        ref.weight.grad = ref.bias.grad = None
        close(bn.buffers["running_mean"], ref.running_mean.numpy())
        close(bn.buffers["running_var"], ref.running_var.numpy())
    ref.eval()
    x = rng.standard_normal((2, 4, 4, 3))
    bn.forward(x, training=False)
    close(bn.forward(x, training=False), to_nhwc(ref(nchw(x))))


def test_dense(rng):
    layer = Dense(6, 4).astype(np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    lin = torch.nn.Linear(6, 4).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.params["w"].T))
        lin.bias.copy_(torch.tensor(layer.params["b"]))
    x = rng.standard_normal((5, 6))
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = lin(xt)
    yt.backward(torch.tensor(dy))
    close(y, yt.detach().numpy())
    close(dx, xt.grad.numpy())
    close(layer.grads["w"], lin.weight.grad.numpy().T)
    close(layer.grads["b"], lin.bias.grad.numpy())


@pytest.mark.parametrize("ours,theirs", [
    (L1Loss(), torch.nn.L1Loss()), (MSELoss(), torch.nn.MSELoss()),
    (CharbonnierLoss(eps=1e-3), lambda a, b: torch.sqrt((a - b) ** 2 + 1e-6).mean()),
])
def test_losses(ours, theirs, rng):
    y, t = rng.standard_normal((3, 4, 5, 1)), rng.standard_normal((3, 4, 5, 1))
    value = ours.forward(y, t)
    dy = ours.backward()
    yt = torch.tensor(y, requires_grad=True)
    lt = theirs(yt, torch.tensor(t))
    lt.backward()
    assert abs(value - lt.item()) < 1e-12
    close(dy, yt.grad.numpy())


@pytest.mark.parametrize("make,make_torch", [
    (lambda: Adam(lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    (lambda: Adam(lr=3e-3, beta1=0.8, beta2=0.99, eps=1e-6),
     lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6)),
    (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda: SGD(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
])
def test_optimizer_steps(make, make_torch, rng):
    params = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours, theirs = make(), make_torch(list(tparams.values()))
    for _ in range(7):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k])
        ours.update(params, grads)
        theirs.step()
        for k in params:
            close(params[k], tparams[k].detach().numpy(), 1e-12)
