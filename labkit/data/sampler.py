"""Seeded random patch sampler for training super-resolution networks.

The LR images are computed **once** from the HR slices with :func:`degrade`; each batch is then
a set of aligned random crops. Because LR pixel ``i`` is centred on HR coordinate
``s*i + (s-1)/2``, the LR crop starting at ``(i, j)`` of size ``p/s`` covers exactly the HR crop
starting at ``(s*i, s*j)`` of size ``p``. Flips and transposes of both crops keep them aligned
(the grid convention is symmetric under reversal: ``p-1 - (s*i + (s-1)/2) = s*(p/s-1-i) + (s-1)/2``).

Crops and augmentations are done with one fancy-indexing gather per array, with per-sample index
grids, so a batch costs a fraction of a millisecond and no Python loop runs over samples or pixels.

Blind degradations
------------------
A model trained on one degradation learns that degradation's inverse and little else (the
bicubic specialists fall below bicubic interpolation on k-space-truncated or noisy input).  The
sampler can instead draw, per patch:

* ``degradation="mix"``: one of :data:`~labkit.data.degrade.DEGRADATIONS`, uniformly (the three
  LR versions of every slice are precomputed, so this costs a gather, not a degradation);
* ``noise_snr=(lo, hi)``: with probability ``noise_fraction``, Rician noise
  (:func:`~labkit.data.degrade.rician`) at an SNR drawn log-uniformly in ``[lo, hi]``, with
  ``sigma = mean_fg / SNR`` and ``mean_fg`` the foreground mean of the patch's whole clean LR slice
  (as :func:`~labkit.data.degrade.degrade` defines SNR for an image);
* ``intensity_scale=(lo, hi)``: a factor ``c`` drawn log-uniformly in ``[lo, hi]`` that multiplies
  both the LR and the HR patch, so the network cannot lean on the intensity range of the training
  volume (an image whose maximum is 0.5 instead of 1 is then not out of distribution);
* ``synthetic=f``: with probability ``f`` a patch comes from a synthetic-contrast copy of its
  slice (:func:`~labkit.data.synth.synthetic_contrast`: the slice's geometry with piecewise-
  constant random intensities and sharp boundaries, which the blurred template lacks and under
  k-space truncation ring).

With the defaults (one degradation, no noise, scale 1, no synthetic copies) none of these draws
happens, so runs of earlier versions resume exactly.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import (
    check_alloc,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_range,
    check_seed,
)
from labkit.data.degrade import DEGRADATIONS, crop_to_multiple, degrade, foreground_mean, rician
from labkit.data.synth import synthetic_contrast
from labkit.metrics import brain_mask

__all__ = ["SAMPLER_DEGRADATIONS", "PatchSampler"]

#: What a sampler accepts: one degradation for every patch, or ``"mix"`` (one per patch).
SAMPLER_DEGRADATIONS = DEGRADATIONS + ("mix",)


class PatchSampler:
    """Random aligned (LR, HR) patch batches in NHWC float32, reproducible and resumable.

    Parameters
    ----------
    hr_slices : array_like, shape (N, H, W) or (H, W)
        High-resolution images. If ``H`` or ``W`` is not a multiple of ``scale``, trailing
        rows/columns are dropped (:func:`crop_to_multiple`), as in the benchmark scoring.
    scale : int
        SR factor ``s``.
    patch : int
        HR patch size ``p``; must be divisible by ``s``. LR patches are ``p/s``.
    batch : int
        Patches per batch ``B``.
    degradation : {"bicubic", "kspace", "gaussian"}
        How LR images are made from HR (see :func:`labkit.data.degrade`).
    augment : bool
        Apply a random element of the 8 flips/90-degree rotations, the same to LR and HR.
    seed : int
        Seed of the sampler's ``numpy.random.Generator`` (PCG64).
    min_foreground : float in [0, 1)
        Redraw patches whose fraction of foreground HR pixels (``brain_mask``, 10 % of the slice
        maximum) is below this, up to ``max_redraws`` times. 0 (default) disables the test.
        Redraws come from the same generator, so sampling stays deterministic.
    max_redraws : int
        Bound on the redraw rounds (a patch still failing after that is kept).
    noise_snr : (float, float), optional
        SNR range of the Rician noise (see the module docstring); ``None``: no noise.
    noise_fraction : float in [0, 1]
        Probability that a patch gets noise when ``noise_snr`` is given.
    intensity_scale : (float, float)
        Range of the random intensity factor; ``(1, 1)`` (default): none.
    synthetic : float in [0, 1]
        Probability that a patch is cut from the synthetic-contrast copy of its slice (one copy
        per slice, made once with this sampler's seed); 0 (default): none.

    Attributes
    ----------
    lr : ndarray, shape (N, H/s, W/s), float32
        The precomputed LR images; for ``"mix"`` shape ``(3, N, H/s, W/s)``, one stack per
        degradation in :data:`~labkit.data.degrade.DEGRADATIONS` order.
    hr : ndarray, shape (N, H, W), float32
        The (cropped) HR images; with ``synthetic > 0`` shape ``(2N, H, W)``, the synthetic
        copies after the originals.
    rng : numpy.random.Generator

    Examples
    --------
    >>> sampler = PatchSampler(split["train"], scale=2, patch=96, batch=16)   # doctest: +SKIP
    >>> lr, hr = sampler.sample()    # (16, 48, 48, 1), (16, 96, 96, 1)        # doctest: +SKIP
    >>> state = sampler.state_dict()   # store with the checkpoint; load_state_dict(state) resumes
    """

    def __init__(self, hr_slices, scale: int, patch: int, batch: int,
                 degradation: str = "bicubic", augment: bool = True, seed: int = 0,
                 min_foreground: float = 0.0, max_redraws: int = 20,
                 noise_snr=None, noise_fraction: float = 0.5, intensity_scale=(1.0, 1.0),
                 synthetic: float = 0.0):
        owner = "PatchSampler"
        hr = check_array(hr_slices, owner, name="hr_slices", finite=True)
        if hr.ndim == 2:
            hr = hr[None]
        if hr.ndim != 3 or hr.shape[0] < 1:
            raise ValueError(f"{owner}: expected hr_slices of shape (N, H, W), got {hr.shape}")
        scale = check_int(scale, "scale", owner, min=1)
        patch = check_int(patch, "patch", owner, min=1)
        batch = check_int(batch, "batch", owner, min=1)
        if patch % scale:
            raise ValueError(f"{owner}: patch {patch} is not divisible by scale {scale}")
        check_choice(degradation, "degradation", owner, SAMPLER_DEGRADATIONS)
        if noise_snr is not None:
            noise_snr = check_range(noise_snr, "noise_snr", owner, min=0.0, min_open=True)
        noise_fraction = check_float(noise_fraction, "noise_fraction", owner, min=0.0, max=1.0)
        intensity_scale = check_range(intensity_scale, "intensity_scale", owner, min=0.0,
                                      min_open=True)
        synthetic = check_float(synthetic, "synthetic", owner, min=0.0, max=1.0)
        augment = check_bool(augment, "augment", owner)
        seed = check_seed(seed, "seed", owner)
        min_foreground = check_float(min_foreground, "min_foreground", owner, min=0.0, max=1.0,
                                     max_open=True)
        max_redraws = check_int(max_redraws, "max_redraws", owner, min=0)
        check_alloc((batch, patch, patch), owner, "HR batch", 4)
        if min(hr.shape[1:]) < scale:
            raise ValueError(f"{owner}: images {hr.shape[1:]} are smaller than scale {scale}")
        hr = crop_to_multiple(hr.astype(np.float32, copy=False), scale)
        if patch > min(hr.shape[1:]):
            raise ValueError(f"{owner}: patch {patch} is larger than the images {hr.shape[1:]}")
        self.scale, self.patch, self.batch = int(scale), int(patch), int(batch)
        self.lr_patch = self.patch // self.scale
        self.degradation = degradation
        self.augment = bool(augment)
        self.min_foreground = float(min_foreground)
        self.max_redraws = int(max_redraws)
        self.noise_snr = noise_snr
        self.noise_fraction = float(noise_fraction)
        self.intensity_scale = intensity_scale
        self.synthetic = float(synthetic)
        self._n_real = hr.shape[0]
        if self.synthetic > 0:
            hr = np.concatenate([hr, synthetic_contrast(hr, seed=seed)])
        self.hr = np.ascontiguousarray(hr)
        methods = DEGRADATIONS if degradation == "mix" else (degradation,)
        lrs = [np.ascontiguousarray(degrade(self.hr, self.scale, method=m), dtype=np.float32)
               for m in methods]
        self.lr = np.stack(lrs) if degradation == "mix" else lrs[0]
        self._lr_stack = self.lr.reshape((len(methods),) + lrs[0].shape)
        # The signal level an SNR refers to: the foreground mean of each clean LR slice.
        self._signal = (np.stack([foreground_mean(x) for x in lrs]).astype(np.float32)
                        if noise_snr is not None else None)
        self.rng = np.random.default_rng(seed)
        if self.min_foreground > 0:
            # Summed-area table of the foreground mask: any patch's count in O(1).
            fg = brain_mask(self.hr[: self._n_real]).astype(np.int64)
            self._fg_table = np.pad(fg.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))

    # -------------------------------------------------------------- state for exact resume
    def state_dict(self) -> dict:
        """Generator state (``bit_generator.state``, plain ints and strings, JSON-friendly)."""
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`; the next batches repeat the saved ones."""
        try:
            self.rng.bit_generator.state = state["bit_generator"]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"PatchSampler.load_state_dict: invalid state ({err})") from None

    # -------------------------------------------------------------- sampling
    def _draw_positions(self, n: int):
        """Slice index and LR top-left corner of ``n`` patches."""
        h, w = self._lr_stack.shape[2:]
        k = self.rng.integers(0, self._n_real, size=n)
        i = self.rng.integers(0, h - self.lr_patch + 1, size=n)
        j = self.rng.integers(0, w - self.lr_patch + 1, size=n)
        return k, i, j

    def _foreground_fraction(self, k, i, j) -> np.ndarray:
        s, p, t = self.scale, self.patch, self._fg_table
        r0, c0 = s * i, s * j
        total = t[k, r0 + p, c0 + p] - t[k, r0, c0 + p] - t[k, r0 + p, c0] + t[k, r0, c0]
        return total / (p * p)

    def _positions(self):
        k, i, j = self._draw_positions(self.batch)
        if self.min_foreground > 0:
            for _ in range(self.max_redraws):
                bad = np.flatnonzero(self._foreground_fraction(k, i, j) < self.min_foreground)
                if bad.size == 0:
                    break
                k[bad], i[bad], j[bad] = self._draw_positions(bad.size)
        return k, i, j

    @staticmethod
    def _local_grids(size: int, transpose, flip_r, flip_c):
        """Per-sample source coordinates inside a patch for the chosen flips/transposes.

        Output pixel ``(a, b)`` of sample ``n`` reads patch pixel ``(rows[n, a, b], cols[n, a, b])``.
        Transpose x row flip x column flip spans all 8 symmetries of the square (the 4 rotations
        and their mirror images).
        """
        a = np.arange(size)[None, :, None]
        b = np.arange(size)[None, None, :]
        t = transpose[:, None, None]
        rows = np.where(t, b, a)
        cols = np.where(t, a, b)
        rows = np.where(flip_r[:, None, None], size - 1 - rows, rows)
        cols = np.where(flip_c[:, None, None], size - 1 - cols, cols)
        return rows, cols

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One batch: ``lr`` of shape ``(B, p/s, p/s, 1)`` and ``hr`` ``(B, p, p, 1)``, float32."""
        k, i, j = self._positions()
        n = self.batch
        if self.synthetic > 0:        # same place in the slice's synthetic copy
            k = k + self._n_real * (self.rng.random(n) < self.synthetic)
        if self.augment:
            transpose, flip_r, flip_c = (self.rng.integers(0, 2, size=(3, n)) == 1)
        else:
            transpose = flip_r = flip_c = np.zeros(n, dtype=bool)
        # Drawn only when asked for, in this order, so plain runs keep their random stream.
        method = (self.rng.integers(0, len(DEGRADATIONS), size=n) if self.degradation == "mix"
                  else np.zeros(n, dtype=np.int64))
        q, p, s = self.lr_patch, self.patch, self.scale
        kk = k[:, None, None]
        rows, cols = self._local_grids(q, transpose, flip_r, flip_c)
        lr = self._lr_stack[method[:, None, None], kk, i[:, None, None] + rows,
                            j[:, None, None] + cols]
        rows, cols = self._local_grids(p, transpose, flip_r, flip_c)
        hr = self.hr[kk, (s * i)[:, None, None] + rows, (s * j)[:, None, None] + cols]
        if self.noise_snr is not None:
            noisy = self.rng.random(n) < self.noise_fraction
            snr = _log_uniform(self.rng, self.noise_snr, n)
            sigma = (self._signal[method, k] / snr).astype(np.float32)[noisy, None, None]
            lr[noisy] = rician(lr[noisy], sigma, self.rng)   # clean patches stay bit-exact
        if self.intensity_scale != (1.0, 1.0):
            c = _log_uniform(self.rng, self.intensity_scale, n).astype(np.float32)[:, None, None]
            lr, hr = lr * c, hr * c
        return lr[..., None], hr[..., None]

    def __iter__(self):
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sample()

    def __repr__(self) -> str:
        extra = ""
        if self.noise_snr is not None:
            extra += f", noise_snr={self.noise_snr}, noise_fraction={self.noise_fraction}"
        if self.intensity_scale != (1.0, 1.0):
            extra += f", intensity_scale={self.intensity_scale}"
        if self.synthetic > 0:
            extra += f", synthetic={self.synthetic}"
        return (f"PatchSampler(images={self.hr.shape}, scale={self.scale}, patch={self.patch}, "
                f"batch={self.batch}, degradation={self.degradation!r}, augment={self.augment}"
                f"{extra})")


def _log_uniform(rng: np.random.Generator, bounds, n: int) -> np.ndarray:
    """``n`` values log-uniform in ``[lo, hi]`` (``lo == hi`` gives that value)."""
    lo, hi = bounds
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
