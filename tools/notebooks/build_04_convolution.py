"""Build notebooks/04_convolution.ipynb: discrete convolution, classic filters, output size,
receptive field, the convolution explorer.

Run ``python tools/notebooks/build_04_convolution.py``, then execute the notebook in place::

    jupyter nbconvert --to notebook --execute --inplace notebooks/04_convolution.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "04_convolution.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 04 · Convolution

Every layer that matters in a super-resolution network is a convolution, so this chapter takes
the operation apart before we build the layer (chapter 05). You will learn:

* what a discrete convolution is, starting from its definition (the integral, then the double
  sum of eq. 2.2 of the thesis), and why what every deep-learning framework calls
  "convolution" is in fact a **cross-correlation**;
* what hand-designed kernels (Sobel, Laplacian, sharpening, box and Gaussian blur) do to a
  brain MRI slice, and why a trained network's first layer ends up with kernels like these;
* how **stride** and **padding** set the output size,
  $\text{out} = \lfloor (H + p_{\text{total}} - k)/s \rfloor + 1$, and what `"same"` padding
  means;
* how the **receptive field** (the patch of input one output pixel depends on) grows with depth;
* and you can play with all of it in the convolution explorer.

**Time:** about 30 minutes of reading; running every cell takes well under a minute.
**Prerequisites:** [01 Neural networks](01_neural_networks.ipynb) (layers, forward and
backward) and [02 Super-resolution and image quality](02_super_resolution_and_quality.ipynb)
(images as arrays). [03 Magnetic resonance](03_magnetic_resonance.ipynb) explains where the MRI
slice comes from, but it is not needed here.
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # short version for CI; nothing here is slow

import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

from labkit.data import load_volume
from labkit.layers import Conv2D, PixelShuffle
from labkit.models import edsr
from labkit.ops.conv import conv2d, conv_output_size, resolve_padding
from labkit.ops.filters import KERNELS, filter2d
from labkit.ops.receptive_field import receptive_field_maps, receptive_field_sizes
from labkit.viz.conv import conv_figure, kernel_gallery, receptive_field_figure
from labkit.viz.course_plots import image_panels
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. From an integral to a sum

In signal processing the convolution of two functions $f$ and $g$ is

$$(f * g)(t) = \int_{-\infty}^{+\infty} f(\tau)\, g(t - \tau)\, d\tau . \tag{2.1}$$

Read it as a recipe: take the kernel $g$, **mirror** it ($g(-\tau)$), slide it to position $t$
($g(t - \tau)$), multiply with $f$ point by point and add everything up. The result at $t$ is a
weighted average of $f$ around $t$, with weights given by the mirrored kernel.

An image is a function sampled on a grid, so the integral becomes a sum over grid offsets.
For an image $I$ and a kernel $k$ whose indices run from $-N$ to $N$ and from $-M$ to $M$
(a $(2N+1)\times(2M+1)$ kernel centred on $k[0,0]$):

$$C[i, j] = \sum_{u=-N}^{N} \sum_{v=-M}^{M} k[u, v]\; I[i - u,\, j - v]. \tag{2.2}$$

Each output pixel $C[i,j]$ is a weighted sum of the $(2N+1)(2M+1)$ input pixels around
$(i, j)$, the same weights at every position. Two consequences shape everything that follows:

* **locality**: an output depends only on a small neighbourhood of the input;
* **weight sharing**: the same few weights are used everywhere, so a feature detector works
  wherever the feature is (convolution commutes with translation).

Deep-learning frameworks (PyTorch, TensorFlow, Darknet, and labkit, which follows them)
compute something slightly different, the **cross-correlation**

$$R[i, j] = \sum_{u=-N}^{N} \sum_{v=-M}^{M} k[u, v]\; I[i + u,\, j + v],$$

with a plus sign: the kernel is *not* mirrored. The two are related by a 180° rotation of the
kernel, $k * I = \tilde k \star I$ with $\tilde k[u, v] = k[-u, -v]$ (`k[::-1, ::-1]` in numpy).
For a network this makes no difference at all: the weights are learned, and a network trained
with one convention simply learns the rotated kernels of the other. It *does* matter as soon as
you take a kernel from a textbook, copy weights between libraries, or compare with
`scipy.signal.convolve2d` (a true convolution) and `numpy.convolve`.
""")

md(r"""
### Seeing the flip: the impulse response

The clearest way to see the difference is to filter an image that is zero everywhere except
for a single 1, an *impulse*. A true convolution copies the kernel onto the impulse (this is
why the kernel is also called the *impulse response* or point-spread function); a
cross-correlation copies it rotated by 180°. We use an asymmetric kernel with entries 1…9 so
the orientation is obvious. `filter2d` is labkit's one-channel `Conv2D` (a cross-correlation),
and a true convolution is `filter2d` with the rotated kernel.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
impulse = np.zeros((5, 5))
impulse[2, 2] = 1.0
k = np.arange(1.0, 10.0).reshape(3, 3)          # an asymmetric 3x3 kernel

correlation = filter2d(impulse, k)               # what Conv2D computes
convolution = filter2d(impulse, k[::-1, ::-1])   # eq. 2.2: the kernel mirrored first

print("kernel k:\n", k.astype(int))
print("cross-correlation of the impulse (k rotated by 180 degrees):\n",
      correlation[1:4, 1:4].astype(int))
print("true convolution of the impulse (k itself):\n", convolution[1:4, 1:4].astype(int))
""")

md(r"""
Now let us check that `filter2d(img, k[::-1, ::-1])` really is eq. 2.2, by typing the
equation literally (with zero padding: pixels outside the image count as 0) and comparing at
every pixel of a small random image. The four nested loops below are the definition, not an
implementation you would ever use: labkit's convolution computes the same numbers with array
operations (chapter 05 shows how).
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
I = rng.standard_normal((6, 7))
g = rng.standard_normal((3, 3))                 # the kernel
N = M = 1                                       # the kernel indices u, v run over -1, 0, 1

C = np.zeros_like(I)
for i in range(I.shape[0]):
    for j in range(I.shape[1]):
        for u in range(-N, N + 1):
            for v in range(-M, M + 1):
                if 0 <= i - u < I.shape[0] and 0 <= j - v < I.shape[1]:
                    C[i, j] += g[u + N, v + M] * I[i - u, j - v]   # g[0, 0] is stored at [N, M]

print("eq. 2.2 == filter2d with the mirrored kernel:", np.allclose(C, filter2d(I, g[::-1, ::-1])))
print("eq. 2.2 == filter2d with the kernel as is:    ", np.allclose(C, filter2d(I, g)))
""")

md(r"""
For a kernel that looks the same after a 180° rotation the distinction disappears; for an
antisymmetric one, like the Sobel derivative below, the two conventions give opposite signs.
Keep that in mind when a textbook says "the Sobel filter responds positively to a dark-to-bright
edge": it depends on which of the two operations the book means.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Classic filters on an MRI slice

Before networks learned their kernels, image processing designed them by hand. Here are the
classics, applied by labkit's own convolution to an axial slice of the MNI ICBM152 T1 template
(the brain every later chapter works on; `load_volume("mni152")` reads it from the `nilearn`
package, intensities scaled to [0, 1]). The slice is rotated by 90° for display, so the front
of the head points up.

* **Sobel** ($x$ and $y$): a central difference $[-1, 0, 1]$ in one direction times a small
  smoothing $[1, 2, 1]$ in the other. It approximates the derivative, so it lights up at edges,
  with a sign telling dark-to-bright from bright-to-dark.
* **Laplacian**: the discrete $\partial^2_x + \partial^2_y$. It sums to zero, so flat regions
  give exactly 0, and it responds on both sides of every edge (the zero crossing is the edge).
* **Sharpen**: identity minus Laplacian, $\delta - \nabla^2$. It adds the "edge excess" back to
  the image, boosting local contrast; it sums to 1 so the average brightness is kept.
* **Box and Gaussian blur**: positive weights summing to 1, local averages. The Gaussian weights
  fall off smoothly, which avoids the blocky artefacts of the box.
* **Outline**: an 8-neighbour Laplacian (sign flipped), an edge detector that also sees
  diagonals. (`KERNELS` also holds `emboss`, a diagonal derivative plus the identity, which
  makes the image look like a relief lit from one corner.)
""")

code(r"""
vol = load_volume("mni152").data
img = np.rot90(vol[:, :, 90])      # axial slice z = 90, front of the head up
print("slice shape:", img.shape, " min/max:", img.min(), img.max())
fig = kernel_gallery(img)
fig
""")

md(r"""
The signed responses use a red/blue map centred on white (zero). Note how the Laplacian and
outline responses are zero inside the ventricles and the white matter (flat intensity) and
large only at tissue boundaries; and how the Sobel-$x$ response is positive on one side of the
head and negative on the other, the sign of the intensity gradient.

A few numbers make this precise. The **sum of a kernel's weights** is its response to a constant
image: 1 for kernels that keep the brightness (blurs, sharpen), 0 for detectors (derivatives,
Laplacian). And rotating the kernel by 180° (true convolution instead of cross-correlation)
leaves the symmetric kernels unchanged and flips the sign of the Sobel response.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print(f"{'kernel':<14} {'shape':<7} {'sum':>5}   {'rotated k == k':<15} {'rotated k == -k'}")
for name, kern in KERNELS.items():
    rot = kern[::-1, ::-1]
    print(f"{name:<14} {kern.shape[0]}x{kern.shape[1]:<5} {kern.sum():5.2f}   "
          f"{str(np.allclose(rot, kern)):<15} {np.allclose(rot, -kern)}")

gx_corr = filter2d(img, "sobel_x")
gx_conv = filter2d(img, KERNELS["sobel_x"][::-1, ::-1])
print("\nSobel-x: convolution == -cross-correlation on the slice:", np.allclose(gx_conv, -gx_corr))
lap = filter2d(img, "laplacian")
print("Laplacian: convolution == cross-correlation on the slice:",
      np.allclose(filter2d(img, KERNELS["laplacian"][::-1, ::-1]), lap))
""")

md(r"""
Combining the two Sobel responses gives the **gradient magnitude**
$\lVert\nabla I\rVert \approx \sqrt{G_x^2 + G_y^2}$, an orientation-free edge map: this is what
the first layer of a CNN trained on natural images tends to rediscover, a bank of oriented
edge detectors. Next to it, the difference between the image and its Gaussian blur is the fine
detail that blurring removes, which is exactly the information a super-resolution network has
to put back.
""")

code(r"""
gy = filter2d(img, "sobel_y")
magnitude = np.hypot(gx_corr, gy)
detail = img - filter2d(img, "gaussian_blur")
print(f"largest |image - blur|: {np.abs(detail).max():.2f}   (the image itself spans 0 .. {img.max():.2f})")
fig = image_panels([img, magnitude / magnitude.max(), 0.5 + detail],
                   ["slice", "Sobel gradient magnitude (/ max)", "0.5 + (image - Gaussian blur)"],
                   zoom=(60, 120, 50, 110), vmin=0.0, vmax=1.0)
fig
""")

md(r"""
The second row zooms into the boxed region. The detail image is drawn around mid-grey (0.5
means "no detail"), so brighter and darker than grey are the two signs. Its values are small
(see the printed maximum) and concentrated at tissue boundaries: the high frequencies an SR
network has to restore carry little energy, but all the sharpness.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 3. Output size: stride and padding

Sliding a $k \times k$ kernel over an $H \times W$ image leaves fewer valid positions than
pixels: the kernel must stay inside. Two knobs change that.

* **Padding** adds $p_{\text{total}} = p_{\text{top}} + p_{\text{bottom}}$ rows (and columns)
  of zeros around the image before sliding, so the kernel can be centred on border pixels.
* **Stride** $s$ moves the kernel $s$ pixels at a time, keeping only every $s$-th output: a
  built-in downsampling.

Counting the positions where a window of size $k$ fits in $H + p_{\text{total}}$ pixels with
steps of $s$ gives the output size (eq. 2.5-2.6 of the thesis, which writes $p$ for the total):

$$H_{\text{out}} = \left\lfloor \frac{H + p_{\text{total}} - k}{s} \right\rfloor + 1 .$$

The floor means that when the steps do not land exactly on the last pixels, the leftover rows
are silently ignored: with $H = 7$, $k = 3$, $s = 2$ and no padding, the outputs read rows
0-2, 2-4 and 4-6, and the image is used entirely; with $H = 8$ the last row would never be read.

Frameworks offer two named choices:

* `"valid"`: no padding, $H_{\text{out}} = \lfloor (H - k)/s \rfloor + 1$;
* `"same"`: pad just enough that $H_{\text{out}} = \lceil H / s \rceil$, i.e. the same size as
  the input when $s = 1$. The total padding needed is
  $p_{\text{total}} = \max\big((H_{\text{out}} - 1)\, s + k - H,\ 0\big)$; when it is odd, the
  extra row goes at the bottom (and the extra column on the right), TensorFlow's and PyTorch's
  rule. For $k = 3$, $s = 1$ that is one pixel on each side, which is why every EDSR convolution
  keeps the image size.

The table checks the formula against the shape labkit's `Conv2D` actually produces, for a few
cases including odd and even sizes, strides 1-3 and both named paddings.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
cases = [  # (H, kernel, stride, padding)
    (196, 3, 1, "same"), (196, 3, 1, "valid"), (196, 3, 2, "same"), (196, 3, 2, 1),
    (97, 3, 2, "same"), (232, 5, 2, "same"), (232, 5, 3, 2), (7, 3, 2, "valid"),
    (8, 3, 2, "valid"), (8, 4, 2, "same"), (48, 9, 1, "same"), (48, 9, 4, "valid"),
]
print(f"{'H':>4} {'k':>2} {'s':>2} {'padding':>8} {'pads (top, bottom)':>19} "
      f"{'formula':>8} {'ceil(H/s)':>10} {'Conv2D':>7}")
all_match = True
for h, ks, st, p in cases:
    pads = resolve_padding(p, (ks, ks), (st, st), (h, h))
    formula = conv_output_size(h, ks, st, sum(pads[0]))          # floor((H + p - k) / s) + 1
    layer = Conv2D(1, 1, ks, stride=st, padding=p, algorithm="im2col")
    out = layer.forward(np.zeros((1, h, h, 1), dtype=np.float32)).shape[1]
    all_match &= formula == out
    same = -(-h // st)                                           # ceil(H / s)
    print(f"{h:>4} {ks:>2} {st:>2} {str(p):>8} {str(pads[0]):>19} {formula:>8} {same:>10} {out:>7}")
print("formula == Conv2D output for every case:", all_match)
""")

md(r"""
Notice the `"same"` rows: the output is always $\lceil H/s \rceil$, and for 196 with stride 2
the single pixel of padding goes to the bottom, `(0, 1)`. The figure below shows one strided,
padded convolution on a small crop of the slice: the highlighted window is the first output
pixel, and the dark frame around the image is the zero padding.
""")

code(r"""
crop = img[100:116, 60:76]                 # a 16 x 16 crop around the ventricles
fig = conv_figure(crop, "sobel_x", stride=2, padding=1)
fig
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. The receptive field grows with depth

One output of a 3×3 convolution sees a 3×3 patch of its input. Stack a second 3×3 convolution
on top and each of *its* outputs sees 3×3 outputs of the first, which together cover 5×5
input pixels. In general, with $r_0 = 1$ and $j_0 = 1$,

$$r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l ,$$

where $r_l$ is the receptive field after layer $l$ and $j_l$ the distance, in input pixels,
between neighbouring outputs of layer $l$ (the "jump"). With stride 1 everywhere,
$L$ layers of $k \times k$ see $L(k-1) + 1$ pixels: growth is linear. A stride multiplies the
growth of every later layer, which is why classification networks, which need to see the whole
object, downsample early.

Not every pixel inside the receptive field counts equally. `receptive_field_maps` counts, for
each input pixel, how many paths lead from it to the centre output (by back-propagating a
single 1 through all-ones kernels): the count is largest in the middle and falls off
towards the edge like a Gaussian, Luo et al.'s 2016 *effective* receptive field.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
depth = 8
sizes = receptive_field_sizes([3] * depth)
print("3x3 convolutions, stride 1  -> receptive field after each layer:", sizes["size"][1:])
strided = receptive_field_sizes([3] * 5, strides=[1, 2, 1, 2, 1])
print("strides 1, 2, 1, 2, 1       -> receptive field:", strided["size"][1:],
      " jump:", strided["jump"][1:])
""")

code(r"""
maps = receptive_field_maps((41, 41), [3] * depth)
fig = receptive_field_figure(maps, sizes, depths=[1, 2, 4, 8])
fig
""")

md(r"""
A super-resolution network keeps stride 1 everywhere (it must not lose resolution), so its
receptive field grows only linearly. How far does one output pixel of the EDSR network we will
train (Lim et al. 2017, with 16 residual blocks) look? Every convolution before the pixel
shuffle works at the low resolution; the shortcut connections do not shrink the field (the
longest path through the network sets it).
""")

code(r"""
# NBVAL_CHECK_OUTPUT
net = edsr(2, n_blocks=16, n_filters=64)
lr_kernels = []
for layer in net.layers:
    if isinstance(layer, PixelShuffle):
        break
    if isinstance(layer, Conv2D):
        lr_kernels.append(layer.kernel_size[0])
rf = receptive_field_sizes(lr_kernels)["size"][-1]
print(f"EDSR x2, 16 blocks: {len(lr_kernels)} 3x3 convolutions at low resolution "
      f"-> receptive field {rf} x {rf} LR pixels")
""")

md(r"""
So each output pixel of EDSR is computed from the low-resolution patch printed above (a bit more
after the last, high-resolution convolution): $2L + 1$ pixels for $L$ convolutions, a good
fraction of the 98 × 116 pixels of an LR slice at scale 2. That is one reason why training on 48 × 48 LR patches works: a patch is comparable to
what one output needs.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 5. The convolution explorer

Move the sliders: pick a kernel, change the stride and the padding, and watch the output size
and the response change. The title of the output panel is the formula of section 3 at work.
""")

code(r"""
from labkit.widgets import convolution_explorer

ui, state = convolution_explorer(img)
ui
""")

md(r"""
If you read this without a running kernel (or in CI), the widget cannot react; it can still be
driven from code. Setting a control re-renders, and `state.arrays` holds what labkit computed:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
state.controls["kernel"].value = "laplacian"
state.controls["stride"].value = 2
state.controls["padding"].value = "same"
print(f"input {img.shape}, Laplacian, stride 2, 'same' -> output {state.arrays['output'].shape}"
      f" = ceil(H / 2) x ceil(W / 2); error: {state.error}")
state.controls["padding"].value = "valid"
print(f"same with 'valid' padding                    -> output {state.arrays['output'].shape}")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **Diagonal edges.** Design a 3×3 kernel that responds to edges running at 45° (hint: rotate
   the Sobel kernel by 45°, i.e. put the $-2$ and $2$ in opposite corners). Apply it to `img`
   with `filter2d` and compare with `sobel_x` and `sobel_y`. What is its sum, and why must it
   be 0?
2. **Blurs compose.** Convolution is associative: blurring twice with a 3×3 box equals blurring
   once with their convolution, a 5×5 "tent" kernel. Build the tent with
   `tent = filter2d(np.pad(box, 2), box)[1:-1, 1:-1]` (with `box = KERNELS["box_blur"]`) and check
   `filter2d(filter2d(img, box), box)` against `filter2d(img, tent)` away from the border.
   Why does the border differ?
3. **Downsampling by stride.** Which padding makes a 3×3 convolution with stride 2 map 196 rows
   to exactly 98? And 197 rows to 99? Check with `conv_output_size` and with a `Conv2D`.
4. **Receptive field with strides.** A network has ten 3×3 convolutions; layers 3 and 6 have
   stride 2. Compute its receptive field with `receptive_field_sizes`, then by hand with the
   recursion, then measure it from `receptive_field_maps((81, 81), [3] * 10, strides=...)`.
5. **The flip in 1-D.** `np.convolve` is a true convolution and `np.correlate` a
   cross-correlation. Check that `np.convolve(x, g, "same")` equals
   `np.correlate(x, g[::-1], "same")` for a random `x` and an asymmetric `g`.
""")

code(r"""
# Key results of the chapter (checked in CI).
assert np.array_equal(convolution[1:4, 1:4], np.arange(1.0, 10.0).reshape(3, 3))   # impulse -> k
assert np.array_equal(correlation[1:4, 1:4], np.arange(9.0, 0.0, -1.0).reshape(3, 3))
assert np.allclose(C, filter2d(I, g[::-1, ::-1]))            # eq. 2.2 = mirrored correlation
assert np.allclose(gx_conv, -gx_corr)                        # Sobel flips sign
assert all_match                                            # output-size formula = Conv2D
assert list(sizes["size"][1:]) == [3, 5, 7, 9, 11, 13, 15, 17]
assert list(strided["size"][1:]) == [3, 5, 9, 13, 21]
assert rf == 2 * len(lr_kernels) + 1
print("all checks passed")
""")

write(NAME, id_prefix="nb04")
