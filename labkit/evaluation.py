"""Which slices a run trains, validates and is scored on, and the scoring itself.

* :func:`volume_split` is the one slice-selection rule for volumes other than the MNI-SR
  split: the axial positions in the central 60 % of the volume (:func:`central_z`), split by
  :func:`labkit.data.split_volume` into test slabs with guard bands.  :func:`training_data`
  trains on the training slices and validates on guard-band slices (never test slices, as
  MNI-SR validates on its margins); :func:`evaluation_slices` scores on the test slabs.  No
  training slice lies within the guard of a test slice;
* :func:`super_resolve` runs a network on a stack of 2-D low-resolution slices;
* :func:`make_pairs` degrades HR slices into (LR, HR) pairs;
* :func:`evaluate_network` scores a network against the bicubic baseline (PSNR and SSIM with
  ``crop = scale``, ``data_range = 1``, per slice and mean).

Used by the trainer (validation) and by :mod:`labkit.sr` (evaluation of files); it imports
neither, so dependencies go one way: network -> data -> evaluation -> train -> sr -> cli.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_int
from labkit.network import Network

__all__ = ["GENERALIZATION_CELLS", "MASKS", "MNI_VAL_Z", "central_z", "evaluate_network",
           "generalization_matrix", "evaluation_slices", "make_pairs",
           "network_scale", "super_resolve", "training_data", "volume_split"]


def central_z(nz: int) -> np.ndarray:
    """Axial positions ``[int(0.2 nz), int(0.8 nz))`` (at least two): the central 60 % of a
    volume, where a brain scan has brain in every slice."""
    lo = int(0.2 * nz)
    return np.arange(lo, min(max(int(0.8 * nz), lo + 2), nz))


def _volume(data, owner: str, normalize: str = "max") -> np.ndarray:
    """A volume other than MNI-SR with its slice axis last: the axis across the plane of finest
    resolution (:func:`labkit.data.slice_axis`), so ``vol[:, :, z]`` is a finest-plane slice."""
    from labkit.data import load_volume, normalize_volume, slice_axis

    volume = load_volume(data)
    vol = np.moveaxis(volume.data, slice_axis(volume.voxel_size), 2)
    if normalize != "max":
        vol = normalize_volume(vol, normalize)
    if vol.ndim != 3 or vol.shape[2] < 2:
        raise ValueError(f"{owner}: {data!r} is not a 3-D volume with at least 2 slices "
                         f"(shape {vol.shape})")
    return np.ascontiguousarray(vol)


def _folder(data) -> list | None:
    """The NIfTI files of ``data`` if it is a folder of at least two (split by file), else
    ``None`` (one volume, split into slabs)."""
    from pathlib import Path

    from labkit.data import nifti_files

    if not isinstance(data, str) or data in ("mni152", "phantom") or not Path(data).is_dir():
        return None
    files = nifti_files(data)
    return files if len(files) >= 2 else None


def _single(data):
    """A folder holding exactly one NIfTI file stands for that file."""
    from pathlib import Path

    from labkit.data import nifti_files

    if isinstance(data, str) and data not in ("mni152", "phantom") and Path(data).is_dir():
        return str(nifti_files(data)[0])
    return data


def _central_slices(path, normalize: str, owner: str) -> np.ndarray:
    """The central 60 % of a file's finest-plane slices, ``(n, H, W)``."""
    vol = _volume(str(path), owner, normalize)
    return np.moveaxis(vol[:, :, central_z(vol.shape[2])], 2, 0)


def _spread(n_total: int, n: int) -> np.ndarray:
    """Up to ``n`` indices spread evenly over ``range(n_total)``."""
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).round().astype(int))


#: Validation slices of the MNI-SR setting: z values that the split keeps out of training
#: (57-72 and 97-112) but that are not test slices (60-69 and 100-109).  Monitoring on them
#: never touches the test set.
MNI_VAL_Z = (58, 71, 98, 111, 57, 72, 97, 112)

#: Guard band (slices) between the test slabs and the training slices of other volumes.
GUARD = 3


def volume_split(data: str, owner: str = "volume_split", normalize: str = "max") -> dict:
    """Train / validation / test slice positions of one volume other than MNI-SR.

    Slices are cut in the plane of finest resolution (``"volume"`` is returned with that
    slice axis last).  The central 60 % of the slice positions (:func:`central_z`) are split by
    :func:`labkit.data.split_volume` (20 % test, two slabs, :data:`GUARD` slices of guard band,
    seed 0).  A volume too thin for that gets one slab, then narrower guards (at least 1).
    Validation uses guard-band slices: they are neither trained on nor tested.

    Returns
    -------
    dict
        ``"volume"`` (X, Y, Z), slice axis last, and int64 slice indices into it:
        ``"train_z"``, ``"val_z"``, ``"test_z"``.
    """
    from labkit.data import split_volume

    vol = _volume(_single(data), owner, normalize)
    zs = central_z(vol.shape[2])
    index = np.arange(len(zs), dtype=np.float32)[None, None, :]    # split positions only
    for n_slabs, guard in [(2, GUARD), (1, GUARD)] + [(1, g) for g in range(GUARD - 1, 0, -1)]:
        try:
            split = split_volume(index, axis=2, guard=guard, seed=0, n_slabs=n_slabs)
            break
        except ValueError:
            continue
    else:
        raise ValueError(f"{owner}: {data!r} has {vol.shape[2]} axial slices, too few for a "
                         f"train/test split with a guard band (its central 60 % is {len(zs)} "
                         f"slices)")
    train, test = split["train_z"], split["test_z"]
    val = np.array(sorted(set(range(len(zs))) - set(train) - set(test)), dtype=np.int64)
    return {"volume": vol, "train_z": zs[train], "val_z": zs[val], "test_z": zs[test]}


def training_data(data: str = "mni152", val_slices: int = 4,
                  normalize: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """HR training slices and validation slices ``(N, H, W)`` float32 for ``data``.

    ``"mni152"``: the MNI-SR training split and up to 8 held-out, non-test slices
    (:data:`MNI_VAL_Z`).  ``"phantom"`` or a NIfTI path: the training slices of
    :func:`volume_split` and up to ``val_slices`` of its guard-band slices.  A folder of NIfTI
    files: split by file (:func:`labkit.data.split_files`); the central finest-plane slices of
    the training files, and up to ``val_slices`` of the validation file's (none when the folder
    has only two files); slices of different sizes are zero-padded to a common one.
    ``normalize`` (``"max"`` or ``"percentile"``, :func:`labkit.data.normalize_volume`) applies
    to every volume but MNI-SR, whose benchmark is defined on ``uint8 / 255``.
    """
    from labkit.data import load_volume, mni_sr_split, pad_stack, split_files

    val_slices = check_int(val_slices, "val_slices", "training_data", min=0)
    files = _folder(data)
    if files is not None:
        parts = split_files(files)
        train = pad_stack([_central_slices(f, normalize, "training_data")
                           for f in parts["train"]])
        val = None
        if val_slices and parts["val"]:
            v = _central_slices(parts["val"][0], normalize, "training_data")
            val = v[_spread(len(v), val_slices)]
        return train, val
    if data == "mni152":
        split = mni_sr_split()
        vol = load_volume("mni152").data
        h, w = split["train"].shape[1:]
        val = np.stack([vol[:h, :w, z] for z in MNI_VAL_Z[:val_slices]]) if val_slices else None
        return np.ascontiguousarray(split["train"], dtype=np.float32), val
    split = volume_split(data, "training_data", normalize)
    vol, rest = split["volume"], split["val_z"]
    train = np.moveaxis(vol[:, :, split["train_z"]], 2, 0)
    val = None
    if val_slices and len(rest):
        val = np.moveaxis(vol[:, :, rest[_spread(len(rest), val_slices)]], 2, 0)
    return np.ascontiguousarray(train, dtype=np.float32), val


def evaluation_slices(data: str = "mni152", n_slices: int = 20,
                      normalize: str = "max") -> np.ndarray:
    """HR slices ``(N, H, W)`` to evaluate on: the MNI-SR test split for ``"mni152"``; for
    ``"phantom"`` or a NIfTI path up to ``n_slices`` of the test slabs of :func:`volume_split`,
    evenly spread, never a training slice or one within its guard band; for a folder, up to
    ``n_slices`` of the central slices of its test files (:func:`labkit.data.split_files`),
    never a slice of a training file."""
    from labkit.data import mni_sr_split, pad_stack, split_files

    n_slices = check_int(n_slices, "n_slices", "evaluation_slices", min=1, max=100000)
    if data == "mni152":
        return mni_sr_split()["test"]
    files = _folder(data)
    if files is not None:
        test = pad_stack([_central_slices(f, normalize, "evaluation_slices")
                          for f in split_files(files)["test"]])
        return test[_spread(len(test), n_slices)]
    split = volume_split(data, "evaluation_slices", normalize)
    zs = split["test_z"]
    return np.moveaxis(split["volume"][:, :, zs[_spread(len(zs), n_slices)]], 2, 0)


def network_scale(net: Network) -> int:
    """Upscaling factor of an SR network, measured by running it on a small blank image."""
    first = next((layer for layer in net.layers if "in_channels" in layer.get_config()), None)
    channels = first.in_channels if first is not None else 1
    out = net.predict(np.zeros((1, 8, 8, channels), dtype=np.float32))
    if out.shape[1] % 8 or out.shape[1] != out.shape[2]:
        raise ValueError(f"network_scale: {net!r} maps 8x8 to {out.shape[1:3]}, not an integer "
                         f"upscaling")
    return out.shape[1] // 8


def super_resolve(net: Network, lr_slices, batch_size: int = 4, clip: bool = True) -> np.ndarray:
    """Run an SR network on LR slices.

    Parameters
    ----------
    net : Network
    lr_slices : array, shape (h, w), (N, h, w) or (N, h, w, 1)
    batch_size : int
        Slices per forward pass (memory grows with it).
    clip : bool
        Clip the output to [0, 1], the intensity range of :func:`labkit.data.load_volume`
        (and of any image a PSNR with ``data_range = 1`` is meant for).

    Returns
    -------
    ndarray, float32, the input's layout with ``h s, w s`` in place of ``h, w``.
    """
    x = np.asarray(lr_slices, dtype=np.float32)
    if x.ndim not in (2, 3, 4) or (x.ndim == 4 and x.shape[3] != 1):
        raise ValueError(f"super_resolve: expected (h, w), (N, h, w) or (N, h, w, 1) slices, got "
                         f"shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"super_resolve: input of shape {x.shape} contains NaN or inf")
    batch = x.reshape((-1,) + x.shape[-3:]) if x.ndim == 4 else x.reshape((-1,) + x.shape[-2:] + (1,))
    y = net.predict(np.ascontiguousarray(batch), batch_size=batch_size)
    if clip:
        np.clip(y, 0.0, 1.0, out=y)
    if x.ndim == 4:
        return y
    return y[..., 0] if x.ndim == 3 else y[0, ..., 0]


def make_pairs(hr_slices, scale: int, degradation: str = "bicubic") -> tuple[np.ndarray, np.ndarray]:
    """``(lr, hr)``: HR slices cropped to a multiple of ``scale`` and their degraded LR versions,
    both ``(N, ., .)`` float32."""
    from labkit.data import lr_hr_pairs

    _check_scale(scale, "make_pairs")
    hr = np.asarray(hr_slices, dtype=np.float32)
    if hr.ndim == 2:
        hr = hr[None]
    if hr.ndim != 3:
        raise ValueError(f"make_pairs: expected (H, W) or (N, H, W) slices, got shape {hr.shape}")
    lr, hr = lr_hr_pairs(hr, scale, degradation)
    return np.ascontiguousarray(lr, dtype=np.float32), np.ascontiguousarray(hr)


def _check_scale(scale, owner):
    if scale not in (2, 3, 4):
        raise ValueError(f"{owner}: scale must be 2, 3 or 4, got {scale!r}")


#: Where :func:`evaluate_network` scores: every pixel (``None``) or the foreground ``"brain"``.
MASKS = (None, "brain")


def evaluate_network(net: Network, hr_slices, scale: int | None = None,
                     degradation: str = "bicubic", batch_size: int = 4, mask: str | None = None,
                     noise_snr: float | None = None, seed: int = 0) -> dict:
    """PSNR / SSIM of ``net`` and of bicubic upsampling on degraded ``hr_slices``.

    Each HR slice is cropped to a multiple of ``scale``, degraded (then, with ``noise_snr``,
    given Rician noise of that SNR, seeded by ``seed``), super-resolved by the network (output
    clipped to [0, 1]) and by bicubic interpolation (:func:`labkit.ops.resize.imresize`, not
    clipped, as :func:`labkit.data.bicubic_baseline`), and both are compared with the HR slice:
    ``psnr`` / ``ssim`` with ``crop = scale`` and ``data_range = 1``, over every pixel
    (``mask=None``, the MNI-SR benchmark's rule) or only inside ``mask="brain"``
    (:func:`labkit.metrics.brain_mask` of the HR slice: above 10 % of its maximum).

    Returns
    -------
    dict with ``"model"`` and ``"bicubic"`` entries ``{"psnr", "ssim", "psnr_per_slice",
    "ssim_per_slice"}`` plus ``"scale"``, ``"degradation"``, ``"noise_snr"``, ``"mask"`` and
    ``"n_slices"``.
    """
    from labkit._validate import check_choice, check_float
    from labkit.data import add_rician_noise
    from labkit.metrics import brain_mask, psnr, ssim
    from labkit.ops.resize import imresize

    owner = "evaluate_network"
    scale = network_scale(net) if scale is None else scale
    _check_scale(scale, owner)
    check_choice(mask, "mask", owner, MASKS)
    if noise_snr is not None:
        noise_snr = check_float(noise_snr, "noise_snr", owner, min=0.0, min_open=True)
    lr, hr = make_pairs(hr_slices, scale, degradation)
    if noise_snr is not None:
        lr = add_rician_noise(lr, noise_snr, seed=seed)
    region = brain_mask(hr) if mask == "brain" else None
    outputs = {"model": super_resolve(net, lr, batch_size=batch_size),
               "bicubic": imresize(lr, output_shape=hr.shape[-2:], method="bicubic")}
    result = {"scale": int(scale), "degradation": degradation, "noise_snr": noise_snr,
              "mask": mask, "n_slices": len(hr)}
    for name, sr in outputs.items():
        p = np.atleast_1d(psnr(sr, hr, data_range=1.0, crop=scale, mask=region, reduce=False))
        s = np.atleast_1d(ssim(sr, hr, data_range=1.0, crop=scale, mask=region, reduce=False))
        result[name] = {"psnr": float(np.mean(p)), "ssim": float(np.mean(s)),
                        "psnr_per_slice": [float(v) for v in p],
                        "ssim_per_slice": [float(v) for v in s]}
    return result


#: The cells of the generalisation matrix: ``(data, degradation, noise SNR)`` for the MNI-SR
#: test slices and the phantom's test slabs, each with bicubic downsampling, k-space truncation,
#: and Gaussian blur plus Rician noise at SNR 20.
GENERALIZATION_CELLS = tuple((data, method, snr) for data in ("mni152", "phantom")
                             for method, snr in (("bicubic", None), ("kspace", None),
                                                 ("gaussian", 20.0)))


def generalization_matrix(net: Network, cells=GENERALIZATION_CELLS, mask: str | None = "brain",
                          n_slices: int = 20, seed: int = 0) -> list[dict]:
    """Score ``net`` against bicubic interpolation in every cell ``(data, degradation,
    noise_snr)`` (default :data:`GENERALIZATION_CELLS`), inside the brain by default.

    A model is only as good as the worst cell it will meet: a specialist trained on bicubic
    downsampling of one template can fall below plain interpolation on k-space-truncated or
    noisy input, which the matrix makes visible.

    Returns
    -------
    list of dict, one per cell: ``data``, ``degradation``, ``noise_snr``, ``mask``,
    ``n_slices``, ``model_psnr``, ``bicubic_psnr``, ``gain_db`` (model minus bicubic),
    ``model_ssim``, ``bicubic_ssim``.
    """
    check_int(n_slices, "n_slices", "generalization_matrix", min=1, max=100000)
    scale = network_scale(net)
    slices: dict = {}
    rows = []
    for data, method, snr in cells:
        if data not in slices:
            slices[data] = evaluation_slices(data, n_slices)
        r = evaluate_network(net, slices[data], scale, method, mask=mask, noise_snr=snr,
                             seed=seed)
        rows.append({"data": data, "degradation": method, "noise_snr": snr, "mask": mask,
                     "n_slices": r["n_slices"], "model_psnr": r["model"]["psnr"],
                     "bicubic_psnr": r["bicubic"]["psnr"],
                     "gain_db": r["model"]["psnr"] - r["bicubic"]["psnr"],
                     "model_ssim": r["model"]["ssim"], "bicubic_ssim": r["bicubic"]["ssim"]})
    return rows
