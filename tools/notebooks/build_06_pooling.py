"""Build notebooks/06_pooling.ipynb: max and average pooling, forward and backward, overlapping
windows, the pooling explorer.

Run ``python tools/notebooks/build_06_pooling.py``, then execute the notebook in place::

    jupyter nbconvert --to notebook --execute --inplace notebooks/06_pooling.ipynb

The browser test (``tests/browser/test_jupyterlab_browser.py``) opens this notebook, runs it and
moves a slider of the pooling explorer.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import Builder

nb = Builder()
md, code = nb.md, nb.code

# --------------------------------------------------------------------------------------------
md(r"""
# 06 · Pooling

A pooling layer shrinks a feature map by summarising each small window of it with one number:
the largest value (**max pooling**) or the mean (**average pooling**). It has no weights, so it
learns nothing, yet it changes what the next layers see and, in the backward pass, *where the
gradient goes*. In this chapter you will:

* compute max and average pooling by hand on a 6×6 array and check labkit's result;
* see the backward pass: max pooling sends each output's gradient to **one** input pixel,
  average pooling spreads it evenly, and overlapping windows (stride < size) add up;
* verify both backward passes numerically with `labkit.gradcheck`;
* watch pooling on a brain MRI slice, including the thesis's picture of a 30×30 max pool whose
  gradient reaches only a few pixels;
* play with window, stride and padding in the **pooling explorer**.

**Time:** about 20 minutes of reading; running every cell takes under 30 seconds.
**Prerequisites:** [04 Convolution](04_convolution.ipynb) (windows, stride, padding) and
[05 The convolutional layer](05_convolutional_layer.ipynb) (forward and backward of a layer).
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # short version for CI; nothing here is slow

import numpy as np
%matplotlib inline
%config InlineBackend.figure_format = "png"

from labkit.data import load_volume
from labkit.gradcheck import check_layer
from labkit.layers import AvgPool2D, MaxPool2D
from labkit.ops import pooling as P
from labkit.ops.filters import filter2d
from labkit.ops.im2col import sliding_windows
from labkit.viz.pooling import pooling_arrays, pooling_comparison, pooling_figure
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. Forward: one number per window

A window of $k_h \times k_w$ pixels slides over the input with stride $(s_h, s_w)$, after an
optional padding of $p$ pixels on every side. Like a convolution, the output has

$$H_{\text{out}} = \left\lfloor \frac{H + 2p - k_h}{s_h} \right\rfloor + 1, \qquad
  W_{\text{out}} = \left\lfloor \frac{W + 2p - k_w}{s_w} \right\rfloor + 1$$

pixels, and each output pixel $(i, j)$ summarises the window
$\mathcal{W}_{ij} = \{(i s_h + u - p,\; j s_w + v - p) : 0 \le u < k_h,\, 0 \le v < k_w\}$:

$$y^{\max}_{ij} = \max_{(p, q) \in \mathcal{W}_{ij}} x_{pq}, \qquad\qquad
  y^{\text{avg}}_{ij} = \frac{1}{|R_{ij}|} \sum_{(p, q) \in R_{ij}} x_{pq},$$

where $R_{ij} \subseteq \mathcal{W}_{ij}$ are the *real* pixels of the window. Padding never
wins a max (labkit pads with $-\infty$) and is never counted in an average (PyTorch's
`count_include_pad=False`). Each channel is pooled on its own, so the channel count does not
change.

Here is a 6×6 array pooled with 2×2 windows and stride 2 (no overlap). Check one output by eye:
the top-left window holds 1, 5, 2, 0, so max = 5 and mean = 2.
""")

code(r"""
x = np.array([[1, 5, 0, 3, 8, 2],
              [2, 0, 6, 1, 4, 4],
              [7, 3, 2, 9, 0, 1],
              [0, 1, 5, 2, 6, 3],
              [4, 8, 1, 0, 2, 7],
              [3, 2, 6, 4, 9, 5]], dtype=float)

y_max, _ = P.maxpool_forward(x[None, :, :, None], (2, 2), (2, 2), ((0, 0), (0, 0)))
y_avg, _ = P.avgpool_forward(x[None, :, :, None], (2, 2), (2, 2), ((0, 0), (0, 0)))
print("max pooling:\n", y_max[0, :, :, 0])
print("average pooling:\n", y_avg[0, :, :, 0])
pooling_figure(x, "max", size=2, stride=2, highlight=(0, 0))
""")

md(r"""
The **layers** `MaxPool2D(size, stride=None, padding=0)` and `AvgPool2D` call exactly these
functions on NHWC batches (`stride` defaults to `size`):
""")

code(r"""
layer = MaxPool2D(2)
print(layer, "->", layer.output_shape((1, 6, 6, 1)))
assert np.array_equal(layer.forward(x[None, :, :, None]), y_max)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Backward: where does the gradient go?

Pooling has no parameters, so its backward pass only computes $\partial L / \partial x$ from the
upstream gradient $\delta_{ij} = \partial L / \partial y_{ij}$.

**Max pooling.** Inside a window only the winner $(p^*_{ij}, q^*_{ij}) = \arg\max$ affects the
output ($\partial y_{ij} / \partial x_{pq} = 1$ for the winner, 0 otherwise), so

$$\frac{\partial L}{\partial x_{pq}}
  = \sum_{(i, j)\,:\,(p^*_{ij},\, q^*_{ij}) = (p, q)} \delta_{ij} .$$

Every other pixel gets exactly zero: the gradient map is *sparse*. With overlapping windows
(stride < size) one pixel can win several windows and then collects several gradients.

**Average pooling.** Every real pixel of the window contributes $1/|R_{ij}|$ of the output:

$$\frac{\partial L}{\partial x_{pq}} = \sum_{(i, j)\,:\,(p, q) \in R_{ij}}
  \frac{\delta_{ij}}{|R_{ij}|} .$$

This is the backward pass of a convolution whose weights are all $1/|R_{ij}|$ and fixed.

Below, 3×3 windows with stride 2 overlap by one row and column. With $\delta = 1$ everywhere
the max-pooling map counts **how many windows each pixel wins**, and the average-pooling map
shows the shares; the circled pixel is the winner of the highlighted window.
""")

code(r"""
pooling_comparison(x, size=3, stride=2, padding=1, highlight=(1, 1))
""")

code(r"""
a = pooling_arrays(x, "max", size=3, stride=2, padding=1)
print("windows:", a["output"].size, " pixels receiving gradient:", np.count_nonzero(a["dx"]),
      " total gradient:", a["dx"].sum())
b = pooling_arrays(x, "avg", size=3, stride=2, padding=1)
print(f"average pooling, total gradient: {b['dx'].sum():.6g} (one unit per window, spread out)")
""")

md(r"""
Both backward passes are checked against central differences
(`labkit.gradcheck.check_layer` perturbs every input pixel and compares). The relative error
should be around $10^{-10}$. Random inputs have no ties, so the max is differentiable there.
""")

code(r"""
rng = np.random.default_rng(0)
xr = rng.standard_normal((2, 7, 7, 3))
for layer in (MaxPool2D(3, stride=2, padding=1), AvgPool2D(3, stride=2, padding=1),
              MaxPool2D(2), AvgPool2D((2, 3), stride=(1, 2))):
    err = check_layer(layer, xr)["x"]
    print(f"{layer!r:55s} relative error {err:.1e}")
    assert err < 1e-7
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 3. Pooling a brain MRI slice

On an image, average pooling is a box blur followed by subsampling; max pooling keeps the
brightest pixel of each window, so bright structures (white matter in a T1 image) grow and
thin dark ones (sulci) disappear. The backward rows show the price: max pooling passes the
gradient to a quarter of the pixels, average pooling to all of them.
""")

code(r"""
vol, affine, voxel_size = load_volume("mni152")
slice_ = vol[:, :, 80].T[::-1]              # axial slice, anterior at the top
crop = slice_[84:148, 66:130]                # 64 x 64 around the lateral ventricles
print("slice", slice_.shape, "crop", crop.shape)
pooling_comparison(crop, size=4, stride=4)
""")

md(r"""
The thesis shows the extreme case: a 30×30 max pool with stride 20 (the windows overlap by 10
pixels). Of the roughly 46 000 pixels of the slice fewer than a hundred receive any gradient:
whatever comes before this layer would learn from those pixels only.
""")

code(r"""
big = pooling_arrays(slice_, "max", size=30, stride=20)
print(f"output {big['output'].shape}, pixels with gradient: {np.count_nonzero(big['dx'])} of "
      f"{slice_.size} ({100 * np.count_nonzero(big['dx']) / slice_.size:.2f} %)")
pooling_figure(slice_, "max", size=30, stride=20, highlight=(4, 4))
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. Windows without copies, and average pooling as a convolution

labkit builds the windows as a strided **view** of the input (`sliding_windows`), like im2col
but without copying: a 6-D array `(N, Ho, Wo, kh, kw, C)` whose memory is the input's own.
Pooling is then a `max` or `mean` over the two window axes.

Without padding, average pooling is the convolution with the $k \times k$ kernel
$1/k^2$ and stride $k$: the two must agree to rounding.
""")

code(r"""
xs = crop[None, :, :, None]
win = sliding_windows(xs, (4, 4), (4, 4))
print("windows view:", win.shape, " shares memory with the input:", np.shares_memory(win, xs))
no_pad = ((0, 0), (0, 0))
assert np.array_equal(win.max(axis=(3, 4)), P.maxpool_forward(xs, (4, 4), (4, 4), no_pad)[0])

box = np.full((4, 4), 1 / 16)
as_conv = filter2d(crop, box, stride=4, padding="valid")
as_pool = P.avgpool_forward(xs, (4, 4), (4, 4), ((0, 0), (0, 0)))[0][0, :, :, 0]
print("max |conv - avg pool| =", np.abs(as_conv - as_pool).max())
""")

md(r"""
### Small shifts

Pooling is said to make a representation *approximately invariant to small translations*: if
the input moves by one pixel, some windows keep their winner. Count how many max-pooled values
survive a one-pixel shift of the crop: the larger the window, the more of them do, but on a
smooth MR image far from all (the invariance is only approximate).
""")

code(r"""
def maxpool2d(img, k):
    return P.maxpool_forward(img[None, :, :, None], (k, k), (k, k), ((0, 0), (0, 0)))[0][0, :, :, 0]

shifted = np.roll(crop, 1, axis=1)
for k in (2, 4, 8):
    same = np.isclose(maxpool2d(crop, k)[:, 1:], maxpool2d(shifted, k)[:, 1:]).mean()
    print(f"{k}x{k} max pooling: {100 * same:.0f} % of outputs unchanged by a 1-pixel shift")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 5. The pooling explorer

Choose the kind of pooling, the window, the stride, the padding and the slice. The left panel
shows the padded input with every window outlined (the highlighted one filled), the middle the
pooled output, the right the backward map. Combinations that a pooling layer rejects, such as
a padding as large as the window, show the engine's message instead of a figure.
""")

code(r"""
from labkit.widgets import pooling_explorer

slices = np.stack([vol[:, :, z].T[::-1][86:118, 66:98] for z in (70, 80, 90)])   # 32 x 32 crops
ui, state = pooling_explorer(slices, kind="max", size=2, stride=2)
ui
""")

md(r"""
The explorer is also scriptable: `state.controls` holds the sliders and `state.arrays` what
labkit computed for the current values.
""")

code(r"""
state.set(size=3, stride=2, padding=1)
print("output", state.arrays["output"].shape, "| pixels with gradient:",
      np.count_nonzero(state.arrays["dx"]))
state.set(padding=3)
print("padding 3 with a 3x3 window ->", state.error)
state.set(size=2, stride=2, padding=0)          # back to where the explorer started
print("back to 2x2, stride 2: error =", state.error)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **Output size.** For a 197×233 slice, which (size, stride, padding) make a max pool return
   exactly 99×117? Check with `MaxPool2D(...).output_shape((1, 197, 233, 1))`.
2. **Ties.** Make an input where a window has two equal maxima. Which pixel receives the
   gradient in labkit (and in PyTorch)? Look at `maxpool_forward`'s docstring, then at
   `pooling_arrays(...)["dx"]`.
3. **Overlap.** With size 3 and stride 1 on a random 8×8 array, what is the largest number of
   windows a single pixel can win? Build an input that reaches it.
4. **Average pooling with padding.** For size 3, stride 2, padding 1 on a 5×5 array of ones,
   every output is 1 (padding is not counted). What would the corner output be with
   `count_include_pad=True`? Compute the window counts with `P.window_counts`.
5. **Gradient sparsity.** On the MRI slice, plot the fraction of pixels that receive gradient
   from max pooling as a function of the window size (2 to 32, stride = size). Explain the
   curve's shape.
""")

code(r"""
# Key results of the chapter (checked in CI).
assert np.array_equal(y_max[0, :, :, 0], [[5, 6, 8], [7, 9, 6], [8, 6, 9]])
assert np.allclose(y_avg[0, :, :, 0], [[2, 2.5, 4.5], [2.75, 4.5, 2.5], [4.25, 2.75, 5.75]])
assert a["dx"].sum() == a["output"].size                 # each window passes its one unit on
assert np.isclose(b["dx"].sum(), b["output"].size)
assert np.count_nonzero(big["dx"]) <= big["output"].size  # max pool: one pixel per window
assert np.allclose(as_conv, as_pool)                      # avg pool = box convolution
assert state.error is None and state.figure is not None
print("all chapter checks passed")
""")

nb.write("06_pooling.ipynb")
