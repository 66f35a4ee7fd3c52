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
