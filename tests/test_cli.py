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
from labkit.evaluation import evaluation_slices
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
        # Scored on the phantom's test slabs (behind guard bands), all of them.
        n_test = len(evaluation_slices("phantom", n_slices=100))
        assert len(test["psnr_per_slice"]) == metrics["test"]["n_slices"] == n_test
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
    affine = np.diag([2.0, 2.0, 1.0, 1.0])      # coarse in plane: what in-plane SR is for
    nib.save(nib.Nifti1Image(vol, affine), str(tmp_path / "in.nii.gz"))
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    assert main(["upscale", str(tmp_path / "in.nii.gz"), "-o", str(tmp_path / "out.nii.gz"),
                 "--checkpoint", str(ck), "--json"]) == 0
    payload = last_json(capsys.readouterr().out)
    assert payload["output_shape"] == [64, 80, 2]
    assert payload["output_voxel_size"] == pytest.approx([1.0, 1.0, 1.0])
    assert nib.load(str(tmp_path / "out.nii.gz")).shape == (64, 80, 2)


@pytest.mark.parametrize("argv,match", [
    (["train", "--model", "srgan", "--out", "x"], "'srgan'"),
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


TINY_TRAIN = ["train", "--blocks", "1", "--filters", "4", "--steps", "1", "--batch", "1",
              "--patch", "8", "--no-eval", "--val-slices", "0", "--algorithm", "im2col"]


@pytest.fixture()
def scan(tmp_path):
    vol = load_volume("phantom").data[40:64, 50:74, 70:82]
    path = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(path))
    return path


def one_error_line(capsys, json_mode=False):
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    if json_mode:
        assert set(last_json(captured.out)) >= {"error"}
    return err[0]


def test_second_train_on_the_same_out_is_refused(tmp_path, scan, capsys):
    import os

    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(str(os.getpid()))          # a live run holds the directory
    assert main(TINY_TRAIN + ["--data", str(scan), "--out", str(run), "--json"]) == 2
    line = one_error_line(capsys, json_mode=True)
    assert line.startswith("labkit train: error:") and "in use by another run" in line
    assert not (run / "checkpoint.npz").exists()


def test_stale_lock_is_taken_over_and_orphans_removed(tmp_path, scan, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("4194000")                 # no such process
    (run / ".checkpoint.npz.a1b2c3d4.tmp").write_bytes(b"half a checkpoint")
    assert main(TINY_TRAIN + ["--data", str(scan), "--out", str(run), "--json"]) == 0
    err = capsys.readouterr().err
    assert "stale lock of process 4194000" in err and ".checkpoint.npz.a1b2c3d4.tmp" in err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz", "metrics.json",
                                                      "model.npz"]    # lock released too


def test_diverging_run_exits_2_and_keeps_no_bad_checkpoint(tmp_path, scan, capsys):
    run = tmp_path / "run"
    assert main(TINY_TRAIN + ["--data", str(scan), "--out", str(run), "--steps", "3", "--lr",
                              "1e39", "--schedule", "constant", "--checkpoint-every", "1"]) == 2
    assert "NaN or inf" in one_error_line(capsys)
    assert not (run / "checkpoint.npz").exists() and not (run / ".lock").exists()


@pytest.mark.parametrize("argv", [
    ["train", "--out", "x", "--schedule", "step", "--gamma", "-1"],
    ["train", "--out", "x", "--steps", "0"],
    ["train", "--out", "x", "--seed", "-1"],
    ["bench", "--batch", "0", "--repeats", "0"],
    ["evaluate", "missing.npz"],
    [],
])
def test_bad_options_fail_with_json_error(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--json"]) == 2
    assert one_error_line(capsys, json_mode=True).startswith("labkit")
    assert not (tmp_path / "x").exists()                  # a bad option creates nothing


def _upscale(scan, out, ck):
    return ["upscale", str(scan), "-o", str(out), "--checkpoint", str(ck)]


def test_upscale_refuses_to_overwrite_its_input(tmp_path, scan, capsys):
    import os

    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    before = scan.read_bytes()
    os.symlink(scan, tmp_path / "link.nii.gz")
    (tmp_path / "sub").mkdir()
    for out in (scan, tmp_path / "link.nii.gz", tmp_path / "sub" / ".." / "scan.nii.gz"):
        assert main(_upscale(scan, out, ck)) == 2
        assert "is the input file" in one_error_line(capsys)
    assert scan.read_bytes() == before


def test_upscale_writes_atomically(tmp_path, scan, monkeypatch):
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    out = tmp_path / "out.nii.gz"
    out.write_bytes(b"previous output")
    seen = []
    real_save = nib.save

    def crashing_save(img, name):
        seen.append(name)
        real_save(img, name)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(nib, "save", crashing_save)
    assert main(_upscale(scan, out, ck)) == 2
    # The temporary sat next to the output and kept its .nii.gz ending (nibabel's format
    # choice); after the crash the old output is intact and no temporary is left.
    assert seen[0].endswith(".tmp.nii.gz") and seen[0].startswith(str(tmp_path / ".out.nii.gz."))
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz", "out.nii.gz", "scan.nii.gz"]
    monkeypatch.setattr(nib, "save", real_save)
    assert main(_upscale(scan, out, ck)) == 0
    assert nib.load(str(out)).shape == (48, 48, 12)


def test_upscale_refuses_nonfinite_checkpoint(tmp_path, scan, capsys):
    path = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["3.b"] = np.full_like(arrays["3.b"], np.nan)
    np.savez(path, **arrays)
    assert main(_upscale(scan, tmp_path / "out.nii.gz", path)) == 2
    assert "'3.b'" in one_error_line(capsys) and not (tmp_path / "out.nii.gz").exists()


def _thick_scan(tmp_path, name="thick.nii.gz"):
    """A 1 x 1 x 4 mm phantom: each thick slice the mean of 4 thin ones."""
    thin = load_volume("phantom").data[::4, ::4, ::2][:, :, :24]
    thick = thin.reshape(*thin.shape[:2], 6, 4).mean(-1) * 800.0     # scanner-like units
    path = tmp_path / name
    nib.save(nib.Nifti1Image(thick.astype(np.float32), np.diag([1.0, 1.0, 4.0, 1.0])), str(path))
    return path, thick


def test_upscale_refuses_anisotropic_scan_unless_forced(tmp_path, capsys):
    src, _ = _thick_scan(tmp_path)
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    argv = ["upscale", str(src), "-o", str(tmp_path / "up.nii.gz"), "--checkpoint", str(ck)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 x 1 x 4 mm" in err[0] and "labkit selfsr" in err[0]
    # Slices along axis 0 of the same scan: non-square 1 x 4 mm pixels, refused too.
    assert main([*argv, "--axis", "0"]) == 2
    assert "non-square" in capsys.readouterr().err
    assert not (tmp_path / "up.nii.gz").exists()
    assert main(argv + ["--force", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["output_voxel_size"] == pytest.approx([0.5, 0.5, 4])


def test_selfsr_json_payload_and_grid(tmp_path, capsys):
    src, thick = _thick_scan(tmp_path)
    out = tmp_path / "thin.nii.gz"
    assert main(["selfsr", str(src), "-o", str(out), "--steps", "2", "--json"]) == 0
    payload = last_json(capsys.readouterr().out)
    for key in ("axis", "factor", "input_voxel_size", "output_voxel_size", "output_shape",
                "steps", "seconds"):
        assert key in payload, key
    assert (payload["axis"], payload["factor"], payload["steps"]) == (2, 4, 2)
    assert payload["output_voxel_size"] == pytest.approx([1, 1, 1])
    img = nib.load(str(out))
    assert img.shape == (*thick.shape[:2], 24) and payload["output_shape"] == list(img.shape)
    # Same field of view: the outer edge of the first voxel stays where it was.
    edge_in = np.diag([1.0, 1.0, 4.0, 1.0]) @ [0, 0, -0.5, 1]
    np.testing.assert_allclose(img.affine @ [0, 0, -0.5, 1], edge_in, atol=1e-9)
    # Intensities in the input's units (about 800 x the phantom), not normalised.
    data = np.asarray(img.dataobj)
    assert 0.5 * thick.max() < data.max() < 2 * thick.max()
    assert nib.load(str(src)).shape == thick.shape          # the input is untouched


def test_export_writes_onnx(tmp_path, capsys):
    pytest.importorskip("torch", reason="pip install torch==2.13.0")
    pytest.importorskip("onnx", reason="pip install onnx onnxruntime (the export extra)")
    pytest.importorskip("onnxruntime", reason="pip install onnxruntime (the export extra)")
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    assert main(["export", str(ck), str(tmp_path / "net.onnx"), "--json"]) == 0
    payload = last_json(capsys.readouterr().out)
    assert payload["opset"] >= 17 and payload["verified"] and payload["max_abs_error"] < 1e-4
