"""Build notebooks/10_dataset_and_models.ipynb."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# 10. Dataset and models

Chapters 4-9 built the pieces; this chapter assembles the experiment. We need **data** (pairs of
low- and high-resolution images, with a fair split between training and testing), a **baseline**
that any learned method must beat, and **models**. The data are the MNI-SR benchmark, the
course's own split of the MNI ICBM152 template; the baseline is bicubic interpolation; the
models are EDSR (Lim et al. 2017) and WDSR (Yu et al. 2018), two of the most influential
single-image SR networks.

You will

* see which axial slices train and which test, and why a margin separates them;
* draw aligned LR/HR patch pairs with the patch sampler, with and without augmentation;
* compute the bicubic baseline for every scale and degradation;
* read EDSR and WDSR layer by layer, count their parameters by hand and check the count,
  and understand three design decisions: no batch normalisation, residual scaling, and wide
  activation with weight normalisation.

**Time**: 40 minutes of reading; running takes under a minute (stored outputs: the full
version). **Prerequisites**: chapters 2 (PSNR, SSIM, interpolation), 3 (degradations), 5 and 7
(convolution, shortcut, pixel shuffle).
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
## 10.1 The MNI-SR split

The MNI ICBM152 2009a template is an average of 152 adult brains, registered and resampled
to 1 mm isotropic voxels: a clean, high-SNR T1-weighted volume of $197 \times 233 \times 189$
voxels. Its axial slices are our HR images, cropped to $196 \times 232$ so that both sides are
divisible by 2 and 4.

A test set must be data the model never saw, and with a 1 mm template "never saw" needs care:
slice $z$ and slice $z + 1$ are nearly the same image. If slice 61 were in the test set and
slice 62 in the training set, the network could memorise the answer. So the split keeps two
blocks of ten test slices ($z = 60$-$69$ and $100$-$109$, one through the basal ganglia and one
through the centrum semiovale), removes a margin of three slices on each side of every block
from training, and trains on every other slice between $z = 20$ and $149$.
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.data import EXCLUDED_Z, HR_SHAPE, TEST_Z, load_volume, mni_sr_split

split = mni_sr_split()
margin = sorted(set(EXCLUDED_Z) - set(TEST_Z))
print("train", split["train"].shape, split["train"].dtype, "z =", split["train_z"].min(), "..",
      split["train_z"].max())
print("test ", split["test"].shape, "z =", split["test_z"].tolist())
print("margin (never used):", margin)
print("overlap train/test:", set(split["train_z"]) & set(split["test_z"]))
""")
b.md(r"""
The figure shows where these slices lie on the midline sagittal slice ($x = 98$): training
slices in blue, test slices in orange, the margin in green. Below $z = 20$ lie the cerebellum
and brain stem cut obliquely, above $z = 149$ only the top of the skull: both are left out.
""")
b.code(r"""
from labkit.viz.course_plots import image_panels, slice_positions

vol = load_volume("mni152").data
sagittal = vol[98].T                         # rows: z (axial index), columns: y (posterior -> anterior)
slice_positions(sagittal, {"train": split["train_z"], "test": split["test_z"], "margin": margin},
                title="MNI-SR split on the midline sagittal slice", xlabel="y (posterior → anterior)",
                ylabel="z (axial slice index)")
""")
b.code(r"""
picks = [0, 5, 10, 15]
image_panels([split["test"][k] for k in picks], [f"test z={split['test_z'][k]}" for k in picks],
             vmin=0, vmax=1, suptitle="four of the twenty test slices (196 x 232)")
""")
b.md(r"""
## 10.2 The patch sampler

Networks are not trained on whole slices. A batch of small random **patches** is cheaper, gives
many more distinct examples per epoch, and a fully convolutional network trained on patches runs
on images of any size afterwards. `PatchSampler` precomputes the LR version of every training
slice once (with `degrade`, chapter 3) and then cuts aligned crops: an HR patch of $p \times p$
pixels starting at $(s i, s j)$ and the LR patch of $p/s \times p/s$ pixels starting at
$(i, j)$. They are aligned because every labkit degradation centres LR pixel $i$ on HR
coordinate $s i + (s-1)/2$.

With `augment=True` each pair also gets one of the 8 symmetries of the square (4 rotations,
each with or without a mirror), the same for LR and HR. Brains are roughly left-right symmetric
but not up-down symmetric; the augmentation still helps because the local texture a convolution
sees (edges in every orientation) has no preferred direction.
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.data import PatchSampler

sampler = PatchSampler(split["train"], scale=2, patch=64, batch=8, augment=True, seed=0)
lr_patches, hr_patches = sampler.sample()
print("LR batch", lr_patches.shape, lr_patches.dtype)
print("HR batch", hr_patches.shape, hr_patches.dtype)
""")
b.code(r"""
print(sampler)
imgs = [hr_patches[k, :, :, 0] for k in range(4)] + [lr_patches[k, :, :, 0] for k in range(4)]
titles = [f"HR {k}  64x64" for k in range(4)] + [f"LR {k}  32x32" for k in range(4)]
image_panels(imgs, titles, ncols=4, vmin=0, vmax=1)
""")
b.md(r"""
We can verify the alignment without trusting the docstring: downscaling an HR patch with
`imresize` must give the LR patch, except within two LR pixels of the border, where the patch
lacks the neighbours that the full slice had (the x2 antialiased bicubic kernel reaches 4 HR
pixels to each side). The sampler above has `augment=True`, so the check also confirms that
each LR patch received the same flip or rotation as its HR patch (the bicubic kernel is
symmetric, so downscaling commutes with those symmetries).
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.ops.resize import imresize

down = imresize(hr_patches[..., 0], 0.5)
interior_err = np.abs(down - lr_patches[..., 0])[:, 2:-2, 2:-2].max()
border_err = np.abs(down - lr_patches[..., 0]).max()
print("interior max difference < 1e-5:", interior_err < 1e-5)
print("border pixels differ:", border_err > 1e-5)
""")
b.md(r"""
Many random patches of a head slice are mostly air. They teach the network nothing but cost as
much as any other. `min_foreground` redraws patches whose fraction of foreground pixels (above
10 % of the slice maximum) is too small:
""")
b.code(r"""
def empty_fraction(sampler, n_batches):
    empties = [(hr.reshape(len(hr), -1).max(axis=1) < 0.05).mean()
               for hr in (sampler.sample()[1] for _ in range(n_batches))]
    return float(np.mean(empties))


n_batches = 10 if FAST else 40
plain = PatchSampler(split["train"], scale=2, patch=64, batch=32, seed=1)
picky = PatchSampler(split["train"], scale=2, patch=64, batch=32, seed=1, min_foreground=0.5)
frac_plain, frac_picky = empty_fraction(plain, n_batches), empty_fraction(picky, n_batches)
print(f"patches that are (almost) only air: {frac_plain:.1%} without, {frac_picky:.1%} with "
      f"min_foreground=0.5")
""")
b.md(r"""
## 10.3 The bicubic baseline

Every SR result must be compared with what the simplest method achieves. For each test slice,
`bicubic_baseline` degrades the HR slice, enlarges the LR slice back with bicubic interpolation
(`imresize`, Keys' cubic with $a = -0.5$) and scores it with PSNR and SSIM, after cropping
`scale` pixels at each border (the SR convention: border pixels lack context). At scale 3 the
slices are first cropped to $195 \times 231$ to be divisible by 3.
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.data import bicubic_baseline

baseline = {}
print(f"{'scale':>5} {'degradation':>12} {'PSNR (dB)':>10} {'SSIM':>7}")
for scale in (2, 3, 4):
    for deg in ("bicubic", "kspace", "gaussian"):
        r = bicubic_baseline(scale, deg, split=split)
        baseline[scale, deg] = r
        print(f"{scale:>5} {deg:>12} {r['psnr']:>10.2f} {r['ssim']:>7.4f}")
""")
b.md(r"""
Three things to read in this table. Quality drops fast with the scale: at x4 each LR pixel
stands for 16 HR pixels, and no interpolation can invent the lost detail. The degradation
matters too: k-space truncation keeps every frequency below the new Nyquist limit intact, so
bicubic interpolation recovers more of the image from it than from the antialiased bicubic
downscaling, while the Gaussian point-spread function blurs most (by PSNR; SSIM, which dislikes
the ringing of truncated k-space, ranks the k-space rows a little lower, see chapter 3).
And these are the numbers to beat: a network that scores below its row here has learnt
nothing useful. Chapter 12 puts the trained networks next to them.

The scores vary between slices, so we look at them per slice too:
""")
b.code(r"""
from labkit.viz.course_plots import curve_panels

z = split["test_z"]
curve_panels(np.arange(len(z)), [
    ("PSNR of bicubic per test slice", {f"x{s}": baseline[s, "bicubic"]["psnr_per_slice"] for s in (2, 3, 4)}),
    ("SSIM of bicubic per test slice", {f"x{s}": baseline[s, "bicubic"]["ssim_per_slice"] for s in (2, 3, 4)})],
    xlabel="test slice (0-9: z=60-69, 10-19: z=100-109)", markers=True, height=3.2)
""")
b.md(r"""
## 10.4 EDSR: enhanced deep residual networks

EDSR (Lim, Son, Kim, Nah and Lee 2017) won the NTIRE 2017 SR challenge with a strikingly plain
design. It works entirely at low resolution and upsamples only at the end:

```
LR ─ head conv ─┬─ [conv ─ ReLU ─ conv ─ ×res_scale ─(+)] × n_blocks ─ conv ─(+)─ upsampler ─ tail conv ─ SR
                └──────────────────────── global skip ─────────────────────┘
```

* **head**: one 3x3 convolution from the image's 1 channel to $F$ feature maps;
* **body**: $B$ residual blocks, each $y = x + \alpha\,\mathrm{conv}(\mathrm{ReLU}(\mathrm{conv}(x)))$
  (a `Shortcut(-4, alpha=res_scale)` in labkit), then one more convolution;
* **global skip**: the body's output is added to the head's output, so the body learns only
  the *residual* detail (He et al. 2016's idea, applied at the network level);
* **upsampler**: a convolution to $4F$ channels and a pixel shuffle (Shi et al. 2016) per
  factor 2, or to $9F$ channels and one shuffle for x3;
* **tail**: a 3x3 convolution back to 1 channel.

The configuration used in this course, 8 blocks of 32 filters at x2, has this layer table:
""")
b.code(r"""
from labkit.models import edsr

net = edsr(2, 8, 32, seed=0)
print(net.summary((1, 48, 48, 1)))
""")
b.md(r"""
Each 3x3 convolution from $C_{in}$ to $C_{out}$ channels has $9 C_{in} C_{out}$ weights and
$C_{out}$ biases. Adding them up for EDSR with $F$ filters, $B$ blocks and x2:

$$N = \underbrace{(9F + F)}_{\text{head}} + \underbrace{2B(9F^2 + F)}_{\text{blocks}}
+ \underbrace{(9F^2 + F)}_{\text{body end}} + \underbrace{(9F \cdot 4F + 4F)}_{\text{upsampler}}
+ \underbrace{(9F + 1)}_{\text{tail}}.$$
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
def edsr_x2_count(F, B):
    return (9 * F + F) + 2 * B * (9 * F * F + F) + (9 * F * F + F) + (9 * F * 4 * F + 4 * F) + (9 * F + 1)


for F, B in ((32, 8), (64, 16)):
    n = edsr(2, B, F).n_params
    print(f"edsr(2, {B}, {F}): {n:,} parameters, formula {edsr_x2_count(F, B):,}, equal: {n == edsr_x2_count(F, B)}")
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
print(edsr(2, 8, 32).n_params == 194817)
print(edsr(2, 16, 64).n_params == 1367553)
""")
b.md(r"""
These are exactly the parameter counts of the PyTorch reference "EDSR-baseline" with one
input channel. The paper's large model (32 blocks of 256 filters) has about 43 million.

### Why EDSR has no batch normalisation

EDSR's main departure from SRResNet (Ledig et al. 2017), on which it is built, is that it
**removes the batch normalisation layers** from the residual blocks. Lim et al. give two
reasons. First, BN normalises each feature map to zero mean and unit variance over the batch,
which throws away the absolute range of the features; for classification that is harmless, but
an SR network must reproduce intensities and contrast exactly. Second, BN layers need as much
memory as the convolutions before them; without them, a bigger model fits in the same GPU. A
further problem is that in training mode a BN layer makes one image's output depend on the
*other* images of the batch. We can see that directly with labkit's `BatchNorm`:
""")
b.code(r"""
from labkit.layers import BatchNorm

bn = BatchNorm(1)
alone = bn.forward(hr_patches[:1], training=True)
in_batch = bn.forward(hr_patches[:4], training=True)[:1]
print(f"same patch, alone vs. with 3 others in the batch: max output difference "
      f"{np.abs(alone - in_batch).max():.3f} (intensities are in [0, 1])")
""")
b.md(r"""
### Residual scaling

Wide EDSR models trained unstably. Following Szegedy et al. 2017 (Inception-v4), Lim et al.
multiply each block's residual by a constant $\alpha = 0.1$ before adding it:
$x_{b+1} = x_b + \alpha F(x_b)$. At initialisation each block adds a random, independent
contribution, so the variance of the features grows with depth roughly like
$(1 + \alpha^2 c)^B$; scaling by $\alpha = 0.1$ makes the growth negligible. We measure the
standard deviation of the features after each block of a freshly initialised EDSR with 16
blocks, by running the network truncated after block $b$:
""")
b.code(r"""
from labkit.network import Network

x_lr = lr_patches[:2]
feature_std = {}
for alpha in (1.0, 0.1):
    deep = edsr(2, 16, 32, res_scale=alpha, seed=0)
    stds = []
    for block in range(0, 17, 2):
        head_and_blocks = Network(deep.layers[:1 + 4 * block])   # layer 0 = head, 4 layers per block
        stds.append(float(head_and_blocks.predict(x_lr).std()))
    feature_std[f"res_scale={alpha}"] = np.array(stds)
for k, v in feature_std.items():
    print(f"{k:14s} feature std after 0 blocks {v[0]:.3f}, after 16 blocks {v[-1]:.3f}")
curve_panels(np.arange(0, 17, 2), [("feature standard deviation at initialisation", feature_std)],
             xlabel="residual blocks applied", ylabel="std of features", logy=True, markers=True,
             height=3.0)
""")
b.md(r"""
## 10.5 WDSR: wide activation and weight normalisation

Yu, Fan, Yang, Xu, Wang, Wang and Huang (2018) asked where an SR network's capacity should go.
Their answer: **in front of the ReLU**. A ReLU zeroes half of its inputs, so information that
passes through a narrow ReLU is lost; if instead the feature maps are *widened* before the
activation and narrowed after it, more information survives while the identity path (the
residual stream of width $F$) stays cheap.

* **WDSR-A**: each block is conv3x3 ($F \to rF$), ReLU, conv3x3 ($rF \to F$) with expansion
  $r = 2$-$4$. With a smaller $F$ it costs the same as an EDSR block.
* **WDSR-B**: conv1x1 ($F \to rF$), ReLU, conv1x1 ($rF \to 0.8F$, a "linear low-rank"
  bottleneck), conv3x3 ($0.8F \to F$); the 1x1 convolutions make even $r = 6$-$9$ affordable.
* No upsampling convolutions at high resolution: the tail maps straight to $s^2$ channels and
  shuffles, and a second, shallow branch (a 5x5 convolution of the LR input, shuffled) is added.
* **Weight normalisation** (Salimans and Kingma 2016) instead of BN: each filter's weight is
  written $\mathbf{w} = g\,\mathbf{v} / \lVert \mathbf{v} \rVert$, separating its length $g$
  from its direction $\mathbf{v}$. It makes optimisation better conditioned, like BN, but with
  no dependence on the batch and nothing different at test time; Yu et al. found it allowed
  a ten times larger learning rate.
""")
b.code(r"""
from labkit.models import wdsr_a, wdsr_b

models = {"EDSR": edsr(2, 8, 32, seed=0), "WDSR-A (r=4)": wdsr_a(2, 8, 32, expansion=4, seed=0),
          "WDSR-B (r=6)": wdsr_b(2, 8, 32, expansion=6, seed=0)}
relu_width = {"EDSR": 32, "WDSR-A (r=4)": 4 * 32, "WDSR-B (r=6)": 6 * 32}
x_test = np.zeros((1, 24, 24, 1), dtype=np.float32)
for name, m in models.items():
    out = m.predict(x_test)
    print(f"{name:13s} {m.n_params:>9,} parameters, ReLU sees {relu_width[name]:>3} channels, "
          f"24x24 -> {out.shape[1]}x{out.shape[2]}")
""")
b.code(r"""
wdsr = models["WDSR-B (r=6)"]
print("WDSR-B: skip branch, head and the first residual block")
for i, layer in enumerate(wdsr.layers[:9]):
    print(f"{i:3d}  {layer!r:62s} {layer.n_params:>7,}")
print(f"... {len(wdsr.layers)} layers in all, {wdsr.n_params:,} parameters")
""")
b.md(r"""
Weight normalisation in action: a labkit `Conv2D(..., weight_norm=True)` stores `v` and `g`
and computes the effective weight `conv.weight` from them. Scaling `v` leaves the layer
unchanged, which is exactly the decoupling of direction and length:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.layers import Conv2D

conv = Conv2D(4, 8, 3, weight_norm=True, seed=0)
w_before = conv.weight.copy()
conv.params["v"] *= 3.0
print("parameters:", sorted(conv.params), [conv.params[k].shape for k in sorted(conv.params)])
print("effective weight unchanged after v *= 3:", np.allclose(conv.weight, w_before, atol=1e-6))
print("filter norms equal g:", np.allclose(np.sqrt((conv.weight ** 2).sum(axis=(0, 1, 2))), conv.params["g"]))
""")
b.md(r"""
## 10.6 Explore the test set

Pick a test slice, a scale and a degradation, and compare HR, LR and the bicubic enlargement
(the baseline of 10.3) on a zoomed region.
""")
b.code(r"""
import ipywidgets as widgets

from labkit.data import degrade, crop_to_multiple
from labkit.metrics import psnr, ssim


def compare(index=10, scale=2, degradation="bicubic"):
    hr = crop_to_multiple(split["test"][index], scale)
    lr = degrade(hr, scale, method=degradation)
    up = imresize(lr, output_shape=hr.shape)
    p, s = psnr(up, hr, crop=scale), ssim(up, hr, crop=scale)
    fig = image_panels([hr, lr, up], ["HR", f"LR ({degradation}, x{scale})",
                                      f"bicubic: {p:.2f} dB, SSIM {s:.3f}"],
                       zoom=(60, 120, 70, 150), vmin=0, vmax=1,
                       suptitle=f"test slice z={split['test_z'][index]}")
    display(fig)


widgets.interact(compare, index=widgets.IntSlider(value=10, min=0, max=19, description="test slice"),
                 scale=widgets.Dropdown(options=[2, 3, 4], value=2),
                 degradation=widgets.Dropdown(options=["bicubic", "kspace", "gaussian"]));
""")
b.md(r"""
## Exercises

1. Change the margin: how many training slices would you gain by removing it, and which
   training slices are closest to a test slice with it? Why would a margin of 1 not be enough
   for a network with a receptive field of 40 pixels? (Hint: the slices are 1 mm apart, and
   the template was smoothed when it was built.)
2. Using the formula of 10.4, work out the parameter count of `edsr(4, 8, 32)` and of
   `edsr(3, 8, 32)` by hand; check with `n_params`.
3. Repeat the residual-scaling experiment with 32 blocks. How large does the feature standard
   deviation get with `res_scale=1.0`? Why might that make training with a fixed learning rate
   unstable?
4. Compare `wdsr_a(2, 8, F, expansion=4)` and `edsr(2, 8, 32)`: find $F$ such that the WDSR-A
   model has about the same number of parameters as the EDSR one.
5. Use the explorer above to find the test slice where bicubic does worst at x4. What anatomy
   does it contain?
""")
b.code(r"""
assert split["train"].shape == (98, 196, 232) and split["test"].shape == (20, 196, 232)
assert not set(split["train_z"]) & set(EXCLUDED_Z)
assert lr_patches.shape == (8, 32, 32, 1) and hr_patches.shape == (8, 64, 64, 1)
assert interior_err < 1e-5
assert frac_picky <= frac_plain
for deg in ("bicubic", "kspace", "gaussian"):     # quality falls with the scale
    assert baseline[2, deg]["psnr"] > baseline[3, deg]["psnr"] > baseline[4, deg]["psnr"]
assert edsr(2, 8, 32).n_params == 194817 and edsr(2, 16, 64).n_params == 1367553
assert feature_std["res_scale=0.1"][-1] < feature_std["res_scale=1.0"][-1]
assert all(m.predict(x_test).shape == (1, 48, 48, 1) for m in models.values())
print("chapter 10: all checks passed")
""")
b.write("10_dataset_and_models.ipynb")
