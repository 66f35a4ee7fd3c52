"""Training on your own scans: folders split by file, the plane of finest resolution, robust
intensity scaling, brain-masked and noisy scoring."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from labkit.data import (
    load_volume,
    nifti_files,
    normalize_volume,
    pad_stack,
    slice_axis,
    split_files,
)
from labkit.evaluation import evaluate_network, evaluation_slices, training_data, volume_split
from labkit.models import edsr

CHECKPOINT_X2 = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "edsr-x2.npz"


def _save(path, data, zooms=(1.0, 1.0, 1.0)):
    img = nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.diag([*zooms, 1.0]))
    nib.save(img, str(path))
    return path


def _subject(seed, shape=(40, 44, 30)):
    """A noisy blob, maximum 1, whose corner voxel of every slice along axis 2 is the tag
    ``(seed + 1) / 10``, so that a slice tells which file it comes from."""
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    blob = np.exp(-(x ** 2 + y ** 2 + z ** 2) * 2.0) + 0.05 * rng.random(shape)
    blob /= blob.max()
    blob[0, 0, :] = (seed + 1) / 10
    return blob.astype(np.float32)


@pytest.fixture
def folder(tmp_path):
    for k in range(5):
        _save(tmp_path / f"sub-{k:02d}.nii.gz", _subject(k))
    (tmp_path / "notes.txt").write_text("not a scan")
    return tmp_path


def test_nifti_files_sorted_and_only_nifti(folder, tmp_path_factory):
    files = nifti_files(folder)
    assert [f.name for f in files] == [f"sub-{k:02d}.nii.gz" for k in range(5)]
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(ValueError, match="nifti_files: .* contains no .nii"):
        nifti_files(empty)
    with pytest.raises(ValueError, match="nifti_files: .* is not a directory"):
        nifti_files(files[0])


@pytest.mark.parametrize("n", [2, 3, 5, 10, 37])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_files_partitions_by_file(n, seed, tmp_path):
    files = [tmp_path / f"f{k}.nii" for k in range(n)]
    split = split_files(files, seed=seed)
    parts = [set(split[k]) for k in ("train", "val", "test")]
    assert set().union(*parts) == set(files)
    assert sum(len(p) for p in parts) == n                     # disjoint
    assert len(split["test"]) == min(max(1, round(0.2 * n)), n - 1)
    assert len(split["train"]) >= 1
    assert split == split_files(list(reversed(files)), seed=seed)  # order of the listing ignored


def test_split_files_refuses_one_file(tmp_path):
    with pytest.raises(ValueError, match="split_files: need at least 2 files"):
        split_files([tmp_path / "a.nii"])


@pytest.mark.parametrize("zooms, axis", [((1, 1, 1), 2), ((1, 1, 4), 2), ((4, 1, 1), 0),
                                         ((1, 5, 1), 1), ((1.0, 1.0, 1.0000001), 2),
                                         ((0.9, 0.9, 3.0), 2), ((3, 3, 1), 1)])
def test_slice_axis_is_across_the_finest_plane(zooms, axis):
    assert slice_axis(zooms) == axis


def test_volume_split_cuts_in_the_finest_plane(tmp_path):
    # A 4 x 1 x 1 mm scan (thick along axis 0): slices must be 1 x 1 mm planes, i.e. cut along
    # axis 0, whatever the axial axis is.
    data = _subject(0, shape=(30, 40, 44))
    path = _save(tmp_path / "thick.nii.gz", data, zooms=(4.0, 1.0, 1.0))
    split = volume_split(str(path))
    assert split["volume"].shape == (40, 44, 30)
    train, _ = training_data(str(path), val_slices=0)
    assert train.shape[1:] == (40, 44)
    vol = load_volume(str(path)).data
    np.testing.assert_array_equal(train[0], vol[split["train_z"][0]])


def test_folder_trains_and_tests_on_different_files(folder):
    split = split_files(nifti_files(folder))
    train, val = training_data(str(folder), val_slices=4)
    test = evaluation_slices(str(folder), n_slices=100)
    def owner(slices):                         # the tag voxel names the file
        return {int(round(float(s[0, 0]) * 10)) for s in slices}

    def owners(paths):
        return {int(p.name[4:6]) + 1 for p in paths}

    assert owner(train) == owners(split["train"])
    assert owner(test) == owners(split["test"])
    assert val is not None and owner(val) == owners(split["val"])
    for hr in test:            # no scored slice is a training slice
        assert not any(np.array_equal(hr, t) for t in train)


def test_folder_of_one_file_is_that_file(tmp_path):
    _save(tmp_path / "only.nii.gz", _subject(3))
    a = evaluation_slices(str(tmp_path))
    b = evaluation_slices(str(tmp_path / "only.nii.gz"))
    np.testing.assert_array_equal(a, b)


def test_pad_stack_pads_far_edges():
    out = pad_stack([np.ones((2, 3)), np.full((1, 4, 2), 2.0)])
    assert out.shape == (2, 4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :2], np.ones((2, 3)))
    np.testing.assert_array_equal(out[0, 2:], 0)
    np.testing.assert_array_equal(out[1, :, :2], 2.0)
    np.testing.assert_array_equal(out[1, :, 2], 0)
    with pytest.raises(ValueError, match="pad_stack"):
        pad_stack([])


def test_normalize_percentile_ignores_a_hot_voxel():
    vol = _subject(0)
    hot = vol.copy()
    hot[3, 3, 3] = 1000.0                       # one artefact voxel
    by_max = normalize_volume(hot, "max")
    robust = normalize_volume(hot, "percentile")
    # The hot voxel squashes the max-normalised brain towards 0; the percentile one is not moved.
    assert by_max[20, 22, 15] < 0.01
    keep = np.ones(vol.shape, bool)
    keep[3, 3, 3] = False
    np.testing.assert_allclose(robust[keep], normalize_volume(vol, "percentile")[keep],
                               rtol=1e-3)
    assert robust.max() == 1.0 and robust.min() >= 0
    assert np.mean(robust >= 1.0) < 0.01
    # Scale invariance: a scan in other units gives the same normalised volume.
    np.testing.assert_allclose(normalize_volume(vol * 37.0, "percentile"),
                               normalize_volume(vol, "percentile"), rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "mean"}, "normalize_volume: unknown method"),
    ({"percentile": 0}, "normalize_volume: percentile must be > 0"),
    ({"percentile": 101}, "normalize_volume: percentile must be <= 100"),
])
def test_normalize_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        normalize_volume(np.ones((4, 4, 4)), **kwargs)
    with pytest.raises(ValueError, match="normalize_volume: volume .* has no positive voxel"):
        normalize_volume(np.zeros((4, 4, 4)))


def test_training_data_percentile_normalisation(tmp_path):
    path = _save(tmp_path / "scan.nii.gz", _subject(2) * 1234.0)
    train, _ = training_data(str(path), val_slices=0, normalize="percentile")
    plain, _ = training_data(str(path), val_slices=0)
    split = volume_split(str(path), normalize="percentile")
    robust = normalize_volume(load_volume(str(path)).data, "percentile")
    np.testing.assert_allclose(train, np.moveaxis(robust[:, :, split["train_z"]], 2, 0))
    assert plain.max() <= 1.0 and train.mean() > plain.mean()   # q sits below the maximum


def test_evaluate_network_mask_and_noise():
    net = edsr(2, 1, 4, seed=0)
    hr = load_volume("phantom").data[:, :, 80:82].transpose(2, 0, 1)
    full = evaluate_network(net, hr, 2)
    brain = evaluate_network(net, hr, 2, mask="brain")
    noisy = evaluate_network(net, hr, 2, mask="brain", noise_snr=10, seed=0)
    again = evaluate_network(net, hr, 2, mask="brain", noise_snr=10, seed=0)
    assert full["mask"] is None and brain["mask"] == "brain" and noisy["noise_snr"] == 10
    # Background is easy: scoring only the brain lowers bicubic's PSNR.
    assert brain["bicubic"]["psnr"] < full["bicubic"]["psnr"]
    assert noisy["bicubic"]["psnr"] < brain["bicubic"]["psnr"] - 3
    assert noisy["bicubic"]["psnr"] == again["bicubic"]["psnr"]     # seeded
    with pytest.raises(ValueError, match="evaluate_network: unknown mask"):
        evaluate_network(net, hr, 2, mask="head")
    with pytest.raises(ValueError, match="evaluate_network: noise_snr must be > 0"):
        evaluate_network(net, hr, 2, noise_snr=0)


def test_cli_train_and_evaluate_on_a_folder(folder, tmp_path, capsys):
    from labkit.cli import main

    out = tmp_path / "run"
    code = main(["train", "--data", str(folder), "--normalize", "percentile", "--blocks", "1",
                 "--filters", "4", "--steps", "2", "--batch", "2", "--patch", "12",
                 "--degradation", "mix", "--noise-snr", "15", "30", "--intensity-scale", "0.5",
                 "1", "--val-every", "1", "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cfg = payload["config"]
    assert cfg["data"] == str(folder) and cfg["normalize"] == "percentile"
    assert cfg["noise_snr"] == [15.0, 30.0] and cfg["intensity_scale"] == [0.5, 1.0]
    assert set(payload["test"]) == {"bicubic", "kspace", "gaussian"}
    assert all(r["mask"] == "brain" for r in payload["test"].values())
    code = main(["evaluate", str(out / "model.npz"), "--data", str(folder), "--normalize",
                 "percentile", "--degradation", "gaussian", "--noise-snr", "20", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["mask"] == "brain" and result["noise_snr"] == 20.0
    assert result["degradation"] == "gaussian"


@pytest.mark.parametrize("argv, match", [
    (["--noise-snr", "20", "10"], "noise_snr must be .lo, hi. with lo <= hi"),
    (["--noise-snr", "0", "10"], "noise_snr must be > 0"),
    (["--intensity-scale", "-1", "1"], "intensity_scale must be > 0"),
    (["--noise-fraction", "1.5"], "noise_fraction must be <= 1"),
    (["--normalize", "zscore"], "unknown normalize"),
    (["--degradation", "blur"], "unknown degradation"),
])
def test_cli_train_rejects_bad_blind_settings(argv, match, tmp_path, capsys):
    from labkit.cli import main

    out = tmp_path / "never"
    code = main(["train", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2 and "labkit train" in err
    assert len(err.strip().splitlines()) == 1
    import re
    assert re.search(match, err), err
    assert not out.exists()                    # a bad option creates nothing


@pytest.mark.parametrize("argv, match", [
    (["--mask", "head"], "unknown mask"),
    (["--noise-snr", "-3"], "noise_snr must be > 0"),
    (["--normalize", "zscore"], "unknown normalize"),
])
def test_cli_evaluate_rejects_bad_options(argv, match, capsys):
    from labkit.cli import main

    code = main(["evaluate", str(CHECKPOINT_X2), "--data", "phantom", *argv])
    err = capsys.readouterr().err
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_generalization_matrix_cells():
    from labkit.evaluation import GENERALIZATION_CELLS, generalization_matrix

    assert len(GENERALIZATION_CELLS) == 6
    net = edsr(2, 1, 4, seed=0)
    cells = [("phantom", "bicubic", None), ("phantom", "gaussian", 20.0)]
    rows = generalization_matrix(net, cells, n_slices=2)
    assert [(r["data"], r["degradation"], r["noise_snr"]) for r in rows] == cells
    for r, (data, method, snr) in zip(rows, cells):
        hr = evaluation_slices(data, 2)
        ref = evaluate_network(net, hr, 2, method, mask="brain", noise_snr=snr)
        assert r["gain_db"] == pytest.approx(ref["model"]["psnr"] - ref["bicubic"]["psnr"])
        assert r["mask"] == "brain" and r["n_slices"] == 2


def test_cli_matrix_refuses_options_it_ignores(capsys):
    from labkit.cli import main

    code = main(["evaluate", str(CHECKPOINT_X2), "--matrix", "--data", "phantom"])
    err = capsys.readouterr().err
    assert code == 2 and "--matrix scores its own fixed cells; drop --data" in err
