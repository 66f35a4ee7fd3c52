"""Build notebooks/08_activations_and_losses.ipynb."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# 8. Activations and losses

A network is a stack of linear maps separated by non-linear **activation functions**, trained by
following the gradient of a **loss**. Both choices look like details and are not: the shape of
the activation decides whether the gradient survives the trip back through twenty layers, and
the shape of the loss decides whether a super-resolution network draws a crisp edge or a soft
blur.

In this chapter you will

* plot the eight activations of `labkit.ops.activations` and their derivatives, and check every
  derivative against finite differences;
* watch the gradient vanish through a deep stack of logistic units, and not through ReLUs;
* compare the L1, L2 (mean squared error) and Charbonnier losses and their gradients;
* see, on a toy problem you can solve in a second, why a network trained with L2 blurs edges
  and one trained with L1 does not (Zhao et al. 2017), which is why EDSR trains with L1.

**Time**: about 30 minutes of reading; running takes about 10 seconds (the stored outputs are
the full version). **Prerequisites**: chapter 1 (backpropagation); chapter 2 helps for the SR
part.
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
## 8.1 The activation functions

Without an activation, a stack of layers $W_L \cdots W_2 W_1 \mathbf{x}$ is one linear map: depth
would buy nothing. The activation $\sigma$ applied element-wise between layers is what lets a
network bend. labkit has the eight below; $\alpha$ is a parameter, and the SELU constants
$\lambda \approx 1.0507$, $\alpha \approx 1.6733$ come from Klambauer et al. 2017.

| name | $f(x)$ | $f'(x)$ |
|---|---|---|
| linear | $x$ | $1$ |
| relu | $\max(0, x)$ | $1$ if $x > 0$ else $0$ |
| leaky ($\alpha = 0.1$) | $x$ if $x > 0$ else $\alpha x$ | $1$ if $x > 0$ else $\alpha$ |
| elu ($\alpha = 1$) | $x$ if $x > 0$ else $\alpha (e^x - 1)$ | $1$ if $x > 0$ else $\alpha e^x$ |
| selu | $\lambda x$ if $x > 0$ else $\lambda\alpha(e^x - 1)$ | $\lambda$ if $x > 0$ else $\lambda \alpha e^x$ |
| logistic | $\sigma(x) = 1 / (1 + e^{-x})$ | $\sigma(x)\,(1 - \sigma(x))$ |
| tanh | $\tanh x$ | $1 - \tanh^2 x$ |
| softplus | $\log(1 + e^x)$ | $\sigma(x)$ |

Each entry of `ACTIVATIONS` is a pair `(f, df)`; `df(x, y)` receives both the input and the
output, because some derivatives are cheapest in terms of the output (the logistic's
$y(1-y)$, the tanh's $1 - y^2$). That is exactly what a layer has at hand in its backward pass.
""")
b.code(r"""
from labkit.ops.activations import ACTIVATIONS
from labkit.viz.course_plots import curve_panels

x = np.linspace(-4, 4, 801)
panels = []
for name, (f, df) in ACTIVATIONS.items():
    y = f(x)
    panels.append((name, {"f(x)": y, "f'(x)": df(x, y)}))
curve_panels(x, panels, ncols=4, ylim=(-2.2, 4.2), hline=0, height=5.2)
""")
b.md(r"""
Three families stand out. The **saturating** functions (logistic, tanh) flatten on both sides:
their derivative tends to zero for large $|x|$, and the logistic's never exceeds $1/4$. The
**rectifiers** (relu, leaky) have derivative exactly 1 for positive inputs: a gradient passes
through them unchanged, which is the main reason ReLU made deep networks trainable (Glorot,
Bordes and Bengio 2011). ReLU's weakness is the other half: a unit whose input is always
negative gets zero gradient and never recovers ("dying ReLU"); leaky ReLU keeps a small slope
$\alpha$ there. The **exponential** units (elu, selu) are smooth, negative-saturating versions
that push mean activations towards zero. Softplus is a smooth ReLU whose derivative is the
logistic function.

### Checking every derivative numerically

A derivative typed by hand is a classic source of silent bugs: the network still trains, only
worse. The cure is the central difference
$$f'(x) \approx \frac{f(x + h) - f(x - h)}{2h},$$
whose error is $O(h^2)$. `labkit.gradcheck.numerical_gradient(fun, x)` computes it for the
scalar `fun()` with respect to every element of the array `x`; for an element-wise function,
the gradient of $\sum_i f(x_i)$ with respect to $x_i$ is just $f'(x_i)$. We test 200 random
points, avoiding a small neighbourhood of 0 where relu and leaky have a kink (there the
derivative is not defined and labkit, like PyTorch, returns the right-hand value for leaky and 0
for relu).
""")
b.code(r"""
from labkit.gradcheck import numerical_gradient, relative_error

rng = np.random.default_rng(0)
pts = rng.uniform(-4, 4, size=200)
pts = pts[np.abs(pts) > 1e-3]              # stay away from the kink at 0

fd_errors = {}
for name, (f, df) in ACTIVATIONS.items():
    xs = pts.copy()
    numeric = numerical_gradient(lambda: float(f(xs).sum()), xs)
    analytic = df(xs, f(xs))
    fd_errors[name] = relative_error(analytic, numeric)
    print(f"{name:9s} relative error {fd_errors[name]:.1e}")
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
for name, err in fd_errors.items():
    print(f"{name:9s} error < 1e-7: {err < 1e-7}")
""")
b.md(r"""
## 8.2 Vanishing gradients

Backpropagation multiplies. In the second equation of chapter 1,
$\boldsymbol\delta^l = ((W^{l+1})^T \boldsymbol\delta^{l+1}) \odot \sigma'(\mathbf{z}^l)$, every
layer multiplies the error by $\sigma'$. With the logistic function $\sigma' \le 1/4$, so after
$L$ layers the error has been scaled by at most $4^{-L}$ times whatever the weights contribute:
the first layers of a deep logistic network barely learn. Hochreiter identified this in 1991;
it held deep learning back for fifteen years.

Let us measure it. We build a 20-layer fully connected network (32 units per layer, He-normal
initial weights, labkit's default) with each activation in turn, run one forward and backward
pass on a random batch, and record the norm of $\partial C / \partial W$ for every layer.
""")
b.code(r"""
from labkit.layers import Activation, Dense
from labkit.network import Network

depth = 20
batch = rng.standard_normal((64, 32))
upstream = rng.standard_normal((64, 32))
grad_norms = {}
for act in ("logistic", "tanh", "relu", "selu"):
    layers = []
    for k in range(depth):
        layers += [Dense(32, 32, seed=k), Activation(act)]
    net = Network(layers).astype(np.float64)
    net.forward(batch)
    net.backward(upstream)
    grad_norms[act] = np.array([np.linalg.norm(net.layers[2 * k].grads["w"]) for k in range(depth)])

for act, g in grad_norms.items():
    print(f"{act:9s} |dC/dW| layer 1: {g[0]:.1e}   layer {depth}: {g[-1]:.1e}   ratio {g[0] / g[-1]:.1e}")
curve_panels(np.arange(1, depth + 1), [("gradient norm per layer", grad_norms)],
             xlabel="layer (1 = closest to the input)", ylabel="‖∂C/∂W‖", logy=True,
             markers=True, height=3.4)
""")
b.md(r"""
With the logistic function the gradient reaching the first layer is about nine orders of
magnitude smaller than at the last one: a learning rate that moves the last layer sensibly
leaves the first one frozen. ReLU, tanh and SELU keep the norm within a small factor over
twenty layers; with He initialisation, which is designed for ReLU, their gradients even grow a
little towards the input. tanh saturates too, but its slope at 0 is 1, four times the
logistic's, and its output is centred on zero, so near initialisation it behaves almost like
the identity; pushed into saturation (large weights or inputs) it vanishes as well. The same experiment with
convolutions, and the residual connections that fix what is left, is in chapter 7.

## 8.3 Losses for super-resolution

A loss turns the difference $r = \hat{y} - y$ between prediction and target into one number to
minimise. labkit's three losses average a per-pixel penalty $\rho(r)$ over all $M$ elements:

$$C = \frac1M \sum_{i=1}^M \rho(r_i), \qquad
\rho_{L1}(r) = |r|, \qquad \rho_{L2}(r) = r^2, \qquad
\rho_{\text{Charb}}(r) = \sqrt{r^2 + \varepsilon^2},$$

with gradients $\partial C / \partial \hat{y}_i = \rho'(r_i) / M$:

$$\rho_{L1}'(r) = \operatorname{sign}(r), \qquad \rho_{L2}'(r) = 2r, \qquad
\rho_{\text{Charb}}'(r) = \frac{r}{\sqrt{r^2 + \varepsilon^2}}.$$

The Charbonnier loss (used by LapSRN, Lai et al. 2017) is a differentiable L1: for
$|r| \gg \varepsilon$ it is $|r|$, near zero it is a parabola of width $\varepsilon$. We
evaluate each labkit loss on single residuals and read the per-element gradient back from
`backward()` (times $M = 1$).
""")
b.code(r"""
from labkit.losses import CharbonnierLoss, L1Loss, MSELoss

r = np.linspace(-1, 1, 401)


def penalty_and_slope(loss):
    values, slopes = [], []
    for v in r:
        values.append(loss.forward(np.array([v]), np.zeros(1)))
        slopes.append(loss.backward()[0])
    return np.array(values), np.array(slopes)


losses = {"L1": L1Loss(), "L2 (MSE)": MSELoss(), "Charbonnier ε=0.1": CharbonnierLoss(0.1),
          "Charbonnier ε=1e-3": CharbonnierLoss(1e-3)}
curves = {name: penalty_and_slope(loss) for name, loss in losses.items()}
curve_panels(r, [("penalty ρ(r)", {k: v[0] for k, v in curves.items()}),
                 ("gradient ρ'(r)", {k: v[1] for k, v in curves.items()})],
             xlabel="residual r = prediction − target", hline=0, height=3.4)
""")
b.md(r"""
Look at the right panel, because the gradient is all that training sees. L2's gradient is
proportional to the error: large errors dominate the update and small ones are barely
corrected, so a network trained with L2 works hard on outliers and stops caring about errors of
a few grey levels, exactly the fine texture SR is about. L1's gradient has the same magnitude
for every error: each pixel pulls with equal force, whatever its error. Charbonnier behaves like
L1 except in a band of width $\varepsilon$ around zero, where it turns smoothly instead of
jumping.

## 8.4 Why L1 gives sharper super-resolution

The decisive difference is not the gradient at one pixel but *what the minimiser is* when the
target is uncertain. Super-resolution is ill-posed (chapter 2): one LR patch is compatible with
many HR patches, say an edge at several slightly different positions. A network sees the same
input with all these targets during training, so the best it can do is output the value that
minimises the expected loss over them. For L2 that value is the **mean** of the targets; for L1
it is the **median**. The mean of many sharp edges at different positions is a ramp, a blurred
edge; the median of sharp edges is one of them, a sharp edge.

We can reproduce this in a second without a network. The "prediction" is a free 1-D profile of
64 pixels, and the targets are 21 step edges whose positions are drawn at random between 26
and 38. We minimise each loss over the profile with labkit's Adam optimiser, feeding it the
gradient that `loss.backward()` returns (summed over the 21 targets, as a mini-batch would).
""")
b.code(r"""
from labkit.optimizers import Adam

n_pix, n_targets = 64, 21
positions = np.random.default_rng(1).integers(26, 39, size=n_targets)
targets = (np.arange(n_pix)[None, :] >= positions[:, None]).astype(np.float64)
steps = 600 if FAST else 2000


def fit_profile(loss, steps=steps, lr=0.01):
    params = {"y": np.full(n_pix, 0.5)}
    opt = Adam(lr=lr)
    for _ in range(steps):
        pred = np.broadcast_to(params["y"], targets.shape)
        loss.forward(pred, targets)
        opt.update(params, {"y": loss.backward().sum(axis=0)})
    return params["y"]


profiles = {name: fit_profile(loss) for name, loss in
            [("L2 (MSE)", MSELoss()), ("L1", L1Loss()), ("Charbonnier ε=1e-3", CharbonnierLoss(1e-3))]}
profiles["mean of targets"] = targets.mean(axis=0)
profiles["median of targets"] = np.median(targets, axis=0)


def edge_width(p):
    # pixels of the transition: neither clearly dark (< 0.1) nor clearly bright (> 0.9)
    return int(np.sum((p > 0.1) & (p < 0.9)))


for name, p in profiles.items():
    print(f"{name:20s} edge width {edge_width(p):2d} px")
trained = {k: v for k, v in profiles.items() if "targets" not in k}
stats = {k: v for k, v in profiles.items() if "targets" in k}
curve_panels(np.arange(n_pix), [("profiles minimising each loss", trained),
                                ("mean and median of the 21 targets", stats)],
             xlabel="pixel", ylabel="intensity", height=3.4)
""")
b.md(r"""
The L2 solution (left) lands on the mean of the targets (right): a ramp about as wide as the
spread of edge positions. L1 and Charbonnier (their curves coincide) land on the median: a step,
as sharp as any single target. A real
SR network faces this choice at every edge of every patch, and the result is visible in its
output: L2-trained networks produce smoother, blurrier images. Zhao, Gallo, Frosio and Kautz
(2017, "Loss functions for image restoration with neural networks") compared the losses on
denoising, demosaicking, compression-artefact removal and super-resolution and found that
networks trained with L1 beat L2-trained ones *even when scored by PSNR*, the metric L2
optimises directly; they attribute it partly to L2's poor convergence near small errors, the
vanishing slope you saw in 8.3. Lim et al. 2017 trained EDSR with L1 for the same reasons, and
so does `labkit train` by default.

## 8.5 Explore

Choose an activation to see its curve and derivative, and move $\varepsilon$ to see the
Charbonnier loss morph from L2-like (large $\varepsilon$, gradient proportional to the error)
to L1-like (small $\varepsilon$, gradient $\pm 1$).
""")
b.code(r"""
import ipywidgets as widgets


def explore(activation="elu", alpha=1.0, eps=0.1):
    f, df = ACTIVATIONS[activation]
    kw = {"alpha": alpha} if activation in ("leaky", "elu") else {}
    y = f(x, **kw)
    loss = CharbonnierLoss(eps)
    value, slope = penalty_and_slope(loss)
    fig = curve_panels(x, [(f"{activation}", {"f(x)": y, "f'(x)": df(x, y, **kw)}),
                           (f"Charbonnier ε={eps:.3g}", {"ρ(r)": (r, value), "ρ'(r)": (r, slope),
                                                         "|r|": (r, np.abs(r))})],
                       hline=0, height=3.2)
    display(fig)


widgets.interact(explore,
                 activation=widgets.Dropdown(options=list(ACTIVATIONS), value="elu"),
                 alpha=widgets.FloatSlider(value=1.0, min=0.01, max=2.0, step=0.01,
                                           description="α (leaky, elu)"),
                 eps=widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.1,
                                            description="ε"));
""")
b.md(r"""
## Exercises

1. Change `depth` in 8.2 to 5 and 40. How does the first-to-last ratio of gradient norms scale
   with depth for the logistic function? Compare with the bound $4^{-L}$.
2. In 8.2, replace He-normal weights by smaller ones (multiply every `w` by 0.5 before the
   forward pass). What happens to the ReLU network's gradients? And to tanh's?
3. Redraw the edge positions in 8.4 from a *bimodal* distribution (e.g. 13 edges at 28 and 8 at
   36). Where do the L1 and L2 solutions put the edge now? Which one is a plausible image?
4. The Charbonnier minimiser in 8.4 depends on $\varepsilon$. Run `fit_profile` with
   $\varepsilon$ = 1e-3, 0.1 and 1 and measure the edge width. At which $\varepsilon$ does it
   start to blur like L2?
5. Show with one line of algebra that the minimiser of $\sum_k (y - t_k)^2$ is the mean of the
   $t_k$, and argue (by counting how many terms increase and decrease when $y$ moves) that the
   minimiser of $\sum_k |y - t_k|$ is their median.
""")
b.code(r"""
assert all(err < 1e-7 for err in fd_errors.values()), fd_errors
assert grad_norms["logistic"][0] / grad_norms["logistic"][-1] < 1e-6      # vanishing
assert 0.1 < grad_norms["relu"][0] / grad_norms["relu"][-1] < 10           # preserved
assert edge_width(profiles["L1"]) < edge_width(profiles["L2 (MSE)"])
assert edge_width(profiles["L1"]) <= 2 and edge_width(profiles["L2 (MSE)"]) >= 6
assert np.allclose(profiles["L2 (MSE)"], profiles["mean of targets"], atol=0.02)
print("chapter 8: all checks passed")
""")
b.write("08_activations_and_losses.ipynb")
