"""Built-in MRI volumes and NIfTI loading, with no network access.

* ``"mni152"``: the MNI ICBM152 2009a (nonlinear, symmetric) T1 template at 1 mm that the
  ``nilearn`` wheel ships as ``nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz``.
  It is brain-extracted (background exactly 0) and stored as ``uint8`` (0..255, maximum 255),
  shape ``(197, 233, 189)``, 1 mm voxels, RAS orientation.
  We find the file with the ``importlib.resources`` reader of the package's import *spec*
  (:func:`importlib.util.find_spec`), which locates the installed files without running
  ``nilearn/__init__.py``: importing nilearn would pull in scikit-learn, pandas, ... for nothing.
* ``"phantom"``: a procedural, seeded, brain-like volume (see :func:`brain_phantom`).
* any ``.nii`` / ``.nii.gz`` path, read with nibabel.

Every volume is returned as float32 divided by its maximum (so ``mni152`` is exactly
``uint8 / 255``) together with its affine and voxel size, in a :class:`Volume` named tuple.
Provenance and licences: ``data/README.md``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import warnings
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "BUILTIN_VOLUMES",
    "Volume",
    "brain_phantom",
    "list_samples",
    "load_volume",
    "mni152_path",
]

BUILTIN_VOLUMES = ("mni152", "phantom")
MNI152_GLOB = "mni_icbm152_t1_tal_nlin_sym_09a*.nii*"
PHANTOM_SHAPE = (160, 192, 160)
_NIFTI_SUFFIXES = (".nii", ".nii.gz")


class Volume(NamedTuple):
    """A 3-D volume and its geometry; unpacks as ``data, affine, voxel_size = load_volume(...)``.

    Attributes
    ----------
    data : ndarray, shape (X, Y, Z), float32
        Intensities divided by the volume's maximum (maximum exactly 1). Axes follow the closest
        canonical (RAS+) orientation: X runs left->right, Y posterior->anterior, Z inferior->superior,
        so ``data[:, :, z]`` is an axial slice.
    affine : ndarray, shape (4, 4), float64
        Voxel index -> world (mm) coordinates, as in the NIfTI header.
    voxel_size : tuple of 3 floats
        Voxel edge lengths in mm along X, Y, Z.
    """

    data: np.ndarray
    affine: np.ndarray
    voxel_size: tuple


# ----------------------------------------------------------------------------- locating files

def _package_dir(package: str) -> Path:
    """Installed directory of ``package`` without importing it.

    ``importlib.resources.files(package)`` would import the package first. Instead we ask the
    import system for the package's *spec* (where it would be loaded from) and take the
    ``importlib.resources`` reader that its loader provides; for a normal (unzipped) install that
    reader's ``files()`` is the package directory. Nothing in the package runs.
    """
    spec = importlib.util.find_spec(package)
    if spec is not None:
        get_reader = getattr(spec.loader, "get_resource_reader", None)
        reader = get_reader(spec.name) if get_reader is not None else None
        root = reader.files() if reader is not None and hasattr(reader, "files") else None
        if isinstance(root, Path):
            return root
        if spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
    # Fallback: the wheel's RECORD, via package metadata (also import-free).
    try:
        files = importlib.metadata.files(package) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.parts and f.parts[0] == package:
            return Path(f.locate()).parents[len(f.parts) - 2]
    raise FileNotFoundError(f"load_volume: the package {package!r} is not installed "
                            f"(pip install {package})")


def mni152_path() -> Path:
    """Path of the MNI ICBM152 2009a T1 template inside the installed nilearn package."""
    data_dir = _package_dir("nilearn") / "datasets" / "data"
    hits = sorted(data_dir.glob(MNI152_GLOB))
    if not hits:
        raise FileNotFoundError(f"load_volume: no file matching {MNI152_GLOB!r} in {data_dir}; "
                                f"this nilearn version does not ship the MNI152 template")
    return hits[0]


def list_samples() -> list[Path]:
    """NIfTI sample files shipped with nibabel (its ``tests/data`` folder), sorted by name.

    Try them with ``load_volume(path)``. They are small test images: some are 4-D (the first
    volume is used, with a warning) and ``resampled_anat_moved.nii`` contains NaN outside its
    field of view, so ``load_volume`` rejects it with a ``ValueError``.
    """
    data_dir = _package_dir("nibabel") / "tests" / "data"
    return sorted(p for p in data_dir.iterdir()
                  if p.name.endswith(_NIFTI_SUFFIXES) and ".dconn." not in p.name)


# ----------------------------------------------------------------------------- NIfTI reading

def _is_nifti_name(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI_SUFFIXES)


def _normalise(data: np.ndarray, where: str) -> np.ndarray:
    """float32 volume divided by its maximum; rejects empty, non-finite and constant volumes."""
    if data.size == 0:
        raise ValueError(f"load_volume: {where} is empty (shape {data.shape})")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"load_volume: {where} contains NaN or inf values")
    lo, hi = data.min(), data.max()
    if lo == hi:
        raise ValueError(f"load_volume: {where} is constant (every voxel = {hi}); nothing to show")
    if hi <= 0:
        raise ValueError(f"load_volume: {where} has maximum {hi} <= 0; cannot normalise by it")
    # Divide in float32: for uint8 data this is exactly uint8 / 255 (IEEE division is correctly
    # rounded, and both operands are exact in float32).
    return data.astype(np.float32) / np.float32(hi)


#: The largest volume :func:`load_volume` reads by default (bytes of the float32 data it makes,
#: or of the stored data when wider): 2 GiB, eight times the 1 mm MNI template in float64.
MAX_VOLUME_BYTES = 2 * 2 ** 30


def open_nifti(path, owner: str = "load_volume", max_bytes: int | None = None):
    """Open a NIfTI file's header (no voxel data read) and check it: a NIfTI-1/2 image, 3-D
    (or 4-D), a finite, invertible affine, and ``shape x max(itemsize, 4)`` at most
    ``max_bytes`` (default :data:`MAX_VOLUME_BYTES`) so that a 1 kB header declaring
    gigabytes is refused before anything is allocated.  Returns the nibabel image.
    """
    import nibabel as nib  # lazy: importing labkit.data should stay cheap
    from nibabel.filebasedimages import ImageFileError

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{owner}: {path} is a directory, not a NIfTI file")
    try:
        img = nib.load(str(path))
    except (ImageFileError, OSError, EOFError, ValueError, zlib.error) as err:   # corrupt file
        raise ValueError(f"{owner}: cannot read {path} as NIfTI ({err})") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        # A wrong file *content* is a bad value, hence ValueError (not TypeError).
        raise ValueError(  # noqa: TRY004
            f"{owner}: {path} is a {type(img).__name__}, not a NIfTI image")
    if img.ndim not in (3, 4):
        raise ValueError(f"{owner}: {path} has shape {img.shape}; expected a 3-D volume "
                         f"(or 4-D, of which the first volume is used)")
    limit = MAX_VOLUME_BYTES if max_bytes is None else int(max_bytes)
    itemsize = max(np.dtype(img.get_data_dtype()).itemsize, 4)
    shape = img.shape[:3]
    nbytes = int(np.prod(shape, dtype=object)) * itemsize
    if nbytes > limit:
        raise ValueError(f"{owner}: {path} declares a volume of shape {img.shape} "
                         f"({nbytes / 2**30:.2f} GiB in memory), more than the bound "
                         f"max_bytes={limit / 2**30:.2f} GiB; pass a larger max_bytes if it "
                         f"is genuine")
    affine = np.asarray(img.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"{owner}: {path} has an unusable voxel-to-world affine (NaN, inf or "
                         f"singular: {affine[:3].tolist()})")
    return img


def _read_nifti(path: Path, where: str, max_bytes: int | None = None) -> Volume:
    import nibabel as nib

    img = nib.as_closest_canonical(open_nifti(path, "load_volume", max_bytes))
    # img.dataobj applies the header's scaling (scl_slope, scl_inter) only when there is one, so
    # unscaled integer data keeps its stored dtype and uint8 / max stays exact.
    try:
        if img.ndim == 4:
            warnings.warn(f"load_volume: {path} is 4-D with shape {img.shape}; using only the "
                          f"first volume [..., 0]", UserWarning, stacklevel=3)
            raw = np.asarray(img.dataobj[..., 0])
        else:
            raw = np.asarray(img.dataobj)
    except (OSError, EOFError, ValueError, zlib.error) as err:       # truncated data
        raise ValueError(f"load_volume: cannot read the voxels of {path} ({err})") from None
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"load_volume: {path} has non-numeric dtype {raw.dtype}")
    data = _normalise(raw, where)
    voxel_size = tuple(float(v) for v in img.header.get_zooms()[:3])
    return Volume(data, img.affine.astype(np.float64), voxel_size)


@functools.lru_cache(maxsize=1)
def _mni152_cached() -> Volume:
    vol = _read_nifti(mni152_path(), "the MNI152 template")
    vol.data.setflags(write=False)
    vol.affine.setflags(write=False)
    return vol


# ----------------------------------------------------------------------------- phantom

def _smoothstep(d: np.ndarray, width: float) -> np.ndarray:
    """Soft indicator of ``d > 0``: ``0.5 (1 + tanh(d / width))``, a boundary ~2 width wide.

    Works in place on ``d`` (callers pass a fresh temporary): at phantom sizes the cost is in
    allocating new arrays, not in the arithmetic.
    """
    d *= np.float32(1.0 / width)
    np.tanh(d, out=d)
    d += 1
    d *= 0.5
    return d


def _plane_waves(rng: np.random.Generator, grids, n: int, wavelength: float) -> np.ndarray:
    """Sum of ``n`` random 3-D plane waves ``cos(k . p + phi)`` with ``|k| = 2 pi / wavelength``.

    A cheap, seeded, smooth random field with unit variance; its zero set is a folded surface
    (our sulci). Each wave is evaluated separably, since
    ``cos(a + b + c) = Re(e^{i(a+b)}) cos c - Im(e^{i(a+b)}) sin c`` needs only 1-D and 2-D
    trigonometry and two broadcast products over the volume.
    """
    gx, gy, gz = (g.astype(np.float64) for g in grids)
    dirs = rng.normal(size=(n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    ks = (2 * np.pi / wavelength) * dirs
    phases = rng.uniform(0, 2 * np.pi, size=n)
    field = np.zeros((gx.shape[0], gy.shape[1], gz.shape[2]), dtype=np.float32)
    for (kx, ky, kz), phi in zip(ks, phases):  # a few waves, not a loop over voxels
        exy = np.exp(1j * (kx * gx + ky * gy + phi))        # (X, Y, 1)
        field += exy.real.astype(np.float32) * np.cos(kz * gz).astype(np.float32)
        field -= exy.imag.astype(np.float32) * np.sin(kz * gz).astype(np.float32)
    field *= np.float32(1 / np.sqrt(n / 2))
    return field


def _add_blob(img: np.ndarray, grids, value: float, centre, half_axes, bend: float = 0.0):
    """Blend a soft ellipsoid of intensity ``value`` into ``img`` (in place).

    Computed only in the ellipsoid's bounding box, so small structures cost little. ``bend``
    lifts the ellipsoid's ends by ``bend * (y / a_y)^2`` mm in z (a crude ventricle "C").
    """
    gx, gy, gz = grids
    box = []
    for g, c, a, extra in zip((gx.ravel(), gy.ravel(), gz.ravel()), centre, half_axes,
                              (0, 0, abs(bend))):
        lo = np.searchsorted(g, c - 1.3 * a - extra)
        hi = np.searchsorted(g, c + 1.3 * a + extra, side="right")
        box.append(slice(lo, hi))
    bx, by, bz = (g[sl] for g, sl in zip(grids, ((box[0], slice(None), slice(None)),
                                                 (slice(None), box[1], slice(None)),
                                                 (slice(None), slice(None), box[2]))))
    lift = np.float32(bend) * (by / np.float32(half_axes[1])) ** 2
    d = np.sqrt(((bx - centre[0]) / half_axes[0]) ** 2 + ((by - centre[1]) / half_axes[1]) ** 2
                + ((bz - centre[2] - lift) / half_axes[2]) ** 2)
    weight = _smoothstep(1 - d, 0.08)
    region = img[tuple(box)]
    region += (np.float32(value) - region) * weight


def brain_phantom(shape=PHANTOM_SHAPE, seed: int = 0) -> np.ndarray:
    """Procedural T1-weighted brain-like volume, 1 mm voxels, float32 with maximum 1.

    Built from soft (tanh) boundaries on an ellipsoidal "head radius" ``r`` (0 at the centre,
    1 at the skin) whose shape is perturbed by smooth random harmonics:

    ======================  ===========================  ================
    layer                   where                        T1 intensity
    ======================  ===========================  ================
    scalp (fat)             0.93 < r < 1                 0.80
    skull                   0.87 < r < 0.93              0.08
    CSF                     0.83 < r < 0.87              0.15
    cortex (grey matter)    white boundary < r < 0.83    0.45
    white matter            r < 0.62 .. 0.76 (folded)    0.72
    deep grey nuclei        four ellipsoids              0.55, 0.58
    lateral ventricles      two bent ellipsoids          0.15
    ======================  ===========================  ================

    Fine structures that reward super-resolution: sulci (1-2 mm CSF sheets where a random
    plane-wave field crosses zero inside the cortex; the white matter retreats beneath them, so
    gyri have white-matter cores), the interhemispheric fissure, and 1-2 voxel bright dots
    (vessel-like, intensity 1.0). A smooth +-4 % multiplicative bias field, as coil sensitivity
    would give, adds realism.

    Parameters
    ----------
    shape : (int, int, int)
        Volume size ``(X, Y, Z)``, each at least 16.
    seed : int
        Everything random (shape perturbation, folds, dots, bias) comes from
        ``numpy.random.default_rng(seed)``: same seed and shape, same volume.

    Returns
    -------
    ndarray, shape ``shape``, float32, maximum 1
    """
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"brain_phantom: shape must be 3 ints, got {shape!r}") from None
    if len(shape) != 3 or min(shape) < 16:
        raise ValueError(f"brain_phantom: shape must be 3 ints >= 16, got {shape!r}")
    rng = np.random.default_rng(seed)
    f32 = np.float32
    # Open grids in mm from the centre: (X,1,1), (1,Y,1), (1,1,Z); broadcasting makes volumes.
    grids = tuple(np.arange(n, dtype=f32).reshape([-1 if i == ax else 1 for i in range(3)])
                  - f32((n - 1) / 2) for ax, n in enumerate(shape))
    gx, gy, gz = grids
    radii = 0.46 * np.array(shape, dtype=np.float64)     # head half-axes in mm
    rx, ry, rz = (float(v) for v in radii)
    mm = float(radii.mean())                             # r units -> mm, for boundary widths

    # Head radius with a smooth random shape perturbation (2 % of the radius).
    r = (gx / f32(rx)) ** 2 + (gy / f32(ry)) ** 2
    r = r + (gz / f32(rz)) ** 2
    np.sqrt(r, out=r)
    r *= 1 + f32(0.02) * _plane_waves(rng, grids, 4, wavelength=2.5 * mm)

    def inside(radius, width_mm=0.7):
        return _smoothstep(f32(radius) - r, width_mm / mm)

    # Folding field: near its zero set (|fold| small) lie the sulci.
    fold = _plane_waves(rng, grids, 7, wavelength=22.0)
    np.abs(fold, out=fold)
    white_edge = f32(0.62) + f32(0.14) * np.minimum(fold, f32(1.0))   # white matter fills gyri
    sulcus = np.exp(-(fold / f32(0.12)) ** 2)                         # 1-2 mm CSF sheets
    del fold

    img = f32(0.80) * inside(1.0)                                 # scalp
    img -= f32(0.80 - 0.08) * inside(0.93)                         # skull
    img += f32(0.15 - 0.08) * inside(0.87)                         # CSF
    brain = inside(0.83)
    sulcus *= _smoothstep(r - white_edge + f32(0.02), 1.0 / mm)    # sulci stop at the white matter
    img += f32(0.45 - 0.15) * brain * (1 - sulcus)                 # grey matter minus sulci
    del sulcus
    img += f32(0.72 - 0.45) * brain * _smoothstep(white_edge - r, 0.8 / mm)   # white matter

    # Interhemispheric fissure: a thin CSF sheet on the midline, above the deep structures.
    fissure = np.exp(-(gx / f32(1.0)) ** 2) * _smoothstep(r - f32(0.35), 2.0 / mm)
    fissure *= _smoothstep(gz + f32(0.2) * gy + f32(0.1 * rz), 2.0)
    fissure *= brain
    img += (f32(0.15) - img) * fissure
    del fissure, brain, white_edge

    # Deep grey nuclei (thalamus/putamen-like) and lateral ventricles, mirror-symmetric in x.
    for side in (-1, 1):
        _add_blob(img, grids, 0.55, (side * 0.14 * rx, -0.05 * ry, -0.02 * rz),
                  (0.10 * rx, 0.14 * ry, 0.12 * rz))
        _add_blob(img, grids, 0.58, (side * 0.28 * rx, 0.12 * ry, -0.05 * rz),
                  (0.06 * rx, 0.18 * ry, 0.12 * rz))
        _add_blob(img, grids, 0.15, (side * 0.09 * rx, 0.0, 0.12 * rz),
                  (0.05 * rx, 0.42 * ry, 0.07 * rz), bend=0.15 * rz)

    # Bright dots (vessel cross-sections), 1-2 voxels, scattered inside the brain.
    n_dots = max(8, int(np.prod(shape) / 20000))
    centres = (rng.uniform(0.15, 0.85, size=(n_dots, 3)) * np.array(shape)).astype(np.int64)
    two_voxel = rng.random(n_dots) < 0.3
    keep = r[tuple(centres.T)] < 0.78                                # inside the brain only
    steps = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)], dtype=np.int64)
    pts = centres[keep, None, :] + steps[None, :, :] * two_voxel[keep, None, None]
    pts = np.minimum(pts.reshape(-1, 3), np.array(shape) - 1)
    img[tuple(pts.T)] = f32(1.0)

    # Smooth multiplicative bias field.
    img *= 1 + f32(0.04) * _plane_waves(rng, grids, 3, wavelength=3.0 * mm)
    np.maximum(img, 0, out=img)
    img /= img.max()
    return img


# ----------------------------------------------------------------------------- public loader

def load_volume(name_or_path, seed: int | None = None, shape=None,
                max_bytes: int | None = None) -> Volume:
    """Load a built-in volume or a NIfTI file as a normalised float32 :class:`Volume`.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        ``"mni152"`` (MNI ICBM152 2009a T1 template shipped with nilearn, 1 mm, ``(197, 233, 189)``,
        stored as uint8, so the result is exactly ``uint8 / 255``), ``"phantom"`` (procedural
        brain, see :func:`brain_phantom`), or the path of a ``.nii`` / ``.nii.gz`` file (reoriented
        to the closest canonical RAS+ orientation with nibabel; for a 4-D file the first volume is
        used and a ``UserWarning`` says so).
    seed, shape : optional
        Only for ``"phantom"``: random seed (default 0) and ``(X, Y, Z)`` size (default
        ``PHANTOM_SHAPE``).
    max_bytes : int, optional
        Only for files: refuse (``ValueError``, before reading any voxel) a volume whose header
        declares more than this many bytes in memory (default :data:`MAX_VOLUME_BYTES`, 2 GiB).

    Returns
    -------
    Volume
        ``(data, affine, voxel_size)``; ``data`` is float32 divided by its maximum. Each call
        returns fresh arrays (the MNI template is cached, you get a copy).

    Raises
    ------
    FileNotFoundError
        A ``.nii``/``.nii.gz`` path that does not exist.
    ValueError
        Unknown name, a file that is not NIfTI, an empty, constant or NaN-containing volume, or
        ``seed``/``shape`` given for something other than the phantom.
    """
    is_name = isinstance(name_or_path, str) and name_or_path in BUILTIN_VOLUMES
    if (seed is not None or shape is not None) and not (is_name and name_or_path == "phantom"):
        raise ValueError(f"load_volume: seed and shape only apply to 'phantom', not "
                         f"{name_or_path!r}")
    if is_name and name_or_path == "mni152":
        cached = _mni152_cached()
        return Volume(cached.data.copy(), cached.affine.copy(), cached.voxel_size)
    if is_name and name_or_path == "phantom":
        shape = PHANTOM_SHAPE if shape is None else shape
        data = brain_phantom(shape, seed=0 if seed is None else seed)
        affine = np.eye(4)
        affine[:3, 3] = -(np.array(data.shape) - 1) / 2      # world origin at the centre
        return Volume(data, affine, (1.0, 1.0, 1.0))

    try:
        path = Path(name_or_path)
    except TypeError:
        raise ValueError(f"load_volume: expected a name {list(BUILTIN_VOLUMES)} or a NIfTI path, "
                         f"got {name_or_path!r}") from None
    if _is_nifti_name(path):
        if path.is_dir():
            raise ValueError(f"load_volume: {path} is a directory, not a NIfTI file")
        if not path.is_file():
            raise FileNotFoundError(f"load_volume: no such NIfTI file: {path}")
        return _read_nifti(path, str(path), max_bytes)
    if path.exists():
        raise ValueError(f"load_volume: {path} is not a NIfTI file (expected .nii or .nii.gz)")
    raise ValueError(f"load_volume: unknown volume {str(name_or_path)!r}; valid names are "
                     f"{', '.join(repr(n) for n in BUILTIN_VOLUMES)}, or give the path of a "
                     f".nii/.nii.gz file")
