"""ONNX export (``labkit.interop.export_onnx`` / ``export_checkpoint``) checked with onnxruntime.

The exported model runs on NCHW float32 inputs of several sizes (N, H, W are dynamic axes) and
must equal ``Network.forward(x, training=False)`` (NHWC, transposed) within 1e-4.
"""

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="ONNX export goes through PyTorch: "
                                            "pip install torch==2.13.0")
onnx = pytest.importorskip("onnx", reason="checking the exported file needs onnx: pip install onnx")
ort = pytest.importorskip("onnxruntime", reason="running the exported file needs onnxruntime: "
                                                "pip install onnxruntime")
torch.set_num_threads(1)

from labkit.interop import export_checkpoint, export_onnx  # noqa: E402
from labkit.interop.export import MIN_OPSET, onnx_max_error  # noqa: E402
from labkit.layers import (Activation, AvgPool2D, BatchNorm, Conv2D, Dense, Layer,  # noqa: E402
                           MaxPool2D, PixelShuffle, Route, Shortcut)
from labkit.models import edsr, wdsr_a, wdsr_b  # noqa: E402
from labkit.network import Network  # noqa: E402

CHECKPOINT = str(Path(__file__).resolve().parents[2] / "data" / "checkpoints" / "edsr-x2.npz")
TOL = 1e-4


def run_onnx(path, x_nhwc):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2).astype(np.float32))
    (y,) = session.run(["output"], {"input": x})
    return y.transpose(0, 2, 3, 1)


def assert_onnx_matches(net, path, shapes, rng, what):
    worst = 0.0
    for shape in shapes:
        x = rng.random(shape, dtype=np.float32)
        ref = net.forward(x, training=False)
        y = run_onnx(path, x)
        assert y.shape == ref.shape, f"{what} on {shape}: ONNX {y.shape} vs labkit {ref.shape}"
        err = float(np.max(np.abs(y - ref)))
        assert err <= TOL, f"{what} on {shape}: max |onnx - labkit| = {err:.3g} > {TOL}"
        worst = max(worst, err)
    return worst


def zoo_a():
    """Strided "same" convolutions (the padding depends on the input size), weight norm, an even
    kernel, both pixel shuffle orders, BatchNorm and all eight activations."""
    bn = BatchNorm(6)
    rng = np.random.default_rng(5)
    bn.buffers["running_mean"] = rng.standard_normal(6).astype(np.float32)
    bn.buffers["running_var"] = rng.uniform(0.5, 2, 6).astype(np.float32)
    layers = [Conv2D(1, 6, 3, seed=0), bn]
    for name in ("linear", "relu", "leaky", "elu", "selu", "logistic", "tanh", "softplus"):
        layers.append(Activation(name))
    layers += [Conv2D(6, 8, 3, stride=2, weight_norm=True, seed=1),   # (ceil(H/2), ceil(W/2))
               PixelShuffle(2, "tf"),
               Conv2D(2, 8, 4, seed=2),
               PixelShuffle(2, "torch"),
               Conv2D(2, 1, 3, stride=2, seed=3)]
    return Network(layers, name="zoo_a")


def zoo_b():
    """Pooling (including padding above half the window), Shortcut/Route by absolute and
    relative index, a strided conv with different strides per axis."""
    layers = [Conv2D(1, 3, 5, stride=(2, 3), seed=3),         # 0
              MaxPool2D(3, 1, 1),                            # 1
              AvgPool2D(3, 1, 2),                            # 2: +2
              AvgPool2D(2, 1, 0),                            # 3: -1
              Conv2D(3, 3, 2, padding="valid", seed=4),      # 4: -1, back to layer 1's size
              Shortcut(-4, alpha=0.5, beta=2.0),             # 5: + layer 1
              Route(1),                                      # 6: layer 1 again
              Shortcut(5),                                   # 7: + layer 5
              MaxPool2D(3, 2, 2)]                            # 8
    return Network(layers, name="zoo_b")


NETS = {
    "edsr_x2": lambda: edsr(2, n_blocks=2, n_filters=8, seed=0),
    "edsr_x4": lambda: edsr(4, n_blocks=2, n_filters=8, res_scale=0.1, seed=1),
    "wdsr_a_x2": lambda: wdsr_a(2, n_blocks=2, n_filters=6, expansion=3, seed=2),
    "wdsr_b_x3": lambda: wdsr_b(3, n_blocks=1, n_filters=5, seed=3),
    "zoo_a": zoo_a,
    "zoo_b": zoo_b,
}
SHAPES = [(1, 16, 16, 1), (2, 11, 13, 1), (3, 24, 9, 1)]


@pytest.mark.parametrize("name", sorted(NETS))
def test_export_matches_labkit(name, tmp_path, rng):
    net = NETS[name]()
    path = export_onnx(net, tmp_path / f"{name}.onnx")
    assert path == tmp_path / f"{name}.onnx" and path.is_file()
    err = assert_onnx_matches(net, path, SHAPES, rng, name)
    print(f"{name}: max |onnx - labkit| = {err:.3g}")
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= MIN_OPSET
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 1, "H", "W"]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim][::2] == \
        ["N", "H_out"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert '"format": "labkit-network"' in meta["labkit_architecture"]


def test_export_float64_network_writes_float32(tmp_path, rng):
    net = NETS["edsr_x2"]().astype(np.float64)
    path = export_onnx(net, tmp_path / "f64.onnx", opset=20)
    assert_onnx_matches(net, path, SHAPES[:2], rng, "float64 edsr")


def test_export_checkpoint_shipped_x2(tmp_path, rng):
    out = tmp_path / "sub" / "edsr-x2.onnx"           # missing folders are created
    info = export_checkpoint(CHECKPOINT, out)
    assert info["output"] == str(out) and out.is_file()
    assert info["opset"] >= 17 and info["verified"] is True
    assert info["max_abs_error"] <= TOL, info
    assert info["input"] == {"name": "input", "dtype": "float32", "shape": ["N", 1, "H", "W"]}
    assert info["n_params"] == 194_817 and info["bytes"] == out.stat().st_size
    # On real data: two MNI-SR test slices, degraded as the benchmark does.
    from labkit.data import degrade, mni_sr_split

    hr = mni_sr_split()["test"][[0, 10]]
    lr = np.stack([degrade(s, 2) for s in hr])[..., None].astype(np.float32)
    net = Network.load(CHECKPOINT)
    ref = net.forward(lr, training=False)
    y = run_onnx(out, lr)
    err = float(np.max(np.abs(y - ref)))
    print(f"edsr-x2.npz on MNI-SR slices: max |onnx - labkit| = {err:.3g}")
    assert y.shape == (2, 196, 232, 1) and err <= TOL, f"max |onnx - labkit| = {err:.3g}"
    assert "edsr-x2.onnx" in os.listdir(out.parent) and len(os.listdir(out.parent)) == 1


def test_export_is_atomic(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    bad = Network([Conv2D(1, 2, 3, seed=0), Activation("relu")])
    bad.layers[0].params["w"][0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="export_onnx: layer 0 .*non-finite"):
        export_onnx(bad, path)
    assert path.read_bytes() == b"previous"
    export_onnx(edsr(2, 1, 4, seed=0), path)               # replaces the old file
    assert path.read_bytes() != b"previous"
    onnx.checker.check_model(onnx.load(str(path)))
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]   # no temporary file left behind


class Custom(Layer):
    def forward(self, x, training=True):
        return x


def test_export_onnx_bad_input(tmp_path):
    net = edsr(2, 1, 4, seed=0)
    with pytest.raises(ValueError, match=r"export_onnx: the output file must end in \.onnx"):
        export_onnx(net, tmp_path / "model.npz")
    with pytest.raises(ValueError, match="export_onnx: the output path .* is a directory"):
        (tmp_path / "d.onnx").mkdir()
        export_onnx(net, tmp_path / "d.onnx")
    with pytest.raises(ValueError, match="export_onnx: opset must be an int from 17"):
        export_onnx(net, tmp_path / "m.onnx", opset=16)
    with pytest.raises(ValueError, match="export_onnx: net must be a labkit Network"):
        export_onnx("edsr", tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"export_onnx: layer 1 \(Custom\).*cannot be exported"):
        export_onnx(Network([Conv2D(1, 1, 3), Custom()]), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="export_onnx: cannot tell the number of input channels"):
        export_onnx(Network([Activation("relu")]), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_checkpoint_bad_input(tmp_path):
    with pytest.raises(ValueError, match="export_checkpoint: no such checkpoint file"):
        export_checkpoint(tmp_path / "missing.npz", tmp_path / "out.onnx")
    with pytest.raises(ValueError, match=r"export_checkpoint: the output file must end in \.onnx"):
        export_checkpoint(CHECKPOINT, tmp_path / "out.npz")
    # A checkpoint that happens to be called .onnx must not be overwritten by its own export.
    same = tmp_path / "model.onnx"
    original = Path(CHECKPOINT).read_bytes()
    same.write_bytes(original)
    with pytest.raises(ValueError, match="export_checkpoint: the output .* is the checkpoint"):
        export_checkpoint(same, tmp_path / "." / "model.onnx")
    assert same.read_bytes() == original
    junk = tmp_path / "junk.npz"
    junk.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="export_checkpoint: cannot read checkpoint"):
        export_checkpoint(junk, tmp_path / "out.onnx")
    custom = tmp_path / "pool.npz"
    Network([MaxPool2D(2)]).save(custom)
    with pytest.raises(ValueError, match="export_checkpoint: export_onnx: cannot tell"):
        export_checkpoint(custom, tmp_path / "out.onnx")
    with pytest.raises(ValueError, match="export_checkpoint: the checkpoint must be a str or Path"):
        export_checkpoint(None, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def test_onnx_max_error_helper(tmp_path):
    net = edsr(2, 1, 4, seed=0)
    path = export_onnx(net, tmp_path / "m.onnx")
    assert onnx_max_error(path, net) <= TOL


@pytest.mark.parametrize("name", ["linear", "relu", "leaky", "elu", "selu", "logistic", "tanh",
                                  "softplus"])
def test_activations_far_tails(name, tmp_path):
    # onnxruntime's Softplus/Sigmoid/Elu must not overflow where labkit's stable forms do not.
    conv = Conv2D(1, 1, 1, bias=False)
    conv.params["w"][:] = 1.0
    net = Network([conv, Activation(name)])
    path = export_onnx(net, tmp_path / f"{name}.onnx")
    x = np.array([-1000, -100, -30, -1, 0, 1, 19, 21, 30, 88, 100, 1000], np.float32)
    x = x.reshape(1, 1, -1, 1)
    ref = net.forward(x, training=False)
    y = run_onnx(path, x)
    assert np.all(np.isfinite(y))
    err = float(np.max(np.abs(y - ref) / np.maximum(1.0, np.abs(ref))))
    assert err <= 1e-6, f"{name}: max relative |onnx - labkit| = {err:.3g}"


def test_export_dense_network(tmp_path):
    bn = BatchNorm(7)
    bn.buffers["running_var"][:] = 2.0
    net = Network([Dense(5, 7, seed=0), bn, Activation("relu"), Dense(7, 2, seed=1)])
    path = export_onnx(net, tmp_path / "dense.onnx")
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 5]
    assert onnx_max_error(path, net) <= 1e-5


def test_export_without_onnx_says_what_to_install(tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.modules['onnx'] = None\n"
            "from labkit.models import edsr\n"
            "from labkit.interop import export_onnx\n"
            "try:\n"
            f"    export_onnx(edsr(2, 1, 4), {str(tmp_path / 'm.onnx')!r})\n"
            "except ImportError as e:\n"
            "    print('IMPORTERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert "IMPORTERROR export_onnx needs the onnx package: pip install onnx" in out.stdout, \
        out.stdout + out.stderr
    assert not (tmp_path / "m.onnx").exists()
