"""The MNI-SR split (contract) and its bicubic baseline."""

import numpy as np
import pytest

from labkit.data import (
    EXCLUDED_Z,
    bicubic_baseline,
    crop_to_multiple,
    degrade,
    load_volume,
    lr_hr_pairs,
    mni_sr_split,
    split_volume,
)
from labkit.metrics import psnr, ssim
from labkit.ops.resize import imresize


@pytest.fixture(scope="module")
def split():
    return mni_sr_split()


def test_slice_indices(split):
    test_z = split["test_z"].tolist()
    train_z = split["train_z"].tolist()
    assert test_z == list(range(60, 70)) + list(range(100, 110))
    assert len(train_z) == 98
    assert train_z == sorted(train_z) and min(train_z) == 20 and max(train_z) == 149
    forbidden = set(range(57, 73)) | set(range(97, 113))
    assert set(EXCLUDED_Z) == forbidden
    assert not forbidden & set(train_z)
    assert set(test_z) <= forbidden
    # "every other z in 20-149": all the remaining slices of that range.
    assert set(train_z) == set(range(20, 150)) - forbidden


def test_shapes_and_values(split):
    assert set(split) == {"train", "test", "train_z", "test_z"}
    assert split["train"].shape == (98, 196, 232) and split["train"].dtype == np.float32
    assert split["test"].shape == (20, 196, 232) and split["test"].dtype == np.float32
    vol = load_volume("mni152").data
    for name, zs in (("train", split["train_z"]), ("test", split["test_z"])):
        for i in (0, len(zs) // 2, len(zs) - 1):
            np.testing.assert_array_equal(split[name][i], vol[:196, :232, zs[i]])


def test_split_returns_copies():
    first = mni_sr_split()
    first["train"][:] = -1
    first["test_z"][:] = 0
    again = mni_sr_split()
    assert again["train"].min() >= 0 and again["test_z"][0] == 60


def test_lr_hr_pairs_crop_for_scale_three(split):
    lr, hr = lr_hr_pairs(split["test"][:2], 3)
    assert hr.shape == (2, 195, 231) and lr.shape == (2, 65, 77)
    np.testing.assert_array_equal(lr, degrade(crop_to_multiple(split["test"][:2], 3), 3))


def test_baseline_x2_bicubic(split):
    result = bicubic_baseline(2, split=split)
    assert result["psnr_per_slice"].shape == (20,) and result["ssim_per_slice"].shape == (20,)
    assert result["psnr"] == pytest.approx(result["psnr_per_slice"].mean())
    # Regression values of the benchmark (see data/README.md).
    assert result["psnr"] == pytest.approx(33.41, abs=0.01)
    assert result["ssim"] == pytest.approx(0.9755, abs=1e-4)


def test_baseline_x3_is_scored_on_cropped_images(split):
    result = bicubic_baseline(3, "kspace", split=split)
    hr = split["test"][:, :195, :231]
    sr = imresize(degrade(hr, 3, "kspace"), 3)
    assert result["psnr_per_slice"][0] == pytest.approx(psnr(sr[0], hr[0], crop=3))
    assert result["ssim_per_slice"][-1] == pytest.approx(ssim(sr[-1], hr[-1], crop=3))
    assert 25 < result["psnr"] < 40 and 0.8 < result["ssim"] < 1


def test_baseline_bad_degradation():
    with pytest.raises(ValueError, match="bicubic_baseline"):
        bicubic_baseline(2, "lanczos")


# ----------------------------------------------------------------------------- split_volume

def _min_distance(train_z, test_z) -> int:
    return int(np.min(np.abs(np.asarray(train_z)[:, None] - np.asarray(test_z)[None, :])))


@pytest.mark.parametrize("n,axis,fraction,guard,seed", [
    (130, 2, 0.2, 3, 0), (130, 2, 0.2, 3, 7), (64, 0, 0.25, 2, 1), (41, 1, 0.1, 0, 3),
    (200, 2, 0.3, 5, 11),
])
def test_split_volume_has_no_leak(n, axis, fraction, guard, seed):
    shape = [6, 7, 8]
    shape[axis] = n
    vol = np.random.default_rng(0).random(shape).astype(np.float32)
    split = split_volume(vol, axis=axis, test_fraction=fraction, guard=guard, seed=seed)
    assert set(split) == set(mni_sr_split().keys())
    train_z, test_z = split["train_z"], split["test_z"]
    assert not set(train_z) & set(test_z)
    # The leak the issue measured: no training slice within `guard` of a test slice.
    assert _min_distance(train_z, test_z) > guard
    assert abs(len(test_z) - fraction * n) <= 2
    moved = np.moveaxis(vol, axis, 0)
    np.testing.assert_array_equal(split["test"], moved[test_z])
    np.testing.assert_array_equal(split["train"], moved[train_z])
    assert split["train"].shape[1:] == moved.shape[1:]


def test_split_volume_is_seeded():
    vol = np.zeros((4, 4, 100), np.float32)
    a, b = split_volume(vol, seed=0), split_volume(vol, seed=0)
    np.testing.assert_array_equal(a["test_z"], b["test_z"])
    others = [split_volume(vol, seed=s)["test_z"] for s in range(1, 6)]
    assert any(not np.array_equal(o, a["test_z"]) for o in others)


def test_split_volume_old_leak_would_fail():
    # Every other slice as test (the pattern that leaked) has test slices 1 away from training.
    assert _min_distance(np.arange(0, 40, 2), np.arange(1, 40, 2)) == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"volume": np.zeros((4, 4))}, "3-D"),
    ({"axis": 3}, "axis"), ({"axis": True}, "axis"),
    ({"test_fraction": 0.0}, "test_fraction"), ({"test_fraction": 1.0}, "test_fraction"),
    ({"test_fraction": float("nan")}, "test_fraction"),
    ({"guard": -1}, "guard"), ({"seed": -1}, "seed"), ({"n_slabs": 0}, "n_slabs"),
    ({"volume": np.zeros((4, 4, 10))}, "cannot hold"),
    ({"volume": np.full((4, 4, 50), np.nan)}, "NaN"),
])
def test_split_volume_bad_input(kwargs, match):
    args = {"volume": np.zeros((4, 4, 100), np.float32), **kwargs}
    with pytest.raises(ValueError, match="split_volume") as err:
        split_volume(**args)
    assert match.lower() in str(err.value).lower()
