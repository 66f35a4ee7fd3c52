"""Build notebooks/12_results.ipynb: the shipped EDSR checkpoints on the MNI-SR test slices
(PSNR/SSIM against bicubic at x2 and x4, per slice, visual comparisons), k-space vs bicubic
degradation, SR of a whole volume written to NIfTI, honest limits, the SR comparison widget.

If ``data/checkpoints/edsr-x{2,4}.npz`` do not exist yet, the notebook trains small stand-in
checkpoints into a temporary folder and says so in its output.

Run ``python tools/notebooks/build_12_results.py``, then execute the notebook::

    jupyter nbconvert --to notebook --execute --inplace notebooks/12_results.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "12_results.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 12 · Results

The experiment of the course, evaluated: two EDSR networks (Lim et al. 2017) trained with
`labkit train` on the MNI-SR split, one for ×2 and one for ×4 super-resolution, shipped with
labkit as `data/checkpoints/edsr-x2.npz` and `edsr-x4.npz`. You will learn:

* how to load a trained network and read how it was trained;
* how much it beats bicubic interpolation on the 20 MNI-SR test slices, in PSNR and SSIM, on
  average and slice by slice;
* what the improvement looks like (zoomed comparisons and error maps), and where it is;
* what happens when the low-resolution images are made differently from those seen in training
  (k-space truncation instead of bicubic downsampling);
* how to super-resolve a whole MRI volume and write it as NIfTI;
* and, as important as the numbers, what this experiment does **not** show.

**Time:** about 30 minutes of reading. Running takes one to three minutes (evaluating the test
slices and, in the full version, a whole volume; FAST mode upscales a slab of slices instead).
**Prerequisites:** [02 Super-resolution and image quality](02_super_resolution_and_quality.ipynb)
(PSNR, SSIM), [03 Magnetic resonance](03_magnetic_resonance.ipynb) (k-space, NIfTI),
[10 Dataset and models](10_dataset_and_models.ipynb) and [11 Training](11_training.ipynb).
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # a slab instead of the whole volume in CI

import tempfile
from pathlib import Path

import numpy as np
import nibabel as nib
import matplotlib.pyplot as plt
from IPython.display import display
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

import labkit
from labkit.data import degrade, load_volume, mni_sr_split
from labkit.data.split import TRAIN_Z
from labkit.metrics import psnr, ssim
from labkit.ops.resize import imresize
from labkit.sr import evaluate_network, load_sr_network, super_resolve, upscale_file, upscaled_affine
from labkit.train import Trainer, make_config
from labkit.viz.mri import psnr_per_slice, sr_comparison
from labkit.viz.course_plots import grouped_bars

split = mni_sr_split()
test, test_z = split["test"], split["test_z"]
rot = lambda a: np.rot90(a, axes=(-2, -1))          # display: front of the head up
print("test slices:", test.shape, "z =", [int(z) for z in test_z])
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. The checkpoints

A checkpoint is a `.npz` file with the network's architecture (as JSON) and its weights; the
shipped ones also record the configuration of the run that produced them, so the exact
`labkit train` command can be read back (`data/README.md` lists it too). If the files are not
there (a fresh clone whose checkpoints are still being trained, for instance), the cell below
trains small stand-ins with the same trainer into a temporary folder, and everything after it
is then clearly about *those*.
""")

code(r"""
def find_checkpoint_dir():
    # The repository's data/checkpoints, seen from the notebooks folder or from the package.
    for base in (Path.cwd().parent, Path(labkit.__file__).resolve().parents[1]):
        if (base / "data" / "checkpoints").is_dir():
            return base / "data" / "checkpoints"
    return None

ckpt_dir = find_checkpoint_dir()
CHECKPOINTS = {s: (ckpt_dir / f"edsr-x{s}.npz") if ckpt_dir else None for s in (2, 4)}
SHIPPED = all(p is not None and p.exists() for p in CHECKPOINTS.values())
if not SHIPPED:
    print("NOTE: the shipped checkpoints data/checkpoints/edsr-x2.npz and edsr-x4.npz were not "
          "found.\nTraining small STAND-IN networks instead (2 blocks, 16 filters, 100 steps): the "
          "numbers below are\nthose of the stand-ins, far below what the shipped models reach.")
    stand_in_dir = Path(tempfile.mkdtemp(prefix="labkit-standin-"))
    for s, path in CHECKPOINTS.items():
        if path is not None and path.exists():
            continue
        cfg = make_config(scale=s, blocks=2, filters=16, batch=8, patch=16 * s, steps=100,
                          lr=1e-3, val_slices=0, log_every=10, checkpoint_every=100)
        trainer = Trainer.from_config(cfg, progress=False)
        trainer.fit()
        CHECKPOINTS[s] = trainer.export(stand_in_dir / f"stand-in-edsr-x{s}.npz")

nets, configs = {}, {}
for s, path in CHECKPOINTS.items():
    nets[s], configs[s] = load_sr_network(path)
    c = configs[s]
    print(f"x{s}: {path.name}: {nets[s].name}, {nets[s].n_params:,} parameters")
    if c:
        print(f"     trained with: labkit train --model {c['model']} --blocks {c['blocks']} "
              f"--filters {c['filters']} --scale {c['scale']} --steps {c['steps']} --batch {c['batch']} "
              f"--patch {c['patch']} --lr {c['lr']:g} --schedule {c['schedule']} --loss {c['loss']} "
              f"--degradation {c['degradation']} --seed {c['seed']}")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Scores on the MNI-SR test slices

The benchmark protocol (chapter 10): each of the 20 HR test slices is degraded by bicubic
downsampling (MATLAB's `imresize`, antialiased), then upsampled back by the network and by
bicubic interpolation; both are scored against the HR slice with PSNR and SSIM, after cropping
`scale` pixels at every border (`crop=scale`) and with `data_range=1`. The network's output is
clipped to [0, 1], the range of the data. `labkit.sr.evaluate_network` does exactly this and is
what `labkit evaluate` prints.
""")

code(r"""
results = {s: evaluate_network(nets[s], test, scale=s, degradation="bicubic") for s in (2, 4)}
""")

code(r"""
# NBVAL_CHECK_OUTPUT
# The scores of the shipped checkpoints are deterministic: CI compares this table.
print("MNI-SR test set, 20 slices, bicubic degradation" + ("" if SHIPPED else "  [STAND-IN models]"))
print(f"{'scale':<6} {'method':<9} {'PSNR (dB)':>10} {'SSIM':>8}")
for s in (2, 4):
    for name in ("bicubic", "model"):
        r = results[s][name]
        print(f"x{s:<5} {('EDSR' if name == 'model' else name):<9} {r['psnr']:>10.2f} {r['ssim']:>8.4f}")
    print(f"x{s:<5} {'gain':<9} {results[s]['model']['psnr'] - results[s]['bicubic']['psnr']:>+10.2f} "
          f"{results[s]['model']['ssim'] - results[s]['bicubic']['ssim']:>+8.4f}")
""")

md(r"""
A gain of 1 dB in PSNR means the mean squared error fell by about 21 % ($10^{-0.1}$); SSIM, which
looks at local structure rather than pixel errors, is already close to 1 for bicubic at ×2 on
this smooth template, so its gains look small in absolute terms. ×4 is much harder than ×2 for
both methods: each LR pixel has to become sixteen.

### Slice by slice

A mean can hide a lot. The gain per slice shows whether the network helps everywhere or only on
some anatomy:
""")

code(r"""
for s in (2, 4):
    values = {"bicubic": np.array(results[s]["bicubic"]["psnr_per_slice"]),
              "EDSR": np.array(results[s]["model"]["psnr_per_slice"])}
    fig = psnr_per_slice(test_z, values, baseline="bicubic", title=f"PSNR per test slice, x{s}")
    display(fig)
gain2 = np.array(results[2]["model"]["psnr_per_slice"]) - np.array(results[2]["bicubic"]["psnr_per_slice"])
print(f"x2: EDSR beats bicubic on {np.sum(gain2 > 0)} of {len(gain2)} slices; "
      f"gain from {gain2.min():+.2f} to {gain2.max():+.2f} dB")
""")

md(r"""
The two groups of test slices (z = 60-69, low in the brain, through the temporal lobes and the
midbrain; z = 100-109, higher, through the bodies of the lateral ventricles) have different
amounts of fine structure, which is why both methods' PSNR moves with z; the
*gain* is more stable than either curve.

## 3. What the improvement looks like

Numbers first, then pictures: the LR input (shown with its coarse pixels), bicubic, EDSR and the
HR reference, a zoomed window, and the absolute error maps on a common scale. Look at edges:
the cortex boundary and the ventricle walls are where bicubic blurs and where the network's
errors are visibly smaller.
""")

code(r"""
k = int(np.where(test_z == 104)[0][0])            # a slice through the lateral ventricles
for s, zoom in ((2, (70, 60, 72)), (4, (70, 60, 72))):
    hr = test[k]
    lr = degrade(hr, s)
    sr = super_resolve(nets[s], lr)
    bic = imresize(lr, output_shape=hr.shape)
    scores = {"bicubic": (psnr(bic, hr, crop=s), ssim(bic, hr, crop=s)),
              "EDSR": (psnr(sr, hr, crop=s), ssim(sr, hr, crop=s))}
    fig = sr_comparison(rot(hr), {f"LR (x{s})": rot(lr), "bicubic": rot(bic), "EDSR": rot(sr)},
                        zoom=zoom, scores={k2: v for k2, v in scores.items()})
    display(fig)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. A different degradation: k-space truncation

The networks learned to undo one specific degradation: bicubic downsampling. A real
low-resolution MR acquisition does not look like that. The scanner measures k-space (the
image's Fourier transform, chapter 03), and acquiring fewer phase- and frequency-encoding steps
means keeping only the *centre* of k-space: the LR image is the HR image with its high
frequencies cut off sharply, which blurs differently from bicubic's smooth antialiasing filter
and adds Gibbs ringing next to edges. `degrade(hr, s, "kspace")` simulates that (on the same
pixel grid as the bicubic degradation).

What does a network trained on bicubic LR do with k-space LR? Both methods are now applied to
inputs they were not designed for; we compare each with bicubic interpolation of the *same*
k-space LR images.
""")

code(r"""
kspace = {s: evaluate_network(nets[s], test, scale=s, degradation="kspace") for s in (2, 4)}
print(f"{'scale':<6} {'LR made by':<10} {'bicubic':>9} {'EDSR':>9} {'gain (dB)':>10}")
for s in (2, 4):
    for name, res in (("bicubic", results[s]), ("k-space", kspace[s])):
        print(f"x{s:<5} {name:<10} {res['bicubic']['psnr']:>9.2f} {res['model']['psnr']:>9.2f} "
              f"{res['model']['psnr'] - res['bicubic']['psnr']:>+10.2f}")
""")

code(r"""
hr = test[k]
lr_k = degrade(hr, 2, "kspace")
sr_k = super_resolve(nets[2], lr_k)
bic_k = imresize(lr_k, output_shape=hr.shape)
fig = sr_comparison(rot(hr), {"k-space LR": rot(lr_k), "bicubic": rot(bic_k), "EDSR (trained on bicubic LR)": rot(sr_k)},
                    zoom=(70, 60, 72),
                    scores={"bicubic": (psnr(bic_k, hr, crop=2), ssim(bic_k, hr, crop=2)),
                            "EDSR (trained on bicubic LR)": (psnr(sr_k, hr, crop=2), ssim(sr_k, hr, crop=2))})
fig
""")

md(r"""
Whatever the exact numbers on your run, the lesson is general: a super-resolution network
learns the inverse of *the degradation it was trained on*. Its gain over interpolation shrinks
(or turns into a loss) when the test images were degraded differently, and the ringing of
k-space truncation is a pattern it never saw. For real scans, train on LR images simulated the
way the scanner makes them (`labkit train --degradation kspace`), ideally with noise
(`degrade(..., noise_snr=...)`), or better on pairs of real acquisitions.

## 5. A whole volume, in and out of NIfTI

The networks work on 2-D slices, so a 3-D scan is super-resolved slice by slice, in plane: every
axial slice of an LR volume with 2 × 2 × 1 mm voxels becomes a slice with 1 × 1 × 1 mm voxels.
`labkit.sr.upscale_file` reads a NIfTI file, does that, computes the new voxel-to-world affine
(the field of view, i.e. the outer edges of the voxel grid, stays where it was), and writes a
NIfTI file; `labkit upscale` is the same from a terminal:

```bash
labkit upscale lowres.nii.gz -o superres.nii.gz --checkpoint data/checkpoints/edsr-x2.npz
```

We first make an LR volume from the MNI template (each axial slice degraded ×2 in plane) and
save it with the affine of its coarser grid: LR voxel $i$ covers HR voxels $2i$ and $2i+1$, so
its centre sits at HR index $2i + 0.5$. FAST mode uses a slab of 12 slices instead of all of
them.
""")

code(r"""
vol = load_volume("mni152")
hr_vol = vol.data[:196, :232, :]
zs = slice(60, 72) if FAST else slice(0, hr_vol.shape[2])
hr_vol = hr_vol[:, :, zs]
lr_vol = np.moveaxis(degrade(np.moveaxis(hr_vol, 2, 0), 2), 0, 2)     # (98, 116, Z)
to_lr = np.diag([2.0, 2.0, 1.0, 1.0])
to_lr[:2, 3] = 0.5                                                     # LR voxel i at HR index 2i + 0.5
lr_affine = vol.affine @ to_lr
lr_affine[:3, 3] += vol.affine[:3, 2] * zs.start                       # the slab starts at z = zs.start

work = Path(tempfile.mkdtemp(prefix="labkit-upscale-"))
nib.save(nib.Nifti1Image(lr_vol.astype(np.float32), lr_affine), work / "lowres.nii.gz")
summary = upscale_file(work / "lowres.nii.gz", work / "superres.nii.gz", CHECKPOINTS[2])
out = nib.load(work / "superres.nii.gz")
print(f"{lr_vol.shape[2]} slices; LR {lr_vol.shape} -> SR {out.shape}")
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print("in-plane size: LR", lr_vol.shape[:2], "-> SR", out.shape[:2])
print("voxel size (mm): LR", tuple(float(v) for v in nib.load(work / 'lowres.nii.gz').header.get_zooms()),
      "-> SR", tuple(float(v) for v in out.header.get_zooms()))
hr_affine = vol.affine.copy()
hr_affine[:3, 3] += vol.affine[:3, 2] * zs.start
print("SR affine == the HR template's affine:", np.allclose(out.affine, hr_affine))
""")

code(r"""
sr_vol = np.asarray(out.dataobj, dtype=np.float32)
bic_vol = np.moveaxis(imresize(np.moveaxis(lr_vol, 2, 0), output_shape=(196, 232)), 0, 2)
def volume_psnr(a, ref, crop=2):
    # One PSNR for the whole volume (a single mean squared error), borders cropped in plane.
    a, ref = a[crop:-crop, crop:-crop], ref[crop:-crop, crop:-crop]
    return psnr(a.reshape(a.shape[0], -1), ref.reshape(ref.shape[0], -1))

n_train = int(np.isin(np.arange(zs.start, zs.stop), TRAIN_Z).sum())
print(f"whole {'slab' if FAST else 'volume'} ({lr_vol.shape[2]} slices, {n_train} of them training "
      f"slices): PSNR bicubic {volume_psnr(bic_vol, hr_vol):.2f} dB, "
      f"EDSR {volume_psnr(np.clip(sr_vol, 0, 1), hr_vol):.2f} dB")
if hr_vol.shape[2] > 40:                       # a sagittal section across the processed slices
    mid = hr_vol.shape[0] // 2
    cut = lambda a: np.rot90(a[mid])
else:                                          # FAST: the slab is thin, show its middle axial slice
    cut = lambda a: rot(a[:, :, a.shape[2] // 2])
fig = sr_comparison(cut(hr_vol), {"bicubic": cut(bic_vol), "EDSR": cut(np.clip(sr_vol, 0, 1))},
                    error=False)
fig
""")

md(r"""
In the full version the figure is a sagittal section, cut *across* the slices the network
processed one by one: only one direction of it was upscaled (the other is the slice axis,
untouched), and any slice-to-slice inconsistency of a 2-D network would show as horizontal
streaks. (The volume includes the training slices, so its PSNR is not a test result; section 2's
numbers are.)

## 6. Honest limits

These results are real, and they are also easy to over-read. What this experiment does *not*
show:

* **Synthetic degradation.** The LR images were computed from the HR ones by a known operator
  (bicubic downsampling), and the network was trained on exactly that operator. Section 4 shows
  how much the gain depends on it. Real LR acquisitions have their own blur, noise and artefacts.
* **A single template brain.** MNI ICBM152 is an *average* of 152 registered scans: smooth,
  noise-free, perfectly symmetric-ish, with no pathology, no motion and no bias field. Training
  and test slices come from the same volume. Nothing here says how the network does on a new
  subject, a different scanner or contrast (T2, FLAIR), or a lesion.
* **Test slices close to training slices.** The split keeps a margin of 3 slices around the test
  slices, so the nearest training slice is 4 mm away or more (below): different pixels, but the
  same brain, with the same structures a few millimetres up or down.
* **Small models, short training.** A few hundred thousand parameters trained for minutes to
  hours on a CPU, against tens of millions of parameters trained for days on GPUs in the SR
  literature. Bigger models and longer training would do better; the ranking against bicubic is
  what matters here.
* **PSNR and SSIM are not diagnosis.** They reward outputs close to the reference on average,
  which favours smooth answers over plausible detail, and say nothing about whether a
  radiologist would see the same thing. A network can also *invent* structure that looks sharp
  and is wrong; the error maps are the first thing to look at.
* **2-D only.** The networks work slice by slice; through-plane resolution is unchanged and
  nothing enforces consistency between slices.

How close are test and training slices? For each test slice, its distance to the nearest
training slice, and the PSNR one would get by simply *copying* that training slice:
""")

code(r"""
train_z = np.array(TRAIN_Z)
vol_hr = load_volume("mni152").data[:196, :232, :]
dist, copy_psnr = [], []
for z, hr in zip(test_z, test):
    nearest = train_z[np.argmin(np.abs(train_z - z))]
    dist.append(abs(nearest - z))
    copy_psnr.append(psnr(vol_hr[:, :, nearest], hr, crop=2))
print("distance to the nearest training slice (mm):", sorted({int(d) for d in dist}))
print(f"PSNR of copying the nearest training slice: {np.min(copy_psnr):.1f} .. {np.max(copy_psnr):.1f} dB "
      f"(bicubic x2: {results[2]['bicubic']['psnr']:.1f} dB)")
""")

md(r"""
Copying a neighbour is far worse than interpolating, so the network is not simply recalling
training images; but the anatomy it has to reconstruct is familiar, from the same (average)
brain. A fair generalisation test
would use another subject's scan: try `labkit evaluate data/checkpoints/edsr-x2.npz --data
phantom` (the procedural phantom) or `--data PATH` with any NIfTI file you have.

## 7. Compare for yourself

Pick a test slice, a model, and move the zoom window; the scores of the shown slice are in the
titles.
""")

code(r"""
from labkit.widgets import sr_viewer

lr2 = degrade(test, 2)
sr2 = super_resolve(nets[2], lr2)
ui, state = sr_viewer(rot(test), {"EDSR x2": rot(sr2)}, lr=rot(lr2), scale=2, zoom_size=64)
ui
""")

code(r"""
# NBVAL_CHECK_OUTPUT
state.controls["slice"].value = 3
print("slice 3 shown, images:", sorted(k for k in state.arrays if k not in ("scores", "hr")),
      "| error:", state.error)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **SSIM maps.** `labkit.metrics.ssim_map` gives SSIM per pixel. For the slice of section 3,
   plot the SSIM maps of bicubic and EDSR at ×4. Where does the network gain structure, and
   where does it not?
2. **Brain only.** The background is exactly 0 in the template and easy for both methods. Score
   only the brain with `psnr(..., mask=brain_mask(hr))` (`labkit.metrics.brain_mask`). Does the
   gain grow or shrink?
3. **Train on k-space.** Train a small network with `labkit train --degradation kspace` (as in
   chapter 11) and repeat section 4 with it. Which network is better on which degradation?
4. **Noise.** Degrade the test slices with `degrade(hr, 2, noise_snr=30)`. How do bicubic and
   EDSR compare now? Why can a network trained on noise-free data amplify noise?
5. **Another brain.** Evaluate the ×2 checkpoint on the phantom (`evaluation_slices("phantom")`
   from `labkit.sr`) and on a nibabel sample file (`labkit.data.list_samples()`). Is the gain
   over bicubic preserved?
""")

code(r"""
# Key results of the chapter (checked in CI).
for s in (2, 4):
    assert results[s]["n_slices"] == 20
    if SHIPPED:                                   # the trained models must beat interpolation
        assert results[s]["model"]["psnr"] > results[s]["bicubic"]["psnr"], s
        assert results[s]["model"]["ssim"] > results[s]["bicubic"]["ssim"], s
    else:
        print(f"x{s}: stand-in model, PSNR {results[s]['model']['psnr']:.2f} dB vs bicubic "
              f"{results[s]['bicubic']['psnr']:.2f} dB (no claim made)")
assert results[2]["bicubic"]["psnr"] > results[4]["bicubic"]["psnr"]          # x4 is harder
assert out.shape[:2] == (196, 232) and np.allclose(out.header.get_zooms()[:2], 1.0)
assert min(dist) >= 4                                                          # split margin
print("all checks passed" + ("" if SHIPPED else " (with stand-in checkpoints)"))
""")

write(NAME, id_prefix="nb12")
