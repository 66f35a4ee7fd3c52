"""Bad-input cases for the ``labkit`` command (see harness.py).  Owned by the CLI work.

Every failing case exists twice, without and with ``--json`` (the harness then also wants a
``{"error": ...}`` object as the last stdout line).  Files are tiny and written in ``setup``:
a 24x24x12 NIfTI scan and an ``edsr(2, 1, 4)`` network, so the whole sweep takes seconds.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile

import numpy as np

from .harness import CliCase

# ----------------------------------------------------------------------------- files


def _scan(tmp, name="scan.nii.gz", shape=(24, 24, 12), affine=None):
    import nibabel as nib

    rng = np.random.default_rng(0)
    data = (rng.random(shape, dtype=np.float32) * 0.5 + 0.25).astype(np.float32)
    path = tmp / name
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def _net_file(tmp, name="net.npz", nan=False):
    from labkit.models import edsr

    path = edsr(2, 1, 4, seed=0).save(tmp / name)
    if nan:
        # Network.save refuses non-finite weights, so write the diverged file by hand.
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["0.w"] = np.full_like(arrays["0.w"], np.nan)
        np.savez(path, **arrays)
    return path


def _arrays(tmp):
    """The arrays of a valid network file (to build corrupt variants from)."""
    with np.load(_net_file(tmp, "base.npz"), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def _corrupt_arch(tmp, mutate, name="bad.npz"):
    arrays = _arrays(tmp)
    arch = json.loads(str(arrays["__labkit__"]))
    mutate(arch)
    arrays["__labkit__"] = np.array(json.dumps(arch))
    return _write_npz(tmp / name, arrays)


def _no_layers(arch):
    del arch["layers"]


def _huge_filters(arch):
    arch["layers"][0]["config"].update(out_channels=100000, kernel_size=[99, 99])


def _unknown_layer(arch):
    arch["layers"][0]["type"] = "Nonsense"


def _bad_layer_config(arch):
    arch["layers"][0]["config"]["bogus"] = 1


def _layers_not_list(arch):
    arch["layers"] = 7


def _bad_crc(tmp):
    path = _net_file(tmp, "crc.npz")
    raw = bytearray(path.read_bytes())
    # Flip bytes inside the first stored member's data (after its local header): CRC mismatch.
    raw[200:208] = bytes(b ^ 0xFF for b in raw[200:208])
    path.write_bytes(bytes(raw))
    return path


def _truncated_npz(tmp):
    path = _net_file(tmp, "trunc.npz")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _pickled(tmp):
    path = tmp / "pickled.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def _pickled_member(tmp):
    arrays = _arrays(tmp)
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    path = tmp / "pickled_member.npz"
    _write_npz(path, arrays)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("__config__.npy", buf.getvalue())
    return path


def _zip_bomb(tmp, member="__junk__"):
    # 96 MiB of zeros compress to ~100 kB: far more than an edsr(2, 1, 4) file can need.
    arrays = _arrays(tmp)
    path = tmp / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in arrays.items():
            if k == member:
                continue
            buf = io.BytesIO()
            np.save(buf, v)
            z.writestr(k + ".npy", buf.getvalue())
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf, {"descr": "<f4", "fortran_order": False, "shape": (24 * 2 ** 20,)})
        header = buf.getvalue()
        with z.open(member + ".npy", "w", force_zip64=True) as fh:
            fh.write(header)
            chunk = bytes(2 ** 20)
            for _ in range(96):
                fh.write(chunk)
    return path


def _declared_huge(tmp):
    # A weight whose .npy header declares 10^10 floats (the data is a few bytes).
    arrays = _arrays(tmp)
    path = tmp / "declared.npz"
    with zipfile.ZipFile(path, "w") as z:
        for k, v in arrays.items():
            buf = io.BytesIO()
            if k == "0.w":
                np.lib.format.write_array_header_1_0(
                    buf, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 10,)})
                buf.write(b"\0" * 64)
            else:
                np.save(buf, v)
            z.writestr(k + ".npy", buf.getvalue())
    return path


def _no_labkit_entry(tmp):
    return _write_npz(tmp / "plain.npz", {"a": np.zeros(3)})


def _wrong_shape(tmp):
    arrays = _arrays(tmp)
    arrays["0.w"] = np.zeros((1, 1, 1, 1), np.float32)
    return _write_npz(tmp / "shape.npz", arrays)


def _missing_weight(tmp):
    arrays = _arrays(tmp)
    del arrays["0.w"]
    return _write_npz(tmp / "missing_w.npz", arrays)


def _bad_json(tmp):
    arrays = _arrays(tmp)
    arrays["__labkit__"] = np.array("{not json")
    return _write_npz(tmp / "badjson.npz", arrays)


def _random_bytes(tmp, name="junk.npz"):
    path = tmp / name
    path.write_bytes(np.random.default_rng(1).bytes(3000))
    return path


def _empty(tmp, name="empty.npz"):
    path = tmp / name
    path.write_bytes(b"")
    return path


def _checkpoint_with(tmp, **extra):
    """A network file with extra JSON entries (as a training checkpoint stores them)."""
    arrays = _arrays(tmp)
    for k, v in extra.items():
        arrays[k] = np.array(v if isinstance(v, str) else json.dumps(v))
    return _write_npz(tmp / "ck.npz", arrays)


def _huge_header_nii(tmp, name="huge.nii"):
    # A valid 348-byte header declaring 2000 x 2000 x 480 float32 (7.7 GB), and no data.
    import nibabel as nib

    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4))
    hdr = img.header
    hdr.set_data_shape((2000, 2000, 480))
    hdr["vox_offset"] = 352
    path = tmp / name
    path.write_bytes(hdr.binaryblock + b"\0" * 4 + b"\0" * 1000)
    return path


def _affine_nii(tmp, value, name="aff.nii.gz"):
    import nibabel as nib

    data = np.random.default_rng(0).random((24, 24, 12)).astype(np.float32) + 0.1
    img = nib.Nifti1Image(data, np.eye(4))
    img.header["sform_code"] = 1
    img.header["qform_code"] = 0
    for row in ("srow_x", "srow_y", "srow_z"):
        img.header[row] = value
    path = tmp / name
    # Write the header as is: nibabel would otherwise recompute it from the affine.
    raw = io.BytesIO()
    raw.write(img.header.binaryblock + b"\0" * 4)
    raw.write(data.tobytes(order="F"))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def _truncated_nii(tmp, name="trunc.nii.gz"):
    path = _scan(tmp, name)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _nan_nii(tmp, name="nan.nii.gz"):
    import nibabel as nib

    data = np.ones((24, 24, 12), np.float32)
    data[3, 3, 3] = np.nan
    path = tmp / name
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    return path


def _two_d_nii(tmp, name="flat.nii.gz"):
    import nibabel as nib

    path = tmp / name
    nib.save(nib.Nifti1Image(np.random.default_rng(0).random((24, 24)).astype(np.float32),
                             np.eye(4)), str(path))
    return path


def _not_gz(tmp, name="notgz.nii.gz"):
    path = tmp / name
    path.write_bytes(b"this is not gzip data at all" * 10)
    return path


def _dir(tmp, name="adir.nii.gz"):
    path = tmp / name
    path.mkdir()
    return path


# ----------------------------------------------------------------------------- checks

def _json_last(out):
    return json.loads(out.strip().splitlines()[-1])


def _check_evaluate(out, tmp):
    obj = _json_last(out)
    return obj["command"] == "evaluate" and np.isfinite(obj["model"]["psnr"])


def _check_upscale(out, tmp):
    import nibabel as nib

    obj = _json_last(out)
    img = nib.load(str(tmp / "out.nii.gz"))
    data = np.asarray(img.dataobj)
    return (obj["output_shape"] == [48, 48, 12] and data.shape == (48, 48, 12)
            and np.all(np.isfinite(data)) and not list(tmp.glob("*.tmp"))
            and not list(tmp.glob(".*.tmp")))


def _check_upscale_plain(out, tmp):
    return "wrote" in out and (tmp / "out.nii.gz").exists()


def _check_train(out, tmp):
    obj = _json_last(out)
    run = tmp / "run"
    return (obj["command"] == "train" and obj["step"] == 1 and (run / "checkpoint.npz").exists()
            and (run / "model.npz").exists() and not (run / ".lock").exists()
            and not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp")))


def _check_bench(out, tmp):
    obj = _json_last(out)
    return len(obj["rows"]) > 0 and obj["config"]["batch"] == 1


# ----------------------------------------------------------------------------- argv builders

TRAIN = ["train", "--steps", "1", "--batch", "1", "--patch", "8", "--blocks", "1",
         "--filters", "4", "--no-eval", "--val-slices", "0", "--algorithm", "im2col"]


def _train(*extra, data=True):
    def setup(tmp):
        argv = list(TRAIN)
        if data:
            argv += ["--data", _scan(tmp, "train.nii.gz")]
        return argv + ["--out", tmp / "run", *extra]
    return setup


def _train_raw(*argv):
    return lambda tmp: list(argv)


def _evaluate_file(make):
    return lambda tmp: ["evaluate", make(tmp), "--data", _scan(tmp)]


def _evaluate(*extra):
    return lambda tmp: ["evaluate", _net_file(tmp), "--data", _scan(tmp), *extra]


def _evaluate_data(make):
    return lambda tmp: ["evaluate", _net_file(tmp), "--data", make(tmp)]


def _upscale(*extra, inp=None, out="out.nii.gz", ck=None):
    def setup(tmp):
        src = _scan(tmp) if inp is None else inp(tmp)
        checkpoint = _net_file(tmp) if ck is None else ck(tmp)
        target = out(tmp) if callable(out) else tmp / out
        return ["upscale", src, "-o", target, "--checkpoint", checkpoint, *extra]
    return setup


BENCH = ["--quick", "--sizes", "8", "--channels", "2", "--batch", "1", "--repeats", "1",
         "--no-torch", "--algorithms", "im2col"]


def _bench(*extra):
    return lambda tmp: ["bench", *extra]


# ----------------------------------------------------------------------------- special setups

def _same_file(tmp):
    src = _scan(tmp)
    return ["upscale", src, "-o", src, "--checkpoint", _net_file(tmp)]


def _same_via_symlink(tmp):
    src = _scan(tmp)
    link = tmp / "link.nii.gz"
    os.symlink(src, link)
    return ["upscale", src, "-o", link, "--checkpoint", _net_file(tmp)]


def _same_via_relative(tmp):
    src = _scan(tmp)
    (tmp / "sub").mkdir()
    return ["upscale", src, "-o", tmp / "sub" / ".." / src.name, "--checkpoint", _net_file(tmp)]


def _same_via_hardlink(tmp):
    src = _scan(tmp)
    os.link(src, tmp / "hard.nii.gz")
    return ["upscale", src, "-o", tmp / "hard.nii.gz", "--checkpoint", _net_file(tmp)]


def _output_is_dir(tmp):
    return ["upscale", _scan(tmp), "-o", _dir(tmp, "outdir.nii.gz"), "--checkpoint", _net_file(tmp)]


def _locked(tmp):
    run = tmp / "run"
    run.mkdir()
    (run / ".lock").write_text(str(os.getpid()))
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run]


def _stale_lock(tmp):
    run = tmp / "run"
    run.mkdir()
    (run / ".lock").write_text("4194000")          # above any live pid on this machine
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run, "--json"]


def _orphan_tmp(tmp):
    run = tmp / "run"
    run.mkdir()
    (run / ".checkpoint.npz.abc12345.tmp").write_bytes(b"half a file")
    (run / ".metrics.json.xyz98765.tmp").write_text("{")
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run, "--json"]


def _existing_run(tmp):
    run = tmp / "run"
    run.mkdir()
    _net_file(run, "checkpoint.npz")
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run]


def _resume_corrupt(tmp):
    run = tmp / "run"
    run.mkdir()
    _random_bytes(run, "checkpoint.npz")
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run, "--resume"]


def _resume_bare_network(tmp):
    run = tmp / "run"
    run.mkdir()
    _net_file(run, "checkpoint.npz")
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", run, "--resume"]


def _resume_with(config=None, trainer=None, sampler=None):
    def setup(tmp):
        run = tmp / "run"
        run.mkdir()
        arrays = _arrays(tmp)
        cfg = {"blocks": 1, "filters": 4, "data": str(_scan(tmp, "train.nii.gz")), "steps": 2,
               "batch": 1, "patch": 8, "val_slices": 0}
        cfg.update(config or {})
        arrays["__config__"] = np.array(json.dumps(cfg))
        arrays["__trainer__"] = np.array(json.dumps(trainer if trainer is not None
                                                    else {"step": 0}))
        if sampler is not None:
            arrays["__sampler__"] = np.array(json.dumps(sampler))
        _write_npz(run / "checkpoint.npz", arrays)
        return ["train", "--out", run, "--resume", "--no-eval"]
    return setup


def _out_is_file(tmp):
    f = tmp / "afile"
    f.write_text("x")
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", f]


def _nan_lr_run(tmp):
    # lr 1e39 makes the weights inf after one update: must stop, never save them as good.
    return TRAIN + ["--data", _scan(tmp, "train.nii.gz"), "--out", tmp / "run", "--lr", "1e39",
                    "--schedule", "constant", "--checkpoint-every", "1", "--steps", "3"]


# ----------------------------------------------------------------------------- the cases

BAD_TRAIN_OPTIONS = [
    ("steps-0", ["--steps", "0"]), ("steps-neg", ["--steps", "-1"]),
    ("steps-text", ["--steps", "abc"]), ("steps-float", ["--steps", "1.5"]),
    ("steps-huge", ["--steps", str(10 ** 30)]),
    ("batch-0", ["--batch", "0"]), ("batch-neg", ["--batch", "-2"]),
    ("batch-bool", ["--batch", "true"]), ("batch-huge", ["--batch", str(10 ** 9)]),
    ("patch-0", ["--patch", "0"]), ("patch-odd", ["--patch", "7"]),
    ("patch-neg", ["--patch", "-8"]), ("patch-huge", ["--patch", "100000"]),
    ("lr-0", ["--lr", "0"]), ("lr-neg", ["--lr=-1e-3"]), ("lr-nan", ["--lr", "nan"]),
    ("lr-inf", ["--lr", "inf"]), ("lr-text", ["--lr", "fast"]),
    ("lr-min-neg", ["--lr-min", "-1"]), ("lr-min-nan", ["--lr-min", "nan"]),
    ("lr-min-above-lr", ["--lr-min", "1"]),
    ("gamma-neg", ["--schedule", "step", "--gamma", "-1"]),
    ("gamma-0", ["--schedule", "step", "--gamma", "0"]),
    ("gamma-nan", ["--schedule", "step", "--gamma", "nan"]),
    ("gamma-inf", ["--gamma", "inf"]),
    ("res-scale-nan", ["--res-scale", "nan"]), ("res-scale-inf", ["--res-scale", "inf"]),
    ("res-scale-0", ["--res-scale", "0"]),
    ("min-fg-neg", ["--min-foreground", "-0.1"]), ("min-fg-big", ["--min-foreground", "1.5"]),
    ("min-fg-nan", ["--min-foreground", "nan"]),
    ("seed-neg", ["--seed", "-1"]), ("seed-huge", ["--seed", str(2 ** 80)]),
    ("scale-1", ["--scale", "1"]), ("scale-5", ["--scale", "5"]), ("scale-0", ["--scale", "0"]),
    ("blocks-neg", ["--blocks", "-1"]), ("blocks-huge", ["--blocks", "100000"]),
    ("filters-0", ["--filters", "0"]), ("filters-huge", ["--filters", "100000"]),
    ("model-unknown", ["--model", "resnet"]), ("init-unknown", ["--init", "zeros"]),
    ("loss-unknown", ["--loss", "l3"]), ("schedule-unknown", ["--schedule", "linear"]),
    ("degradation-unknown", ["--degradation", "jpeg"]),
    ("algorithm-unknown", ["--algorithm", "fft"]),
    ("checkpoint-every-0", ["--checkpoint-every", "0"]), ("val-every-0", ["--val-every", "0"]),
    ("val-slices-neg", ["--val-slices", "-1"]), ("log-every-0", ["--log-every", "0"]),
    ("step-size-neg", ["--step-size", "-1"]),
    ("until-0", ["--until", "0"]), ("until-neg", ["--until", "-3"]),
    ("unknown-flag", ["--frobnicate"]), ("json-value", ["--json=yes"]),
    ("noise-snr-reversed", ["--noise-snr", "40", "10"]),
    ("noise-snr-zero", ["--noise-snr", "0", "10"]),
    ("noise-snr-one-value", ["--noise-snr", "10"]),
    ("noise-snr-nan", ["--noise-snr", "nan", "10"]),
    ("noise-snr-inf", ["--noise-snr", "10", "inf"]),
    ("noise-snr-text", ["--noise-snr", "low", "high"]),
    ("noise-fraction-big", ["--noise-fraction", "1.5"]),
    ("noise-fraction-neg", ["--noise-fraction", "-0.5"]),
    ("synthetic-big", ["--synthetic", "1.5"]), ("synthetic-neg", ["--synthetic", "-0.1"]),
    ("synthetic-text", ["--synthetic", "half"]),
    ("intensity-scale-zero", ["--intensity-scale", "0", "1"]),
    ("intensity-scale-reversed", ["--intensity-scale", "2", "0.5"]),
    ("normalize-unknown", ["--normalize", "zscore"]),
    ("degradation-mix-typo", ["--degradation", "mixed"]),
]

BAD_TRAIN_DATA = [
    ("data-missing", lambda tmp: tmp / "nope.nii.gz"),
    ("data-dir", lambda tmp: _dir(tmp)),
    ("data-corrupt", lambda tmp: _not_gz(tmp)),
    ("data-truncated", lambda tmp: _truncated_nii(tmp)),
    ("data-huge-header", lambda tmp: _huge_header_nii(tmp)),
    ("data-nan", lambda tmp: _nan_nii(tmp)),
    ("data-2d", lambda tmp: _two_d_nii(tmp)),
    ("data-unknown-name", lambda tmp: "brainz"),
    ("data-wrong-ext", lambda tmp: _random_bytes(tmp, "scan.txt")),
]

BAD_TRAIN_SETUPS = [
    ("locked", _locked), ("existing-run", _existing_run), ("resume-corrupt", _resume_corrupt),
    ("resume-bare-network", _resume_bare_network), ("out-is-file", _out_is_file),
    ("diverges", _nan_lr_run),
    ("resume-bad-config", _resume_with(config={"steps": -5})),
    ("resume-unknown-setting", _resume_with(config={"colour": "red"})),
    ("resume-bad-trainer", _resume_with(trainer={"step": "many"})),
    ("resume-trainer-not-dict", _resume_with(trainer=[1, 2])),
    ("resume-sampler-dtype", _resume_with(sampler={"rng": {"__ndarray__": [1], "dtype": "V1000000000",
                                                           "shape": [1]}})),
    ("resume-sampler-shape", _resume_with(sampler={"x": {"__ndarray__": [], "dtype": "float32",
                                                         "shape": [100000, 100000]}})),
    ("resume-sampler-garbage", _resume_with(sampler={"state": "nonsense"})),
    ("missing-out", _train_raw("train", "--steps", "1")),
]

BAD_NETWORK_FILES = [
    ("missing", lambda tmp: tmp / "nope.npz"), ("directory", lambda tmp: _dir(tmp, "d.npz")),
    ("random-bytes", _random_bytes), ("empty", _empty), ("bad-crc", _bad_crc),
    ("truncated", _truncated_npz), ("pickled", _pickled), ("pickled-member", _pickled_member),
    ("zip-bomb", _zip_bomb), ("zip-bomb-weight", lambda tmp: _zip_bomb(tmp, "0.w")),
    ("declared-huge", _declared_huge),
    ("no-labkit-entry", _no_labkit_entry), ("no-layers", lambda t: _corrupt_arch(t, _no_layers)),
    ("huge-filters", lambda t: _corrupt_arch(t, _huge_filters)),
    ("unknown-layer", lambda t: _corrupt_arch(t, _unknown_layer)),
    ("bad-layer-config", lambda t: _corrupt_arch(t, _bad_layer_config)),
    ("layers-not-list", lambda t: _corrupt_arch(t, _layers_not_list)),
    ("wrong-weight-shape", _wrong_shape), ("missing-weight", _missing_weight),
    ("bad-json", _bad_json), ("nan-weights", lambda tmp: _net_file(tmp, "nan.npz", nan=True)),
    ("bad-config-entry", lambda tmp: _checkpoint_with(tmp, __config__="{oops")),
]

BAD_EVALUATE_OPTIONS = [
    ("slices-0", ["--slices", "0"]), ("slices-neg", ["--slices", "-4"]),
    ("slices-text", ["--slices", "many"]), ("slices-huge", ["--slices", str(10 ** 12)]),
    ("degradation-unknown", ["--degradation", "jpeg"]), ("unknown-flag", ["--fast"]),
    ("data-unknown-name", ["--data", "brainz"]),
    ("degradation-mix", ["--degradation", "mix"]),      # a training mode, not a scoring one
    ("mask-unknown", ["--mask", "head"]), ("noise-snr-zero", ["--noise-snr", "0"]),
    ("noise-snr-nan", ["--noise-snr", "nan"]), ("noise-snr-text", ["--noise-snr", "low"]),
    ("normalize-unknown", ["--normalize", "zscore"]),
]

BAD_VOLUMES = [
    ("missing", lambda tmp: tmp / "nope.nii.gz"), ("directory", lambda tmp: _dir(tmp)),
    ("not-gzip", _not_gz), ("truncated", _truncated_nii), ("huge-header", _huge_header_nii),
    ("nan-affine", lambda tmp: _affine_nii(tmp, np.nan)),
    ("zero-affine", lambda tmp: _affine_nii(tmp, 0.0)),
    ("nan-voxels", _nan_nii), ("two-d", _two_d_nii),
    ("wrong-ext", lambda tmp: _random_bytes(tmp, "scan.img.txt")),
]

BAD_UPSCALE_OPTIONS = [
    ("batch-0", ["--batch", "0"]), ("batch-neg", ["--batch", "-1"]),
    ("batch-text", ["--batch", "four"]), ("axis-3", ["--axis", "3"]),
    ("axis-neg", ["--axis", "-1"]), ("axis-text", ["--axis", "z"]), ("unknown-flag", ["--fast"]),
]

BAD_BENCH = [
    ("batch-0-repeats-0", ["--batch", "0", "--repeats", "0"]), ("batch-0", ["--batch", "0"]),
    ("repeats-0", ["--repeats", "0"]), ("batch-neg", ["--batch", "-1"]),
    ("sizes-0", ["--sizes", "0"]), ("sizes-neg", ["--sizes", "-8"]),
    ("channels-0", ["--channels", "0"]), ("sizes-huge", ["--sizes", "100000"]),
    ("batch-huge", ["--batch", str(10 ** 9)]), ("channels-huge", ["--channels", "1000000"]),
    ("algorithm-unknown", ["--algorithms", "fft"]), ("dtype-unknown", ["--dtype", "float16"]),
    ("batch-text", ["--batch", "abc"]), ("unknown-flag", ["--fast"]),
    ("repeats-huge", ["--repeats", str(10 ** 12)]),
]


THICK = np.diag([1.0, 1.0, 4.0, 1.0])

BAD_SELFSR_OPTIONS = [
    ("factor-1", ["--factor", "1"]), ("factor-7", ["--factor", "7"]),
    ("factor-0", ["--factor", "0"]), ("factor-neg", ["--factor", "-2"]),
    ("factor-text", ["--factor", "four"]), ("axis-3", ["--axis", "3"]),
    ("axis-neg", ["--axis", "-1"]), ("steps-neg", ["--steps", "-1"]),
    ("steps-huge", ["--steps", str(10 ** 30)]), ("steps-text", ["--steps", "many"]),
    ("profile-unknown", ["--profile", "sinc"]), ("fwhm-nan", ["--fwhm", "nan"]),
    ("fwhm-neg", ["--fwhm", "-1"]), ("fwhm-inf", ["--fwhm", "inf"]),
    ("thickness-0", ["--thickness", "0"]), ("thickness-neg", ["--thickness", "-3"]),
    ("seed-neg", ["--seed", "-1"]), ("seed-huge", ["--seed", str(2 ** 80)]),
    ("unknown-flag", ["--fast"]),
]


def _selfsr(*extra, inp=None, out="thin.nii.gz"):
    def setup(tmp):
        src = _scan(tmp, "thick.nii.gz", shape=(24, 24, 6), affine=THICK) if inp is None \
            else inp(tmp)
        return ["selfsr", src, "-o", tmp / out, "--steps", "1", *extra]
    return setup


def _selfsr_same_file(tmp):
    src = _scan(tmp, "thick.nii.gz", shape=(24, 24, 6), affine=THICK)
    return ["selfsr", src, "-o", src, "--steps", "1"]


def _selfsr_isotropic(tmp):
    # No axis is thicker than the others and no --factor: nothing to infer.
    return ["selfsr", _scan(tmp), "-o", tmp / "thin.nii.gz", "--steps", "1"]


def _selfsr_resume_missing(tmp):
    return [*_selfsr()(tmp), "--run", tmp / "no-run", "--resume"]


def _selfsr_run_is_file(tmp):
    f = tmp / "afile"
    f.write_text("x")
    return [*_selfsr()(tmp), "--run", f]


def _check_selfsr(out, tmp):
    import nibabel as nib

    obj = _json_last(out)
    img = nib.load(str(tmp / "thin.nii.gz"))
    return (obj["command"] == "selfsr" and obj["axis"] == 2 and obj["factor"] == 4
            and obj["output_shape"] == [24, 24, 24] and img.shape == (24, 24, 24)
            and np.allclose(img.header.get_zooms()[:3], (1, 1, 1))
            and np.isfinite(np.asarray(img.dataobj)).all())


def _export(*extra, ck=None, out="net.onnx"):
    def setup(tmp):
        src = _net_file(tmp) if ck is None else ck(tmp)
        return ["export", src, tmp / out, *extra]
    return setup


def _export_same_file(tmp):
    src = _net_file(tmp)
    return ["export", src, src]


def _check_export(out, tmp):
    obj = _json_last(out)
    return (obj["command"] == "export" and (tmp / "net.onnx").stat().st_size > 0
            and obj["verified"] and obj["max_abs_error"] < 1e-4)


def _export_available() -> bool:
    import importlib.util
    return all(importlib.util.find_spec(m) for m in ("torch", "onnx", "onnxruntime"))


def _both(cid, setup):
    """The case without and with ``--json``."""
    def with_json(tmp):
        return [*setup(tmp), "--json"]
    return [CliCase(cid, setup), CliCase(cid + "+json", with_json)]


def cases() -> list:
    out = []
    # -- labkit with no / unknown command
    out += _both("labkit-no-command", lambda tmp: [])
    out += _both("labkit-unknown-command", lambda tmp: ["frobnicate"])
    out += _both("labkit-unknown-option", lambda tmp: ["--frobnicate"])
    # -- train
    for cid, extra in BAD_TRAIN_OPTIONS:
        out += _both(f"train-{cid}", _train(*extra))
    for cid, make in BAD_TRAIN_DATA:
        out += _both(f"train-{cid}",
                     lambda tmp, make=make: [*TRAIN, "--data", make(tmp), "--out", tmp / "run"])
    for cid, setup in BAD_TRAIN_SETUPS:
        out += _both(f"train-{cid}", setup)
    # -- evaluate
    for cid, make in BAD_NETWORK_FILES:
        out += _both(f"evaluate-{cid}", _evaluate_file(make))
    for cid, extra in BAD_EVALUATE_OPTIONS:
        out += _both(f"evaluate-{cid}", _evaluate(*extra))
    for cid, make in BAD_VOLUMES:
        out += _both(f"evaluate-data-{cid}", _evaluate_data(make))
    # -- upscale
    for cid, make in BAD_NETWORK_FILES:
        out += _both(f"upscale-checkpoint-{cid}", _upscale(ck=make))
    for cid, make in BAD_VOLUMES:
        out += _both(f"upscale-input-{cid}", _upscale(inp=make))
    for cid, extra in BAD_UPSCALE_OPTIONS:
        out += _both(f"upscale-{cid}", _upscale(*extra))
    for cid, setup in [("same-file", _same_file), ("same-via-symlink", _same_via_symlink),
                       ("same-via-relative", _same_via_relative),
                       ("same-via-hardlink", _same_via_hardlink),
                       ("output-is-dir", _output_is_dir)]:
        out += _both(f"upscale-{cid}", setup)
    out += _both("upscale-output-ext", _upscale(out="out.png"))
    out += _both("upscale-missing-checkpoint-option",
                 lambda tmp: ["upscale", _scan(tmp), "-o", tmp / "o.nii.gz"])
    out += _both("upscale-anisotropic", _upscale(inp=lambda tmp: _scan(
        tmp, "thick.nii.gz", shape=(24, 24, 6), affine=THICK)))
    # -- selfsr
    for cid, make in BAD_VOLUMES:
        out += _both(f"selfsr-input-{cid}", _selfsr(inp=make))
    for cid, extra in BAD_SELFSR_OPTIONS:
        out += _both(f"selfsr-{cid}", _selfsr(*extra))
    for cid, setup in [("same-file", _selfsr_same_file), ("isotropic", _selfsr_isotropic),
                       ("run-is-file", _selfsr_run_is_file)]:
        out += _both(f"selfsr-{cid}", setup)
    out += _both("selfsr-output-ext", _selfsr(out="thin.png"))
    out += _both("selfsr-missing-output", lambda tmp: ["selfsr", _scan(tmp)])
    # -- export
    for cid, make in BAD_NETWORK_FILES:
        if cid != "bad-config-entry":       # a training config export does not read
            out += _both(f"export-checkpoint-{cid}", _export(ck=make))
    out += _both("export-output-ext", _export(out="net.onnx.txt"))
    out += _both("export-same-file", _export_same_file)
    out += _both("export-opset-5", _export("--opset", "5"))
    out += _both("export-opset-text", _export("--opset", "new"))
    out += _both("export-missing-output", lambda tmp: ["export", _net_file(tmp)])
    # -- bench
    for cid, extra in BAD_BENCH:
        out += _both(f"bench-{cid}", _bench(*BENCH, *extra))
    # -- valid calls that must succeed
    out += [
        CliCase("ok-evaluate", _evaluate("--json"), check=_check_evaluate),
        CliCase("ok-evaluate-slices-3", _evaluate("--slices", "3", "--json"),
                check=_check_evaluate),
        CliCase("ok-evaluate-brain-noisy", _evaluate("--mask", "brain", "--noise-snr", "20",
                                                     "--normalize", "percentile", "--json"),
                check=_check_evaluate),
        CliCase("ok-train-mix", _train("--degradation", "mix", "--noise-snr", "10", "30",
                                       "--intensity-scale", "0.5", "2", "--json"),
                check=_check_train),
        CliCase("ok-upscale", _upscale("--json"), check=_check_upscale),
        CliCase("ok-upscale-plain", _upscale(), check=_check_upscale_plain),
        CliCase("ok-upscale-batch-1", _upscale("--batch", "1", "--json"), check=_check_upscale),
        CliCase("ok-train", _train("--json"), check=_check_train),
        CliCase("ok-train-stale-lock", _stale_lock, check=_check_train),
        CliCase("ok-train-orphan-tmp", _orphan_tmp, check=_check_train),
        CliCase("ok-bench", _bench(*BENCH, "--json"), check=_check_bench),
        CliCase("ok-upscale-anisotropic-forced",
                _upscale("--force", inp=lambda tmp: _scan(tmp, "scan.nii.gz", shape=(24, 24, 12),
                                                          affine=THICK)),
                check=_check_upscale_plain),
        CliCase("ok-selfsr", _selfsr("--json"), check=_check_selfsr),
        # --resume with nothing to resume starts the run, as `labkit train --resume` does.
        CliCase("ok-selfsr-resume-nothing-yet", lambda tmp: [*_selfsr_resume_missing(tmp), "--json"],
                check=_check_selfsr),
    ]
    if _export_available():
        out.append(CliCase("ok-export", _export("--json"), check=_check_export))
    return out
