"""Super-resolution with a trained network: slices, volumes, NIfTI files and evaluation.

The helpers the notebooks and the ``labkit evaluate`` / ``labkit upscale`` commands share:

* (from :mod:`labkit.evaluation`, re-exported here) :func:`super_resolve` runs a network on a stack of 2-D low-resolution slices;
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

import zlib
from pathlib import Path

import numpy as np

from labkit.atomic import atomic_path, same_file
from labkit.checkpoint import load_checkpoint_info
from labkit.evaluation import (
    evaluate_network,
    evaluation_slices,
    make_pairs,
    network_scale,
    super_resolve,
)
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


def load_sr_network(path) -> tuple[Network, dict]:
    """An SR network from a labkit file and its run config (``{}`` when the file has none)."""
    net, info = load_checkpoint_info(path)
    return net, dict(info["config"] or {})


def check_normalize(normalize, data, owner: str) -> str:
    """``normalize`` is one of :data:`labkit.data.collection.NORMALIZATIONS`, and only
    ``"max"`` for MNI-SR (its benchmark is defined on ``uint8 / 255``)."""
    from labkit._validate import check_choice
    from labkit.data.collection import NORMALIZATIONS

    check_choice(normalize, "normalize", owner, NORMALIZATIONS)
    if data == "mni152" and normalize != "max":
        raise ValueError(f"{owner}: normalize={normalize!r} does not apply to mni152 (the "
                         f"MNI-SR benchmark is defined on the template's uint8 / 255)")
    return normalize


def evaluate_checkpoint(path, data: str = "mni152", degradation: str | None = None,
                        n_slices: int = 20, mask: str = "auto", noise_snr: float | None = None,
                        normalize: str = "max") -> dict:
    """:func:`evaluate_network` for a checkpoint file on ``data`` (see
    :func:`evaluation_slices`).

    The degradation defaults to the one the network was trained with (``"bicubic"`` when the
    file does not say, or when it was trained on ``"mix"``).  ``mask="auto"`` scores every pixel
    on MNI-SR (the benchmark's rule) and inside the brain (``"brain"``) on other data, where
    the background is not zero and would dominate the score.
    """
    from labkit._validate import check_choice

    owner = "evaluate_checkpoint"
    check_choice(mask, "mask", owner, ("auto", "brain", "none"))
    check_normalize(normalize, data, owner)
    net, config = load_sr_network(path)
    scale = network_scale(net)
    trained = config.get("degradation", "bicubic")
    degradation = degradation or (trained if trained != "mix" else "bicubic")
    region = {"auto": None if data == "mni152" else "brain", "brain": "brain",
              "none": None}[mask]
    result = evaluate_network(net, evaluation_slices(data, n_slices, normalize), scale,
                              degradation, mask=region, noise_snr=noise_snr)
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
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise ValueError(f"upscale_volume: axis must be 0, 1 or 2, got {axis!r}")
    if affine is not None:
        affine = np.asarray(affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise ValueError(f"upscale_volume: affine must be a finite 4x4 matrix, got "
                             f"{affine.tolist()}")
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


#: ``upscale`` refuses scans whose voxel sizes differ by more than this ratio (unless forced).
ANISOTROPY_LIMIT = 1.5


def check_isotropic(voxel_size, axis: int, owner: str = "upscale_file") -> None:
    """Refuse in-plane SR where it cannot help: thick slices, or a non-square plane.

    In-plane SR of a 1 x 1 x 4 mm scan along ``axis=2`` makes 0.5 x 0.5 x 4 mm voxels: it
    refines what was already fine and leaves the thick axis alone; along ``axis=0`` it makes
    1 x 0.5 x 2 mm.  That is through-plane SR's job (``labkit selfsr``).  Raises ``ValueError``
    naming the voxel sizes when the slice thickness (the size along ``axis``) exceeds the
    in-plane sizes by more than :data:`ANISOTROPY_LIMIT`, or the two in-plane sizes differ by
    more than that.  A scan whose in-plane voxels are the coarser ones (2 x 2 x 1 mm) is
    exactly what in-plane SR is for, and passes.
    """
    sizes = [float(v) for v in voxel_size[:3]]
    plane = [v for a, v in enumerate(sizes) if a != axis]
    thick, square = sizes[axis] > ANISOTROPY_LIMIT * max(plane), \
        max(plane) > ANISOTROPY_LIMIT * min(plane)
    if thick or square:
        shown = " x ".join(f"{v:g}" for v in sizes)
        why = (f"the slices along axis {axis} are {sizes[axis]:g} mm thick but the in-plane "
               f"voxels only {max(plane):g} mm" if thick else
               f"the planes across axis {axis} have non-square {plane[0]:g} x {plane[1]:g} mm "
               f"pixels")
        raise ValueError(
            f"{owner}: the voxels are {shown} mm: {why}, so in-plane upscaling would not make "
            f"them isotropic; use `labkit selfsr` for through-plane SR of thick slices, or "
            f"--force (force=True) to upscale in plane anyway")


def upscale_file(in_path, out_path, checkpoint, axis: int = 2, batch_size: int = 4,
                 max_bytes: int | None = None, force: bool = False) -> dict:
    """Read a NIfTI scan, super-resolve it in plane with ``checkpoint`` and write ``out_path``.

    The output header keeps the input's metadata with the new shape, voxel sizes and affine
    (sform and qform); data are float32 in the input's intensity units.  Returns a summary
    dict (shapes, voxel sizes, scale).

    Never loses work: ``out_path`` must not be the input (also through a symlink, a hard link
    or a relative path), and it is written atomically (a temporary file in its folder renamed
    over it), so an interrupted run leaves any previous output intact.  Everything that can be
    checked is checked before the volume is computed: options, the network (finite weights),
    the input's header (shape x dtype at most ``max_bytes``, default
    :data:`labkit.data.volumes.MAX_VOLUME_BYTES`; a finite, invertible affine) and the output
    size.  An anisotropic scan (see :func:`check_isotropic`) is refused unless ``force``.
    """
    import nibabel as nib

    from labkit._validate import check_alloc, check_bool, check_choice, check_int
    from labkit.data.volumes import open_nifti

    owner = "upscale_file"
    axis = check_choice(check_int(axis, "axis", owner), "axis", owner, (0, 1, 2))
    batch_size = check_int(batch_size, "batch_size", owner, min=1, max=4096)
    in_path, out_path = Path(in_path), Path(out_path)
    if not in_path.exists():
        raise FileNotFoundError(f"{owner}: no such file: {in_path}")
    if not str(out_path).lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"{owner}: output must end in .nii or .nii.gz, got {out_path}")
    if same_file(in_path, out_path):
        raise ValueError(f"{owner}: the output {out_path} is the input file {in_path}; "
                         f"refusing to overwrite the scan (choose another -o)")
    if out_path.is_dir():
        raise ValueError(f"{owner}: the output {out_path} is a directory")
    net, _ = load_sr_network(checkpoint)
    img = open_nifti(in_path, owner, max_bytes)
    if not check_bool(force, "force", owner):
        check_isotropic(img.header.get_zooms(), axis, owner)
    shape = img.shape
    if len(shape) == 4 and shape[3] != 1 or len(shape) not in (3, 4):
        raise ValueError(f"{owner}: expected a 3-D volume, {in_path} has shape {shape}")
    scale = network_scale(net)
    out_shape = [n * (1 if a == axis else scale) for a, n in enumerate(shape[:3])]
    check_alloc(out_shape, owner, "output volume", itemsize=4)
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except (OSError, EOFError, ValueError, zlib.error) as exc:         # truncated data
        raise ValueError(f"{owner}: cannot read the voxels of {in_path} ({exc})") from None
    if data.ndim == 4:
        data = data[..., 0]
    sr, affine = upscale_volume(net, data, img.affine, axis=axis, batch_size=batch_size)
    header = img.header.copy()
    header.set_data_dtype(np.float32)
    out = nib.Nifti1Image(sr, affine, header=header)
    out.set_sform(affine, code=int(img.header["sform_code"]) or 1)
    out.set_qform(affine, code=int(img.header["qform_code"]) or 1)
    # The temporary keeps the .nii / .nii.gz ending: nibabel picks the format from the name.
    with atomic_path(out_path, keep_suffix=True) as tmp:
        nib.save(out, str(tmp))
    return {"input": str(in_path), "output": str(out_path), "scale": scale,
            "axis": axis, "input_shape": list(data.shape), "output_shape": list(sr.shape),
            "input_voxel_size": [float(v) for v in img.header.get_zooms()[:3]],
            "output_voxel_size": [float(v) for v in out.header.get_zooms()[:3]]}
