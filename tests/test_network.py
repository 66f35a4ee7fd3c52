"""Network wiring, shortcuts, save/load, and the EDSR builder."""

import json

import numpy as np
import pytest

from labkit.layers import Activation, BatchNorm, Conv2D, PixelShuffle, Shortcut
from labkit.losses import L1Loss
from labkit.models import edsr
from labkit.network import Network
from labkit.optimizers import Adam


def small_net():
    return Network([Conv2D(1, 4, 3, seed=0, algorithm="im2col"), Activation("relu"),
                    Conv2D(4, 4, 3, seed=1, algorithm="im2col"), Shortcut(-3, alpha=0.5),
                    BatchNorm(4), Conv2D(4, 4, 3, seed=2, algorithm="im2col"), PixelShuffle(2)],
                   name="small")


def test_shortcut_forward_semantics(rng):
    net = small_net().astype(np.float64)
    x = rng.standard_normal((2, 5, 5, 1))
    net.forward(x)
    h0 = net[0].forward(x)
    h2 = net[2].forward(net[1].forward(h0))
    np.testing.assert_allclose(net[3].forward(h2, other=h0), 0.5 * h2 + h0)


def test_shortcut_index_validation():
    with pytest.raises(ValueError, match="points to layer 3"):
        Network([Activation("relu"), Shortcut(3)])
    with pytest.raises(ValueError, match="points to layer -2"):
        Network([Activation("relu"), Shortcut(-3)])
    with pytest.raises(ValueError, match="item 1 is int"):
        Network([Activation("relu"), 3])


def test_shortcut_to_network_input(rng):
    net = Network([Activation("tanh"), Shortcut(-2)]).astype(np.float64)   # -2 from position 1 = input
    x = rng.standard_normal((1, 2, 2, 1))
    np.testing.assert_allclose(net.forward(x), np.tanh(x) + x)


def test_save_load_roundtrip(tmp_path, rng):
    net = small_net()
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    net.forward(x, training=True)                    # move BatchNorm running stats
    path = net.save(tmp_path / "net.npz")
    loaded = Network.load(path)
    assert [type(a) for a in loaded] == [type(b) for b in net]
    assert loaded.n_params == net.n_params
    np.testing.assert_array_equal(loaded.forward(x, training=False), net.forward(x, training=False))
    np.testing.assert_array_equal(loaded[4].buffers["running_var"], net[4].buffers["running_var"])
    with np.load(path, allow_pickle=False) as f:
        assert json.loads(str(f["__labkit__"]))["format"] == "labkit-network"


def test_load_rejects_foreign_files(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a labkit network"):
        Network.load(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a labkit network"):
        Network.load(tmp_path / "text.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a labkit network"):
        Network.load(tmp_path / "obj.npy")
    with pytest.raises(FileNotFoundError, match="no such file"):
        Network.load(tmp_path / "missing.npz")


def test_load_rejects_wrong_weight_shape(tmp_path):
    net = small_net()
    arrays = {"__labkit__": np.array(json.dumps(net.architecture())), **net.state_arrays()}
    arrays["0.w"] = np.zeros((5, 5, 1, 4), dtype=np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"weight '0.w'.*\(5, 5, 1, 4\).*\(3, 3, 1, 4\)"):
        Network.load(tmp_path / "bad.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    net = small_net()
    path = net.save(tmp_path / "net.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_predict_matches_forward_and_frees_caches(rng):
    net = edsr(2, 2, 8, seed=0, algorithm="im2col")
    x = rng.uniform(0, 1, (3, 7, 9, 1)).astype(np.float32)
    y = net.predict(x, batch_size=2)
    np.testing.assert_allclose(y, net.forward(x, training=False), rtol=1e-5, atol=1e-6)
    net.predict(x)
    assert all(layer.cache is None for layer in net)


def test_edsr_shapes_and_parameter_counts():
    assert edsr(2, 8, 32).n_params == 194_817
    assert edsr(2, 16, 64).n_params == 1_367_553
    for scale in (2, 3, 4):
        net = edsr(scale, 1, 8)
        assert net.output_shapes((2, 10, 12, 1))[-1] == (2, 10 * scale, 12 * scale, 1)
    with pytest.raises(ValueError, match="edsr: scale must be 2, 3 or 4"):
        edsr(5)


def test_tiny_edsr_learns(rng):
    # A few Adam steps on one batch must lower the L1 loss: the whole training path works.
    net = edsr(2, 1, 8, seed=0, algorithm="im2col")
    x = rng.uniform(0, 1, (4, 6, 6, 1)).astype(np.float32)
    t = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
    loss, opt = L1Loss(), Adam(1e-3)
    first = None
    for _ in range(30):
        value = loss.forward(net.forward(x), t)
        first = value if first is None else first
        net.backward(loss.backward())
        net.update(opt)
    assert value < 0.5 * first


def test_network_rejects_nan_input():
    with pytest.raises(ValueError, match="NaN or inf"):
        small_net().forward(np.full((1, 4, 4, 1), np.nan))


def test_layer_outputs(rng):
    net = small_net().astype(np.float64)
    x = rng.standard_normal((2, 5, 5, 1))
    outs = net.layer_outputs(x, training=False)
    assert [o.shape for o in outs] == net.output_shapes(x.shape)
    np.testing.assert_array_equal(outs[-1], net.forward(x, training=False))


def test_output_shapes_follow_route(rng):
    from labkit.layers import Route
    net = Network([Conv2D(1, 4, 3, seed=0, algorithm="im2col"), PixelShuffle(2), Route(-3),
                   Conv2D(1, 4, 3, seed=1, algorithm="im2col"), PixelShuffle(2), Shortcut(-4)])
    x = rng.standard_normal((2, 5, 6, 1)).astype(np.float32)
    assert net.output_shapes(x.shape) == [o.shape for o in net.layer_outputs(x)]


def test_saved_file_has_default_permissions(tmp_path):
    import os
    umask = os.umask(0)
    os.umask(umask)
    path = small_net().save(tmp_path / "net.npz")
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_save_and_load_refuse_nonfinite_weights(tmp_path):
    net = small_net()
    net.layers[2].params["w"][0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"Network.save: .*NaN or inf in \['2.w'\]"):
        net.save(tmp_path / "nan.npz")
    assert not (tmp_path / "nan.npz").exists()
    arrays = {"__labkit__": np.array(json.dumps(net.architecture())), **net.state_arrays()}
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ValueError, match=r"weight '2.w' in .*nan.npz contains NaN or inf"):
        Network.load(tmp_path / "nan.npz")


def test_load_bounds_declared_sizes_before_allocating(tmp_path):
    import io
    import zipfile

    net = small_net()
    arch = net.architecture()
    arch["layers"][0]["config"].update(out_channels=100000, kernel_size=[99, 99])
    arrays = {"__labkit__": np.array(json.dumps(arch)), **net.state_arrays()}
    np.savez(tmp_path / "huge.npz", **arrays)
    with pytest.raises(ValueError, match="declares 980,.* parameters, more than the bound"):
        Network.load(tmp_path / "huge.npz")
    # A zip bomb: an entry that unpacks to 64 MiB (from ~64 kB) in a 1 kB-weight network.
    good = net.save(tmp_path / "good.npz")
    with zipfile.ZipFile(good, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("__junk__.npy", bytes(64 * 2 ** 20))
    with pytest.raises(ValueError, match="'__junk__' .* unpacks to 67,108,864 bytes"):
        Network.load(good)
    # A weight whose .npy header declares 10^10 floats: refused from the header alone.
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": (10 ** 10,)})
    arrays = {"__labkit__": np.array(json.dumps(net.architecture())), **net.state_arrays()}
    del arrays["0.w"]
    np.savez(tmp_path / "lying.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "lying.npz", "a") as z:
        z.writestr("0.w.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"weight '0.w' .* has shape \(10000000000,\)"):
        Network.load(tmp_path / "lying.npz")


@pytest.mark.parametrize("mutate,match", [
    (lambda a: a.pop("layers"), "no list of 'layers'"),
    (lambda a: a.update(layers=[{"type": "Conv2D", "config": {"bogus": 1}}]), "invalid config"),
    (lambda a: a.update(layers=["Conv2D"]), "not a dict"),
])
def test_load_rejects_malformed_architectures(tmp_path, mutate, match):
    net = small_net()
    arch = net.architecture()
    mutate(arch)
    np.savez(tmp_path / "bad.npz", __labkit__=np.array(json.dumps(arch)))
    with pytest.raises(ValueError, match=match):
        Network.load(tmp_path / "bad.npz")


def test_load_refuses_pickles_corrupt_and_directories(tmp_path):
    with open(tmp_path / "pickle.npz", "wb") as fh:
        np.save(fh, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a labkit network file"):
        Network.load(tmp_path / "pickle.npz")
    path = small_net().save(tmp_path / "crc.npz")
    raw = bytearray(path.read_bytes())
    raw[200:208] = bytes(b ^ 0xFF for b in raw[200:208])
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        Network.load(path)
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        Network.load(tmp_path / "dir.npz")


def test_two_input_layers_share_one_mechanism():
    from labkit.layers import Route
    from labkit.layers.base import Layer, MergeLayer

    assert issubclass(Shortcut, MergeLayer) and issubclass(Route, MergeLayer)
    # The index contract: negative counts back from the layer, non-negative is absolute.
    assert Shortcut(-1).source_position(5) == 4 and Shortcut(2).source_position(5) == 2
    assert Route(-6).source_position(5) == -1                   # the network input
    with pytest.raises(ValueError, match="only read an earlier output"):
        Shortcut(5).source_position(5)
    with pytest.raises(NotImplementedError):
        Layer().forward(np.zeros((1, 2, 2, 1)))
    net = Network([Conv2D(1, 2, 3, seed=0), Route(-2), Conv2D(1, 2, 1, seed=1),
                   Shortcut(0)])
    assert net.output_shapes((1, 4, 4, 1)) == [(1, 4, 4, 2), (1, 4, 4, 1), (1, 4, 4, 2),
                                               (1, 4, 4, 2)]


@pytest.mark.parametrize("algorithm", ["winograd", "im2col"])
def test_fused_conv_relu_equals_the_two_layers(rng, algorithm):
    """forward() runs a ReLU, or a unit shortcut's addition, after a convolution inside it
    (Winograd: in the output transform); outputs and every gradient equal those of the layers
    run one after the other."""
    net = edsr(2, n_blocks=2, n_filters=8, seed=0, algorithm=algorithm).astype(np.float64)
    last_use = {src: p for p, src in enumerate(net._sources) if src is not None}
    fused = net._fused_relus(last_use)
    assert fused and all(type(net[p + 1]) is Activation for p in fused)
    added = net._fused_shortcuts(last_use)          # every block's second conv, and the body's end
    assert len(added) == 3 and all(type(net[p + 1]) is Shortcut for p in added)
    x = rng.standard_normal((2, 9, 10, 1))
    dy = rng.standard_normal(net.output_shapes(x.shape)[-1])
    ref_out = net.layer_outputs(x)[-1]                    # layer by layer, nothing fused
    ref_dx = net.backward(dy)
    ref_grads = {k: v.copy() for k, v in net.named_grads().items()}
    out = net.forward(x)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.backward(dy), ref_dx, rtol=1e-12, atol=1e-12)
    for k, v in net.named_grads().items():
        np.testing.assert_allclose(v, ref_grads[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_relu_feeding_a_shortcut_source_is_not_fused():
    net = Network([Conv2D(1, 2, 3, seed=0), Conv2D(2, 2, 3, seed=1), Activation("relu"),
                   Shortcut(-2)])
    last_use = {src: p for p, src in enumerate(net._sources) if src is not None}
    assert 1 not in net._fused_relus(last_use)          # conv 1's own output feeds the shortcut
    other = Network([Conv2D(1, 2, 3, seed=0), Conv2D(2, 2, 3, seed=1), Activation("relu"),
                     Shortcut(-3)])
    assert other._fused_relus({src: p for p, src in enumerate(other._sources)
                               if src is not None}) == {1}
    with pytest.raises(ValueError, match="only a ReLU"):
        Activation("tanh").adopt_output(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="alpha = beta = 1"):
        Shortcut(-2, alpha=0.1).adopt_output(np.zeros((1, 2, 2, 1)))
    scaled = Network([Conv2D(1, 2, 3, seed=0), Conv2D(2, 2, 3, seed=1), Shortcut(-2, alpha=0.1)])
    assert not scaled._fused_shortcuts({0: 2})          # a scaled shortcut is not fused
