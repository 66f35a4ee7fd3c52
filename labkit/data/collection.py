"""Your own scans as training data: which files, which plane, which intensity scale.

* :func:`nifti_files` lists the NIfTI files of a folder, in a fixed (sorted) order;
* :func:`split_files` splits a list of files into train / validation / test **by file**: the
  slices of one subject are highly correlated, so a model scored on another slice of a volume
  it trained on is scored on data it has nearly seen (the leak of slice-wise splits);
* :func:`slice_axis` picks the axis across the plane of finest resolution (a 1 x 1 x 4 mm scan is
  cut into 1 x 1 mm slices, never into 1 x 4 mm ones);
* :func:`normalize_volume` scales intensities: by the maximum, or robustly by a high percentile
  of the foreground (one hot voxel, a vessel or an artefact, then does not squash the whole
  scan into the bottom of the range);
* :func:`pad_stack` stacks slices of different in-plane sizes, zero-padded at the far edges
  (MR background is dark; a brain-masked score ignores the padding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit._validate import check_array, check_choice, check_float, check_int, check_seed

__all__ = ["NORMALIZATIONS", "PERCENTILE", "nifti_files", "normalize_volume", "pad_stack",
           "slice_axis", "split_files"]

#: ``"max"``: divide by the maximum (what :func:`labkit.data.load_volume` returns);
#: ``"percentile"``: divide by the :data:`PERCENTILE` th percentile of the positive voxels and
#: clip to 1.
NORMALIZATIONS = ("max", "percentile")

#: Percentile of the foreground voxels that ``normalize_volume(..., "percentile")`` maps to 1.
PERCENTILE = 99.5


def nifti_files(folder) -> list[Path]:
    """The ``.nii`` / ``.nii.gz`` files directly inside ``folder``, sorted by name.

    ``ValueError`` if ``folder`` is not a directory or holds no NIfTI file.
    """
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"nifti_files: {path} is not a directory")
    files = sorted(p for p in path.iterdir()
                   if p.is_file() and (p.name.endswith(".nii") or p.name.endswith(".nii.gz")))
    if not files:
        raise ValueError(f"nifti_files: {path} contains no .nii or .nii.gz file")
    return files


def split_files(files, test_fraction: float = 0.2, seed: int = 0) -> dict:
    """Split files (subjects) into ``"train"``, ``"val"`` and ``"test"`` lists.

    A seeded permutation (``default_rng(seed)``) of the sorted list; ``test`` gets
    ``max(1, round(test_fraction * n))`` files, ``val`` one more when at least three files
    remain for it and training, ``train`` the rest (at least one).  No file is in two lists.

    Raises ``ValueError`` for fewer than two files: one file is split into slabs instead
    (:func:`labkit.data.split_volume`).
    """
    owner = "split_files"
    files = sorted(Path(f) for f in files)
    test_fraction = check_float(test_fraction, "test_fraction", owner, min=0.0, max=1.0,
                                min_open=True, max_open=True)
    seed = check_seed(seed, "seed", owner)
    n = len(files)
    if n < 2:
        raise ValueError(f"{owner}: need at least 2 files to split by file, got {n}; split one "
                         f"volume into slabs with labkit.data.split_volume")
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    n_val = 1 if n - n_test >= 3 else 0
    test = sorted(files[i] for i in order[:n_test])
    val = sorted(files[i] for i in order[n_test:n_test + n_val])
    train = sorted(files[i] for i in order[n_test + n_val:])
    return {"train": train, "val": val, "test": test}


def slice_axis(voxel_size) -> int:
    """The axis to cut slices along: the one with the largest voxel size, so that every slice
    lies in the plane of finest resolution.  Ties (an isotropic scan) give the last of the tied
    axes, i.e. 2, the axial axis of a RAS volume, for isotropic data."""
    try:
        if isinstance(voxel_size, (str, bytes)) or any(isinstance(v, (str, bytes, bool))
                                                       for v in voxel_size):
            raise TypeError
        sizes = [float(v) for v in voxel_size]
    except (TypeError, ValueError):
        raise ValueError(f"slice_axis: voxel_size must be 3 numbers, got {voxel_size!r}") from None
    if len(sizes) != 3 or not all(np.isfinite(sizes)) or min(sizes) <= 0:
        raise ValueError(f"slice_axis: voxel_size must be 3 positive numbers, got {voxel_size!r}")
    top = max(sizes)
    # Within 1 % counts as a tie: headers store 1.0000001 for 1 mm.
    return max(i for i, v in enumerate(sizes) if v >= top / 1.01)


def normalize_volume(data, method: str = "max", percentile: float = PERCENTILE) -> np.ndarray:
    """Scale a volume's intensities to about [0, 1] (float32, a new array).

    ``"max"``: ``x / max(x)``.  ``"percentile"``: ``min(x / q, 1)`` with ``q`` the
    ``percentile``-th percentile of the positive voxels; the brightest ``100 - percentile`` %
    saturate at 1.  (Not a threshold relative to the maximum: one hot voxel would then decide
    what counts as foreground.  The dark background, even when noisy, sits far below the
    99.5th percentile of a head scan, so ``q`` lands in bright tissue.)  Negative values (some
    reconstructions) are clipped to 0 first.
    """
    owner = "normalize_volume"
    x = check_array(data, owner, finite=True).astype(np.float32)
    check_choice(method, "method", owner, NORMALIZATIONS)
    percentile = check_float(percentile, "percentile", owner, min=0.0, max=100.0, min_open=True)
    if x.size == 0:
        raise ValueError(f"{owner}: empty volume of shape {x.shape}")
    np.maximum(x, 0, out=x)
    top = float(x.max())
    if top <= 0:
        raise ValueError(f"{owner}: volume of shape {x.shape} has no positive voxel")
    if method == "max":
        return x / top
    q = float(np.percentile(x[x > 0], percentile))
    return np.minimum(x / q, 1.0)


def pad_stack(slices) -> np.ndarray:
    """Stack 2-D slices (or stacks ``(n_i, H_i, W_i)``) into ``(N, H, W)``, ``H, W`` the largest
    sizes, zero-padding each at the bottom and right."""
    parts = [np.asarray(s, dtype=np.float32) for s in slices]
    parts = [p[None] if p.ndim == 2 else p for p in parts]
    if not parts or any(p.ndim != 3 for p in parts):
        raise ValueError(f"pad_stack: expected 2-D slices or (n, H, W) stacks, got shapes "
                         f"{[p.shape for p in parts]}")
    h = max(p.shape[1] for p in parts)
    w = max(p.shape[2] for p in parts)
    check_int(sum(p.shape[0] for p in parts), "number of slices", "pad_stack", min=1)
    return np.concatenate([np.pad(p, ((0, 0), (0, h - p.shape[1]), (0, w - p.shape[2])))
                           for p in parts])
