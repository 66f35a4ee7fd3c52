"""Trainer: schedules, configuration checks, exact resume, NaN guard, atomic checkpoints."""

import json
import math

import numpy as np
import pytest

from labkit.data import load_volume
from labkit.models import edsr
from labkit.network import Network
from labkit.train import (
    Trainer,
    TrainingDiverged,
    learning_rate,
    load_checkpoint_info,
    make_config,
    training_data,
)

TINY = {"model": "edsr", "blocks": 1, "filters": 4, "scale": 2, "steps": 6, "batch": 2,
        "patch": 12, "val_every": 3, "val_slices": 2, "checkpoint_every": 2, "log_every": 1,
        "algorithm": "naive", "data": "phantom"}


@pytest.fixture(scope="module")
def data():
    """(train, val) HR slices: a small piece of the phantom, enough for 12-pixel patches."""
    train, val = training_data("phantom", val_slices=2)
    return train[:6, 40:88, 40:88].copy(), val[:, 40:88, 40:88].copy()


def weights(trainer):
    return {k: v.copy() for k, v in trainer.net.named_params().items()}


def test_learning_rate_schedules():
    assert learning_rate(0, 100, 1e-3) == pytest.approx(1e-3)
    assert learning_rate(50, 100, 1e-3) == pytest.approx(5e-4)
    assert learning_rate(100, 100, 1e-3, lr_min=1e-5) == pytest.approx(1e-5)
    assert learning_rate(49, 100, 1.0, "step") == 1.0
    assert learning_rate(50, 100, 1.0, "step") == 0.5
    assert learning_rate(30, 100, 1.0, "step", step_size=10, gamma=0.1) == pytest.approx(1e-3)
    assert learning_rate(70, 100, 0.3, "constant") == 0.3
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        learning_rate(0, 10, 1.0, "linear")


@pytest.mark.parametrize("bad,match", [
    ({"model": "srgan"}, r"model.*'srgan'|'srgan'.*model"),
    ({"loss": "huber"}, r"loss.*'huber'|'huber'.*loss"),
    ({"schedule": "linear"}, r"schedule.*'linear'|'linear'.*schedule"),
    ({"scale": 5}, r"scale.*\b5\b|\b5\b.*scale"),
    ({"scale": 4, "patch": 90}, "patch 90 is not divisible by scale 4"),
    ({"lr": -1.0}, "lr must be > 0"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"lr": 1e-3, "lr_min": 1e-2}, "lr_min <= lr"),
    ({"steps": 0}, "steps must be an int >= 1"),
    ({"steps": 10 ** 30}, "steps must be an int <= "),
    ({"steps": True}, "steps must be an int"),
    ({"seed": -1}, "seed must be an int >= 0"),
    ({"gamma": -1.0}, "gamma must be > 0"),
    ({"gamma": 2.0}, "gamma must be <= 1"),
    ({"batch": 0}, "batch must be an int >= 1"),
    ({"blocks": 1000, "filters": 4096}, "parameters, more than the bound"),
    ({"batch": 4096, "patch": 4096}, "largest activation"),
    ({"algorithm": "fft"}, r"algorithm.*'fft'|'fft'.*algorithm"),
    ({"augment": "yes"}, "augment must be True or False"),
    ({"colour": True}, "unknown setting"),
])
def test_make_config_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        make_config(**bad)


def test_trainer_rejects_bad_arguments(data):
    net = edsr(2, 1, 4)
    with pytest.raises(TypeError, match="labkit Network"):
        Trainer("net", object(), steps=5)
    with pytest.raises(ValueError, match="sample"):
        Trainer(net, object(), steps=5)
    sampler = Trainer.from_config(TINY, progress=False, data=data).sampler
    with pytest.raises(ValueError, match=r"Trainer: .*loss.*'l3'|Trainer: .*'l3'.*loss"):
        Trainer(net, sampler, steps=5, loss="l3")
    with pytest.raises(ValueError, match="Trainer: steps must be an int >= 1"):
        Trainer(net, sampler, steps=0)
    with pytest.raises(ValueError, match="Trainer: gamma must be > 0"):
        Trainer(net, sampler, steps=5, schedule="step", gamma=-1.0)


def test_fit_logs_history_validation_and_callbacks(data, tmp_path):
    seen = []
    trainer = Trainer.from_config(TINY, checkpoint=tmp_path / "ck.npz", progress=False,
                                  callbacks=[lambda t, r: seen.append(r)], data=data)
    history = trainer.fit()
    assert trainer.step == 6 and [r["step"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in seen] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(r["loss"]) and r["grad_norm"] > 0 for r in history)
    assert [v["step"] for v in trainer.val_history] == [3, 6]
    assert history[-1]["val_psnr"] == trainer.val_history[-1]["psnr"]
    # the learning rate follows the cosine schedule
    assert history[0]["lr"] == pytest.approx(5e-4)
    assert history[3]["lr"] == pytest.approx(learning_rate(3, 6, 5e-4))
    net, info = load_checkpoint_info(tmp_path / "ck.npz")
    assert info["trainer"]["step"] == 6 and info["config"]["blocks"] == 1
    assert len(info["optimizer"]) == 3 * len(net.named_params())        # m, v, step


def test_progress_log_lines(data, capsys):
    cfg = {**TINY, "log_every": 1, "steps": 10}
    Trainer.from_config(cfg, progress="log", data=data).fit()
    err = capsys.readouterr().err
    assert "step 10/10" in err and "loss" in err and "val_psnr" in err


def test_resume_equals_uninterrupted(data, tmp_path):
    straight = Trainer.from_config(TINY, progress=False, data=data)
    straight.fit()

    first = Trainer.from_config(TINY, checkpoint=tmp_path / "ck.npz", progress=False, data=data)
    first.fit(3)                                    # stops after step 3 and saves
    assert first.step == 3
    del first
    # A fresh trainer built only from the checkpoint (as a new process would).
    second = Trainer.resume(tmp_path / "ck.npz", progress=False, data=data)
    assert second.step == 3
    second.fit()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert [r["loss"] for r in straight.history] == [r["loss"] for r in second.history]
    sa = straight.optimizer.state_dict(straight.net.named_params())
    sb = second.optimizer.state_dict(second.net.named_params())
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


class ExplodingSampler:
    """Normal batches for ``good`` steps, then an input so large that the output overflows."""

    def __init__(self, inner, good):
        self.inner, self.good, self.calls = inner, good, 0

    def sample(self):
        self.calls += 1
        lr, hr = self.inner.sample()
        return (lr * np.float32(1e38), hr) if self.calls > self.good else (lr, hr)

    def state_dict(self):
        return {"calls": self.calls, **self.inner.state_dict()}

    def load_state_dict(self, state):
        self.calls = state["calls"]
        self.inner.load_state_dict(state)


def test_nan_guard_stops_and_keeps_last_good_checkpoint(data, tmp_path):
    base = Trainer.from_config(TINY, progress=False, data=data)
    ck = tmp_path / "ck.npz"
    trainer = Trainer(base.net, ExplodingSampler(base.sampler, good=3), steps=6,
                      checkpoint=ck, checkpoint_every=2, progress=False, config=base.config)
    with (pytest.raises(TrainingDiverged, match=r"became (nan|inf) at step 4 .*step 2\)"),
          np.errstate(all="ignore")):
        trainer.fit()
    assert trainer.step == 3                        # the bad step changed nothing
    assert all(np.all(np.isfinite(p)) for p in trainer.net.named_params().values())
    net, info = load_checkpoint_info(ck)
    assert info["trainer"]["step"] == 2
    assert all(np.all(np.isfinite(p)) for p in net.named_params().values())


def test_atomic_checkpoint_survives_crash_mid_save(data, tmp_path, monkeypatch):
    ck = tmp_path / "ck.npz"
    trainer = Trainer.from_config(TINY, checkpoint=ck, progress=False, data=data)
    trainer.fit(2)
    before = load_checkpoint_info(ck)[0].named_params()
    trainer.train_step(*trainer.sampler.sample())   # weights move on; now crash while saving

    real_savez = np.savez

    def crashing_savez(fh, **arrays):
        real_savez(fh, **dict(list(arrays.items())[:3]))   # part of the file is written ...
        raise OSError("disk full (simulated)")             # ... then the process dies

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="simulated"):
        trainer.save_checkpoint()
    monkeypatch.undo()
    net, info = load_checkpoint_info(ck)            # the old checkpoint is intact
    assert info["trainer"]["step"] == 2
    for k, v in net.named_params().items():
        np.testing.assert_array_equal(v, before[k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]   # no temp file left


def test_resume_rejects_weights_only_file(data, tmp_path):
    path = edsr(2, 1, 4).save(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="without training state"):
        Trainer.resume(path, progress=False, data=data)
    with pytest.raises(FileNotFoundError):
        Trainer.resume(tmp_path / "missing.npz", progress=False, data=data)


def test_export_is_a_plain_network_with_config(data, tmp_path):
    trainer = Trainer.from_config(TINY, progress=False, data=data)
    trainer.fit(1)
    path = trainer.export(tmp_path / "model.npz")
    net = Network.load(path)
    assert net.n_params == trainer.net.n_params
    assert {layer.algorithm for layer in net.layers if hasattr(layer, "algorithm")} == {"auto"}
    assert trainer.net.layers[0].algorithm == "naive"          # the run keeps its setting
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["__config__"]))["filters"] == 4
        assert not any(k.startswith("optimizer:") for k in z.files)


def test_phantom_split_has_no_leak():
    # The leak the issue measured: 10-12 of 20 "test" slices of --data phantom were training
    # slices and the rest one slice away from one.  Now test slabs sit behind guard bands.
    from labkit.evaluation import GUARD, evaluation_slices, volume_split

    split = volume_split("phantom")
    train, val, test = split["train_z"], split["val_z"], split["test_z"]
    assert len(test) >= 10 and len(train) > 3 * len(test)
    assert np.min(np.abs(train[:, None] - test[None, :])) > GUARD
    assert not (set(val) & set(test)) and not (set(val) & set(train))
    vol = load_volume("phantom").data
    scored = evaluation_slices("phantom", n_slices=100)
    trained, _ = training_data("phantom", val_slices=0)
    for hr in scored:          # no scored slice is (a copy of) a training slice
        assert not any(np.array_equal(hr, t) for t in trained)
    np.testing.assert_array_equal(scored, np.moveaxis(vol[:, :, test], 2, 0))


def test_thin_volume_still_splits_with_a_guard(tmp_path):
    import nibabel as nib

    from labkit.evaluation import volume_split

    data = np.random.default_rng(0).random((16, 16, 12)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "thin.nii.gz"))
    split = volume_split(str(tmp_path / "thin.nii.gz"))
    assert len(split["test_z"]) >= 1 and len(split["train_z"]) >= 1
    assert np.min(np.abs(split["train_z"][:, None] - split["test_z"][None, :])) > 1
    nib.save(nib.Nifti1Image(data[:, :, :3], np.eye(4)), str(tmp_path / "thinner.nii.gz"))
    with pytest.raises(ValueError, match="too few for a train/test split"):
        volume_split(str(tmp_path / "thinner.nii.gz"))


def test_training_data_mni_and_volume():
    train, val = training_data("phantom", val_slices=3)
    assert train.ndim == 3 and val.shape[0] == 3 and train.dtype == np.float32
    assert train.shape[1:] == load_volume("phantom").data.shape[:2]


def test_nonfinite_weights_are_never_saved_as_good(data, tmp_path):
    # An update can overflow the weights from a finite loss (here: lr 1e39).  The checkpoint
    # written before stays the last good one; the bad weights are never written.
    ck = tmp_path / "ck.npz"
    trainer = Trainer.from_config({**TINY, "schedule": "constant"}, checkpoint=ck,
                                  progress=False, data=data)
    trainer.fit(2)
    good = ck.read_bytes()
    trainer.lr0 = 1e39
    with (pytest.raises(TrainingDiverged, match=r"NaN or inf by step 3.*step 2\) .* is kept"),
          np.errstate(all="ignore")):
        trainer.fit(4)
    assert ck.read_bytes() == good
    net, info = load_checkpoint_info(ck)
    assert info["trainer"]["step"] == 2
    assert not net.nonfinite_weights()


def test_resume_validates_stored_config_and_state(data, tmp_path):
    ck = tmp_path / "ck.npz"
    trainer = Trainer.from_config(TINY, checkpoint=ck, progress=False, data=data)
    trainer.fit(2)
    with np.load(ck, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    bad_config = {**arrays, "__config__": np.array(json.dumps({**TINY, "steps": -5}))}
    np.savez(tmp_path / "bad_config.npz", **bad_config)
    with pytest.raises(ValueError, match="make_config: steps must be an int >= 1"):
        Trainer.resume(tmp_path / "bad_config.npz", progress=False, data=data)
    # A sampler state asking for a 4 GB array (a dtype or shape in JSON) is refused unbuilt.
    for state, match in (({"x": {"__ndarray__": [1], "dtype": "V1000000000", "shape": [1]}},
                          "dtype 'V1000000000' is not one of"),
                         ({"x": {"__ndarray__": [], "dtype": "uint8", "shape": [10 ** 6, 4000]}},
                          "more than the")):
        bad = {**arrays, "__sampler__": np.array(json.dumps(state))}
        np.savez(tmp_path / "bad_sampler.npz", **bad)
        with pytest.raises(ValueError, match=match):
            load_checkpoint_info(tmp_path / "bad_sampler.npz")
    bad = {**arrays, "__trainer__": np.array(json.dumps({"step": "many"}))}
    np.savez(tmp_path / "bad_trainer.npz", **bad)
    with pytest.raises(ValueError, match="trainer step is 'many'"):
        load_checkpoint_info(tmp_path / "bad_trainer.npz")


# (rank, module prefix): a module may import only modules of its own rank or lower.
LAYERS_OF_THE_PACKAGE = [
    (0, "labkit._validate"), (0, "labkit.atomic"), (1, "labkit.ops"), (2, "labkit.layers"),
    (3, "labkit.network"), (3, "labkit.gradcheck"), (4, "labkit.models"), (4, "labkit.losses"),
    (4, "labkit.optimizers"), (4, "labkit.metrics"), (5, "labkit.data"), (6, "labkit.config"),
    (6, "labkit.checkpoint"), (6, "labkit.evaluation"), (7, "labkit.train"), (8, "labkit.sr"),
    (8, "labkit.bench"), (9, "labkit.cli"),
]


def _rank(module):
    for rank, prefix in LAYERS_OF_THE_PACKAGE:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return None


def test_imports_go_one_way():
    """No module imports upward (also lazily, inside functions): ops -> layers -> network ->
    models/losses/optimizers/metrics -> data -> config/checkpoint/evaluation -> train -> sr ->
    cli.  In particular sr and train no longer import each other in a cycle."""
    import ast
    from pathlib import Path

    import labkit

    root = Path(labkit.__file__).parent
    upward = []
    for path in sorted(root.rglob("*.py")):
        module = "labkit." + ".".join(path.relative_to(root).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        mine = _rank(module)
        if mine is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                theirs = _rank(name) if name.startswith("labkit") else None
                if theirs is not None and theirs > mine:
                    upward.append(f"{module} imports {name}")
    assert not upward, upward
