"""Volumes: the MNI152 template, the phantom, NIfTI files and bad input."""

import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pytest

from labkit.data import Volume, brain_phantom, list_samples, load_volume, mni152_path


# ----------------------------------------------------------------------------- mni152
def test_mni152_is_uint8_over_255():
    path = mni152_path()
    assert path.name == "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    img = nib.load(str(path))
    raw = np.asanyarray(img.dataobj)
    assert raw.dtype == np.uint8 and raw.max() == 255
    data, affine, voxel_size = load_volume("mni152")
    assert data.shape == (197, 233, 189) and data.dtype == np.float32
    np.testing.assert_array_equal(data, raw.astype(np.float32) / np.float32(255))
    assert data.max() == 1.0
    np.testing.assert_array_equal(affine, img.affine)
    assert voxel_size == (1.0, 1.0, 1.0)


def test_volume_is_a_named_triple():
    vol = load_volume("mni152")
    assert isinstance(vol, Volume) and len(vol) == 3
    assert vol._fields == ("data", "affine", "voxel_size")


def test_mni152_returns_fresh_copies():
    first = load_volume("mni152")
    first.data[:] = 0
    first.affine[:] = 0
    again = load_volume("mni152")
    assert again.data.max() == 1.0 and again.affine[3, 3] == 1.0
    assert again.data.flags.writeable


def test_loading_mni152_does_not_import_nilearn():
    code = ("import sys; from labkit.data import load_volume; load_volume('mni152'); "
            "assert 'nilearn' not in sys.modules, 'nilearn was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- phantom
SMALL = (48, 56, 40)


def test_phantom_is_deterministic_for_a_seed():
    a = load_volume("phantom", seed=3, shape=SMALL)
    b = load_volume("phantom", seed=3, shape=SMALL)
    np.testing.assert_array_equal(a.data, b.data)
    c = load_volume("phantom", seed=4, shape=SMALL)
    assert not np.array_equal(a.data, c.data)


def test_phantom_properties():
    data, affine, voxel_size = load_volume("phantom", shape=SMALL)
    assert data.shape == SMALL and data.dtype == np.float32
    assert data.max() == 1.0 and data.min() >= 0
    assert voxel_size == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(affine[:3, :3], np.eye(3))
    assert data[0, 0, 0] < 0.01                       # air in the corner
    centre = data[SMALL[0] // 2, SMALL[1] // 2, SMALL[2] // 2]
    assert 0.3 < centre < 0.9                         # tissue in the middle
    # Several tissue classes: a histogram of the brain has several well-populated levels.
    hist, _ = np.histogram(data[data > 0.05], bins=20, range=(0, 1))
    assert (hist > 0.02 * hist.sum()).sum() >= 4


def test_phantom_default_shape():
    data = brain_phantom()
    assert data.shape == (160, 192, 160)
    assert (data > 0.9).sum() >= 50                  # the bright dots (scalp and white matter < 0.9)


def test_phantom_bad_shape():
    with pytest.raises(ValueError, match="brain_phantom"):
        brain_phantom((8, 64, 64))
    with pytest.raises(ValueError, match="brain_phantom"):
        brain_phantom((64, 64))


# ----------------------------------------------------------------------------- NIfTI files
def _save(tmp_path, data, affine=None, name="vol.nii.gz"):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def test_nifti_3d_is_reoriented_and_normalised(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 1000, size=(6, 7, 5)).astype(np.int16)
    data[1, 2, 3] = 1000
    affine = np.diag([-2.0, 3.0, 1.5, 1.0])          # x flipped (L->R reversed), anisotropic voxels
    vol = load_volume(_save(tmp_path, data, affine))
    assert vol.data.dtype == np.float32 and vol.data.max() == 1.0
    # Closest canonical (RAS+): the flipped x axis is reversed back.
    np.testing.assert_array_equal(vol.data, data[::-1].astype(np.float32) / np.float32(1000))
    assert vol.voxel_size == (2.0, 3.0, 1.5)
    assert nib.aff2axcodes(vol.affine) == ("R", "A", "S")
    # str paths work too
    assert load_volume(str(tmp_path / "vol.nii.gz")).data.shape == (6, 7, 5)


def test_nifti_4d_takes_the_first_volume_and_warns(tmp_path):
    data = np.random.default_rng(1).random((4, 5, 6, 3)).astype(np.float32)
    path = _save(tmp_path, data, name="four.nii")
    with pytest.warns(UserWarning, match="first volume"):
        vol = load_volume(path)
    np.testing.assert_allclose(vol.data, data[..., 0] / data[..., 0].max(), rtol=1e-6)


def test_list_samples_are_loadable():
    samples = list_samples()
    assert samples and all(p.is_file() for p in samples)
    assert all(p.name.endswith((".nii", ".nii.gz")) for p in samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        vol = load_volume(samples[0])
    assert vol.data.ndim == 3


# ----------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.nii.gz"
    with pytest.raises(FileNotFoundError, match="nope.nii.gz"):
        load_volume(missing)


def test_not_nifti(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a NIfTI"):
        load_volume(text)
    garbage = tmp_path / "garbage.nii"
    garbage.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="garbage.nii"):
        load_volume(garbage)


@pytest.mark.parametrize("fill,match", [(0.0, "constant"), (3.0, "constant"),
                                        (np.nan, "NaN")])
def test_bad_contents(tmp_path, fill, match):
    path = _save(tmp_path, np.full((4, 4, 4), fill, dtype=np.float32))
    with pytest.raises(ValueError, match=match):
        load_volume(path)


def test_partial_nan(tmp_path):
    data = np.ones((4, 4, 4), np.float32)
    data[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        load_volume(_save(tmp_path, data))


def test_non_positive_maximum(tmp_path):
    data = -np.arange(64, dtype=np.float32).reshape(4, 4, 4) - 1
    with pytest.raises(ValueError, match="maximum"):
        load_volume(_save(tmp_path, data))


def test_two_d_nifti_rejected(tmp_path):
    with pytest.raises(ValueError, match="3-D"):
        load_volume(_save(tmp_path, np.arange(12, dtype=np.float32).reshape(3, 4)))


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"'mni152'.*'phantom'"):
        load_volume("mni153")


def test_seed_only_for_phantom():
    with pytest.raises(ValueError, match="phantom"):
        load_volume("mni152", seed=1)


def test_non_path_argument():
    with pytest.raises(ValueError, match="load_volume"):
        load_volume(42)


def test_load_volume_bounds_the_header_before_reading(tmp_path):
    # A 1.4 kB file whose header declares 2000 x 2000 x 480 float32 (7.7 GB).
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4))
    img.header.set_data_shape((2000, 2000, 480))
    img.header["vox_offset"] = 352
    path = tmp_path / "huge.nii"
    path.write_bytes(img.header.binaryblock + b"\0" * 1004)
    with pytest.raises(ValueError, match=r"load_volume: .*huge.nii declares .*max_bytes"):
        load_volume(path)
    small = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.arange(1, 65, dtype=np.float32).reshape(4, 4, 4), np.eye(4)),
             str(small))
    assert load_volume(small).data.shape == (4, 4, 4)
    with pytest.raises(ValueError, match="max_bytes"):
        load_volume(small, max_bytes=100)


def test_load_volume_refuses_unusable_affines_and_directories(tmp_path):
    data = np.arange(1, 65, dtype=np.float32).reshape(4, 4, 4)
    for affine in (np.zeros((4, 4)), np.full((4, 4), np.nan)):
        path = tmp_path / "bad.nii"
        img = nib.Nifti1Image(data, np.eye(4))
        img.header["sform_code"], img.header["qform_code"] = 1, 0
        for i, row in enumerate(("srow_x", "srow_y", "srow_z")):
            img.header[row] = affine[i]
        path.write_bytes(img.header.binaryblock + b"\0" * 4 + data.tobytes(order="F"))
        with pytest.raises(ValueError, match="unusable voxel-to-world affine"):
            load_volume(path)
    (tmp_path / "dir.nii.gz").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        load_volume(tmp_path / "dir.nii.gz")
