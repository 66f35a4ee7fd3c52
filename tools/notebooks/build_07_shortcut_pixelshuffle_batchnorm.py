"""Build notebooks/07_shortcut_pixelshuffle_batchnorm.ipynb: residual connections and gradient
flow, darknet-style Shortcut in Network, pixel shuffle (orders, checkerboard, ICNR), batch
normalisation (train/eval, running statistics, gradient check).

Run ``python tools/notebooks/build_07_shortcut_pixelshuffle_batchnorm.py``, then execute::

    jupyter nbconvert --to notebook --execute --inplace notebooks/07_shortcut_pixelshuffle_batchnorm.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "07_shortcut_pixelshuffle_batchnorm.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 07 · Shortcuts, pixel shuffle and batch normalisation

Three small layers, each of which changed what deep networks can do, and two of which are in
every super-resolution network of this course. You will learn:

* why very deep **plain** networks train worse than shallower ones (the *degradation problem*),
  how **residual connections** (He et al. 2016) fix the flow of gradients, and how the
  darknet-style `Shortcut(index, alpha, beta)` layer expresses them in a `Network`;
* how **pixel shuffle** (Shi et al. 2016) upsamples by rearranging channels, why its two
  channel orders ("torch" and "tf") are not interchangeable, and where **checkerboard
  artefacts** come from (Odena et al. 2016) and how ICNR initialisation (Aitken et al. 2017)
  removes them;
* what **batch normalisation** (Ioffe & Szegedy 2015) computes in training and in evaluation
  mode, how its running statistics are kept, and why EDSR leaves it out.

**Time:** about 40 minutes of reading; running takes under a minute.
**Prerequisites:** [05 The convolutional layer](05_convolutional_layer.ipynb) and the
backpropagation of [01 Neural networks](01_neural_networks.ipynb);
[08 Activations and losses](08_activations_and_losses.ipynb) discusses the activation functions
used here in more depth.
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # fewer steps in the running-statistics demo

import numpy as np
import ipywidgets as widgets
import matplotlib.pyplot as plt
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

from labkit.data import degrade, mni_sr_split
from labkit.gradcheck import check_layer, check_network
from labkit.layers import Activation, BatchNorm, Conv2D, PixelShuffle, Shortcut
from labkit.models import edsr, plain_cnn
from labkit.network import Network
from labkit.ops.gradient_flow import gradient_norms
from labkit.ops.icnr import icnr, subpixel_pattern
from labkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from labkit.viz.course_pixel_shuffle import pixel_shuffle_figure
from labkit.viz.course_plots import curve_panels, image_panels
from labkit.viz.gradients import gradient_flow_figure
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. Residual connections

### The degradation problem

Adding layers should never hurt, in principle: a deeper network could copy a shallower one and
set the extra layers to the identity. In practice, He et al. (2016) found that beyond a few
tens of layers, *plain* networks (layers simply stacked) reach a **higher training error** than
shallower ones. That is not overfitting (the training error itself is worse); the deeper
network is harder to optimise. They called it the degradation problem.

Part of the reason is visible in backpropagation. The gradient reaching layer $l$ is the
gradient at the output multiplied by one Jacobian per layer above it,

$$\frac{\partial C}{\partial h_l} = \frac{\partial C}{\partial h_L}
  \prod_{k=l+1}^{L} \frac{\partial h_k}{\partial h_{k-1}},
  \qquad \frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}\big(f'(a_k)\big)\, W_k^{\top},$$

and a product of many factors tends to shrink or grow geometrically. With a saturating
activation such as the logistic sigmoid, whose derivative is at most 1/4, it shrinks fast: the
first layers receive almost no gradient and barely learn.

A **residual block** learns a correction to its input instead of a whole new representation:

$$h_l = h_{l-1} + \mathcal{F}(h_{l-1}), \qquad
  \frac{\partial h_l}{\partial h_{l-1}} = I + \frac{\partial \mathcal{F}}{\partial h_{l-1}} .$$

The identity term carries the gradient back unchanged, whatever the branch $\mathcal F$ does,
and representing "do nothing" only requires $\mathcal F = 0$, which is easy to learn.

### Measured on labkit layers

Below: a stack of 20 units `[Conv2D 3×3, logistic]` between an input and an output convolution
(`labkit.models.plain_cnn`), with and without a `Shortcut` around every unit, both initialised
with the same weights. One forward pass on a random batch, one backward pass with a random
upstream gradient, and then the norm of each convolution's weight gradient
$\lVert \partial C / \partial W_l \rVert$, input side first.
""")

code(r"""
def conv_gradient_norms(net, seed=0):
    # One forward/backward pass; the weight-gradient norm of every Conv2D, input side first.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 24, 24, 1)).astype(np.float32)
    y = net.forward(x)
    net.backward(rng.standard_normal(y.shape).astype(np.float32))
    return np.array([np.linalg.norm(layer.grads["w"]) for layer in net.layers
                     if isinstance(layer, Conv2D)])

depth = 20
norms = {
    "plain": conv_gradient_norms(plain_cnn(depth, 8, residual=False, activation="logistic", seed=0)),
    "with shortcuts": conv_gradient_norms(plain_cnn(depth, 8, residual=True, activation="logistic", seed=0)),
}
for name, v in norms.items():
    print(f"{name:<15} first conv {v[0]:9.2e}   last conv {v[-1]:9.2e}   ratio first/last {v[0] / v[-1]:.1e}")
fig = gradient_flow_figure(norms, title=f"Gradient norm per convolution, {depth} logistic units")
fig
""")

md(r"""
In the plain stack the gradient shrinks by orders of magnitude on its way down: a gradient-descent
step barely moves the first layers. With shortcuts every layer receives a gradient of the same
order. (The helper `conv_gradient_norms` above only runs `forward`/`backward` and reads
`layer.grads`; all the maths is in the layers.)

### Depth, activation and residual scaling

`labkit.ops.gradient_flow.gradient_norms` runs the same experiment on a deep fully connected
network, fast enough to sweep interactively. Move the depth slider and change the activation.
Two things to look for:

* with `logistic` the plain network loses a factor of roughly 4 or more per layer, while with
  `relu` and the right weight scale (He et al. 2015 initialisation, `weight scale` = 1.41) the
  plain network keeps its gradients at initialisation: good initialisation delays the problem,
  shortcuts remove it;
* with `relu` and shortcuts the signal *grows*: every block adds its output to the running sum,
  so the variance grows with depth. Scaling each branch, $h_l = h_{l-1} + \alpha\,\mathcal
  F(h_{l-1})$ with $\alpha = 0.1$ (the *residual scaling* EDSR uses for its widest model, after
  Szegedy et al. 2017), keeps it in check.
""")

code(r"""
def gradient_flow(depth=30, activation="logistic", weight_scale=1.0, res_scale=1.0):
    plain = gradient_norms(depth, shortcut=False, activation=activation, weight_scale=weight_scale)
    res = gradient_norms(depth, shortcut=True, activation=activation, weight_scale=weight_scale,
                         res_scale=res_scale)
    return gradient_flow_figure({"plain": plain["grad_norm"], "with shortcuts": res["grad_norm"]},
                                {"plain": plain["activation_std"], "with shortcuts": res["activation_std"]},
                                title=f"{depth}-layer MLP, {activation}, weight scale {weight_scale}, "
                                      f"residual scale {res_scale}")

flow_ui = widgets.interactive(
    gradient_flow,
    depth=widgets.IntSlider(value=30, min=2, max=100, step=2, continuous_update=False),
    activation=widgets.Dropdown(options=["logistic", "tanh", "relu", "elu", "selu"], value="logistic"),
    weight_scale=widgets.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.05, continuous_update=False),
    res_scale=widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, continuous_update=False))
flow_ui
""")

md(r"""
Without a running kernel the slider cannot move, so here are the numbers behind two of its
settings (first and last layer's gradient norm, and how much the plain network loses):
""")

code(r"""
# NBVAL_CHECK_OUTPUT
for act, ws in [("logistic", 1.0), ("relu", np.sqrt(2.0))]:
    for shortcut in (False, True):
        r = gradient_norms(30, shortcut=shortcut, activation=act, weight_scale=ws)
        g = r["grad_norm"]
        print(f"{act:<8} weight scale {ws:.2f}  {'shortcuts' if shortcut else 'plain    '}  "
              f"first/last layer gradient: {g[0] / g[-1]:.0e}")
for rs in (1.0, 0.1):
    r = gradient_norms(30, shortcut=True, activation="relu", res_scale=rs)
    print(f"relu with shortcuts, residual scale {rs}: output std {r['activation_std'][-1]:.0e}")
""")

md(r"""
### `Shortcut(index, alpha, beta)` in a `Network`

labkit's networks are ordered lists of layers, like darknet's configuration files, from which
the thesis's Byron and NumPyNet frameworks take their design. A residual connection is one more
layer in the list:

$$H(x_1, x_2) = \alpha\, x_1 + \beta\, x_2 \tag{2.14}$$

where $x_1$ is the output of the previous layer and $x_2$ the output of the layer selected by
`index`: a negative index counts back from the shortcut itself (`-1` would be the previous
layer), a non-negative one is an absolute position in the list (and `-1` as an *absolute*
position, reached for example by `index=-3` at position 2, is the network input). The backward
pass is (eq. 2.15-2.16)

$$\frac{\partial C}{\partial x_1} = \alpha\, \delta, \qquad
  \frac{\partial C}{\partial x_2} = \beta\, \delta ,$$

with $\delta$ the gradient arriving from above. The output of layer `index` now feeds two
layers (the next one and the shortcut), so `Network.backward` **adds** the two gradients that
come back to it, the multivariate chain rule again. A small network makes all of this concrete:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
net = Network([
    Conv2D(1, 4, 3, seed=1),               # 0
    Activation("relu"),                    # 1
    Conv2D(4, 4, 3, seed=2),               # 2
    Shortcut(-3, alpha=0.5, beta=2.0),     # 3: 0.5 * (output of 2) + 2.0 * (output of 3 - 3 = 0)
    Conv2D(4, 1, 3, seed=3),               # 4
])
x_net = np.random.default_rng(0).standard_normal((2, 6, 6, 1))
net.astype(np.float64)

out0 = net.layers[0].forward(x_net)            # run the layers by hand ...
out2 = net.layers[2].forward(net.layers[1].forward(out0))
by_hand = net.layers[4].forward(0.5 * out2 + 2.0 * out0)
print("Network output == by-hand 0.5 * x_prev + 2.0 * x_index:", np.allclose(net.forward(x_net), by_hand))

absolute = Network([Conv2D(1, 4, 3, seed=1), Activation("relu"), Conv2D(4, 4, 3, seed=2),
                    Shortcut(0, alpha=0.5, beta=2.0), Conv2D(4, 1, 3, seed=3)]).astype(np.float64)
print("Shortcut(0) (absolute) == Shortcut(-3) here:", np.allclose(absolute.forward(x_net), by_hand))

errors = check_network(net, x_net, seed=3)
print(f"gradient check of the whole network ({len(errors)} arrays): worst relative error < 1e-7:",
      max(errors.values()) < 1e-7)
""")

md(r"""
EDSR (Lim et al. 2017) is built exactly this way: each residual block is
`[Conv2D, ReLU, Conv2D, Shortcut(-4, alpha=res_scale)]` (the block input is the output four
layers back), and one long `Shortcut` jumps from the output of the first convolution to the end
of the body, so the whole body learns a residual too. The summary shows the indices:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
small = edsr(2, n_blocks=2, n_filters=8)
for p, layer in enumerate(small.layers):
    if isinstance(layer, Shortcut):
        src = p + layer.index if layer.index < 0 else layer.index
        print(f"layer {p:>2}: {layer!r:<40} adds the output of layer {src}")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Pixel shuffle

An SR network must *increase* the image size somewhere. Early networks (SRCNN, Dong et al.
2014) upsampled the input with bicubic interpolation first and then ran every convolution at
high resolution: $r^2$ times more work for a factor $r$. ESPCN (Shi et al. 2016) instead keeps
every convolution at low resolution and upsamples only at the end, with a **sub-pixel
convolution**: a convolution to $C r^2$ channels followed by a **pixel shuffle** that moves the
channels into space,

$$(N, H, W, C r^2) \;\longrightarrow\; (N, H r, W r, C).$$

It is a pure permutation, with no arithmetic: each group of $r^2$ channels at a low-resolution
pixel becomes the $r \times r$ block of high-resolution pixels it covers. Its backward pass is
the inverse permutation, `pixel_unshuffle`.

### Two channel orders

Which channel goes to which sub-pixel position is a convention, and the two big frameworks chose
differently (NHWC indices, $i, j$ the position inside the block):

* **"torch"** (PyTorch `nn.PixelShuffle`): `out[n, h r + i, w r + j, c] = x[n, h, w, c r² + i r + j]`
  — the $r^2$ channels of one output channel are contiguous;
* **"tf"** (TensorFlow `depth_to_space`): `out[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`
  — the $C$ channels of one sub-pixel position are contiguous.

With one output channel ($C = 1$, our grey-level MRI) the two coincide; with more they do not,
and loading weights trained with one convention into a network using the other scrambles the
image. The figures paint each output pixel in the colour of the input channel it comes from,
for $r = 2$ and $C = 2$:
""")

code(r"""
fig = pixel_shuffle_figure(scale=2, channels=2, size=(2, 3), order="torch")
fig
""")

code(r"""
fig = pixel_shuffle_figure(scale=2, channels=2, size=(2, 3), order="tf")
fig
""")

code(r"""
# NBVAL_CHECK_OUTPUT
x = np.arange(8.0).reshape(1, 1, 1, 8)     # one LR pixel, 8 channels = C 2 x r^2 4
for order in ("torch", "tf"):
    y = pixel_shuffle(x, 2, order)
    print(f"{order:>5}: output channel 0 = {y[0, :, :, 0].astype(int).tolist()}, "
          f"channel 1 = {y[0, :, :, 1].astype(int).tolist()}")

# Converting weights: permute the conv's output channels so that torch position c r^2 + k
# holds what the tf convention keeps at k C + c (phase k, output channel c).
r, C = 2, 2
perm = np.array([k * C + c for c in range(C) for k in range(r * r)])
x = np.random.default_rng(0).standard_normal((1, 3, 4, C * r * r))
print("tf shuffle of x == torch shuffle of x[..., perm]:",
      np.array_equal(pixel_shuffle(x, r, "tf"), pixel_shuffle(x[..., perm], r, "torch")))
print("pixel_unshuffle inverts pixel_shuffle:",
      all(np.array_equal(pixel_unshuffle(pixel_shuffle(x, r, o), r, o), x) for o in ("torch", "tf")))
""")

md(r"""
Change the scale below: each of the $r^2$ input channels fills one position of every
$r \times r$ block. For $r = 3$ (EDSR ×3) the convolution before the shuffle has $9F$ outputs;
×4 is done as two ×2 steps.
""")

code(r"""
def shuffle_view(scale=2, channels=1, order="torch"):
    return pixel_shuffle_figure(scale=scale, channels=channels, size=(2, 2), order=order)

shuffle_ui = widgets.interactive(
    shuffle_view,
    scale=widgets.IntSlider(value=3, min=1, max=4, continuous_update=False),
    channels=widgets.IntSlider(value=1, min=1, max=3, continuous_update=False),
    order=widgets.ToggleButtons(options=["torch", "tf"], value="torch"))
shuffle_ui
""")

md(r"""
### Checkerboard artefacts and ICNR

Odena et al. (2016) traced the checkerboard patterns that plague generated images to the
upsampling layer: a transposed convolution whose kernel size is not divisible by its stride
makes some output pixels receive more contributions than their neighbours, in a pattern that
repeats every stride. A sub-pixel convolution has its own version of the problem (Aitken et al.
2017): the $r^2$ filters that produce the $r^2$ positions of every block are *independent*. At a
random initialisation they have different gains, so every block gets the same fixed pattern of
brighter and darker sub-pixels, a periodic texture the network must first learn to remove.

Aitken et al.'s fix, **ICNR** (initialisation to convolution nearest-neighbour resize), draws one
filter per output channel and copies it to all $r^2$ positions. Then, at initialisation, the
sub-pixel convolution is exactly "convolve, then nearest-neighbour upsample": no pattern at all.
`labkit.ops.icnr.icnr` builds such weights for either channel order.

Here both initialisations upsample an LR MRI slice by 2 with one `Conv2D(1 → 4)` and a
`PixelShuffle(2)`, before any training. `subpixel_pattern` averages, over the whole image, how much
each of the four sub-pixel positions deviates from its block mean: the repeated $2\times2$ tile
that you see as a checkerboard.
""")

code(r"""
hr = mni_sr_split()["test"][5]                   # an HR test slice, 196 x 232
lr = degrade(hr, 2)                              # bicubic LR, 98 x 116
x = lr[None, :, :, None]

upsampler = Network([Conv2D(1, 4, 3, seed=0), PixelShuffle(2)])   # He-normal (random) init
random_init = upsampler.forward(x)[0, :, :, 0]
upsampler.layers[0].params["w"][...] = icnr(3, 1, 1, 2, seed=0)   # ICNR: one kernel, 4 copies
icnr_init = upsampler.forward(x)[0, :, :, 0]

for name, y in [("random init", random_init), ("ICNR init", icnr_init)]:
    p = subpixel_pattern(y, 2)
    print(f"{name:<12} 2x2 sub-pixel pattern: {np.round(p.ravel(), 3)}  (output range {np.ptp(y):.2f})")

rot = np.rot90                                   # display with the front of the head up
fig = image_panels([rot(hr), rot(random_init), rot(icnr_init)],
                   ["HR slice", "conv + shuffle, random init", "conv + shuffle, ICNR init"],
                   zoom=(70, 110, 60, 100), vmin=None)
fig
""")

md(r"""
The random initialisation stamps a fixed 2×2 pattern on every block, clearly visible in the zoom;
with ICNR the output is a blurred nearest-neighbour upsampling, smooth within each block. Training
eventually removes the pattern in both cases, but starting without it is faster and leaves fewer
residual artefacts. (labkit's `edsr` builder keeps PyTorch's default initialisation, as the
original EDSR code does; trying ICNR there is one of the exercises.)

## 3. Batch normalisation

Ioffe & Szegedy (2015) proposed to normalise each channel of a layer's output over the
mini-batch, then let the network rescale it:

$$\mu_c = \frac{1}{M}\sum x_c, \qquad \sigma_c^2 = \frac{1}{M}\sum (x_c - \mu_c)^2, \qquad
  \hat x_c = \frac{x_c - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad y_c = \gamma_c\, \hat x_c + \beta_c ,$$

where the sums run over the $M = N H W$ values of channel $c$ in the batch, and $\gamma_c$,
$\beta_c$ are learned. Whatever the previous layers do to the scale and offset of their outputs,
the next layer sees a standardised input, which makes training faster and less sensitive to the
learning rate and the initialisation.

At test time there may be a single image, and the output for an image must not depend on which
other images share its batch. So the layer keeps **running statistics** during training,

$$\mu_{\text{run}} \leftarrow (1 - m)\,\mu_{\text{run}} + m\,\mu_c, \qquad
  \sigma^2_{\text{run}} \leftarrow (1 - m)\,\sigma^2_{\text{run}} + m\, \tfrac{M}{M-1}\sigma_c^2$$

(momentum $m = 0.1$; PyTorch, and labkit, use the *unbiased* variance here, and the biased one
to normalise), and in evaluation mode (`training=False`) normalises with them instead: the
layer becomes a fixed affine map per channel.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
true_mean, true_std = np.array([5.0, -2.0, 0.5]), np.array([3.0, 0.5, 1.0])
batch = true_mean + true_std * rng.standard_normal((8, 6, 6, 3))

bn = BatchNorm(3).astype(np.float64)
y = bn.forward(batch, training=True)
print("training output, per-channel mean:", np.round(y.mean(axis=(0, 1, 2)), 6) + 0.0)
print("training output, per-channel std: ", np.round(y.std(axis=(0, 1, 2)), 3))

m = batch[..., 0].size                                         # values per channel in the batch
expected_mean = 0.1 * batch.mean(axis=(0, 1, 2))               # from running_mean = 0
expected_var = 0.9 * 1.0 + 0.1 * batch.var(axis=(0, 1, 2), ddof=1)   # unbiased, from running_var = 1
print(f"after one step (M = {m}): running_mean matches PyTorch's rule:",
      np.allclose(bn.buffers["running_mean"], expected_mean),
      "| running_var (unbiased):", np.allclose(bn.buffers["running_var"], expected_var))
""")

md(r"""
After one step the running statistics have moved only 10 % of the way from their initial values
(mean 0, variance 1). Over many batches they converge to the statistics of the data:
""")

code(r"""
steps = 40 if FAST else 100
bn = BatchNorm(3).astype(np.float64)
history_mean, history_var = [], []
for step in range(steps):
    bn.forward(true_mean + true_std * rng.standard_normal((8, 6, 6, 3)), training=True)
    history_mean.append(bn.buffers["running_mean"].copy())
    history_var.append(bn.buffers["running_var"].copy())
history_mean, history_var = np.array(history_mean), np.array(history_var)
t = np.arange(1, steps + 1)
fig = curve_panels(t, [("running mean", {f"channel {c} (true {true_mean[c]:g})": history_mean[:, c] for c in range(3)}),
                       ("running variance", {f"channel {c} (true {true_std[c] ** 2:g})": history_var[:, c] for c in range(3)})],
                   xlabel="training step")
print(f"after {steps} steps: running mean {np.round(history_mean[-1], 2)}, running var {np.round(history_var[-1], 2)}")
fig
""")

md(r"""
The difference between the two modes is easy to see: put the same image in two different batches.
In training mode its output depends on its batch-mates, because they change $\mu$ and
$\sigma$; in evaluation mode it does not.
""")

code(r"""
# NBVAL_CHECK_OUTPUT
image = true_mean + true_std * rng.standard_normal((1, 6, 6, 3))
batch_a = np.concatenate([image, true_mean + true_std * rng.standard_normal((3, 6, 6, 3))])
batch_b = np.concatenate([image, 10.0 + rng.standard_normal((3, 6, 6, 3))])   # unusual batch-mates
train_a, train_b = bn.forward(batch_a, training=True)[0], bn.forward(batch_b, training=True)[0]
eval_a, eval_b = bn.forward(batch_a, training=False)[0], bn.forward(batch_b, training=False)[0]
print("training mode: same image, same output in both batches?", np.allclose(train_a, train_b))
print("eval mode:     same image, same output in both batches?", np.allclose(eval_a, eval_b))
""")

md(r"""
### The backward pass, checked

Because $\mu$ and $\sigma$ depend on every value of the batch, the gradient with respect to one
input involves all the others. With $g = \gamma\, \partial C / \partial y$ and bars denoting
means over the $M$ values of a channel, it simplifies to

$$\frac{\partial C}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
  \left( g - \bar g - \hat x\, \overline{g\, \hat x} \right),$$

while in evaluation mode it is just $\gamma\, \delta / \sqrt{\sigma^2_{\text{run}} + \epsilon}$.
The numerical check (float64, random upstream gradient, as in chapter 05) confirms both:
""")

code(r"""
bn_check = BatchNorm(3).astype(np.float64)
bn_check.params["gamma"][:] = [1.5, -0.7, 2.0]
bn_check.params["beta"][:] = [0.1, 0.2, -0.3]
bn_check.forward(batch, training=True)                # give the running statistics some values
x_check = np.random.default_rng(5).standard_normal((4, 3, 3, 3))
bn_errors = {mode: check_layer(bn_check, x_check, training=(mode == "training"), seed=2)
             for mode in ("training", "eval")}
for mode, e in bn_errors.items():
    print(f"{mode:<8} " + "  ".join(f"{k}: {v:.1e}" for k, v in e.items()))
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print("BatchNorm worst relative error < 1e-7:", max(max(e.values()) for e in bn_errors.values()) < 1e-7)
""")

md(r"""
### Why EDSR has no batch normalisation

SRResNet (Ledig et al. 2017) used batch normalisation in every residual block. EDSR (Lim et al.
2017) removed it and got better results with less memory. The reasons are instructive:

* BN normalises away the absolute scale and offset of the features, but in SR the output
  intensities must match the input's exactly; the network spends capacity undoing the
  normalisation.
* SR is trained on small patches in small batches, so the batch statistics are noisy, and the
  train/eval switch replaces them by running averages that the network never saw in training:
  a mismatch that shows up as colour or contrast shifts.
* Each BN layer stores its normalised activations for the backward pass; without them EDSR saved
  about 40 % of the training memory, which it spent on a bigger model.

Batch normalisation is still everywhere in classification and segmentation networks; it is the
*image-to-image* nature of SR that makes it a poor fit.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **Where does the gradient go?** In the small `Shortcut` network of section 1, set `beta=0`.
   Which layers still receive a gradient from the shortcut path, and what does `check_network`
   say? Now set `alpha=0`: what happens to the gradient of layer 2, and why is that not an error?
2. **ICNR in EDSR.** Build `edsr(2, 4, 16)` and replace the weights of its upsampling
   convolution (the `Conv2D` right before the `PixelShuffle`) by `icnr(3, 16, 16, 2)`. Run a
   bicubic LR slice through the untrained network and compare `subpixel_pattern` of the output
   with the default initialisation.
3. **Converting orders.** Write the permutation that turns a conv trained for
   `PixelShuffle(3, "torch")` with $C = 2$ into one for `order="tf"`, and check it on random
   data as in section 2.
4. **Batch size and BN noise.** Train the running statistics of a `BatchNorm(1)` with batches of
   2, 8 and 64 values drawn from $\mathcal N(3, 1)$. How far from 3 and 1 do the running mean and
   variance fluctuate after 200 steps? Relate it to $1/\sqrt{M}$.
5. **Residual scaling.** With `gradient_norms(60, shortcut=True, activation="relu")`, find the
   largest residual scale for which the output standard deviation stays below 10. Compare with
   the value 0.1 used by EDSR's largest model.
""")

code(r"""
# Key results of the chapter (checked in CI).
assert norms["plain"][0] / norms["plain"][-1] < 1e-3                    # vanishing in the plain stack
assert norms["with shortcuts"][0] / norms["with shortcuts"][-1] > 1e-2  # preserved with shortcuts
assert np.allclose(net.forward(x_net), by_hand)                         # Shortcut semantics
assert max(errors.values()) < 1e-7                                      # Network with a Shortcut
assert np.abs(subpixel_pattern(icnr_init, 2)).max() < 1e-6              # ICNR: no checkerboard
assert np.abs(subpixel_pattern(random_init, 2)).max() > 100 * np.abs(subpixel_pattern(icnr_init, 2)).max()
assert not np.allclose(train_a, train_b) and np.allclose(eval_a, eval_b)
assert max(max(e.values()) for e in bn_errors.values()) < 1e-7          # BatchNorm gradient check
print("all checks passed")
""")

write(NAME, id_prefix="nb07")
