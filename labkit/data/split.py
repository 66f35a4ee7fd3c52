"""The MNI-SR benchmark: train/test axial slices of the MNI152 template, and its bicubic baseline.

Definition (the contract every result in the course is quoted against)
----------------------------------------------------------------------
* HR images are axial slices ``vol[:196, :232, z]`` of ``load_volume("mni152").data`` (the
  template is ``(197, 233, 189)``; dropping the last row and column gives sizes divisible by 2
  and 4).
* test: ``z = 60..69`` and ``z = 100..109`` (20 slices);
* never used for training: ``z = 57..72`` and ``z = 97..112`` (the test slices plus a 3-slice
  margin on each side, because neighbouring slices of a 1 mm template are nearly identical);
* train: all remaining ``z`` in ``20..149``, three consecutive runs ``20..56``, ``73..96`` and
  ``113..149`` (130 - 32 = 98 slices).
* scores: :func:`labkit.metrics.psnr` and :func:`labkit.metrics.ssim` with ``crop=scale`` and
  ``data_range=1``. When ``scale`` does not divide 196 x 232 (``scale = 3``) the HR slices are
  first cropped to a multiple of the scale with :func:`crop_to_multiple` (195 x 231), then
  degraded; the cropped HR is the reference.
"""

from __future__ import annotations

import functools

import numpy as np

from labkit._validate import check_array, check_choice, check_float, check_int, check_seed
from labkit.data.degrade import DEGRADATIONS, crop_to_multiple, degrade
from labkit.data.volumes import load_volume
from labkit.metrics import psnr, ssim
from labkit.ops.resize import imresize

__all__ = [
    "EXCLUDED_Z",
    "HR_SHAPE",
    "TEST_Z",
    "TRAIN_Z",
    "bicubic_baseline",
    "lr_hr_pairs",
    "mni_sr_split",
    "split_volume",
]

HR_SHAPE = (196, 232)
TEST_Z = tuple(range(60, 70)) + tuple(range(100, 110))
EXCLUDED_Z = tuple(range(57, 73)) + tuple(range(97, 113))
TRAIN_Z = tuple(z for z in range(20, 150) if z not in EXCLUDED_Z)


@functools.lru_cache(maxsize=1)
def _split_arrays() -> tuple[np.ndarray, np.ndarray]:
    vol = load_volume("mni152").data
    # (X, Y, Z) -> (Z, X, Y): one axial slice per leading index.
    slices = np.moveaxis(vol[: HR_SHAPE[0], : HR_SHAPE[1], :], -1, 0)
    train = np.ascontiguousarray(slices[list(TRAIN_Z)])
    test = np.ascontiguousarray(slices[list(TEST_Z)])
    train.setflags(write=False)
    test.setflags(write=False)
    return train, test


def mni_sr_split() -> dict:
    """The MNI-SR train/test split (see the module docstring for the definition).

    Returns
    -------
    dict
        ``"train"``: float32 ``(98, 196, 232)``; ``"test"``: float32 ``(20, 196, 232)``;
        ``"train_z"``, ``"test_z"``: int64 arrays of the axial indices, in order. Values are the
        template's ``uint8 / 255``. The arrays are fresh copies, safe to modify.
    """
    train, test = _split_arrays()
    return {"train": train.copy(), "test": test.copy(),
            "train_z": np.array(TRAIN_Z, dtype=np.int64), "test_z": np.array(TEST_Z, dtype=np.int64)}


def split_volume(volume, axis: int = 2, test_fraction: float = 0.2, guard: int = 3, seed=0,
                 n_slabs: int = 2) -> dict:
    """Split one volume's slices into train and test without leaks: slabs with guard bands.

    Neighbouring slices of a scan are nearly identical, so testing on slice ``z`` after
    training on ``z + 1`` measures memory, not generalisation.  The test slices are therefore
    ``n_slabs`` contiguous slabs (about ``test_fraction`` of the slices in all, one slab per
    equal section of the axis, at a seeded position inside it), and ``guard`` slices on each
    side of every slab are used for neither set.  Every training index ``t`` and test index
    ``s`` satisfy ``|t - s| > guard``.

    Parameters
    ----------
    volume : array_like, shape (X, Y, Z)
    axis : int
        The slice axis (0, 1 or 2); slices are ``np.moveaxis(volume, axis, 0)[z]``.
    test_fraction : float in (0, 1)
    guard : int >= 0
    seed : int
        Where the slabs sit inside their sections.
    n_slabs : int >= 1

    Returns
    -------
    dict
        The keys of :func:`mni_sr_split`: ``"train"`` ``(n_train, A, B)``, ``"test"``
        ``(n_test, A, B)`` (float arrays, copies), ``"train_z"``, ``"test_z"`` (int64, sorted).
    """
    owner = "split_volume"
    vol = check_array(volume, owner, ndim=3, finite=True, name="volume")
    axis = check_choice(check_int(axis, "axis", owner), "axis", owner, (0, 1, 2))
    test_fraction = check_float(test_fraction, "test_fraction", owner, min=0.0, max=1.0,
                                min_open=True, max_open=True)
    guard = check_int(guard, "guard", owner, min=0)
    n_slabs = check_int(n_slabs, "n_slabs", owner, min=1)
    seed = check_seed(seed, "seed", owner)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = vol.shape[axis]
    n_test = max(n_slabs, round(test_fraction * n))
    section = n // n_slabs
    slab = n_test // n_slabs
    if slab < 1 or section < slab + 2 * guard + 1:
        raise ValueError(
            f"{owner}: {n} slices along axis {axis} cannot hold {n_slabs} test slab(s) of "
            f"{max(slab, 1)} slice(s) with {guard}-slice guard bands and leave training slices "
            f"in each section (need at least {n_slabs * (max(slab, 1) + 2 * guard + 1)} slices)")
    test_z, excluded = [], set()
    for k in range(n_slabs):
        lo = k * section
        start = lo + int(rng.integers(0, section - slab + 1))
        slab_z = range(start, start + slab)
        test_z.extend(slab_z)
        excluded.update(range(start - guard, start + slab + guard))
    train_z = [z for z in range(n) if z not in excluded]
    if not train_z:
        raise ValueError(f"{owner}: no training slices are left out of {n} (guard {guard})")
    slices = np.moveaxis(vol, axis, 0)
    return {"train": np.ascontiguousarray(slices[train_z]),
            "test": np.ascontiguousarray(slices[test_z]),
            "train_z": np.array(train_z, dtype=np.int64),
            "test_z": np.array(sorted(test_z), dtype=np.int64)}


def lr_hr_pairs(hr, scale: int, degradation: str = "bicubic", noise_snr=None, seed=None):
    """Crop HR to a multiple of ``scale`` and degrade it: the aligned (LR, HR) pairs.

    Parameters
    ----------
    hr : array_like, shape (H, W) or (N, H, W)
    scale : int
    degradation : {"bicubic", "kspace", "gaussian"}
    noise_snr, seed : optional
        Passed to :func:`degrade`.

    Returns
    -------
    lr : ndarray, shape (..., H // s, W // s)
    hr : ndarray, shape (..., s * (H // s), s * (W // s))
        The cropped reference (a view of the input).
    """
    owner = "lr_hr_pairs"
    scale = check_int(scale, "scale", owner, min=1)
    check_choice(degradation, "degradation", owner, DEGRADATIONS)
    hr = np.asarray(hr)
    if hr.ndim not in (2, 3) or min(hr.shape[-2:], default=0) < scale:
        raise ValueError(f"{owner}: expected (H, W) or (N, H, W) images of at least "
                         f"{scale} x {scale} pixels, got shape {hr.shape}")
    hr = crop_to_multiple(hr, scale)
    return degrade(hr, scale, method=degradation, noise_snr=noise_snr, seed=seed), hr


def bicubic_baseline(scale: int, degradation: str = "bicubic", split: dict | None = None) -> dict:
    """Scores of bicubic interpolation (``imresize`` up) on the MNI-SR test slices.

    For each test slice: ``hr = crop_to_multiple(slice, scale)``, ``lr = degrade(hr, scale,
    degradation)``, ``sr = imresize(lr, scale)`` (bicubic, not clipped), then
    ``psnr(sr, hr, data_range=1, crop=scale)`` and ``ssim(...)`` likewise.

    Parameters
    ----------
    scale : int
    degradation : {"bicubic", "kspace", "gaussian"}
    split : dict, optional
        A split as returned by :func:`mni_sr_split` (only ``"test"`` is used); default the
        MNI-SR split.

    Returns
    -------
    dict
        ``"psnr"``, ``"ssim"`` (means over slices, floats), ``"psnr_per_slice"``,
        ``"ssim_per_slice"`` (``(n_test,)`` arrays), ``"scale"``, ``"degradation"``.
    """
    owner = "bicubic_baseline"
    scale = check_int(scale, "scale", owner, min=1)
    check_choice(degradation, "degradation", owner, DEGRADATIONS)
    if split is not None and (not isinstance(split, dict) or "test" not in split):
        raise ValueError(f"{owner}: split must be a dict with a 'test' array (as mni_sr_split() "
                         f"returns), got {type(split).__name__}"
                         f"{' with keys ' + str(sorted(split)) if isinstance(split, dict) else ''}")
    test = (split if split is not None else mni_sr_split())["test"]
    lr, hr = lr_hr_pairs(test, scale, degradation)
    sr = imresize(lr, output_shape=hr.shape[-2:], method="bicubic")
    p = psnr(sr, hr, data_range=1.0, crop=scale, reduce=False)
    s = ssim(sr, hr, data_range=1.0, crop=scale, reduce=False)
    return {"scale": int(scale), "degradation": degradation,
            "psnr": float(np.mean(p)), "ssim": float(np.mean(s)),
            "psnr_per_slice": p, "ssim_per_slice": s}
