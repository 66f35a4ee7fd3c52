"""``labkit.interop.to_torch`` / ``from_torch``: parity of every layer type and of the SR models.

Each network is converted to a PyTorch module and both run with ``training=False`` on the same
random input (NHWC for labkit, NCHW for torch): float32 within 1e-5, float64 within 1e-12
(relative to max(1, |y|)).
Shapes are odd and varied on purpose ("same" padding with strides splits unevenly there).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit.layers import (Activation, AvgPool2D, BatchNorm, Conv2D, Dense, Layer, MaxPool2D,
                           PixelShuffle, Route, Shortcut)
from labkit.models import edsr, plain_cnn, srcnn, wdsr_a, wdsr_b
from labkit.network import Network


def test_labkit_and_interop_import_without_torch():
    # A child interpreter where "import torch" fails: labkit and labkit.interop still import,
    # and to_torch says what to install.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import labkit, labkit.interop\n"
        "from labkit.models import edsr\n"
        "try:\n"
        "    labkit.interop.to_torch(edsr(2, 1, 4))\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "IMPORTERROR to_torch needs PyTorch: pip install torch==2.13.0" in out.stdout, out.stdout


torch = pytest.importorskip("torch", reason="to_torch/from_torch need PyTorch: "
                                            "pip install torch==2.13.0")
torch.set_num_threads(1)

from labkit.interop import SUPPORTED_LAYERS, from_torch, to_torch  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-12}   # measured: ~1e-6 and ~1e-15


def run_both(net, x):
    """(labkit output, torch output) for NHWC (or (N, F)) ``x``, both NHWC, and the module."""
    module = to_torch(net)
    y = net.forward(x, training=False)
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2) if x.ndim == 4 else x))
    with torch.no_grad():
        yt = module(t).numpy()
    if yt.ndim == 4:
        yt = yt.transpose(0, 2, 3, 1)
    return y, yt, module


def assert_parity(net, x, dtype, what=""):
    net.astype(dtype)
    x = x.astype(dtype)
    y, yt, module = run_both(net, x)
    assert yt.dtype == dtype, f"{what}: torch output is {yt.dtype}, expected {np.dtype(dtype)}"
    assert y.shape == yt.shape, f"{what}: labkit {y.shape} vs torch {yt.shape}"
    err = float(np.max(np.abs(y - yt))) if y.size else 0.0
    scale = max(1.0, float(np.max(np.abs(y))) if y.size else 1.0)
    assert err <= TOL[dtype] * scale, (f"{what} ({np.dtype(dtype).name}, input {x.shape}): "
                                       f"max |labkit - torch| = {err:.3g} > "
                                       f"{TOL[dtype] * scale:.3g}")
    return err, module


DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------------------------ single layers

CONV_CASES = [
    # (kernel, stride, padding, bias, weight_norm)
    (3, 1, "same", True, False),
    (1, 1, "same", False, False),
    (5, 1, "same", True, True),
    (4, 1, "same", True, False),           # even kernel: "same" pads 1 top/left, 2 bottom/right
    ((2, 3), 1, "same", True, True),
    (3, 2, "same", True, False),           # stride 2: padding depends on the input size
    (3, (2, 3), "same", False, True),
    (1, 3, "same", True, False),           # kernel < stride: "same" pads nothing
    (2, 2, "same", True, False),
    (3, 1, "valid", True, False),
    (3, 2, "valid", True, True),
    (3, 1, 1, True, False),
    (5, 2, (2, 1), True, False),
    (3, (1, 2), (0, 2), False, False),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_conv2d_parity(case, dtype):
    k, s, pad, bias, wn = case
    rng = np.random.default_rng(abs(hash(str(case))) % 2**32)
    for h, w in [(7, 9), (8, 11), (13, 6)]:
        cin, cout = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        layer = Conv2D(cin, cout, k, stride=s, padding=pad, bias=bias, weight_norm=wn,
                       seed=int(rng.integers(1000)))
        if bias:
            layer.params["b"] = rng.standard_normal(cout).astype(np.float32)
        if wn:
            layer.params["g"] = rng.uniform(0.5, 2.0, cout).astype(np.float32)
        x = rng.standard_normal((2, h, w, cin))
        assert_parity(Network([layer]), x, dtype, f"Conv2D{case} on {h}x{w}")


ACTIVATIONS = [("linear", {}), ("relu", {}), ("leaky", {}), ("leaky", {"alpha": 0.3}),
               ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("logistic", {}), ("tanh", {}),
               ("softplus", {})]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}{kw}" for n, kw in ACTIVATIONS])
def test_activation_parity(name, kw, dtype, rng):
    # A conv first so the module has a dtype; wide input range reaches softplus's tail (> 20),
    # the logistic's saturation and the negative branches.
    conv = Conv2D(2, 3, 1, seed=0)
    conv.params["w"] = np.eye(2, 3, dtype=np.float32).reshape(1, 1, 2, 3)
    x = rng.standard_normal((3, 5, 7, 2)) * 15
    assert_parity(Network([conv, Activation(name, **kw)]), x, dtype, f"Activation({name}, {kw})")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("order", ["torch", "tf"])
@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_parity(scale, order, dtype, rng):
    c = 2
    net = Network([Conv2D(1, c * scale * scale, 3, seed=1), PixelShuffle(scale, order)])
    assert_parity(net, rng.standard_normal((2, 5, 7, 1)), dtype, f"PixelShuffle({scale}, {order})")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_pixel_shuffle_orders_differ(dtype, rng):
    # Guard against a test that passes because "tf" secretly maps to "torch".
    conv = Conv2D(1, 8, 1, seed=2)
    a = to_torch(Network([conv, PixelShuffle(2, "torch")]).astype(dtype))
    b = to_torch(Network([conv, PixelShuffle(2, "tf")]).astype(dtype))
    x = torch.from_numpy(rng.standard_normal((1, 1, 3, 3)).astype(dtype))
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_shortcut_and_route_index_semantics(dtype, rng):
    layers = [Conv2D(2, 3, 3, seed=0),               # 0
              Activation("tanh"),                   # 1
              Conv2D(3, 3, 3, seed=1),              # 2
              Shortcut(-3, alpha=0.7, beta=-1.3),   # 3: + output of layer 0
              Shortcut(1, alpha=2.0, beta=0.5),     # 4: + output of layer 1 (absolute)
              Route(-6),                            # 5: the network input (5 - 6 = -1)
              Conv2D(2, 3, 1, seed=2),              # 6
              Shortcut(-4),                         # 7: + output of layer 3
              Shortcut(-1, alpha=0.5, beta=0.25),   # 8: -1 is the previous layer: 0.75 x
              Route(4),                             # 9: back to layer 4 (absolute)
              Shortcut(7)]                          # 10: + output of layer 7
    x = rng.standard_normal((2, 7, 5, 2))
    _, module = assert_parity(Network(layers), x, dtype, "Shortcut/Route graph")
    assert module.sources == [None, None, None, 0, 1, -1, None, 3, 7, 4, 7]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batchnorm_eval_uses_running_stats(dtype, rng):
    bn = BatchNorm(4, momentum=0.2, eps=1e-3)
    bn.params["gamma"] = rng.uniform(0.5, 2, 4).astype(np.float32)
    bn.params["beta"] = rng.standard_normal(4).astype(np.float32)
    bn.buffers["running_mean"] = rng.standard_normal(4).astype(np.float32)
    bn.buffers["running_var"] = rng.uniform(0.2, 3, 4).astype(np.float32)
    net = Network([Conv2D(1, 4, 3, seed=0), bn, Activation("relu")])
    assert_parity(net, rng.standard_normal((3, 9, 6, 1)), dtype, "BatchNorm (eval)")


def test_batchnorm_training_mode_matches_labkit(rng):
    # module.train(): batch statistics and the same running-statistics update as labkit.
    bn = BatchNorm(3, momentum=0.3)
    net = Network([Conv2D(1, 3, 3, seed=0), bn]).astype(np.float64)
    module = to_torch(net).train()
    x = rng.standard_normal((4, 6, 5, 1))
    y = net.forward(x, training=True)
    yt = module(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).detach().numpy()
    np.testing.assert_allclose(y, yt.transpose(0, 2, 3, 1), atol=1e-10)
    back = from_torch(module, like=net)
    for k in ("running_mean", "running_var"):
        np.testing.assert_allclose(back.layers[1].buffers[k], bn.buffers[k], atol=1e-12, err_msg=k)


POOLS = [(2, None, 0), (3, 1, 1), (3, 2, 1), (3, 2, 2), ((2, 3), (1, 2), (1, 0)), (4, 3, 3),
         (5, 2, 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
@pytest.mark.parametrize("size,stride,padding", POOLS, ids=[str(p) for p in POOLS])
def test_pooling_parity(kind, size, stride, padding, dtype, rng):
    # Padding above half the window ((3, 2, 2), (4, 3, 3)) is refused by nn.MaxPool2d /
    # nn.AvgPool2d, so those cases test the explicit-padding path.
    net = Network([Conv2D(1, 2, 3, seed=0), kind(size, stride, padding)])
    for h, w in [(9, 7), (10, 11)]:
        assert_parity(net, rng.standard_normal((2, h, w, 1)), dtype,
                      f"{kind.__name__}({size}, {stride}, {padding}) on {h}x{w}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_dense_network_parity(dtype, rng):
    bn = BatchNorm(7)
    bn.buffers["running_mean"] = rng.standard_normal(7).astype(np.float32)
    bn.buffers["running_var"] = rng.uniform(0.5, 2, 7).astype(np.float32)
    net = Network([Dense(5, 7, seed=0), bn, Activation("elu"), Dense(7, 7, seed=1),
                   Shortcut(-2, alpha=0.5), Dense(7, 3, bias=False, seed=2),
                   Activation("logistic")])
    assert_parity(net, rng.standard_normal((6, 5)), dtype, "Dense network")


def random_network(rng):
    """A random valid stack: convs (any kernel/stride/padding, weight norm or not), activations,
    pixel shuffles, pools and shortcuts to earlier outputs of the same shape."""
    c = int(rng.integers(1, 4))
    layers = []
    acts = ["linear", "relu", "leaky", "elu", "selu", "logistic", "tanh", "softplus"]
    for _ in range(int(rng.integers(3, 9))):
        kind = rng.choice(["conv", "conv", "act", "shuffle", "pool", "shortcut"])
        if kind == "conv" or not layers:
            cout = int(rng.integers(1, 6))
            k = tuple(int(v) for v in rng.integers(1, 5, size=2))
            s = tuple(int(v) for v in rng.integers(1, 3, size=2)) if rng.random() < 0.3 else 1
            pad = ["same", "same", "valid", 1][int(rng.integers(4))]
            layers.append(Conv2D(c, cout, k, stride=s, padding=pad, weight_norm=rng.random() < 0.3,
                                 seed=int(rng.integers(1000))))
            c = cout
        elif kind == "act":
            layers.append(Activation(acts[int(rng.integers(len(acts)))]))
        elif kind == "shuffle":
            r = int(rng.integers(2, 4))
            layers += [Conv2D(c, c * r * r, 3, seed=int(rng.integers(1000))),
                       PixelShuffle(r, ["torch", "tf"][int(rng.integers(2))])]
        elif kind == "pool":
            layers.append([MaxPool2D, AvgPool2D][int(rng.integers(2))](3, 1, 1))
        else:
            layers += [Conv2D(c, c, 3, seed=int(rng.integers(1000))),
                       Shortcut(-2, alpha=float(rng.uniform(-1, 2)),
                                beta=float(rng.uniform(-1, 2)))]
    return Network(layers), layers[0].in_channels


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_parity(seed):
    rng = np.random.default_rng(seed)
    net, c = random_network(rng)
    h, w = (int(v) for v in rng.integers(9, 20, size=2))
    x = rng.standard_normal((int(rng.integers(1, 3)), h, w, c))
    for dtype in DTYPES:
        net.astype(dtype)
        y, yt, _ = run_both(net, x.astype(dtype))
        # Random He-initialised stacks with shortcut gains up to 2 pass through values far
        # larger than their (e.g. tanh-squashed) output: float32 rounding scales with those.
        peak = max(1.0, max(float(np.max(np.abs(o))) for o in net.layer_outputs(x.astype(dtype),
                                                                                 training=False)))
        err = float(np.max(np.abs(y - yt)))
        assert err <= TOL[dtype] * peak, (f"random network {seed} ({np.dtype(dtype).name}, "
                                          f"input {x.shape}, largest activation {peak:.3g}): "
                                          f"max |labkit - torch| = {err:.3g}; layers "
                                          f"{[repr(layer) for layer in net.layers]}")


# ------------------------------------------------------------------------------ whole models

MODELS = {
    "edsr_x2": lambda: edsr(2, n_blocks=2, n_filters=8, res_scale=0.5, seed=0),
    "edsr_x3": lambda: edsr(3, n_blocks=1, n_filters=6, seed=1),
    "edsr_x4": lambda: edsr(4, n_blocks=2, n_filters=8, seed=2),
    "edsr_x2_he": lambda: edsr(2, n_blocks=2, n_filters=8, seed=3, init="he"),
    "wdsr_a_x2": lambda: wdsr_a(2, n_blocks=2, n_filters=6, expansion=3, res_scale=0.5, seed=0),
    "wdsr_a_x4": lambda: wdsr_a(4, n_blocks=1, n_filters=4, seed=1),
    "wdsr_b_x3": lambda: wdsr_b(3, n_blocks=2, n_filters=5, expansion=4, seed=2),
    "srcnn": lambda: srcnn(f1=8, f2=4, seed=0),
    "plain_residual": lambda: plain_cnn(3, n_filters=4, residual=True, activation="leaky", seed=0),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_parity(name, dtype, rng):
    net = MODELS[name]()
    for shape in [(1, 9, 13, 1), (2, 12, 7, 1)]:
        assert_parity(net, rng.random(shape), dtype, f"{name} on {shape}")


def test_shipped_checkpoint_parity(rng):
    net = Network.load(Path(__file__).resolve().parents[2] / "data" / "checkpoints" / "edsr-x2.npz")
    from labkit.data import degrade, mni_sr_split

    hr = mni_sr_split()["test"][:2]
    lr = np.stack([degrade(s, 2) for s in hr])[..., None].astype(np.float32)
    err, _ = assert_parity(net, lr, np.float32, "edsr-x2.npz on two MNI-SR test slices")
    print(f"edsr-x2.npz: max |labkit - torch| = {err:.3g}")


def test_module_structure_and_copy_semantics():
    net = edsr(2, n_blocks=1, n_filters=4, seed=0)
    module = to_torch(net)
    assert not module.training
    assert len(module.layers) == len(net.layers)
    assert sum(p.numel() for p in module.parameters()) == net.n_params
    assert next(module.parameters()).dtype == torch.float32
    before = net.layers[0].params["w"].copy()
    with torch.no_grad():
        module.layers[0].conv.weight.add_(1.0)
    np.testing.assert_array_equal(net.layers[0].params["w"], before)   # a copy, not a view
    assert to_torch(net, dtype=np.float64).layers[0].conv.weight.dtype == torch.float64
    assert set(SUPPORTED_LAYERS) >= {type(layer).__name__ for layer in net.layers}


# ------------------------------------------------------------------------------ from_torch

@pytest.mark.parametrize("name", ["edsr_x2", "wdsr_b_x3"])
def test_from_torch_round_trip_after_changing_weights(name, rng):
    net = MODELS[name]()
    module = to_torch(net)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.01 * torch.randn_like(p))
    back = from_torch(module, like=net)
    assert type(back) is Network and back is not net
    assert back.architecture() == net.architecture()
    x = rng.random((2, 9, 11, 1), dtype=np.float32)
    y = back.forward(x, training=False)
    with torch.no_grad():
        yt = module(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    err = float(np.max(np.abs(y - yt)))
    assert err <= 1e-5, f"{name}: labkit(from_torch(module)) vs module: {err:.3g}"
    # like is untouched and now differs.
    assert not np.allclose(net.forward(x, training=False), y)
    # The state dict works as well as the module, and the result converts back identically.
    again = from_torch(module.state_dict(), like=net)
    for (k, a), b in zip(back.named_params().items(), again.named_params().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.dtype == np.float32


def test_from_torch_keeps_like_dtype():
    net = edsr(2, n_blocks=1, n_filters=4, seed=0).astype(np.float64)
    back = from_torch(to_torch(net, dtype=np.float32), like=net)
    assert all(a.dtype == np.float64 for a in back.named_params().values())


# ------------------------------------------------------------------------------ bad input

class Dropoutish(Layer):
    def forward(self, x, training=True):
        return x


def test_to_torch_refuses_non_networks_and_unknown_layers():
    with pytest.raises(ValueError, match="to_torch: net must be a labkit Network"):
        to_torch([Conv2D(1, 1, 3)])
    net = Network([Conv2D(1, 2, 3), Dropoutish(), Activation("relu")])
    with pytest.raises(ValueError, match=r"to_torch: layer 1 \(Dropoutish\).*cannot be exported"):
        to_torch(net)
    with pytest.raises(ValueError, match="to_torch: dtype"):
        to_torch(Network([Conv2D(1, 2, 3)]), dtype=np.int32)


def test_from_torch_refuses_mismatches():
    net = edsr(2, n_blocks=1, n_filters=4, seed=0)
    module = to_torch(net)
    with pytest.raises(ValueError, match="from_torch: like must be a labkit Network"):
        from_torch(module, like=module)
    with pytest.raises(ValueError, match="from_torch: expected a torch.nn.Module or a state dict"):
        from_torch(42, like=net)
    wider = edsr(2, n_blocks=1, n_filters=6, seed=0)
    with pytest.raises(ValueError, match=r"from_torch: layer 0 .*parameter 'w'.*like needs"):
        from_torch(module, like=wider)
    deeper = edsr(2, n_blocks=2, n_filters=4, seed=0)
    with pytest.raises(ValueError, match="from_torch: the module has 10 layers, like=.* has 14"):
        from_torch(module, like=deeper)
    # Without the graph (a bare state dict) the first tensor that does not fit is named.
    with pytest.raises(ValueError, match=r"from_torch: layer 7 .*parameter 'w'.*\(16, 4, 3, 3\)"):
        from_torch(module.state_dict(), like=deeper)
    shallower = edsr(2, n_blocks=0, n_filters=4, seed=0)
    with pytest.raises(ValueError, match="from_torch: the module has 10 layers, like=.* has 6"):
        from_torch(module, like=shallower)
    with pytest.raises(ValueError, match="from_torch: the module has .* tensor.*no place for"):
        from_torch(module.state_dict(), like=Network(shallower.layers[:3]))
    relinked = Network(net.layers[:4] + [Shortcut(-2)] + net.layers[5:])   # reads 2, not 0
    with pytest.raises(ValueError, match="from_torch: layer 4 of the module reads layer 0 but"):
        from_torch(module, like=relinked)
    with pytest.raises(ValueError, match=r"from_torch: layer 0 .*'v'.*does not have"):
        from_torch(module.state_dict(), like=wdsr_a(2, n_blocks=1, n_filters=4))


def test_from_torch_refuses_extra_tensors_and_non_finite_weights():
    net = Network([Conv2D(1, 2, 3, seed=0)])
    state = to_torch(net).state_dict()
    state["layers.0.conv.extra"] = torch.zeros(1)
    with pytest.raises(ValueError, match="from_torch: the module has 1 tensor"):
        from_torch(state, like=net)
    module = to_torch(net)
    with torch.no_grad():
        module.layers[0].conv.bias[1] = float("nan")
    with pytest.raises(ValueError, match=r"from_torch: layer 0 .*parameter 'b'.*non-finite"):
        from_torch(module, like=net)
