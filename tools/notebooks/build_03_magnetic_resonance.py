"""Build notebooks/03_magnetic_resonance.ipynb."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# 3. Magnetic resonance

Magnetic resonance imaging (MRI) measures not the image itself but its **Fourier transform**.
That one fact explains why MR resolution costs scan time, what a "low-resolution" MR image
really is, and why the edges in an MR image can ring. This chapter gives just enough physics to
make it precise, then turns to the practical side: how an MR volume is stored (NIfTI), how its
voxels map to millimetres in the patient, and how the course simulates low-resolution images.

You will

* follow the path from spinning protons to k-space in a few paragraphs;
* open the MNI152 template: voxels, affine, orientation, voxel size, and browse it;
* look at a slice's k-space and see where its energy is;
* truncate k-space and measure the Gibbs overshoot;
* compare the three degradations `labkit.data.degrade` offers, and open nibabel's sample files.

**Time**: about 35 minutes of reading; running takes about 15 seconds (stored outputs: the
full version). **Prerequisites**: the Fourier transform at the level of "a signal is a sum of
sinusoids"; [chapter 2](02_super_resolution_and_quality.ipynb) for PSNR and interpolation.
""")
b.code(r"""
%matplotlib inline
%config InlineBackend.figure_format = "png"
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

plt.rcParams["figure.dpi"] = 80
FAST = os.environ.get("LABKIT_FAST", "0") == "1"
print("FAST mode:", FAST)
""")
b.md(r"""
## 3.1 From spins to k-space

**Spins.** The body is mostly water, and every water molecule holds two hydrogen nuclei:
single protons, each with a spin and therefore a tiny magnetic moment. In a strong static
field $B_0$ (1.5 or 3 tesla in clinical scanners, some 60,000 times the Earth's field) a slight
excess of these moments aligns with the field, giving the tissue a net magnetisation
$\mathbf{M}$ along $B_0$. Moments in a field precess around it, like a spinning top in
gravity, at the **Larmor frequency**

$$\omega_0 = \gamma B_0, \qquad \frac{\gamma}{2\pi} = 42.58\ \text{MHz/T for } {}^1\text{H}.$$

**Resonance and relaxation.** A radio-frequency pulse at exactly $\omega_0$ tips $\mathbf{M}$
away from $B_0$; the tipped magnetisation precesses and induces a voltage in a receiver coil:
that is the MR signal. It then relaxes back, along $B_0$ with time constant $T_1$ and in the
transverse plane with $T_2$. Both depend on the tissue. A *T1-weighted* sequence, like the
template we use, makes tissues with short $T_1$ bright: white matter (fatty myelin) is brighter
than grey matter, and cerebrospinal fluid (long $T_1$) is dark.

**Spatial encoding.** If every proton precessed at the same frequency, the coil would receive
one sum with no spatial information. Gradient coils add a field that varies linearly with
position, $B(x) = B_0 + G x$, so the precession frequency encodes position. Demodulated at
$\omega_0$, the signal after the gradient has been on for a while is

$$s(t) = \int m(x)\, e^{-i 2\pi k(t)\, x}\, dx, \qquad k(t) = \frac{\gamma}{2\pi} \int_0^t G(\tau)\, d\tau,$$

where $m(x)$ is the transverse magnetisation of the tissue at $x$. This is the Fourier transform
of the image, evaluated at spatial frequency $k(t)$. By playing gradients in two (or three)
directions the scanner visits points of the 2-D Fourier domain, called **k-space**, one line
per repetition of the sequence; the image is the inverse Fourier transform of the samples.

Two consequences for this course follow directly from the sampling theorem. The **field of
view** is set by the spacing of the samples, $\mathrm{FOV} = 1/\Delta k$, and the **pixel
size** by how far out they reach, $\Delta x = 1 / (2 k_{\max})$. Halving the pixel size means
acquiring twice as many k-space lines in each phase-encoded direction, and scan time grows
with the number of lines. A low-resolution MR image is therefore, physically, an image whose
k-space was **truncated**: the outer frequencies were never measured. SR for MRI asks for those
missing frequencies back.
""")
b.code(r"""
GAMMA_BAR = 42.58e6          # Hz per tesla, hydrogen
for b0 in (1.5, 3.0, 7.0):
    print(f"B0 = {b0:3.1f} T  ->  Larmor frequency {GAMMA_BAR * b0 / 1e6:6.1f} MHz")
""")
b.md(r"""
## 3.2 A NIfTI volume

MR volumes are stored in the NIfTI format: a header and a 3-D (or 4-D, for time series) array
of voxel values. The header's most important field is the **affine**, a $4 \times 4$ matrix that
maps voxel indices $(i, j, k)$ to world coordinates $(x, y, z)$ in millimetres:

$$\begin{pmatrix} x \\ y \\ z \\ 1 \end{pmatrix} = A \begin{pmatrix} i \\ j \\ k \\ 1 \end{pmatrix}.$$

Its upper-left $3 \times 3$ block holds the voxel sizes and the orientation of the axes, the
last column the position of voxel $(0, 0, 0)$. The orientation is usually given as three letters
naming where each axis points: **RAS** means the first index increases towards the subject's
Right, the second towards Anterior, the third towards Superior.

`labkit.data.load_volume("mni152")` reads the MNI ICBM152 2009a T1 template from the files of
the installed `nilearn` package (with nibabel, without importing nilearn), reorients it to the
closest RAS orientation, and divides it by its maximum:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
import nibabel as nib

from labkit.data import load_volume

vol, affine, voxel_size = load_volume("mni152")
print("shape        ", vol.shape, vol.dtype, "min", vol.min(), "max", vol.max())
print("voxel size   ", voxel_size, "mm")
print("orientation  ", "".join(nib.aff2axcodes(affine)))
print("affine\n", affine)
""")
b.md(r"""
The template has 1 mm isotropic voxels and its world origin is the MNI origin, at the anterior
commissure (a small bundle of fibres crossing the midline, the standard landmark for brain
coordinates). Which voxel is it? Inverting the affine answers:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
origin_voxel = np.linalg.solve(affine, [0.0, 0.0, 0.0, 1.0])[:3]
print("voxel of the MNI origin:", origin_voxel)
ac = tuple(int(round(v)) for v in origin_voxel)
print("its world coordinates (mm):", (affine @ [*ac, 1])[:3])
""")
b.code(r"""
from labkit.viz.mri import orthogonal_slices

orthogonal_slices(vol, index=ac, voxel_size=voxel_size)
""")
b.md(r"""
The three orthogonal planes through the anterior commissure: **sagittal** (left-right index
fixed: the profile), **coronal** (front-back fixed) and **axial** (top-bottom fixed, the slices
the MNI-SR benchmark uses). Browse the volume with the slice viewer from `labkit.widgets`; move
the slider and change the axis.
""")
b.code(r"""
from labkit.widgets import volume_viewer

viewer_ui, viewer = volume_viewer(vol, voxel_size=voxel_size, axis=2, index=ac[2])
viewer_ui
""")
b.md(r"""
## 3.3 k-space of a slice

`labkit.ops.kspace.fft2c` is the centred, orthonormal 2-D discrete Fourier transform: the zero
frequency sits in the middle of the array, and the transform preserves energy (Parseval:
$\sum |x|^2 = \sum |K|^2$). We take the axial slice through the anterior commissure, cropped
to the $196 \times 232$ size of the benchmark, and look at the magnitude of its k-space on a
logarithmic scale, since it spans many orders of magnitude:
""")
b.code(r"""
from labkit.ops.kspace import fft2c, ifft2c, kspace_mask
from labkit.viz.mri import kspace_figure

axial = vol[:196, :232, ac[2]].astype(np.float64)
K = fft2c(axial)
print(f"energy: image {np.sum(axial ** 2):.2f}, k-space {np.sum(np.abs(K) ** 2):.2f} (Parseval)")
energy_in_block = {}
for s in (2, 4, 8):
    m = kspace_mask(axial.shape, (axial.shape[0] // s, axial.shape[1] // s))
    energy_in_block[s] = float(np.sum(np.abs(K[m]) ** 2) / np.sum(np.abs(K) ** 2))
    print(f"central 1/{s} x 1/{s} block ({m.mean():.2%} of k-space) holds {energy_in_block[s]:.3%} of the energy")
kspace_figure(axial, scale=4)
""")
b.md(r"""
Almost all the energy is in the centre: the low frequencies carry the overall shape and
contrast, which is why a low-resolution MR image still looks like a brain. The high frequencies
carry the edges and the fine detail, little energy but all the sharpness. The last panel is
the image reconstructed from the central block alone, zero-filled back to full size: blurrier,
and with faint ripples parallel to strong edges.

## 3.4 Truncation and Gibbs ringing

Those ripples are the **Gibbs phenomenon**. Cutting off a Fourier series makes the
reconstruction of a jump overshoot, and the overshoot does not shrink when more terms are kept:
it converges to about 9 % of the jump (the Wilbraham-Gibbs constant,
$\frac{1}{\pi}\int_0^\pi \frac{\sin t}{t}\,dt - \frac12 \approx 0.0895$); only its width shrinks.
A 1-D box shows it cleanly; we keep the central $n$ of 512 frequencies with the same
`kspace_mask` used for images (a $1 \times 512$ "image"):
""")
b.code(r"""
from labkit.viz.course_plots import curve_panels

box = np.zeros((1, 512))
box[0, 128:384] = 1.0
kept = (17, 33, 65) if FAST else (17, 33, 65, 129)
profiles, overshoot = {}, {}
for n in kept:
    recon = ifft2c(fft2c(box) * kspace_mask(box.shape, (1, n))).real[0]
    profiles[f"{n} frequencies"] = recon
    overshoot[n] = float(recon.max() - 1.0)
    print(f"keep {n:3d} of 512 frequencies: overshoot {overshoot[n]:.3f} of the jump")
profiles["box"] = box[0]
curve_panels(np.arange(512), [("truncated Fourier reconstruction of a box", profiles)],
             xlabel="sample", height=3.2)
""")
b.md(r"""
In MR images, Gibbs ringing appears as thin bright and dark lines parallel to sharp
boundaries, such as the skull or the edge of the ventricles, and is a classic artefact of
low-resolution acquisitions. Use the slider to truncate the slice's k-space by a factor from 1
(nothing removed) to 8, and watch the blur and the ringing grow:
""")
b.code(r"""
import ipywidgets as widgets


def truncate(scale=3):
    display(kspace_figure(axial, scale=scale))


widgets.interact(truncate, scale=widgets.IntSlider(value=3, min=1, max=8, description="factor"));
""")
b.md(r"""
## 3.5 Simulating low-resolution images

Training an SR network needs pairs of LR and HR images of the same anatomy, and a real scanner
cannot give perfectly aligned pairs. So, as in almost all SR work, we *simulate* the LR image
from the HR one. `labkit.data.degrade(hr, scale, method)` offers three models, all producing an
image of size $(H/s, W/s)$ on the same pixel grid (LR pixel $i$ centred on HR coordinate
$s i + (s-1)/2$), so that results are comparable:

* `"bicubic"`: MATLAB's `imresize` by $1/s$, the antialiased bicubic kernel of chapter 2. It
  is the standard of the SR literature, and what the course's benchmark uses.
* `"kspace"`: keep the central $(H/s) \times (W/s)$ block of k-space and transform back, what
  an MR scanner acquiring fewer lines actually measures (section 3.1).
* `"gaussian"`: a Gaussian point-spread function whose full width at half maximum equals the
  LR pixel, then decimation; a simple model of a thick slice or a blurry acquisition.

Optionally, Rician noise: MR magnitude images are the modulus of complex data with Gaussian
noise in both channels, $|x + n_1 + i n_2|$, which biases dark regions upwards.
""")
b.code(r"""
from labkit.data import degrade
from labkit.metrics import psnr, ssim
from labkit.ops.resize import imresize
from labkit.viz.course_plots import image_panels

scale = 4
lrs = {m: degrade(axial, scale, method=m) for m in ("bicubic", "kspace", "gaussian")}
ups = {m: imresize(lr, output_shape=axial.shape) for m, lr in lrs.items()}
degradation_scores = {m: (psnr(up, axial, crop=scale), ssim(up, axial, crop=scale)) for m, up in ups.items()}
for m, lr in lrs.items():
    p, s = degradation_scores[m]
    print(f"{m:8s} LR {lr.shape}, range [{lr.min():+.3f}, {lr.max():.3f}];  bicubic back up: {p:.2f} dB, SSIM {s:.4f}")
display(image_panels(list(lrs.values()), [f"LR x{scale}: {m}" for m in lrs], vmin=0, vmax=1))
image_panels([lrs["kspace"] - lrs["bicubic"], lrs["gaussian"] - lrs["bicubic"]],
             ["kspace − bicubic", "gaussian − bicubic"], signed=True, colorbar=True, width=6.5)
""")
b.md(r"""
The three LR images look alike at a glance, but they are not interchangeable. The k-space
image keeps every frequency below the new Nyquist limit at full strength, so it is the
sharpest, and it rings: its minimum is the most negative of the three, an overshoot below
black next to the skull (bicubic, with its small negative lobes, undershoots too, but less).
Bicubic downscaling attenuates frequencies near the limit, and the Gaussian model attenuates
them most; the difference images show that what separates them is concentrated at edges.
Hence bicubic enlargement recovers the most, by PSNR, from k-space LR images and the least
from Gaussian ones (the scores above); SSIM, which dislikes the ringing, ranks the k-space
images a little below the bicubic ones. A network trained on one degradation and tested on
another is tested on a different problem, a mismatch worth remembering when reading SR papers
on MRI.

The degradation explorer from `labkit.widgets` shows all of this on the benchmark's test
slices, with Rician noise:
""")
b.code(r"""
from labkit.data import mni_sr_split
from labkit.widgets import degradation_explorer

test_slices = mni_sr_split()["test"]
explorer_ui, explorer = degradation_explorer(test_slices, method="kspace", scale=4, zoom=(40, 60, 64))
explorer_ui
""")
b.md(r"""
## 3.6 More volumes: nibabel's sample files

nibabel ships a few small NIfTI files with its tests. `labkit.data.list_samples()` lists them
and `load_volume(path)` reads any of them (reoriented to RAS; for a 4-D file the first volume,
with a warning). They are tiny and low resolution, useful for trying things quickly and for
seeing real scanner data with anisotropic voxels:
""")
b.code(r"""
from labkit.data import list_samples

samples = {}
for path in list_samples():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # 4-D files: first volume only
            samples[path.name] = load_volume(path)
        v = samples[path.name]
        print(f"{path.name:28s} {str(v.data.shape):15s} voxels {tuple(round(s, 2) for s in v.voxel_size)} mm")
    except ValueError as err:
        print(f"{path.name:28s} not loadable: {str(err).split(': ', 1)[0]} ... contains NaN or inf values")
""")
b.code(r"""
epi = samples["example4d.nii.gz"]
print("example4d:", epi.data.shape, "voxel size", tuple(round(s, 2) for s in epi.voxel_size), "mm")
orthogonal_slices(epi.data, voxel_size=epi.voxel_size)
""")
b.md(r"""
`example4d.nii.gz` is the first volume of a functional (echo-planar) series: $128 \times 96$
voxels of 2 mm in-plane but only 24 slices of 2.2 mm, a typical anisotropic acquisition where
through-plane resolution was traded for speed. Passing `voxel_size` to the viewer keeps the
proportions right.

## Exercises

1. Compute the Larmor frequency of hydrogen in the Earth's field (about 50 µT). Why can MRI
   not work at that field strength? (Think of the net magnetisation.)
2. Find the voxel of the MNI template at world coordinates $(-30, -20, 60)$ mm with the affine.
   Which hemisphere is it in, and in which lobe?
3. Compute the fraction of k-space energy outside the central $1/2 \times 1/2$ block for an
   axial slice near the top of the head ($z = 150$) and one through the middle. Which slice
   would be harder to super-resolve, and why?
4. In 3.4, replace the box by a smooth bump (e.g. `np.exp(-((np.arange(512) - 256) / 40) ** 2)`).
   Is there still an overshoot? What does this say about where ringing appears in MR images?
5. With the degradation explorer, find the noise level at which bicubic enlargement of a x2
   k-space LR image scores lower than a noise-free x4 one.
""")
b.code(r"""
assert vol.shape == (197, 233, 189) and voxel_size == (1.0, 1.0, 1.0)
assert nib.aff2axcodes(affine) == ("R", "A", "S")
assert np.allclose(affine @ [*ac, 1], [0, 0, 0, 1])
assert energy_in_block[2] > 0.95 and energy_in_block[2] > energy_in_block[4] > energy_in_block[8]
assert all(0.08 < o < 0.095 for o in overshoot.values())               # Gibbs: ~9 %, whatever n
assert degradation_scores["kspace"][0] > degradation_scores["bicubic"][0] > degradation_scores["gaussian"][0]
assert lrs["kspace"].min() < lrs["bicubic"].min() < 0                   # ringing below black
assert viewer.error is None and explorer.error is None
assert explorer.arrays["lr"].shape == (49, 58)
print("chapter 3: all checks passed")
""")
b.write("03_magnetic_resonance.ipynb")
