"""Self-supervised through-plane super-resolution of thick-slice MRI (SMORE-like).

A clinical scan often has fine in-plane voxels and thick slices (say 1 x 1 x 4 mm).  SMORE
(Zhao et al., "SMORE: a self-supervised anti-aliasing and super-resolution algorithm for MRI
using deep learning", IEEE TMI 40(3), 2021) trains a network on the scan itself:

1. The planes perpendicular to the slice axis are sharp in both directions.  Cut 2-D patches
   ``hr`` from them and degrade one in-plane direction by the slice profile
   (:func:`labkit.ops.slice_profile.degrade_axis`: by default a boxcar of the slice thickness,
   each low-resolution sample the mean of ``f`` fine ones), giving ``lr``.
2. Learn ``lr -> hr`` along that direction.  Both in-plane directions take turns (a transpose)
   and patches are flipped, so the network sees every orientation the scan offers.
3. Apply the network along the slice axis to each of the two families of planes that contain
   it (for slice axis 2: the ``[x, :, :]`` and the ``[:, y, :]`` planes) and average them.

The network predicts a residual over cubic interpolation on the same edge-aligned grid
(``labkit.ops.slice_profile.interpolate_slices``),

.. math::  \\hat x = \\mathrm{cubic}_f(\\mathrm{lr}) + g_\\theta(\\cdot),

trained with an L1 loss ``mean |x_hat - hr|`` and Adam on a cosine learning rate.  Two
networks ``g`` are offered (``arch``):

``"residual"`` (default)
    EDSR-like body without upsampler on the cubic-interpolated plane (full resolution in
    both directions): head conv, ``n_blocks`` x [conv, ReLU, conv, +], conv, + head, conv to 1
    channel.  Works for any factor with the same layers.
``"subpixel"``
    The same body on the low-resolution plane (``H / f`` x ``W``), then a conv to ``f^2``
    channels, ``PixelShuffle(f)`` (-> ``H x W f``) and a learned ``(1, f)`` stride-``(1, f)``
    conv back to ``H x W``: a one-axis sub-pixel upsampler built from labkit layers.

Intensities: the network works on the volume divided by a robust scale (the 99th percentile
of the non-zero magnitudes) and the result is multiplied back, so the output is in the
input's units.  A constant volume has nothing to learn and is returned constant.

Files: :func:`selfsr_file` reads a NIfTI, never writes over it, writes the result atomically
and keeps a resumable run directory (``checkpoint.npz``: weights, Adam moments, step, random
state and configuration as plain arrays and JSON, written atomically; ``resume=True``
continues bit for bit).  It returns the JSON payload of the ``labkit selfsr`` command.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from pathlib import Path

import numpy as np

from labkit._validate import check_bool, check_choice, check_float, check_int, check_seed
from labkit.atomic import RunLock, atomic_path, remove_orphans, same_file
from labkit.layers import Activation, Conv2D, PixelShuffle, Shortcut
from labkit.losses import LOSSES
from labkit.models import torch_default_init
from labkit.network import Network
from labkit.ops.slice_profile import (
    PROFILES,
    brain_psnr,
    check_factor,
    degrade_axis,
    fine_affine,
    interpolate_axis,
    interpolate_slices,
    profile_weights,
    simulate_thick_slices,
    thick_affine,
)
from labkit.optimizers import Adam

__all__ = ["ARCHS", "DEFAULTS", "SelfSR", "apply_selfsr", "brain_psnr", "build_selfsr_network",
           "default_axis_factor", "fine_affine", "interpolate_slices", "selfsr_file",
           "selfsr_volume", "simulate_thick_slices", "thick_affine", "train_selfsr"]

ARCHS = ("residual", "subpixel")

#: Default settings (chosen by ``benchmarks/bench_selfsr.py``; see the module docstring there).
DEFAULTS = {
    "arch": "residual",      # network g: "residual" (on the cubic plane) or "subpixel"
    "n_blocks": 6,           # residual blocks
    "n_filters": 32,         # feature channels
    "patch": 48,             # training patch side, fine voxels (rounded down to a multiple of f)
    "batch": 16,             # patches per step
    "steps": 1200,           # training steps
    "lr": 1e-3,              # Adam learning rate at step 0 ...
    "lr_min": 1e-5,          # ... falling on a cosine to this at the last step
    "loss": "l1",            # "l1", "mse" or "charbonnier"
    "profile": "boxcar",     # slice profile: "boxcar" (width thickness) or "gaussian" (fwhm)
    "thickness": None,       # boxcar width in fine voxels (default f; f - gap models a gap)
    "fwhm": None,            # Gaussian FWHM in fine voxels (default f)
    "min_foreground": 0.25,  # a patch is redrawn (up to 20 times) until this much is signal
    "seed": 0,
    "checkpoint_every": 100,  # steps between checkpoints of a run directory
    "apply_batch": 4,        # planes per forward pass when applying
}


#: More steps than any run needs (about a year on a laptop): a bound, so a typo cannot hang.
MAX_STEPS = 10**7

_CHECKPOINT = "checkpoint.npz"
_FORMAT = "labkit-selfsr"
#: Normalised intensity above which a voxel counts as signal (patch foreground, bounding box).
_SIGNAL = 0.05


# ----------------------------------------------------------------------------- settings

def _check_options(options: dict, owner: str) -> dict:
    """Merge ``options`` into :data:`DEFAULTS`, validating every value."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{owner}: unknown option(s) {unknown}; known: {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None or k in
                          ("thickness", "fwhm")}}
    cfg["arch"] = check_choice(cfg["arch"], "arch", owner, ARCHS)
    cfg["n_blocks"] = check_int(cfg["n_blocks"], "n_blocks", owner, min=0, max=64)
    cfg["n_filters"] = check_int(cfg["n_filters"], "n_filters", owner, min=1, max=512)
    cfg["patch"] = check_int(cfg["patch"], "patch", owner, min=4, max=1024)
    cfg["batch"] = check_int(cfg["batch"], "batch", owner, min=1, max=1024)
    cfg["steps"] = check_int(cfg["steps"], "steps", owner, min=0, max=MAX_STEPS)
    cfg["lr"] = check_float(cfg["lr"], "lr", owner, min=0.0, min_open=True, max=1.0)
    cfg["lr_min"] = check_float(cfg["lr_min"], "lr_min", owner, min=0.0, max=cfg["lr"])
    cfg["loss"] = check_choice(cfg["loss"], "loss", owner, tuple(LOSSES))
    cfg["profile"] = check_choice(cfg["profile"], "profile", owner, PROFILES)
    cfg["min_foreground"] = check_float(cfg["min_foreground"], "min_foreground", owner,
                                        min=0.0, max=1.0)
    seed = check_seed(cfg["seed"], "seed", owner)
    if seed is None or isinstance(seed, np.random.Generator):
        raise ValueError(f"{owner}: seed must be an int in [0, 2**32) (a run must be "
                         f"reproducible and resumable), got {cfg['seed']!r}")
    cfg["seed"] = int(seed)
    cfg["checkpoint_every"] = check_int(cfg["checkpoint_every"], "checkpoint_every", owner,
                                        min=1)
    cfg["apply_batch"] = check_int(cfg["apply_batch"], "apply_batch", owner, min=1, max=4096)
    return cfg


def default_axis_factor(voxel_size, axis=None, factor=None, owner: str = "default_axis_factor"):
    """The slice axis and factor a header implies, unless given.

    ``axis``: the axis with the largest voxel size (it must be the only one).  ``factor``:
    ``round(voxel_size[axis] / min(in-plane voxel sizes))``, which must land in 2..6.
    Raises ``ValueError`` naming ``owner`` and the voxel sizes when the header cannot say (an
    isotropic scan, two equally thick axes, a ratio below 1.5 or above 6.5).
    """
    vs = [float(v) for v in np.asarray(voxel_size, dtype=np.float64).ravel()]
    if len(vs) != 3 or not all(math.isfinite(v) and v > 0 for v in vs):
        raise ValueError(f"{owner}: voxel_size must be 3 finite sizes > 0, got {voxel_size!r}")
    if axis is None:
        big = max(vs)
        thick = [a for a in range(3) if vs[a] >= big * (1 - 1e-3)]
        if len(thick) != 1 or (factor is None and round(big / min(vs)) < 2):
            raise ValueError(f"{owner}: cannot tell the slice axis from voxel sizes {vs} (no "
                             f"single axis is thicker than the others); give axis (and "
                             f"factor)")
        axis = thick[0]
    else:
        axis = check_int(axis, "axis", owner)
        if axis not in (0, 1, 2):
            raise ValueError(f"{owner}: axis must be 0, 1 or 2, got {axis!r}")
    if factor is None:
        finest = min(vs[a] for a in range(3) if a != axis)
        ratio = vs[axis] / finest
        factor = round(ratio)
        if factor not in (2, 3, 4, 5, 6):
            raise ValueError(f"{owner}: voxel sizes {vs} give a slice-to-in-plane ratio of "
                             f"{ratio:.3g} along axis {axis}, factor {factor} is not in 2..6; "
                             f"give factor")
    return axis, check_factor(factor, owner)


def _check_volume(volume, owner: str) -> np.ndarray:
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise ValueError(f"{owner}: expected a 3-D volume, got shape {vol.shape}")
    if vol.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: expected a real-valued volume, got dtype {vol.dtype}")
    vol = vol.astype(np.float32)
    if not np.all(np.isfinite(vol)):
        raise ValueError(f"{owner}: the volume of shape {vol.shape} contains NaN or inf")
    return vol


def _robust_scale(vol: np.ndarray) -> float:
    """The 99th percentile of the non-zero magnitudes (0 for an all-zero volume).

    Why not the maximum: one hot voxel (a vessel, an artefact) would squash the rest of the
    scan into a small range; why non-zero: skull-stripped scans are mostly exact zeros.
    """
    mag = np.abs(vol[vol != 0])
    return float(np.percentile(mag, 99.0)) if mag.size else 0.0


# ----------------------------------------------------------------------------- network

def build_selfsr_network(factor: int, arch: str = "residual", n_blocks: int = 6,
                         n_filters: int = 32, seed: int = 0) -> Network:
    """The network ``g`` (see the module docstring), PyTorch-default initialised.

    Input and output are NHWC with one channel and the slice direction along H:
    ``"residual"`` maps ``(N, H, W, 1) -> (N, H, W, 1)`` (the cubic-interpolated plane to the
    residual); ``"subpixel"`` maps ``(N, H / f, W, 1) -> (N, H, W, 1)``.
    """
    owner = "build_selfsr_network"
    factor = check_factor(factor, owner)
    arch = check_choice(arch, "arch", owner, ARCHS)
    F = check_int(n_filters, "n_filters", owner, min=1)
    n_blocks = check_int(n_blocks, "n_blocks", owner, min=0)
    # Winograd F(2x2, 3x3) is the fastest exact 3x3 algorithm in labkit (chapter 05).
    alg = "winograd"
    layers = [Conv2D(1, F, 3, algorithm=alg)]
    for _ in range(n_blocks):
        layers += [Conv2D(F, F, 3, algorithm=alg), Activation("relu"),
                   Conv2D(F, F, 3, algorithm=alg), Shortcut(-4)]
    layers += [Conv2D(F, F, 3, algorithm=alg), Shortcut(0)]
    if arch == "residual":
        layers += [Conv2D(F, 1, 3, algorithm=alg)]
    else:
        # conv -> f*f channels, PixelShuffle(f): (H/f, W) -> (H, W f); the strided (1, f) conv
        # combines the f columns of each sub-pixel row, leaving the slice direction f times finer.
        layers += [Conv2D(F, factor * factor, 3, algorithm=alg), PixelShuffle(factor),
                   Conv2D(1, 1, (1, factor), stride=(1, factor), padding="valid")]
    net = Network(layers, name=f"selfsr_{arch}_x{factor}_{n_blocks}b_{F}f")
    return torch_default_init(net, seed)


# ----------------------------------------------------------------------------- the model

class SelfSR:
    """Self-supervised through-plane SR of one scan (see the module docstring).

    Parameters
    ----------
    factor : int in 2..6
        Slice thickness in units of the in-plane voxel size.
    axis : 0, 1 or 2
        The slice axis of the volumes :meth:`fit` and :meth:`apply` take.
    **options
        Any of :data:`DEFAULTS` (architecture, sizes, schedule, slice profile, seed ...).

    Use ``SelfSR(4, 2).fit(thick)`` then ``.apply(thick)``: ``(X, Y, Z)`` -> ``(X, Y, 4 Z)``.
    """

    def __init__(self, factor: int, axis: int = 2, **options):
        owner = "SelfSR"
        self.factor = check_factor(factor, owner)
        axis = check_int(axis, "axis", owner)
        if axis not in (0, 1, 2):
            raise ValueError(f"{owner}: axis must be 0, 1 or 2, got {axis!r}")
        self.axis = axis
        self.config = _check_options(options, owner)
        # Validates thickness / fwhm against the profile now, not at the first step.
        profile_weights(self.factor, self.config["profile"], self.config["thickness"],
                        self.config["fwhm"])
        self.net = build_selfsr_network(self.factor, self.config["arch"],
                                        self.config["n_blocks"], self.config["n_filters"],
                                        self.config["seed"])
        self.optimizer = Adam(self.config["lr"])
        self.rng = np.random.default_rng(self.config["seed"])
        self.step = 0
        self.history: list[float] = []
        self.seconds = 0.0
        self._fingerprint = None

    # -- training data ---------------------------------------------------------------------
    def _planes(self, vol: np.ndarray) -> np.ndarray:
        """In-plane slices ``(n, A, B)`` of the normalised volume, mirror-padded by ``2 f`` in
        plane so that a patch plus its interpolation margin fits anywhere."""
        planes = np.moveaxis(vol, self.axis, 0)
        m = 2 * self.factor
        return np.pad(planes, ((0, 0), (m, m), (m, m)), mode="symmetric")

    def _patch_size(self, planes: np.ndarray) -> int:
        f, m = self.factor, 2 * self.factor
        side = min(planes.shape[1], planes.shape[2]) - 2 * m
        p = min(self.config["patch"], side) // f * f
        if p < f:
            raise ValueError(f"SelfSR.fit: the in-plane size {side} is too small for factor "
                             f"{f} (need at least {f} voxels)")
        return p

    def _sample(self, planes, weights, p):
        """One batch ``(inp, cubic, hr)``; ``inp`` is what the network reads.

        A fine block of ``(p + 4 f) x p`` is cut (random plane, transpose, flips), degraded
        along its first axis by the slice profile and interpolated back; the ``2 f`` margin
        is dropped so that the cubic interpolation inside the patch sees real neighbours, as
        it does in the middle of a volume.
        """
        cfg, f, rng = self.config, self.factor, self.rng
        m = 2 * f
        L = p + 2 * m
        inps, cubics, hrs = [], [], []
        for _ in range(cfg["batch"]):
            for _attempt in range(20):
                z = int(rng.choice(len(planes), p=weights))
                plane = planes[z].T if rng.integers(2) else planes[z]
                a = int(rng.integers(plane.shape[0] - L + 1))
                b = int(rng.integers(plane.shape[1] - p + 1))
                block = plane[a:a + L, b:b + p]
                if rng.integers(2):
                    block = block[::-1]
                if rng.integers(2):
                    block = block[:, ::-1]
                hr = block[m:m + p]
                if (hr > _SIGNAL).mean() >= cfg["min_foreground"]:
                    break
            lr = degrade_axis(block, 0, f, cfg["profile"], cfg["thickness"], cfg["fwhm"])
            cubic = interpolate_axis(lr, 0, f)[m:m + p]
            hrs.append(hr)
            cubics.append(cubic)
            inps.append(cubic if cfg["arch"] == "residual" else lr[2:2 + p // f])
        stack = lambda xs: np.ascontiguousarray(np.stack(xs)[..., None], dtype=np.float32)
        return stack(inps), stack(cubics), stack(hrs)

    def _lr_at(self, step: int, steps: int) -> float:
        lr, lo = self.config["lr"], self.config["lr_min"]
        return lo + 0.5 * (lr - lo) * (1.0 + math.cos(math.pi * step / max(steps, 1)))

    # -- fit -------------------------------------------------------------------------------
    def fit(self, volume, *, steps=None, until=None, run_dir=None, resume: bool = False,
            progress: bool = True) -> SelfSR:
        """Train on ``volume`` (the thick-slice scan itself, shape ``(X, Y, Z)``).

        ``steps`` (default the configured ``steps``) is the schedule's horizon; ``until`` stops
        after that step (an interrupted run, resumable).  With ``run_dir`` a checkpoint is
        written every ``checkpoint_every`` steps and at the end; ``resume=True`` first loads
        ``run_dir/checkpoint.npz`` (if there is one) and continues exactly where it stopped:
        weights, Adam moments, step and random state are restored, so ``N/2 + N/2`` steps give
        the same weights as ``N``.  Returns ``self``.
        """
        owner = "SelfSR.fit"
        vol = _check_volume(volume, owner)
        progress = check_bool(progress, "progress", owner)
        resume = check_bool(resume, "resume", owner)
        steps = self.config["steps"] if steps is None else check_int(steps, "steps", owner, min=0,
                                                                             max=MAX_STEPS)
        self.config["steps"] = steps
        until = steps if until is None else check_int(until, "until", owner, min=0, max=steps)
        if vol.shape[self.axis] < 2:
            raise ValueError(f"{owner}: axis {self.axis} of shape {vol.shape} has fewer than 2 "
                             f"slices")
        scale = _robust_scale(vol)
        if scale == 0 or float(vol.max()) == float(vol.min()):
            raise ValueError(f"{owner}: the volume of shape {vol.shape} is constant "
                             f"({float(vol.flat[0])}); there is nothing to learn")
        norm = vol / np.float32(scale)
        # Identifies the scan a run directory belongs to (a resume on another scan is refused).
        fingerprint = [list(vol.shape), self.axis, self.factor,
                       f"{zlib.crc32(np.ascontiguousarray(vol).tobytes()):08x}"]
        if resume and not run_dir:
            raise ValueError(f"{owner}: resume=True needs a run_dir")
        lock = None
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = RunLock(run_dir).acquire()
            remove_orphans(run_dir)
        try:
            if run_dir is not None and (run_dir / _CHECKPOINT).exists():
                if not resume:
                    # Starting afresh would overwrite the checkpoint: never lose work silently.
                    raise ValueError(f"{owner}: {run_dir} already holds a run "
                                     f"({_CHECKPOINT}); pass resume=True to continue it, or "
                                     f"choose a new run directory")
                self._load_state(run_dir / _CHECKPOINT, fingerprint, steps)
            self._fingerprint = fingerprint
            self._train(norm, steps, until, run_dir, progress)
        finally:
            if lock is not None:
                lock.release()
        return self

    def _train(self, norm, steps, until, run_dir, progress):
        planes = self._planes(norm)
        p = self._patch_size(planes)
        # Planes are drawn in proportion to their signal (plus a floor), so that empty slices
        # at the ends of the scan are rarely chosen.
        fg = (planes > _SIGNAL).mean(axis=(1, 2)) + 1e-3
        weights = fg / fg.sum()
        loss_fn = LOSSES[self.config["loss"]]()
        bar = None
        if progress and self.step < until:
            from tqdm.auto import tqdm
            bar = tqdm(total=until, initial=self.step, desc="selfsr", unit="step")
        t_start = time.perf_counter()
        base_seconds = self.seconds
        try:
            while self.step < until:
                inp, cubic, hr = self._sample(planes, weights, p)
                self.optimizer.lr = self._lr_at(self.step, steps)
                out = self.net.forward(inp, training=True)
                value = loss_fn.forward(out + cubic, hr)
                self.net.backward(loss_fn.backward())
                self.net.update(self.optimizer)
                self.step += 1
                self.history.append(value)
                self.seconds = base_seconds + time.perf_counter() - t_start
                if bar is not None:
                    bar.update(1)
                    if self.step % 10 == 0:
                        bar.set_postfix(loss=f"{np.mean(self.history[-10:]):.4f}")
                if run_dir is not None and (self.step % self.config["checkpoint_every"] == 0
                                            or self.step == until):
                    self.save(run_dir / _CHECKPOINT)
        finally:
            if bar is not None:
                bar.close()

    # -- checkpoints -----------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write weights, Adam state, step, random state and configuration to ``path``
        (``.npz``, atomically; arrays and JSON only, readable without pickle)."""
        state = {"format": _FORMAT, "version": 1, "factor": self.factor, "axis": self.axis,
                 "config": self.config, "step": self.step, "history": self.history,
                 "seconds": self.seconds, "rng": self.rng.bit_generator.state,
                 "fingerprint": self._fingerprint}
        extra = {"__selfsr__": np.array(json.dumps(state))}
        for key, value in self.optimizer.state_dict(self.net.named_params()).items():
            extra[f"optimizer:{key}"] = value
        return self.net.save(path, extra=extra)

    @classmethod
    def load(cls, path) -> SelfSR:
        """A :class:`SelfSR` from a file written by :meth:`save` (ready to apply or resume)."""
        net, extra = Network.load_with_extra(path)
        state = cls._read_state(extra, path)
        model = cls(state["factor"], state["axis"], **state["config"])
        model._restore(net, extra, state)
        return model

    @staticmethod
    def _read_state(extra, path) -> dict:
        if "__selfsr__" not in extra:
            raise ValueError(f"SelfSR.load: {path} is a network file without a selfsr state")
        try:
            state = json.loads(str(extra["__selfsr__"]))
        except ValueError as exc:
            raise ValueError(f"SelfSR.load: {path} has a corrupt selfsr state ({exc})") from None
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"SelfSR.load: {path} is not a labkit selfsr checkpoint")
        for key in ("factor", "axis", "config", "step", "history", "rng"):
            if key not in state:
                raise ValueError(f"SelfSR.load: {path}: the selfsr state lacks {key!r}")
        return state

    def _restore(self, net, extra, state) -> None:
        mine = self.net.named_params()
        theirs = net.named_params()
        if {k: v.shape for k, v in mine.items()} != {k: v.shape for k, v in theirs.items()}:
            raise ValueError("SelfSR: the checkpoint's network does not match the configuration")
        for layer_mine, layer_theirs in zip(self.net.layers, net.layers):
            for k in layer_mine.params:
                layer_mine.params[k][...] = layer_theirs.params[k]
        opt = {k[len("optimizer:"):]: v for k, v in extra.items() if k.startswith("optimizer:")}
        self.optimizer.load_state_dict(self.net.named_params(), opt)
        self.step = int(state["step"])
        self.history = [float(v) for v in state["history"]]
        self.seconds = float(state.get("seconds", 0.0))
        self.rng.bit_generator.state = state["rng"]
        self._fingerprint = state.get("fingerprint")

    def _load_state(self, path, fingerprint, steps) -> None:
        net, extra = Network.load_with_extra(path)
        state = self._read_state(extra, path)
        saved = dict(state["config"])
        if (state["factor"], state["axis"]) != (self.factor, self.axis):
            raise ValueError(f"SelfSR.fit: {path} was trained with factor {state['factor']} "
                             f"along axis {state['axis']}, not factor {self.factor} along axis "
                             f"{self.axis}")
        # The stored settings win (a resumed run continues the run that was started), except
        # the horizon, which the caller gives.
        saved["steps"] = steps
        self.config = _check_options(saved, "SelfSR.fit")
        self.net = build_selfsr_network(self.factor, self.config["arch"],
                                        self.config["n_blocks"], self.config["n_filters"],
                                        self.config["seed"])
        self.optimizer = Adam(self.config["lr"])
        fp = state.get("fingerprint")
        if fp is not None and fp != fingerprint:
            raise ValueError(f"SelfSR.fit: {path} was trained on another volume (shape, axis, "
                             f"factor, CRC-32 {fp} vs {fingerprint}); use a new run directory")
        self._restore(net, extra, state)

    # -- apply -----------------------------------------------------------------------------
    def apply(self, volume, progress: bool = False) -> np.ndarray:
        """Super-resolve ``volume`` along the slice axis: ``(X, Y, Z)`` -> ``(X, Y, f Z)``
        (axis 2 shown), float32 in the input's units.

        ``out = s * (cubic + (r_1 + r_2) / 2)`` with ``s`` the robust scale, ``cubic`` the
        interpolation of ``volume / s`` on the fine grid and ``r_1``, ``r_2`` the network's
        residuals on the two families of planes that contain the slice axis.  The network only
        runs inside the bounding box of the signal (plus a margin of 8 voxels); elsewhere the
        output is the cubic interpolation (a constant volume is returned constant).
        """
        owner = "SelfSR.apply"
        vol = _check_volume(volume, owner)
        progress = check_bool(progress, "progress", owner)
        f, ax = self.factor, self.axis
        if vol.shape[ax] < 2:
            raise ValueError(f"{owner}: axis {ax} of shape {vol.shape} has fewer than 2 slices")
        scale = _robust_scale(vol)
        if scale == 0 or float(vol.max()) == float(vol.min()):
            out_shape = list(vol.shape)
            out_shape[ax] *= f
            return np.full(out_shape, vol.flat[0], dtype=np.float32)
        norm = vol / np.float32(scale)
        # Work with the slice axis last: v is (A, B, Z).
        v = np.moveaxis(norm, ax, 2)
        cubic = interpolate_axis(v, 2, f)
        sig = (np.abs(v) > _SIGNAL).any(axis=2)
        resid = np.zeros_like(cubic)
        if sig.any():
            ia, ib = np.nonzero(sig.any(axis=1))[0], np.nonzero(sig.any(axis=0))[0]
            a0, a1 = max(ia[0] - 8, 0), min(ia[-1] + 9, v.shape[0])
            b0, b1 = max(ib[0] - 8, 0), min(ib[-1] + 9, v.shape[1])
            if self.config["arch"] == "residual":
                sub = cubic[a0:a1, b0:b1]
            else:
                sub = v[a0:a1, b0:b1]
            bar = None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=(a1 - a0) + (b1 - b0), desc="selfsr apply", unit="plane")
            try:
                # Planes [a, :, :] are (B, Z) -> NHWC (N=A, H=Z, W=B); planes [:, b, :] likewise.
                r = np.zeros(cubic[a0:a1, b0:b1].shape, dtype=np.float64)
                for family in (0, 1):
                    planes = np.moveaxis(sub, family, 0)              # (N, W, Z)
                    x = np.ascontiguousarray(np.swapaxes(planes, 1, 2)[..., None])   # (N, Z, W, 1)
                    res = self._predict(x, bar)[..., 0]               # (N, Zf, W)
                    r += np.moveaxis(np.swapaxes(res, 1, 2), 0, family)
                resid[a0:a1, b0:b1] = (r / 2).astype(np.float32)
            finally:
                if bar is not None:
                    bar.close()
        out = (cubic + resid) * np.float32(scale)
        return np.ascontiguousarray(np.moveaxis(out, 2, ax), dtype=np.float32)

    def _predict(self, x, bar):
        outs, bs = [], self.config["apply_batch"]
        for start in range(0, x.shape[0], bs):
            outs.append(self.net.predict(x[start:start + bs], batch_size=bs))
            if bar is not None:
                bar.update(min(bs, x.shape[0] - start))
        return np.concatenate(outs, axis=0)


# ----------------------------------------------------------------------------- functions

def train_selfsr(volume, axis: int = 2, factor: int = 4, *, steps=None, run_dir=None,
                 resume: bool = False, progress: bool = True, **options) -> SelfSR:
    """``SelfSR(factor, axis, **options).fit(volume, ...)``: a model trained on ``volume``."""
    return SelfSR(factor, axis, **options).fit(volume, steps=steps, run_dir=run_dir,
                                               resume=resume, progress=progress)


def apply_selfsr(model: SelfSR, volume, progress: bool = False) -> np.ndarray:
    """``model.apply(volume)``: ``(X, Y, Z)`` -> the fine grid along the model's axis."""
    if not isinstance(model, SelfSR):
        # The contract wants ValueError for bad input, not TypeError.
        raise ValueError(  # noqa: TRY004
            f"apply_selfsr: model must be a SelfSR, got {type(model).__name__}")
    return model.apply(volume, progress=progress)


def selfsr_volume(volume, voxel_size=None, affine=None, *, axis=None, factor=None, steps=None,
                  run_dir=None, resume: bool = False, progress: bool = True, **options):
    """Train on a thick-slice volume and super-resolve it along its slice axis.

    Parameters
    ----------
    volume : array (X, Y, Z)
    voxel_size : 3 sizes, optional
        Used for the defaults of ``axis`` and ``factor`` (:func:`default_axis_factor`); needed
        unless both are given.  Default when missing and ``affine`` is given: the affine's
        column norms.
    affine : (4, 4), optional
        Voxel -> world matrix; the result's is :func:`fine_affine` (same field of view).

    Returns
    -------
    (out, out_affine, info)
        ``out`` float32, ``f`` times longer along ``axis``, in the input's units;
        ``out_affine`` (``None`` without ``affine``); ``info`` a dict with ``axis``,
        ``factor``, ``input_voxel_size``, ``output_voxel_size``, ``input_shape``,
        ``output_shape``, ``steps``, ``seconds`` (training + applying), ``train_seconds``,
        ``final_loss``, ``config``.
    """
    owner = "selfsr_volume"
    t0 = time.perf_counter()
    vol = _check_volume(volume, owner)
    if affine is not None:
        affine = np.asarray(affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise ValueError(f"{owner}: affine must be a finite 4x4 matrix, got shape "
                             f"{affine.shape}")
        if voxel_size is None:
            voxel_size = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if voxel_size is None:
        if axis is None or factor is None:
            raise ValueError(f"{owner}: give voxel_size (or affine), or both axis and factor")
        voxel_size = (1.0, 1.0, 1.0)
    vs = np.asarray(voxel_size, dtype=np.float64).ravel()
    if vs.size != 3 or not np.all(np.isfinite(vs)) or np.any(vs <= 0):
        raise ValueError(f"{owner}: voxel_size must be 3 finite sizes > 0, got {voxel_size!r}")
    if axis is not None and factor is not None:
        axis = check_int(axis, "axis", owner)
        if axis not in (0, 1, 2):
            raise ValueError(f"{owner}: axis must be 0, 1 or 2, got {axis!r}")
        factor = check_factor(factor, owner)
    else:
        axis, factor = default_axis_factor(vs, axis, factor, owner)
    # Every option is checked here, before any training, with this function's name.
    if steps is not None:
        steps = check_int(steps, "steps", owner, min=0, max=MAX_STEPS)
    cfg = _check_options(options, owner)
    try:
        profile_weights(factor, cfg["profile"], cfg["thickness"], cfg["fwhm"])
    except ValueError as exc:
        raise ValueError(f"{owner}: {exc}") from None
    model = SelfSR(factor, axis, **options)
    constant = float(vol.max()) == float(vol.min()) or _robust_scale(vol) == 0
    if not constant:
        model.fit(vol, steps=steps, run_dir=run_dir, resume=resume, progress=progress)
    elif steps is not None:
        model.config["steps"] = steps
    out = model.apply(vol, progress=progress)
    out_vs = [float(v) for v in vs]
    out_vs[axis] /= factor
    info = {"axis": axis, "factor": factor,
            "input_voxel_size": [float(v) for v in vs], "output_voxel_size": out_vs,
            "input_shape": list(vol.shape), "output_shape": list(out.shape),
            "steps": int(model.step), "seconds": round(time.perf_counter() - t0, 3),
            "train_seconds": round(model.seconds, 3),
            "final_loss": (float(np.mean(model.history[-50:])) if model.history else None),
            "constant": constant, "network": model.net.name, "n_params": int(model.net.n_params),
            "config": dict(model.config)}
    out_affine = None if affine is None else fine_affine(affine, axis, factor)
    return out, out_affine, info


def selfsr_file(input_path, output_path, *, axis=None, factor=None, steps=None, run_dir=None,
                resume: bool = False, progress: bool = True, **options) -> dict:
    """Read a NIfTI scan, super-resolve it along its slice axis, write ``output_path``.

    The ``labkit selfsr`` command: returns its JSON payload (:func:`selfsr_volume`'s ``info``
    plus ``input``, ``output`` and ``run_dir``).  Axis and factor default to the header's voxel
    sizes.  The voxel data are read as stored (not reoriented), in the file's units (scale
    slope applied), and written as float32 with the input's header, the new shape, voxel
    sizes and affine (sform and qform) on the same field of view.

    Never loses work: refuses an ``output_path`` that is the input (also through symlinks,
    hard links and relative paths) or does not end in ``.nii`` / ``.nii.gz``; writes through a
    temporary file in the output's folder renamed over it; ``run_dir`` keeps a checkpoint that
    ``resume=True`` continues.
    """
    import nibabel as nib

    from labkit.data.volumes import open_nifti

    owner = "selfsr_file"
    in_path, out_path = Path(input_path), Path(output_path)
    if not in_path.exists():
        raise FileNotFoundError(f"{owner}: no such file: {in_path}")
    if not str(out_path).lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"{owner}: output must end in .nii or .nii.gz, got {out_path}")
    if same_file(in_path, out_path):
        raise ValueError(f"{owner}: the output {out_path} is the input file {in_path}; "
                         f"refusing to overwrite the scan (choose another output)")
    if out_path.is_dir():
        raise ValueError(f"{owner}: the output {out_path} is a directory")
    # Header checks before any voxel is read: NIfTI, finite invertible affine, a sane size.
    img = open_nifti(in_path, owner)
    shape = img.shape
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise ValueError(f"{owner}: expected a 3-D volume, {in_path} has shape {img.shape}")
    try:
        data = np.asarray(img.dataobj, dtype=np.float32).reshape(shape)
    except (OSError, EOFError, ValueError, zlib.error) as exc:         # truncated data
        raise ValueError(f"{owner}: cannot read the voxels of {in_path} ({exc})") from None
    voxel_size = [float(v) for v in img.header.get_zooms()[:3]]
    out, out_affine, info = selfsr_volume(data, voxel_size, img.affine, axis=axis,
                                          factor=factor, steps=steps, run_dir=run_dir,
                                          resume=resume, progress=progress, **options)
    header = img.header.copy()
    header.set_data_dtype(np.float32)
    new = type(img)(out, out_affine, header=header)        # NIfTI-1 stays 1, NIfTI-2 stays 2
    new.set_sform(out_affine, code=int(img.header["sform_code"]) or 1)
    new.set_qform(out_affine, code=int(img.header["qform_code"]) or 1)
    new.header.set_zooms(tuple(info["output_voxel_size"]))
    # The temporary keeps the .nii / .nii.gz ending: nibabel picks the format from the name.
    with atomic_path(out_path, keep_suffix=True) as tmp:
        nib.save(new, str(tmp))
    info.update(input=str(in_path), output=str(out_path),
                run_dir=None if run_dir is None else str(run_dir))
    return info
