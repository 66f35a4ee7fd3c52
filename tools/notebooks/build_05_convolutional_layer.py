"""Build notebooks/05_convolutional_layer.ipynb: the Conv2D layer, im2col + GEMM, col2im in the
backward pass, Winograd F(2,3) -> F(2x2,3x3) -> F(4x4,3x3), accuracy, gradient check.

Run ``python tools/notebooks/build_05_convolutional_layer.py``, then execute the notebook::

    jupyter nbconvert --to notebook --execute --inplace notebooks/05_convolutional_layer.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "05_convolutional_layer.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 05 · The convolutional layer

Chapter 04 convolved one image with one hand-made kernel. A convolutional layer applies *many*
kernels, each spanning *all* input channels, and learns them. It is also where a network spends
almost all of its time, so this chapter is as much about algorithms as about the layer. You
will learn:

* what a `Conv2D` layer computes and how many parameters it has (eq. 2.3-2.4 of the thesis);
* **im2col**: how rearranging the input turns convolution into one large matrix product (GEMM)
  that BLAS runs at full speed, and what that costs in memory;
* **col2im**: the backward pass, where overlapping windows *sum* their gradients;
* **Winograd's minimal filtering** (Lavin & Gray 2015): the 1-D $F(2,3)$ trick of the thesis
  (4 multiplications instead of 6), then its 2-D versions $F(2\times2, 3\times3)$ and
  $F(4\times4, 3\times3)$ with their transform matrices;
* what each algorithm costs in **floating-point accuracy**, measured;
* how to check the layer's gradients numerically.

**Time:** about 40 minutes of reading; running takes about half a minute (the first run compiles
a few numba kernels, which adds some seconds).
**Prerequisites:** [04 Convolution](04_convolution.ipynb) (the operation, stride, padding) and
[01 Neural networks](01_neural_networks.ipynb) (backpropagation, gradient checks).
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # smaller accuracy experiment in CI

import inspect
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

from labkit.data import load_volume
from labkit.gradcheck import check_layer
from labkit.layers import Conv2D, Dense
from labkit.models import edsr
from labkit.ops import winograd as wg
from labkit.ops.conv import conv2d_forward, conv2d_naive_forward
from labkit.ops.filters import KERNELS
from labkit.ops.im2col import col2im, im2col, im2col_workspace_bytes
from labkit.viz.course_plots import grouped_bars
from labkit.viz.im2col import col2im_figure, im2col_figure, im2col_gemm_figure
from labkit.viz.winograd import winograd_tiles_figure, winograd_transform_figure
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. What a convolutional layer computes

The input of a layer is a stack of $C_{\text{in}}$ feature maps, an array of shape
$(N, H, W, C_{\text{in}})$ (labkit, like TensorFlow, keeps the channels last: NHWC). The layer
holds $C_{\text{out}}$ filters; each is a $k_h \times k_w \times C_{\text{in}}$ block of weights
that spans every input channel, and produces one output map:

$$y[n, i, j, f] = b[f] + \sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1} \sum_{c=0}^{C_{\text{in}}-1}
  x_{\text{pad}}[n,\; i s_h + u,\; j s_w + v,\; c]\; w[u, v, c, f] .$$

It is the cross-correlation of chapter 04, summed over input channels, once per filter. The
weights are stored as one array of shape $(k_h, k_w, C_{\text{in}}, C_{\text{out}})$ and the
biases as $(C_{\text{out}},)$, so for $n$ filters of size $k_x \times k_y$ on $C$ channels

$$\#\text{weights} = n \cdot k_x \cdot k_y \cdot C \tag{2.3}$$
$$\#\text{biases} = n . \tag{2.4}$$

Nothing here depends on $H$ or $W$: the same layer runs on a 48 × 48 training patch and on a
whole 196 × 232 slice. A fully connected layer mapping one slice to another would need a weight
for every (input pixel, output pixel) pair. Both facts are checked below, on the convolutions
of the EDSR network (Lim et al. 2017) we train later.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
layers = {
    "EDSR head, 1 -> 64, 3x3": Conv2D(1, 64, 3),
    "EDSR body, 64 -> 64, 3x3": Conv2D(64, 64, 3),
    "EDSR upsampler, 64 -> 256, 3x3": Conv2D(64, 256, 3),
    "EDSR tail, 64 -> 1, 3x3": Conv2D(64, 1, 3),
    "SRCNN first layer, 1 -> 64, 9x9": Conv2D(1, 64, 9),
    "strided, 3 -> 16, 5x5, stride 2": Conv2D(3, 16, 5, stride=2),
}
print(f"{'layer':<34} {'w shape':<16} {'eq. 2.3 + 2.4':>14} {'n_params':>10}")
for name, layer in layers.items():
    kh, kw = layer.kernel_size
    formula = layer.out_channels * kh * kw * layer.in_channels + layer.out_channels
    print(f"{name:<34} {str(layer.params['w'].shape):<16} {formula:>14,} {layer.n_params:>10,}")

conv = layers["EDSR body, 64 -> 64, 3x3"]
for shape in [(1, 48, 48, 64), (1, 196, 232, 64)]:
    y = conv.forward(np.zeros(shape, dtype=np.float32))
    print(f"input {shape} -> output {y.shape} with the same {conv.n_params:,} parameters")

pixels = 196 * 232
dense_params = pixels * pixels + pixels
net = edsr(2, 16, 64)
n_convs = sum(isinstance(layer, Conv2D) for layer in net.layers)
print(f"a Dense layer from one 196x232 slice to another: {dense_params:,} parameters")
print(f"EDSR x2 (16 blocks, 64 filters): {n_convs} convolutions, {net.n_params:,} parameters "
      f"in total, {dense_params / net.n_params:.0f}x fewer than that one Dense layer")
""")

md(r"""
The whole EDSR network has hundreds of times fewer parameters than a single dense layer between
two slices would have. Weight sharing is what makes image networks possible.

### The direct algorithm

The equation above can be computed as written. labkit's reference implementation,
`conv2d_naive_forward`, loops over the $k_h k_w$ kernel taps; for each tap $(u, v)$ it takes the
strided slice of the input that this tap reads for every output position, an array of shape
$(N, H_o, W_o, C_{\text{in}})$, and multiplies it by the $C_{\text{in}} \times C_{\text{out}}$
matrix `w[u, v]`. That is the whole algorithm:
""")

code(r"""
print(inspect.getsource(conv2d_naive_forward))
""")

md(r"""
Every algorithm in this chapter computes these same numbers; they differ in how the
$2\, N H_o W_o\, C_{\text{out}}\, k_h k_w C_{\text{in}}$ floating-point operations are organised
(one multiply and one add per term). For one EDSR body convolution on a training batch of
16 patches of 48 × 48 with 64 channels that is:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
n, h, w, cin, cout, k = 16, 48, 48, 64, 64, 3
flops = 2 * n * h * w * cout * k * k * cin
print(f"{flops / 1e9:.2f} GFLOP for one forward pass of one 64 -> 64 3x3 convolution")
print(f"x 33 such convolutions in EDSR-16, x 3 (forward + two backward products): "
      f"{33 * 3 * flops / 1e9:.0f} GFLOP per training step")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. im2col: convolution as one matrix product

The direct algorithm does $k_h k_w$ small matrix products. Processors are far better at *one*
big one: optimised BLAS libraries (OpenBLAS, MKL) split a large GEMM into blocks that fit the
caches, use every SIMD lane and every core, and reach a large fraction of the machine's peak
speed. **im2col** ("image to columns") rearranges the input so that the convolution *is* one
GEMM.

Lay every receptive field (the $k_h \times k_w \times C_{\text{in}}$ window that one output
pixel reads) out flat as one row of a matrix. With $N H_o W_o$ windows the column matrix has
shape $(N H_o W_o) \times (k_h k_w C_{\text{in}})$; the filters, reshaped, are a
$(k_h k_w C_{\text{in}}) \times C_{\text{out}}$ matrix; and

$$Y = \operatorname{cols}(x) \cdot W, \qquad Y \in \mathbb{R}^{(N H_o W_o) \times C_{\text{out}}},$$

which is the output with its spatial axes flattened: a free reshape gives back
$(N, H_o, W_o, C_{\text{out}})$.

The figure reproduces the thesis's figure 2.2: a 2 × 2 × 3 filter with stride 1 on a
4 × 4 × 3 image. The input holds the numbers 0…47 so you can follow each value into the matrix:
there are 3 × 3 = 9 windows (rows) of 2 · 2 · 3 = 12 values (columns), and the coloured rows
are the coloured windows. (labkit puts windows in rows and taps in columns; the thesis draws the
transpose, $12 \times 9$. Same matrix.)
""")

code(r"""
x_demo = np.arange(48.0).reshape(4, 4, 3)      # H, W, C: value = 3 * (4 i + j) + c
fig = im2col_figure(x_demo, kernel=2, stride=1, padding=0, highlight=[0, 1, 4])
fig
""")

md(r"""
Each pixel appears in up to four rows here, one per window containing it. In general a stride-1
$k \times k$ convolution copies every input value about $k^2$ times: that duplication is the
price of im2col. Note how the column matrix is built in labkit (`labkit/ops/im2col.py`): first
as a strided **view** of the padded input (no copy, the same trick as the thesis's NumPyNet
`_asStride`), then reshaped to 2-D, which is the moment the copy happens.

Next the GEMM itself, on a small MRI crop and four filters (the Sobel pair, the Laplacian and a
box blur from chapter 04). The product of the column matrix and the filter matrix, reshaped,
gives the four feature maps ("valid" padding here: 5 × 5 = 25 windows of 9 taps).
""")

code(r"""
vol = load_volume("mni152").data
crop = np.rot90(vol[:, :, 90])[104:111, 62:69]          # a 7 x 7 patch across a ventricle edge
bank = np.stack([KERNELS[k] for k in ("sobel_x", "sobel_y", "laplacian", "box_blur")], axis=-1)
weights = bank[:, :, None, :]                           # (3, 3, C_in=1, C_out=4)
fig = im2col_gemm_figure(crop, weights, stride=1, padding="valid", max_annotate=120)
fig
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 9, 11, 3))
w = rng.standard_normal((3, 3, 3, 5))
b = rng.standard_normal(5)
for stride, pads in [((1, 1), ((1, 1), (1, 1))), ((2, 2), ((0, 1), (1, 0))), ((1, 2), ((0, 0), (0, 0)))]:
    y_naive, _ = conv2d_forward(x, w, b, stride, pads, "naive")
    y_gemm, _ = conv2d_forward(x, w, b, stride, pads, "im2col")
    print(f"stride {stride}, pads {pads}: output {y_gemm.shape}, "
          f"im2col == naive: {np.allclose(y_gemm, y_naive, rtol=1e-12, atol=1e-12)}")
""")

md(r"""
### The memory bill

For a "same" 3 × 3 convolution with stride 1 the column matrix holds nine copies of the input.
On a training batch of EDSR that is no longer small:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
for shape in [(16, 48, 48, 64), (1, 196, 232, 64)]:                     # a batch; one whole slice
    x_bytes = np.prod(shape) * 4                                        # float32
    cols_bytes = im2col_workspace_bytes(shape, (3, 3), (1, 1), ((1, 1), (1, 1)), itemsize=4)
    print(f"input {shape}: {x_bytes / 2**20:6.1f} MiB, im2col workspace {cols_bytes / 2**20:6.1f} MiB "
          f"({cols_bytes / x_bytes:.0f}x the input)")
""")

md(r"""
And in training the column matrix is kept for the backward pass (the weight gradient needs it),
once per convolution: for 33 body convolutions of EDSR-16 that would be 33 such workspaces alive
at the same time. That is why memory, not arithmetic, often limits the batch size of
im2col-based frameworks, and why chapter 09 measures the workspace next to the time.

## 3. The backward pass: col2im sums overlapping windows

Backpropagation through $Y = \operatorname{cols}(x) W + b$ needs three gradients, given the
upstream gradient $\partial L / \partial Y$ (the same shape as $Y$):

$$\frac{\partial L}{\partial W} = \operatorname{cols}(x)^{\top} \frac{\partial L}{\partial Y},
\qquad
\frac{\partial L}{\partial b} = \sum_{\text{rows}} \frac{\partial L}{\partial Y},
\qquad
\frac{\partial L}{\partial\, \operatorname{cols}} = \frac{\partial L}{\partial Y}\, W^{\top}.$$

The first two are one GEMM and one sum. The third is a gradient with respect to the *column
matrix*, not the input. Every input pixel was copied into several rows; by the multivariate
chain rule its gradient is the **sum** of the gradients of all its copies. **col2im** does
exactly that: it adds each row back onto the pixels its window came from. It is the adjoint
(transpose) of im2col, and where windows overlap the contributions pile up. Below, col2im of the
im2col of an image: each pixel comes back multiplied by the number of windows that contain it,
shown on the right. With a stride equal to the kernel size (no overlap) the counts would all be
1 and col2im would just undo im2col.
""")

code(r"""
fig = col2im_figure(np.ones((6, 6)), kernel=3, stride=1, padding=0)
fig
""")

md(r"""
"Adjoint" has a precise meaning we can test: for any input $x$ and any column matrix $M$ of the
right shape, $\langle \operatorname{im2col}(x), M \rangle = \langle x, \operatorname{col2im}(M)
\rangle$. This identity is what makes `col2im` the correct backward of `im2col`, overlaps
included.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(1)
for kernel, stride in [((3, 3), (1, 1)), ((3, 3), (2, 2)), ((2, 4), (1, 3))]:
    x = rng.standard_normal((2, 9, 10, 3))
    cols = im2col(x, kernel, stride)
    m = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * m)                          # <im2col(x), M>
    rhs = np.sum(x * col2im(m, x.shape, kernel, stride))   # <x, col2im(M)>
    print(f"kernel {kernel}, stride {stride}: columns {cols.shape}, "
          f"<im2col(x), M> == <x, col2im(M)>: {np.isclose(lhs, rhs, rtol=1e-12)}")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. Winograd: fewer multiplications

im2col makes the arithmetic fast; Winograd's minimal filtering makes there be *less* of it.
The idea (Winograd 1980, brought to CNNs by Lavin & Gray 2015) is easiest in 1-D, the example of
the thesis (eq. 2.7-2.11). Take four input samples and a 3-tap filter,

$$d = (d_0, d_1, d_2, d_3), \qquad g = (g_0, g_1, g_2),$$

and compute the two outputs of their correlation. Written with im2col it is a $2\times3$ by
$3\times1$ product,

$$\begin{bmatrix} d_0 & d_1 & d_2 \\ d_1 & d_2 & d_3 \end{bmatrix}
\begin{bmatrix} g_0 \\ g_1 \\ g_2 \end{bmatrix}
= \begin{bmatrix} d_0 g_0 + d_1 g_1 + d_2 g_2 \\ d_1 g_0 + d_2 g_1 + d_3 g_2 \end{bmatrix},$$

six multiplications and four additions. The same two numbers can be obtained as

$$\begin{bmatrix} m_1 + m_2 + m_3 \\ m_2 - m_3 - m_4 \end{bmatrix}, \qquad
\begin{aligned}
m_1 &= (d_0 - d_2)\, g_0, & m_2 &= (d_1 + d_2)\, \tfrac{g_0 + g_1 + g_2}{2}, \\
m_4 &= (d_1 - d_3)\, g_2, & m_3 &= (d_2 - d_1)\, \tfrac{g_0 - g_1 + g_2}{2}.
\end{aligned}$$

Check the first output by expanding: $m_2 + m_3 = \tfrac12[(d_1+d_2)(g_0+g_1+g_2) +
(d_2-d_1)(g_0-g_1+g_2)] = d_1 g_1 + d_2 g_0 + d_2 g_2$, and adding $m_1 = d_0 g_0 - d_2 g_0$
leaves $d_0 g_0 + d_1 g_1 + d_2 g_2$. The second works the same way.

Only **four** multiplications involve the data. The filter factors
$(g_0 \pm g_1 + g_2)/2$ depend only on the weights, so a layer computes them once and reuses them
for every position of every image: they are free. In exchange there are more additions
(four on the data, three on the output), and additions are cheaper than multiplications. The
`labkit.ops.winograd.winograd_f2_3` function is exactly these lines; let us check it against the
direct products on random numbers.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(2)
d, g = rng.standard_normal(4), rng.standard_normal(3)
direct_1d = np.array([d[0:3] @ g, d[1:4] @ g])       # 6 multiplications
print("winograd_f2_3 == direct:", np.allclose(wg.winograd_f2_3(d, g), direct_1d, rtol=1e-14))
src = inspect.getsource(wg.winograd_f2_3)
print(src[src.index("    d0, d1, d2, d3 = d"):])            # the body of labkit's F(2, 3)
""")

md(r"""
### The matrix form

The four $m$'s are element-wise products of a transformed input and a transformed filter, and
the outputs are sums of them. Lavin & Gray write it as

$$y = A^{\top} \big[ (G g) \odot (B^{\top} d) \big],$$

with $B^{\top}$ ($4\times4$) transforming the input, $G$ ($4\times3$) the filter and $A^{\top}$
($2\times4$) bringing the four products back to two outputs. The entries come from evaluating
polynomials at the points $0, 1, -1$ and $\infty$: $F(m, r)$, $m$ outputs of an $r$-tap filter,
needs $m + r - 1$ multiplications, the minimum possible (Winograd's theorem).
""")

code(r"""
# NBVAL_CHECK_OUTPUT
from fractions import Fraction

def show(name, M):
    rows = ["  ".join(f"{str(Fraction(v).limit_denominator(100)):>5}" for v in row) for row in M]
    print(f"{name} ({M.shape[0]}x{M.shape[1]}):\n   " + "\n   ".join(rows))

show("B^T", wg.F2_BT); show("G", wg.F2_G); show("A^T", wg.F2_AT)
y_matrix = wg.F2_AT @ ((wg.F2_G @ g) * (wg.F2_BT @ d))
print("A^T [(G g) * (B^T d)] == winograd_f2_3(d, g):", np.allclose(y_matrix, wg.winograd_f2_3(d, g)))
""")

md(r"""
### Two dimensions: $F(2\times2, 3\times3)$ and $F(4\times4, 3\times3)$

Nesting the 1-D algorithm with itself (once along rows, once along columns) gives the 2-D
version. An input tile $d$ of $a \times a$ pixels ($a = m + 2$) and a $3\times3$ filter $g$
produce an $m \times m$ output tile

$$Y = A^{\top} \Big[ \big(G\, g\, G^{\top}\big) \odot \big(B^{\top} d\, B\big) \Big] A .$$

* $F(2\times2, 3\times3)$ uses the matrices above: a $4\times4$ input tile, **16**
  multiplications for 4 outputs, where the direct method needs $4 \cdot 9 = 36$, i.e. 2.25×
  fewer.
* $F(4\times4, 3\times3)$ uses larger matrices built on the points $0, \pm1, \pm2, \infty$: a
  $6\times6$ input tile, **36** multiplications for 16 outputs instead of 144: 4× fewer.

Larger tiles save more, but look at the entries of the matrices below: 4, 5 and 8 in $B^\top$
and $A^\top$, and 1/6 and 1/24 (not exact in binary) in $G$. Section 5 measures what that costs.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
show("F(4x4, 3x3)  B^T", wg.F4_BT); show("G", wg.F4_G); show("A^T", wg.F4_AT)
for variant, label in [("f2x3", "F(2x2, 3x3)"), ("f4x3", "F(4x4, 3x3)")]:
    c = wg.multiplication_counts(variant)
    print(f"{label}: {c['winograd']:.2f} multiplications per output instead of {c['direct']:.0f} "
          f"-> {c['saving']:.2f}x fewer")
""")

md(r"""
Let us verify the 2-D formula on one tile: a random $6\times6$ input tile and a $3\times3$ filter
through the $F(4\times4,3\times3)$ matrices must give the 16 "valid" outputs of the direct
correlation. The figure shows every intermediate for a smaller $F(2\times2, 3\times3)$ tile
(a 4 × 4 patch of the MRI slice and the Laplacian): the transformed input $V$, the transformed
filter $U$, their 16 element-wise products $M$, and the output $Y$, equal to the direct result.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(3)
tile, g2 = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
U = wg.F4_G @ g2 @ wg.F4_G.T                 # transformed filter, 6 x 6 (once per filter)
V = wg.F4_BT @ tile @ wg.F4_BT.T             # transformed input tile, 6 x 6
Y = wg.F4_AT @ (U * V) @ wg.F4_AT.T          # 36 element-wise products -> 4 x 4 outputs
direct_tile = np.array([[np.sum(tile[i:i + 3, j:j + 3] * g2) for j in range(4)] for i in range(4)])
print("output tile", Y.shape, "== direct correlation:", np.allclose(Y, direct_tile, rtol=1e-12))
""")

code(r"""
fig = winograd_transform_figure(crop[1:5, 1:5], KERNELS["laplacian"], "f2x3")
fig
""")

md(r"""
### From one tile to a layer

A real layer sums over input channels, and the sum commutes with the output transform
$A^\top[\cdot]A$. So for each of the $a^2$ positions $(\xi, \nu)$ of the transformed tile, the
element-wise products summed over channels become a matrix product over *all tiles at once*:

$$M_{\xi\nu} = V_{\xi\nu}\, U_{\xi\nu}, \qquad V_{\xi\nu} \in \mathbb{R}^{T \times C_{\text{in}}},
\quad U_{\xi\nu} \in \mathbb{R}^{C_{\text{in}} \times C_{\text{out}}},$$

with $T$ the number of tiles. The layer therefore runs in three stages: transform every input
tile ($V = B^\top d B$), do $a^2$ GEMMs (16 or 36) through BLAS, and transform every output tile
back ($A^\top M A$, plus the bias). The GEMMs carry the multiplications that Winograd saved;
the transforms are cheap additions, compiled with numba in labkit. The backward pass reuses the
same machinery: the input gradient is a convolution of $\partial L/\partial y$ with the
kernel rotated by 180° and its channels swapped (again 3×3, stride 1), and the weight gradient
is a GEMM in the transformed domain. Winograd needs a 3×3 kernel and stride 1; that is every
convolution of EDSR.

The figure shows the tiling of a 15 × 15 patch with $F(4\times4, 3\times3)$: input tiles of
6 × 6 overlap by two pixels and advance by four; each gives a 4 × 4 tile of the output. The
13 × 13 "valid" output is not a multiple of 4, so the last row and column of tiles hang over
the border: they read zeros and their extra outputs are dropped.
""")

code(r"""
patch = np.rot90(vol[:, :, 90])[100:115, 60:75]
fig = winograd_tiles_figure(patch, KERNELS["sobel_x"], "f4x3", highlight=(1, 1))
fig
""")

md(r"""
And on a whole (small) layer with several channels, both variants agree with the direct sum:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(4)
x = rng.standard_normal((2, 13, 10, 4))       # odd sizes: the last tiles hang over the border
w = rng.standard_normal((3, 3, 4, 6))
b = rng.standard_normal(6)
same = ((1, 1), (1, 1))
y_ref, _ = conv2d_forward(x, w, b, (1, 1), same, "naive")
for name, fn in [("F(2x2, 3x3)", wg.winograd_f2x3), ("F(4x4, 3x3)", wg.winograd_f4x3)]:
    print(f"{name} layer, output {fn(x, w, b, same).shape}, == naive in float64:",
          np.allclose(fn(x, w, b, same), y_ref, rtol=1e-10, atol=1e-10))
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 5. Accuracy: what each algorithm costs in float32

In exact arithmetic every algorithm of this chapter gives the same answer. In floating point
they do not, because they add and multiply in different orders and Winograd multiplies by
transform entries that amplify rounding errors. We measure it on EDSR-like data: a batch of
64-channel feature maps, He-initialised 64 → 64 weights (as `Conv2D` initialises them), each
algorithm run in **float32**, compared with the **float64** direct sum as the reference. Two
numbers per algorithm: the largest error relative to the largest output,
$\max|y - y_{\text{ref}}| / \max|y_{\text{ref}}|$, and the mean error relative to the mean
output magnitude. float32 itself has a relative precision of $2^{-24} \approx 6\times10^{-8}$.
""")

code(r"""
rng = np.random.default_rng(5)
n_img, size = (1, 32) if FAST else (4, 48)
x64 = rng.standard_normal((n_img, size, size, 64))
w64 = rng.standard_normal((3, 3, 64, 64)) * np.sqrt(2.0 / (3 * 3 * 64))    # He-normal
same = ((1, 1), (1, 1))
ref, _ = conv2d_forward(x64, w64, None, (1, 1), same, "naive")
x32, w32 = x64.astype(np.float32), w64.astype(np.float32)

outputs = {
    "naive": conv2d_forward(x32, w32, None, (1, 1), same, "naive")[0],
    "im2col": conv2d_forward(x32, w32, None, (1, 1), same, "im2col")[0],
    "F(2x2,3x3)": wg.winograd_f2x3(x32, w32, None, same),
    "F(4x4,3x3)": wg.winograd_f4x3(x32, w32, None, same),
}
max_err = {k: float(np.abs(y - ref).max() / np.abs(ref).max()) for k, y in outputs.items()}
mean_err = {k: float(np.abs(y - ref).mean() / np.abs(ref).mean()) for k, y in outputs.items()}
print(f"float32 vs float64 naive on x {x64.shape}, w {w64.shape}")
print(f"{'algorithm':<12} {'max rel. error':>15} {'mean rel. error':>16}")
for k in outputs:
    print(f"{k:<12} {max_err[k]:>15.2e} {mean_err[k]:>16.2e}")
print(f"F(4x4) / F(2x2) mean error ratio: {mean_err['F(4x4,3x3)'] / mean_err['F(2x2,3x3)']:.1f}")
""")

code(r"""
names = list(outputs)
fig = grouped_bars(names, {"max error / max |y|": np.array([max_err[k] for k in names]),
                           "mean error / mean |y|": np.array([mean_err[k] for k in names])},
                   ylabel="relative error (float32 vs float64)", fmt="{:.1e}",
                   title="Accuracy of the convolution algorithms in float32")
fig.axes[0].set_yscale("log")
fig
""")

md(r"""
Direct sum, im2col and $F(2\times2)$ all stay within a few float32 rounding units; $F(4\times4)$
is clearly worse, by the factor printed above. The reason is in its matrices. The input
transform multiplies by entries up to 5 and the output transform by entries up to 8, so
intermediate values are much larger than the data, and their rounding errors (relative to those
large intermediates) survive the cancellations that bring the result back to normal size. The
fractions 1/6, 1/12 and 1/24 in $G$ are themselves rounded. The condition numbers of the
transform matrices summarise this:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
for label, mats in [("F(2x2)", (wg.F2_BT, wg.F2_G, wg.F2_AT)), ("F(4x4)", (wg.F4_BT, wg.F4_G, wg.F4_AT))]:
    conds = ", ".join(f"{n} {np.linalg.cond(M):.1f}" for n, M in zip(("B^T", "G", "A^T"), mats))
    print(f"{label}: condition numbers {conds}")
""")

md(r"""
Is it a problem? For training an SR network, no: errors of $10^{-6}$ relative are far below the
noise of stochastic gradient descent, and the loss curves with any algorithm are
indistinguishable. For larger tiles ($F(6\times6, 3\times3)$ and beyond) the errors grow quickly,
which is why libraries stop at $F(4\times4)$ for float32 and use $F(2\times2)$ in half precision.
labkit's `Conv2D(algorithm="winograd")` uses $F(4\times4, 3\times3)$.

## 6. Gradient check of `Conv2D`

The backward pass of each algorithm is different code (tap loops, col2im, Winograd transforms),
so each needs its own check. `labkit.gradcheck.check_layer` compares the analytic gradients
with central differences $\big(L(\theta + h) - L(\theta - h)\big) / 2h$, in **float64** and on
the loss $L = \sum y \odot G$ with a **random** upstream gradient $G$ (an all-ones $G$ would hide
errors that cancel in the sum). It reports the relative error
$\lVert a - n \rVert / (\lVert a \rVert + \lVert n \rVert)$ for the input and every parameter.
""")

code(r"""
configs = [  # (algorithm, in, out, kernel, stride, padding, input shape)
    ("naive", 2, 3, 3, 1, "same", (2, 5, 6, 2)),
    ("naive", 2, 3, (2, 3), (2, 1), "valid", (2, 7, 6, 2)),
    ("im2col", 2, 3, 3, 1, "same", (2, 5, 6, 2)),
    ("im2col", 3, 2, 3, 2, 1, (1, 7, 8, 3)),
    ("im2col", 2, 4, 1, 1, "same", (2, 4, 4, 2)),
    ("winograd", 2, 3, 3, 1, "same", (2, 5, 6, 2)),
    ("winograd", 3, 2, 3, 1, "valid", (1, 9, 7, 3)),
]
worst = 0.0
for alg, cin, cout, ks, st, pad, shape in configs:
    layer = Conv2D(cin, cout, ks, stride=st, padding=pad, algorithm=alg, seed=0).astype(np.float64)
    x = np.random.default_rng(7).standard_normal(shape)
    errors = check_layer(layer, x, seed=1)
    worst = max(worst, max(errors.values()))
    print(f"{alg:<9} {str(layer):<44} " + "  ".join(f"{k}: {v:.1e}" for k, v in errors.items()))
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print("worst relative error < 1e-7:", worst < 1e-7)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 7. The im2col explorer

Change the kernel size, stride and padding and watch the column matrix change shape: how many
windows there are ($H_o W_o$ rows), how long each is ($k_h k_w C$ columns), and how much the
input is duplicated.
""")

code(r"""
from labkit.widgets import im2col_explorer

ui, state = im2col_explorer()
ui
""")

md(r"""
The explorer can also be driven from code (this is how the tests use it): setting a control
re-renders, and `state.arrays` holds what labkit computed.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
state.controls["size"].value = 5
state.controls["kernel"].value = 3
state.controls["stride"].value = 1
state.controls["padding"].value = 1
print("5x5 image, 3x3 kernel, stride 1, padding 1 -> columns", state.arrays["columns"].shape,
      "| error:", state.error)
state.controls["stride"].value = 2
print("same with stride 2                          -> columns", state.arrays["columns"].shape)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **Parameter budget.** WDSR (Yu et al. 2018) replaces a 3×3 convolution $64 \to 64$ by
   a 1×1 convolution $64 \to 384$, a ReLU, a 1×1 $384 \to 51$ and a 3×3 $51 \to 64$. Count the
   parameters of both with eq. 2.3-2.4 and check with `Conv2D(...).n_params`.
2. **Workspace without padding.** Derive the im2col workspace of a "valid" $k\times k$
   convolution with stride $s$ as a multiple of the input size, for large $H, W$. For which
   stride does im2col stop duplicating data? Verify with `im2col_workspace_bytes`.
3. **col2im with stride.** Plot `col2im_figure(np.ones((7, 7)), kernel=3, stride=2)`. Which
   pixels are counted twice, which four times? Why does a stride-2, 3×3 convolution's input
   gradient show a grid pattern even for a constant upstream gradient?
4. **The other 1-D Winograd.** Show that $F(3, 2)$ (three outputs of a 2-tap filter) needs 4
   multiplications instead of 6, and write its three matrices using the points $0, 1, -1$.
5. **Accuracy vs scale.** Repeat the accuracy experiment with inputs multiplied by 1000, and
   with inputs that have a large mean (add 10). Which algorithm suffers most from the mean, and
   why (think of what $B^\top d B$ does to a constant tile)?
""")

code(r"""
# Key results of the chapter (checked in CI).
assert Conv2D(64, 64, 3).n_params == 64 * 3 * 3 * 64 + 64                        # eq. 2.3 + 2.4
assert edsr(2, 16, 64).n_params == 1_367_553
assert np.allclose(wg.winograd_f2_3(d, g), direct_1d)                            # 1-D F(2, 3)
assert np.allclose(Y, direct_tile)                                               # 2-D F(4x4, 3x3)
assert wg.multiplication_counts("f2x3")["saving"] == 2.25 and wg.multiplication_counts("f4x3")["saving"] == 4.0
assert max_err["F(4x4,3x3)"] > max_err["F(2x2,3x3)"] and mean_err["F(4x4,3x3)"] > 2 * mean_err["im2col"]
assert all(e < 1e-5 for e in max_err.values())                                 # all still float32-accurate
assert worst < 1e-7                                                              # gradient check
print("all checks passed")
""")

write(NAME, id_prefix="nb05")
