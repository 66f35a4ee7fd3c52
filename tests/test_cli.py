"""The ``labkit`` command: train / evaluate / upscale / bench, ``--json`` and error handling."""

import json
import subprocess
import sys
import types

import nibabel as nib
import numpy as np
import pytest

from labkit.cli import main
from labkit.data import load_volume
from labkit.models import edsr

TRAIN = ["train", "--model", "edsr", "--blocks", "1", "--filters", "4", "--scale", "2",
         "--data", "phantom", "--batch", "2", "--patch", "16", "--val-every", "2", "--val-slices", "1",
         "--checkpoint-every", "2", "--algorithm", "naive", "--seed", "0"]


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(TRAIN + ["--steps", "6", "--until", "2", "--out", str(out), "--json"]) == 0
    return out


def test_train_writes_checkpoint_model_and_metrics(run_dir, capsys):
    assert (run_dir / "checkpoint.npz").exists() and (run_dir / "model.npz").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["steps"] == 6 and metrics["config"]["filters"] == 4
    for name in ("model", "bicubic"):
        test = metrics["test"][name]
        assert len(test["psnr_per_slice"]) == metrics["test"]["n_slices"] == 20
        assert np.isfinite(test["psnr"]) and 0 < test["ssim"] <= 1
    assert metrics["wall_time"] > 0


def test_train_json_and_resume(run_dir, capsys):
    # Running again without --resume refuses to overwrite the run.
    assert main(TRAIN + ["--steps", "4", "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    # --resume continues from step 2 to the new total; other settings stay the stored ones.
    assert main(TRAIN + ["--steps", "4", "--batch", "3", "--out", str(run_dir), "--resume",
                         "--json", "--no-eval"]) == 0
    captured = capsys.readouterr()
    payload = last_json(captured.out)
    assert payload["command"] == "train" and payload["step"] == 4
    assert payload["config"]["batch"] == 2 and payload["config"]["steps"] == 4
    assert "resumed" in captured.err and "['batch']" in captured.err
    # Without --steps a resumed run keeps its stored length (here: already finished).
    assert main(["train", "--out", str(run_dir), "--resume", "--json", "--no-eval"]) == 0
    assert last_json(capsys.readouterr().out)["steps"] == 4


def test_evaluate_json(run_dir, capsys):
    assert main(["evaluate", str(run_dir / "model.npz"), "--data", "phantom", "--slices", "3",
                 "--json", "--per-slice"]) == 0
    out = capsys.readouterr().out
    payload = last_json(out)
    assert payload["command"] == "evaluate" and payload["scale"] == 2
    assert payload["n_slices"] == 3 and payload["degradation"] == "bicubic"
    assert set(payload["model"]) == {"psnr", "ssim", "psnr_per_slice", "ssim_per_slice"}
    assert "slice   0" in out


def test_upscale_json(tmp_path, capsys):
    vol = load_volume("phantom").data[40:72, 50:90, 78:80]
    affine = np.diag([1.2, 1.2, 3.0, 1.0])
    nib.save(nib.Nifti1Image(vol, affine), str(tmp_path / "in.nii.gz"))
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    assert main(["upscale", str(tmp_path / "in.nii.gz"), "-o", str(tmp_path / "out.nii.gz"),
                 "--checkpoint", str(ck), "--json"]) == 0
    payload = last_json(capsys.readouterr().out)
    assert payload["output_shape"] == [64, 80, 2]
    assert payload["output_voxel_size"] == pytest.approx([0.6, 0.6, 3.0])
    assert nib.load(str(tmp_path / "out.nii.gz")).shape == (64, 80, 2)


@pytest.mark.parametrize("argv,match", [
    (["train", "--model", "srgan", "--out", "x"], "model must be one of 'edsr', 'wdsr_a', 'wdsr_b'; got 'srgan'"),
    (["train", "--scale", "4", "--patch", "90", "--out", "x"], "not divisible by scale"),
    (["evaluate", "missing.npz"], "no such file"),
    (["train", "--steps", "many", "--out", "x"], "invalid int value"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_line_exit_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_rejects_non_labkit_file(tmp_path, capsys):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    assert main(["evaluate", str(tmp_path / "other.npz")]) == 2
    assert "not a labkit network" in capsys.readouterr().err


def test_bench_forwards_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("labkit.bench")
    fake.main_bench = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "labkit.bench", fake)
    assert main(["bench", "--json", "--quick"]) == 0
    assert seen == [["--json", "--quick"]]


def test_bench_bad_options_exit_2_with_json_error(capsys):
    # --batch 0 used to fall back to the default silently.
    assert main(["bench", "--quick", "--batch", "0", "--repeats", "0", "--json"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("labkit bench: error: ") and ">= 1" in err[0]
    assert "error" in last_json(captured.out)


def test_module_entry_point_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "evaluate",
                           str(tmp_path / "missing.npz")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr
