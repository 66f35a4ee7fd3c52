"""Build notebooks/02_super_resolution_and_quality.ipynb."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# 2. Super-resolution and image quality

**Super-resolution** (SR) is the estimation of a high-resolution (HR) image from a
low-resolution (LR) observation of it. It goes by many names (upsampling, upscaling, zooming,
interpolation), and in MRI it is attractive for a practical reason: scan time grows with
resolution, so acquiring at low resolution and recovering the detail computationally would
shorten exams, reduce motion artefacts and save money.

Before any network, two questions need answers. *Why is SR hard?* Because it is an ill-posed
inverse problem, and we will see precisely in what sense. *How do we know an SR image is good?*
With image-quality metrics, and the two that every SR paper reports, PSNR and SSIM, disagree in
instructive ways that we will measure rather than assume.

In this chapter you will

* see that infinitely many HR images produce the same LR image;
* enlarge an MRI slice with nearest-neighbour, bilinear and bicubic interpolation;
* define PSNR and SSIM (Wang et al. 2004) and compute them with `labkit.metrics`;
* apply seven distortions (blur, noise, a one-pixel shift, intensity scaling, contrast,
  brightness, JPEG-like compression) and find where the two metrics disagree;
* measure how much the black background around the head inflates the scores.

**Time**: about 40 minutes of reading; running takes about 25 seconds (stored outputs: the
full version). **Prerequisites**: none beyond numpy; [chapter 3](03_magnetic_resonance.ipynb)
explains the k-space degradation used in 2.1 in detail.
""")
b.code(r"""
%matplotlib inline
%config InlineBackend.figure_format = "png"
import os

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

plt.rcParams["figure.dpi"] = 80
FAST = os.environ.get("LABKIT_FAST", "0") == "1"
print("FAST mode:", FAST)
""")
b.md(r"""
## 2.1 SR is an ill-posed inverse problem

We model the acquisition of the LR image $\mathbf{y}$ as a **degradation** of the HR image
$\mathbf{x}$: a blur $B$ (the point-spread function of the scanner or camera), a
downsampling $S_\downarrow$ by a factor $s$, and noise $\mathbf{n}$:

$$\mathbf{y} = S_\downarrow B\,\mathbf{x} + \mathbf{n}.$$

SR inverts this map. The difficulty is not only the noise: even without it, $S_\downarrow B$
maps $HW$ unknowns to $HW/s^2$ measurements, so it has a huge null space, and any HR image
plus anything in that null space gives exactly the same LR image. The problem is **ill-posed**
in Hadamard's sense: the solution is not unique. Every SR method, from bicubic interpolation
to a deep network, is a way of choosing one answer among many, using a *prior* about what
images look like.

We can make the null space visible. labkit's `"kspace"` degradation (chapter 3) keeps only
the low spatial frequencies of the image. So if we add to an HR slice a pattern made only of
high frequencies, the LR image does not change at all:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.data import degrade, mni_sr_split
from labkit.ops.kspace import fft2c, ifft2c, kspace_mask

split = mni_sr_split()
hr = split["test"][10].astype(np.float64)          # axial slice z = 100, 196 x 232
print("HR slice:", hr.shape, "z =", split["test_z"][10])

# A random pattern with no energy in (a block slightly larger than) the frequencies LR keeps.
keep = kspace_mask(hr.shape, (hr.shape[0] // 2 + 1, hr.shape[1] // 2 + 1))
pattern = ifft2c(fft2c(np.random.default_rng(0).standard_normal(hr.shape)) * ~keep).real
pattern *= 0.05 / pattern.std()
other_hr = hr + pattern

lr_a, lr_b = degrade(hr, 2, "kspace"), degrade(other_hr, 2, "kspace")
hr_difference, lr_difference = np.abs(other_hr - hr).max(), np.abs(lr_b - lr_a).max()
print(f"the two HR images differ by up to {hr_difference:.2f}")
print("their LR images are identical (difference < 1e-12):", lr_difference < 1e-12)
""")
b.code(r"""
from labkit.viz.course_plots import image_panels

image_panels([hr, other_hr, lr_a, lr_b], ["HR", "HR + high-frequency pattern", "LR of HR",
                                         "LR of the other HR"], ncols=4, vmin=0, vmax=1)
""")
b.md(r"""
A good SR method should prefer the left HR image, because it looks like anatomy and the other
looks like anatomy plus static. That preference is the prior: interpolation encodes
"images are smooth", a trained network encodes "images look like the training images".

## 2.2 Interpolation

The classic SR methods are interpolation kernels. Each HR pixel is a weighted sum of nearby LR
pixels, with weights given by a kernel $k$ evaluated at the distance between the HR pixel
centre and each LR pixel centre:

$$x(u) = \sum_j k(u - j)\, y_j .$$

* **nearest neighbour**: $k$ is a box of width 1, each HR pixel copies the closest LR pixel;
* **bilinear**: $k(t) = \max(0, 1 - |t|)$, a triangle, linear between neighbours;
* **bicubic**: Keys' cubic convolution kernel (1981), a piecewise cubic with $a = -0.5$ that
  reaches two pixels to each side and has small *negative* lobes, which sharpen edges slightly
  (and can overshoot).

In two dimensions the kernel is applied along rows and then along columns.
`labkit.ops.resize.imresize` reproduces MATLAB's `imresize` (which most SR papers used to make
their LR images and baselines) as one matrix product per axis.
""")
b.code(r"""
from labkit.ops.resize import box_kernel, cubic_kernel, imresize, triangle_kernel
from labkit.viz.course_plots import curve_panels

t_axis = np.linspace(-2.5, 2.5, 501)
curve_panels(t_axis, [("interpolation kernels k(t)", {"nearest (box)": box_kernel(t_axis),
                                                       "bilinear (triangle)": triangle_kernel(t_axis),
                                                       "bicubic (Keys, a = -0.5)": cubic_kernel(t_axis)})],
             xlabel="distance t in LR pixels", hline=0, height=2.8)
""")
b.md(r"""
We make an LR image by bicubic downscaling by 4 (each LR pixel summarises a $4 \times 4$ HR
block) and enlarge it back with each kernel. The numbers under each panel are PSNR (dB) and
SSIM against the HR slice, computed after cropping 4 pixels at each border, the SR convention
defined in the next section.
""")
b.code(r"""
from labkit.metrics import psnr, ssim
from labkit.viz.mri import sr_comparison

scale = 4
lr = degrade(hr, scale, "bicubic")
enlarged = {m: imresize(lr, output_shape=hr.shape, method=m) for m in ("nearest", "bilinear", "bicubic")}
scores = {m: (psnr(im, hr, crop=scale), ssim(im, hr, crop=scale)) for m, im in enlarged.items()}
for m, (p, s) in scores.items():
    print(f"{m:9s} PSNR {p:.2f} dB   SSIM {s:.4f}")
sr_comparison(hr, {"LR x4": lr, **enlarged}, zoom=(16, 36, 64), scores=scores)
""")
b.md(r"""
Nearest neighbour produces blocks; bilinear removes them but blurs; bicubic is slightly sharper
and scores best on both metrics. None of them recovers the thin dark sulci that the
$4 \times 4$ averaging erased: interpolation can only spread the information that is there.
Recovering plausible detail requires a prior learned from data, which is what the networks of
chapters 10-12 do.

## 2.3 Measuring quality: PSNR and SSIM

**PSNR**, the peak signal-to-noise ratio, is a rescaled mean squared error. For an image
$\mathbf{x}$ compared with a reference $\mathbf{r}$ of $M$ pixels whose values span a range
$R$ (here $R = 1$),

$$\mathrm{MSE} = \frac{1}{M} \sum_p (x_p - r_p)^2, \qquad
\mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\mathrm{MSE}} \ \text{dB}.$$

Higher is better; identical images give $+\infty$; each halving of the MSE adds about 3 dB.
PSNR is simple, differentiable, and treats every pixel error the same wherever it is and
whatever it looks like: structure-blind.

**SSIM**, the structural similarity index of Wang, Bovik, Sheikh and Simoncelli (2004), was
designed to follow human judgement better. It compares *local* statistics in a Gaussian window
(11 x 11 pixels, $\sigma = 1.5$) around every pixel: the means $\mu_x, \mu_r$, the standard
deviations $\sigma_x, \sigma_r$ and the covariance $\sigma_{xr}$. It multiplies three
comparisons, of luminance, contrast and structure,

$$l = \frac{2\mu_x\mu_r + C_1}{\mu_x^2 + \mu_r^2 + C_1}, \qquad
c = \frac{2\sigma_x\sigma_r + C_2}{\sigma_x^2 + \sigma_r^2 + C_2}, \qquad
s = \frac{\sigma_{xr} + C_2/2}{\sigma_x\sigma_r + C_2/2},$$

which simplifies to

$$\mathrm{SSIM}(x, r) = \frac{(2\mu_x\mu_r + C_1)(2\sigma_{xr} + C_2)}{(\mu_x^2 + \mu_r^2 + C_1)(\sigma_x^2 + \sigma_r^2 + C_2)},
\qquad C_1 = (0.01R)^2,\; C_2 = (0.03R)^2,$$

averaged over the image. SSIM is 1 for identical images and decreases towards 0 (it can go
negative). The small constants $C_1, C_2$ only prevent division by zero, and we will see that
this has consequences in the black background of an MR image. `labkit.metrics.ssim` matches
scikit-image's implementation with the same settings; both metrics accept `crop=` (pixels
dropped at each border first) and `mask=` (average only over a region).

## 2.4 Where PSNR and SSIM disagree

`labkit.ops.distortions` provides simple distortions. We apply seven of them, at strengths
that all look "mild", to the same slice:
""")
b.code(r"""
from labkit.ops import distortions as D

distorted = {
    "blur σ=1": D.gaussian_blur(hr, 1.0),
    "noise σ=0.03": D.add_gaussian_noise(hr, 0.03, seed=0),
    "shift 1 px": D.shift(hr, 1, 0),
    "scale ×0.9": 0.9 * hr,
    "contrast ×0.8": D.adjust_contrast(hr, 0.8),
    "brightness +0.05": D.adjust_contrast(hr, 1.0, offset=0.05),
    "JPEG q=20": D.jpeg_like(hr, 20),
}
image_panels([hr] + list(distorted.values()), ["original"] + list(distorted), ncols=4,
             zoom=None, vmin=0, vmax=1)
""")
b.code(r"""
metric = {name: (psnr(im, hr), ssim(im, hr)) for name, im in distorted.items()}
print(f"{'distortion':18s} {'PSNR (dB)':>9s} {'SSIM':>7s}   rank by PSNR / SSIM")
rank_p = {n: r for r, n in enumerate(sorted(metric, key=lambda n: -metric[n][0]), 1)}
rank_s = {n: r for r, n in enumerate(sorted(metric, key=lambda n: -metric[n][1]), 1)}
for name, (p, s) in metric.items():
    print(f"{name:18s} {p:9.2f} {s:7.4f}   {rank_p[name]} / {rank_s[name]}")
""")
b.code(r"""
from labkit.viz.course_plots import grouped_bars

names = list(metric)
display(grouped_bars(names, {"PSNR (dB)": [metric[n][0] for n in names]}, ylabel="PSNR (dB)",
                     title="PSNR (higher is better)", fmt="{:.1f}", height=2.7))
grouped_bars(names, {"SSIM": [metric[n][1] for n in names]}, ylabel="SSIM", ylim=(0, 1.05),
             title="SSIM (higher is better)", fmt="{:.3f}", height=2.7)
""")
b.md(r"""
Read the two rankings side by side; the measurements say more than any rule of thumb.

* **Scaling all intensities by 0.9** is one of the worst images by PSNR, yet nearly perfect by
  SSIM: the structure is untouched and SSIM's contrast and structure terms are invariant to
  a gain, while every pixel of the brain carries a 10 % error that PSNR adds up.
* **A one-pixel shift** costs more PSNR than a visible blur, since every edge now has a full
  error on one side, while SSIM still finds most local structure where it was.
* **JPEG-like compression** has the *best* PSNR of the set and only a middling SSIM: its errors are
  small in value but organised in 8 x 8 blocks and flat patches, which destroy local
  structure.
* **Noise**, a **brightness offset** and a **contrast reduction** hit SSIM hardest. Part of that is real (noise is
  structure-destroying), but a large part comes from the background: in the air around the
  head the reference is 0, so $\mu_r \approx 0$, $\sigma_r \approx 0$, and SSIM's ratios are
  decided by the tiny constants $C_1 = 10^{-4}$ and $C_2 = 9 \cdot 10^{-4}$. A brightness of
  0.05 in the air makes $l = C_1 / (0.05^2 + C_1) \approx 0.04$ there.
* **Contrast reduction about the mean** moves the background too (from 0 to a grey), so it
  suffers the same background penalty in SSIM; compare it with scaling.

To compare the metrics beyond one strength per distortion, we sweep each distortion's strength
and draw the path it traces in the PSNR-SSIM plane. If the two metrics agreed, all paths would
lie on one curve.
""")
b.code(r"""
n_sweep = 5 if FAST else 10
sweeps = {
    "blur": [D.gaussian_blur(hr, s) for s in np.linspace(0.3, 2.5, n_sweep)],
    "noise": [D.add_gaussian_noise(hr, s, seed=0) for s in np.linspace(0.005, 0.08, n_sweep)],
    "shift": [D.shift(hr, k, 0) for k in range(1, 5)],
    "scale": [g * hr for g in np.linspace(0.98, 0.7, n_sweep)],
    "JPEG": [D.jpeg_like(hr, q) for q in np.linspace(90, 3, n_sweep)],
}
paths = {name: (np.array([psnr(im, hr) for im in ims]), np.array([ssim(im, hr) for im in ims]))
         for name, ims in sweeps.items()}
curve_panels(None, [("each distortion swept from weak to strong", paths)],
             xlabel="PSNR (dB)", ylabel="SSIM", markers=True, height=3.6)
""")
b.md(r"""
At 30 dB, for example, SSIM ranges from about 0.6 (noise) to about 1 (scaling). The metrics
measure different things, which is why SR papers report both, and why neither replaces
looking at the images. A network trained to minimise a pixel loss (L2 or L1, chapter 8)
optimises something close to PSNR; some later SR work optimises perceptual or adversarial
losses instead and can score *lower* PSNR while looking sharper.

## 2.5 The background effect: scoring with a brain mask

An axial MRI slice is more than half air, where every reasonable method outputs (nearly) 0 and
the error is (nearly) 0. These easy pixels dilute the MSE and raise PSNR. `brain_mask` selects
the foreground (pixels above 10 % of the slice maximum), and both metrics accept it:
""")
b.code(r"""
from labkit.metrics import brain_mask

test = split["test"].astype(np.float64)
masks = brain_mask(test)
print(f"foreground fraction of the test slices: {masks.mean():.1%}")
mask_effect = {}
for s in (2, 4):
    lr_s = degrade(test, s, "bicubic")
    up = imresize(lr_s, output_shape=test.shape[1:])
    mask_effect[s] = {"PSNR whole": psnr(up, test, crop=s), "PSNR mask": psnr(up, test, crop=s, mask=masks),
                      "SSIM whole": ssim(up, test, crop=s), "SSIM mask": ssim(up, test, crop=s, mask=masks)}
    e = mask_effect[s]
    print(f"bicubic x{s}: PSNR {e['PSNR whole']:.2f} dB whole image, {e['PSNR mask']:.2f} dB in the mask;"
          f"  SSIM {e['SSIM whole']:.4f} whole, {e['SSIM mask']:.4f} in the mask")
image_panels([test[10], masks[10].astype(float)], ["test slice z=100", "brain_mask (foreground)"],
             vmin=0, vmax=1, width=5.5)
""")
b.md(r"""
Restricting the scores to the head lowers bicubic's PSNR by about a decibel and its SSIM by
one to two hundredths (the numbers above): the whole-image scores flatter every method, and
the more so the larger the background. The difference is not a bug, just a convention, but
it matters when comparing numbers across papers: a PSNR on MR images means little unless you
know whether the background was included. The MNI-SR benchmark of this course (chapter 10)
reports whole-slice scores with `crop=scale`, the usual SR convention, and chapter 12 adds the
masked ones.

## 2.6 Explore

Pick a distortion and its strength and watch both metrics. Try to find two distortions with
the same PSNR but very different SSIM, and two with the same SSIM but very different PSNR.
""")
b.code(r"""
import ipywidgets as widgets

DISTORTIONS = {   # name -> (function of strength, range of strength)
    "blur (σ)": (lambda v: D.gaussian_blur(hr, v), (0.0, 3.0)),
    "noise (σ)": (lambda v: D.add_gaussian_noise(hr, v, seed=0), (0.0, 0.1)),
    "shift (px)": (lambda v: D.shift(hr, int(round(v)), 0), (0.0, 5.0)),
    "scale (1 - gain)": (lambda v: (1 - v) * hr, (0.0, 0.5)),
    "brightness (offset)": (lambda v: D.adjust_contrast(hr, 1.0, offset=v), (0.0, 0.2)),
    "JPEG (1 - quality/100)": (lambda v: D.jpeg_like(hr, max(1.0, 100 * (1 - v))), (0.0, 0.99)),
}


def explore(distortion="blur (σ)", strength=0.3, masked=False):
    fun, (lo, hi) = DISTORTIONS[distortion]
    v = lo + strength * (hi - lo)
    out = fun(v)
    m = brain_mask(hr) if masked else None
    p, s = psnr(out, hr, mask=m), ssim(out, hr, mask=m)
    fig = image_panels([hr, out, out - hr], ["original", f"{distortion} = {v:.3g}",
                                             f"difference: PSNR {p:.2f} dB, SSIM {s:.4f}"],
                       zoom=(16, 80, 36, 116), vmin=0, vmax=1)
    display(fig)


widgets.interact(explore, distortion=widgets.Dropdown(options=list(DISTORTIONS)),
                 strength=widgets.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.02,
                                              description="strength"),
                 masked=widgets.Checkbox(value=False, description="brain mask only"));
""")
b.md(r"""
## Exercises

1. Compute PSNR and SSIM between the original slice and `0.9 * hr + 0.1 * hr.mean()`. Predict
   first, using the observations of 2.4.
2. SSIM is often computed after cropping the border. Why does `crop=4` change the SSIM of the
   interpolations in 2.2 so little, while it would change a noisy image's SSIM more? (Think of
   where the pixels are.)
3. Find the blur $\sigma$ and the noise level that give the same PSNR as `JPEG q=20`; compare
   their SSIM and look at the three images. Which one would a radiologist prefer?
4. Repeat 2.2 with the `"kspace"` and `"gaussian"` degradations instead of `"bicubic"`
   (`degrade(hr, 4, method)`). Which interpolation wins now, and by how much?
5. Show from the PSNR formula that multiplying the MSE by 2 lowers PSNR by $10 \log_{10} 2
   \approx 3.01$ dB, and check it numerically with `psnr`.
""")
b.code(r"""
assert lr_difference < 1e-12 and hr_difference > 0.1                # the null space is real
assert scores["bicubic"][0] > scores["bilinear"][0] > scores["nearest"][0]
assert scores["bicubic"][1] > scores["nearest"][1]
assert metric["scale ×0.9"][1] > 0.99 and metric["scale ×0.9"][0] < 30  # SSIM ignores a gain, PSNR does not
assert metric["JPEG q=20"][0] > metric["blur σ=1"][0] and metric["JPEG q=20"][1] < metric["blur σ=1"][1]
assert metric["shift 1 px"][0] < metric["blur σ=1"][0]
for s in (2, 4):
    assert mask_effect[s]["PSNR mask"] < mask_effect[s]["PSNR whole"]
print("chapter 2: all checks passed")
""")
b.write("02_super_resolution_and_quality.ipynb")
