"""Super-resolution with a trained network: slices, volumes, NIfTI files and evaluation.

The helpers the notebooks and the ``labkit evaluate`` / ``labkit upscale`` commands share:

* :func:`super_resolve` runs a network on a stack of 2-D low-resolution slices;
* :func:`make_pairs` degrades HR slices into (LR, HR) pairs;
* :func:`evaluate_network` / :func:`evaluate_checkpoint` score a network against the bicubic
  baseline (PSNR and SSIM with ``crop = scale``, ``data_range = 1``, per slice and mean);
* :func:`upscale_volume` / :func:`upscale_file` super-resolve every slice of a 3-D scan in
  plane and compute the affine of the finer voxel grid.

Grid convention (the one of :func:`labkit.ops.resize.imresize` and MATLAB): pixel *edges* of
the LR and HR grids coincide, so LR voxel ``i`` along an upscaled axis covers HR voxels
``s i .. s i + s - 1`` and HR voxel ``j`` is centred at LR index coordinate
``(j + 0.5) / s - 0.5``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit.network import Network

__all__ = [
    "evaluate_checkpoint",
    "evaluate_network",
    "evaluation_slices",
    "load_sr_network",
    "make_pairs",
    "network_scale",
    "super_resolve",
    "upscale_file",
    "upscale_volume",
    "upscaled_affine",
]


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


def evaluate_network(net: Network, hr_slices, scale: int | None = None,
                     degradation: str = "bicubic", batch_size: int = 4) -> dict:
    """PSNR / SSIM of ``net`` and of bicubic upsampling on degraded ``hr_slices``.

    Each HR slice is cropped to a multiple of ``scale``, degraded, super-resolved by the
    network (output clipped to [0, 1]) and by bicubic interpolation
    (:func:`labkit.ops.resize.imresize`, not clipped, as :func:`labkit.data.bicubic_baseline`),
    and both are compared with the HR slice: ``psnr`` / ``ssim`` with ``crop = scale`` and
    ``data_range = 1``.

    Returns
    -------
    dict with ``"model"`` and ``"bicubic"`` entries ``{"psnr", "ssim", "psnr_per_slice",
    "ssim_per_slice"}`` plus ``"scale"``, ``"degradation"`` and ``"n_slices"``.
    """
    from labkit.metrics import psnr, ssim
    from labkit.ops.resize import imresize

    scale = network_scale(net) if scale is None else scale
    _check_scale(scale, "evaluate_network")
    lr, hr = make_pairs(hr_slices, scale, degradation)
    outputs = {"model": super_resolve(net, lr, batch_size=batch_size),
               "bicubic": imresize(lr, output_shape=hr.shape[-2:], method="bicubic")}
    result = {"scale": int(scale), "degradation": degradation, "n_slices": len(hr)}
    for name, sr in outputs.items():
        p = np.atleast_1d(psnr(sr, hr, data_range=1.0, crop=scale, reduce=False))
        s = np.atleast_1d(ssim(sr, hr, data_range=1.0, crop=scale, reduce=False))
        result[name] = {"psnr": float(np.mean(p)), "ssim": float(np.mean(s)),
                        "psnr_per_slice": [float(v) for v in p],
                        "ssim_per_slice": [float(v) for v in s]}
    return result


def evaluation_slices(data: str = "mni152", n_slices: int = 20) -> np.ndarray:
    """HR slices ``(N, H, W)`` to evaluate on: the MNI-SR test split for ``"mni152"``, otherwise
    ``n_slices`` axial slices ``[:, :, z]`` evenly spread over the central 60 % of the volume
    (``"phantom"`` or a NIfTI path)."""
    from labkit.data import load_volume, mni_sr_split

    if data == "mni152":
        return mni_sr_split()["test"]
    vol = load_volume(data).data
    if vol.ndim != 3:
        raise ValueError(f"evaluation_slices: {data!r} is not a 3-D volume (shape {vol.shape})")
    nz = vol.shape[2]
    zs = np.unique(np.linspace(0.2 * nz, 0.8 * nz - 1, min(n_slices, nz)).round().astype(int))
    return np.moveaxis(vol[:, :, zs], 2, 0)


def load_sr_network(path) -> tuple[Network, dict]:
    """An SR network from a labkit file and its run config (``{}`` when the file has none)."""
    from labkit.train import load_checkpoint_info

    net, info = load_checkpoint_info(path)
    return net, dict(info["config"] or {})


def evaluate_checkpoint(path, data: str = "mni152", degradation: str | None = None,
                        n_slices: int = 20) -> dict:
    """:func:`evaluate_network` for a checkpoint file on ``data`` (see
    :func:`evaluation_slices`).  The degradation defaults to the one the network was trained
    with (``"bicubic"`` when the file does not say)."""
    net, config = load_sr_network(path)
    scale = network_scale(net)
    degradation = degradation or config.get("degradation", "bicubic")
    result = evaluate_network(net, evaluation_slices(data, n_slices), scale, degradation)
    result.update(checkpoint=str(path), data=str(data), network=net.name,
                  n_params=int(net.n_params), config=config)
    return result


# ----------------------------------------------------------------------------- volumes

def upscaled_affine(affine, scale: int, axes=(0, 1)) -> np.ndarray:
    """Affine of the grid that is ``scale`` times finer along ``axes`` (edges aligned).

    HR index ``j`` sits at LR index ``(j + 0.5) / s - 0.5 = j / s + (1 / s - 1) / 2``, so the new
    affine is ``A @ D`` with ``D`` scaling those axes by ``1 / s`` and shifting them by
    ``(1 / s - 1) / 2``; the voxel sizes along ``axes`` shrink by ``s`` and the field of view
    (outer voxel edges) is unchanged.
    """
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"upscaled_affine: expected a 4x4 affine, got shape {affine.shape}")
    d = np.eye(4)
    for ax in axes:
        d[ax, ax] = 1.0 / scale
        d[ax, 3] = (1.0 / scale - 1.0) / 2.0
    return affine @ d


def upscale_volume(net: Network, volume, affine=None, axis: int = 2, batch_size: int = 4):
    """Super-resolve every slice of a 3-D volume in plane.

    Parameters
    ----------
    net : Network
        An SR network of scale ``s``.
    volume : ndarray, shape (X, Y, Z)
        Intensities; they are divided by the volume's maximum for the network (which was trained
        on [0, 1] images) and multiplied back afterwards.
    affine : (4, 4) array, optional
        Voxel -> world matrix of ``volume``.
    axis : int
        The slice axis: slices are ``volume`` sections perpendicular to it (2: axial slices
        ``[:, :, z]`` of an RAS volume); the two other axes are upscaled.

    Returns
    -------
    (ndarray float32, affine or None)
        The volume with the two in-plane axes ``s`` times longer, and its affine
        (:func:`upscaled_affine`).
    """
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise ValueError(f"upscale_volume: expected a 3-D volume, got shape {vol.shape}")
    if axis not in (0, 1, 2):
        raise ValueError(f"upscale_volume: axis must be 0, 1 or 2, got {axis!r}")
    vol = vol.astype(np.float32)
    if not np.all(np.isfinite(vol)):
        raise ValueError("upscale_volume: the volume contains NaN or inf")
    peak = float(vol.max())
    if peak <= 0:
        raise ValueError(f"upscale_volume: the volume's maximum is {peak} <= 0")
    scale = network_scale(net)
    slices = np.moveaxis(vol, axis, 0) / np.float32(peak)        # (n, a, b)
    sr = super_resolve(net, slices, batch_size=batch_size, clip=False) * np.float32(peak)
    out = np.ascontiguousarray(np.moveaxis(sr, 0, axis))
    new_affine = None
    if affine is not None:
        new_affine = upscaled_affine(affine, scale, tuple(a for a in range(3) if a != axis))
    return out, new_affine


def upscale_file(in_path, out_path, checkpoint, axis: int = 2, batch_size: int = 4) -> dict:
    """Read a NIfTI scan, super-resolve it in plane with ``checkpoint`` and write ``out_path``.

    The output header keeps the input's metadata with the new shape, voxel sizes and affine
    (sform and qform); data are float32 in the input's intensity units.  Returns a summary
    dict (shapes, voxel sizes, scale).
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    in_path, out_path = Path(in_path), Path(out_path)
    if not in_path.exists():
        raise FileNotFoundError(f"upscale_file: no such file: {in_path}")
    if not str(out_path).lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"upscale_file: output must end in .nii or .nii.gz, got {out_path}")
    net, _ = load_sr_network(checkpoint)
    try:
        img = nib.load(str(in_path))
    except (ImageFileError, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"upscale_file: cannot read {in_path} as NIfTI ({exc})") from None
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"upscale_file: expected a 3-D volume, {in_path} has shape {data.shape}")
    sr, affine = upscale_volume(net, data, img.affine, axis=axis, batch_size=batch_size)
    header = img.header.copy()
    header.set_data_dtype(np.float32)
    out = nib.Nifti1Image(sr, affine, header=header)
    out.set_sform(affine, code=int(img.header["sform_code"]) or 1)
    out.set_qform(affine, code=int(img.header["qform_code"]) or 1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(out, str(out_path))
    return {"input": str(in_path), "output": str(out_path), "scale": network_scale(net),
            "axis": axis, "input_shape": list(data.shape), "output_shape": list(sr.shape),
            "input_voxel_size": [float(v) for v in img.header.get_zooms()[:3]],
            "output_voxel_size": [float(v) for v in out.header.get_zooms()[:3]]}
