"""MRI data for the course: volumes, degradations, the MNI-SR split and patch sampling.

>>> from labkit.data import load_volume, mni_sr_split, degrade, PatchSampler
>>> data, affine, voxel_size = load_volume("mni152")        # float32, max 1, (197, 233, 189)
>>> split = mni_sr_split()                                  # train (98, 196, 232), test (20, ...)
>>> lr = degrade(split["test"], 2, method="kspace")          # (20, 98, 116)

Provenance and licences of the built-in data: ``data/README.md``.
"""

from labkit.data.collection import (
    nifti_files,
    normalize_volume,
    pad_stack,
    slice_axis,
    split_files,
)
from labkit.data.degrade import (
    DEGRADATIONS,
    add_rician_noise,
    crop_to_multiple,
    degrade,
    gaussian_sigma,
)
from labkit.data.sampler import PatchSampler
from labkit.data.split import (
    EXCLUDED_Z,
    HR_SHAPE,
    TEST_Z,
    TRAIN_Z,
    bicubic_baseline,
    lr_hr_pairs,
    mni_sr_split,
    split_volume,
)
from labkit.data.volumes import (
    BUILTIN_VOLUMES,
    Volume,
    brain_phantom,
    list_samples,
    load_volume,
    mni152_path,
)

__all__ = [
    "BUILTIN_VOLUMES", "DEGRADATIONS", "EXCLUDED_Z", "HR_SHAPE", "TEST_Z", "TRAIN_Z",
    "PatchSampler", "Volume", "add_rician_noise", "bicubic_baseline", "brain_phantom",
    "crop_to_multiple", "degrade", "gaussian_sigma", "list_samples", "load_volume",
    "lr_hr_pairs", "mni152_path", "mni_sr_split", "nifti_files", "normalize_volume",
    "pad_stack", "slice_axis", "split_files", "split_volume",
]
