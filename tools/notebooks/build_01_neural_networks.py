"""Build notebooks/01_neural_networks.ipynb."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# 1. Neural networks

In 1949 the psychologist Donald Hebb proposed that when one neuron repeatedly takes part in
firing another, the connection between them grows stronger. Learning, in this view, is the
slow adjustment of connection strengths by experience. Every neural network since is a
mathematical version of that idea: a composition of simple parametric functions whose
parameters (the *weights*) are adjusted, starting from random values, until the network's
answers on known examples are good. This is **supervised learning**: we have inputs together
with the outputs we want (labels), and training is an optimisation problem, minimising a *loss*
that measures how wrong the answers are. Super-resolution is supervised learning too: the
inputs are low-resolution images and the labels their high-resolution originals.

In this chapter you will

* train Rosenblatt's perceptron and watch its decision boundary move, then see it fail on XOR;
* solve XOR with a two-layer network built from labkit's `Dense` and `Activation` layers;
* run gradient descent on a loss landscape with two weights and find the learning rate where
  it stops working;
* write out the four equations of backpropagation and check them, and labkit's layers,
  against numerical derivatives.

**Time**: about 45 minutes of reading; running takes about 10 seconds (stored outputs: the
full version). **Prerequisites**: the chain rule, matrix products; [chapter 0](00_index.ipynb)
for how to run the notebooks.
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
## 1.1 The perceptron

Rosenblatt's perceptron (1958) is a model of a single neuron. It receives $N$ inputs
$x_1, \dots, x_N$, weighs them, adds a bias, and fires if the sum is non-negative:

$$y = H\Big(\sum_{k=1}^{N} w_k x_k + b\Big), \qquad
H(z) = \begin{cases} 1 & z \ge 0 \\ 0 & z < 0. \end{cases}$$

$H$ is the Heaviside step, the perceptron's *activation function*. The set of inputs where the
sum is exactly zero, $\mathbf{w}\cdot\mathbf{x} + b = 0$, is a straight line in two dimensions
(a hyperplane in $N$): the perceptron is a **linear classifier**, answering 1 on one side of the
line and 0 on the other.

It learns one example at a time. Given an input $\mathbf{x}$ with target $t \in \{0, 1\}$, it
computes its answer $y$ and updates

$$\mathbf{w} \leftarrow \mathbf{w} + \eta\,(t - y)\,\mathbf{x}, \qquad b \leftarrow b + \eta\,(t - y),$$

with a learning rate $\eta > 0$. If the answer is right, $t - y = 0$ and nothing changes. If
the perceptron said 0 but should have said 1, the weights move *towards* $\mathbf{x}$, which
raises $\mathbf{w}\cdot\mathbf{x} + b$ for that input next time; the opposite mistake moves them
away. Novikoff proved in 1962 that if some line separates the two classes, this rule makes only
a finite number of mistakes and then stops.

`labkit.ops.perceptron.perceptron_fit` implements the rule and records the weights after every
step. We try it on two clouds of points:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.ops.perceptron import perceptron_fit, perceptron_predict

rng = np.random.default_rng(0)
n = 40
X = np.vstack([rng.normal([-1.0, -0.5], 0.6, size=(n, 2)), rng.normal([1.5, 1.0], 0.6, size=(n, 2))])
t = np.repeat([0.0, 1.0], n)

history = perceptron_fit(X, t, lr=0.5, epochs=100, seed=0)
accuracy = float(np.mean(perceptron_predict(X, history.w, history.b) == t))
print("converged:", history.converged, "after", history.epochs, "epochs")
print("mistakes per epoch:", history.mistakes.tolist())
print("training accuracy:", accuracy)
""")
b.code(r"""
from labkit.viz.optim import perceptron_figure

perceptron_figure(X, t, history.step_weights, history.step_biases, errors=history.mistakes)
""")
b.md(r"""
The earlier lines (blue) cut through the data; each mistake tilts or shifts the line, and the
final one (black) separates the classes. Note that it is *a* separating line, not the best
one: the rule stops at the first line with no mistakes, however close it passes to a point.
Support-vector machines fix that by choosing the line with the widest margin.

### Where the perceptron fails: XOR

Minsky and Papert's 1969 book *Perceptrons* made famous a function that no single perceptron
can compute: exclusive OR, which is 1 when exactly one of two binary inputs is 1.
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
t_xor = np.array([0.0, 1.0, 1.0, 0.0])

xor_history = perceptron_fit(X_xor, t_xor, lr=0.5, epochs=100, seed=0)
print("converged:", xor_history.converged, "after", xor_history.epochs, "epochs")
print("mistakes in the last 10 epochs:", xor_history.mistakes[-10:].tolist())
""")
b.code(r"""
perceptron_figure(X_xor, t_xor, xor_history.step_weights, xor_history.step_biases,
                  errors=xor_history.mistakes)
""")
b.md(r"""
The proof takes one line. Suppose $H(w_1 x_1 + w_2 x_2 + b)$ computed XOR. The input $(0,0)$
must give 0, so $b < 0$; the inputs $(1,0)$ and $(0,1)$ must give 1, so $w_1 + b \ge 0$ and
$w_2 + b \ge 0$. Adding these two, $w_1 + w_2 + b \ge -b > 0$, so $(1,1)$ also gives 1: a
contradiction. Geometrically, no straight line puts $(0,1)$ and $(1,0)$ on one side and
$(0,0)$ and $(1,1)$ on the other. The perceptron keeps making mistakes forever, and its line
wanders around the square.

## 1.2 Multilayer networks

The fix is to stack units. A **fully connected** (dense) layer applies many perceptron-like
units to the same input, and the next layer takes their outputs as its input:

$$\mathbf{a}^{l} = \sigma(\mathbf{z}^{l}), \qquad \mathbf{z}^{l} = W^{l} \mathbf{a}^{l-1} + \mathbf{b}^{l},$$

with $\mathbf{a}^0 = \mathbf{x}$ the input. The first layer's units each draw a line; the
second layer combines the half-planes, which is enough for XOR (for instance "$x_1$ OR $x_2$"
AND NOT "$x_1$ AND $x_2$"). With enough hidden units a two-layer network can approximate any
continuous function on a bounded domain (Cybenko 1989, Hornik 1991): networks are *universal
approximators*. How many units and layers are needed for a given problem, and how to find the
weights, are the hard questions.

The step function has zero derivative everywhere it is defined, so it gives no hint of which
way to move the weights. Modern networks use smooth or piecewise-linear activations instead
(chapter 8 studies them). In labkit a layer is an object with `forward` and `backward`, and
a `Network` is a list of layers. Here is a 2-4-1 network with a tanh hidden layer and a
logistic output, trained on XOR with the mean squared error and the Adam optimiser:
""")
b.code(r"""
from labkit.layers import Activation, Dense
from labkit.losses import MSELoss
from labkit.network import Network
from labkit.optimizers import Adam

xor_net = Network([Dense(2, 4, seed=0), Activation("tanh"),
                   Dense(4, 1, seed=100), Activation("logistic")], name="xor").astype(np.float64)
print(xor_net.summary(input_shape=(4, 2)))

loss_fn, opt = MSELoss(), Adam(lr=0.05)
xor_losses = []
for step in range(1000):
    y = xor_net.forward(X_xor)                       # forward pass
    xor_losses.append(loss_fn.forward(y, t_xor[:, None]))
    xor_net.backward(loss_fn.backward())             # backward pass: every layer's grads
    xor_net.update(opt)                              # one Adam step on every parameter
print(f"loss: {xor_losses[0]:.3f} at the start, {xor_losses[-1]:.2e} after {len(xor_losses)} steps")
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
xor_out = xor_net.forward(X_xor, training=False)[:, 0]
print("inputs     ", X_xor.tolist())
print("targets    ", t_xor.tolist())
print("predictions", np.round(xor_out).tolist())
""")
b.md(r"""
The network's output over the whole square shows how the hidden units combine: the boundary
(black) is no longer a line but a band that bends around the two corners of class 0.
""")
b.code(r"""
from labkit.viz.course_plots import decision_surface

g1, g2 = np.meshgrid(np.linspace(-0.5, 1.5, 81), np.linspace(-0.5, 1.5, 81))
surface = xor_net.forward(np.column_stack([g1.ravel(), g2.ravel()]), training=False).reshape(g1.shape)
decision_surface(g1, g2, surface, X_xor, t_xor, title="2-4-1 network on XOR: output and boundary (0.5)")
""")
b.md(r"""
## 1.3 Gradient descent

Training means minimising the loss $C(\mathbf{w})$ over the weights. For a network the loss is
a complicated function of millions of weights, with no closed-form minimum, so we walk downhill:

$$\mathbf{w} \leftarrow \mathbf{w} - \eta\, \nabla_{\mathbf{w}} C .$$

The gradient $\nabla_{\mathbf{w}} C$ points in the direction of steepest *ascent*; the step goes
the other way, with length set by the learning rate $\eta$. Everything else in optimisation
(momentum, Adam, learning-rate schedules) refines this one idea.

With two weights we can draw the landscape. The model $y = w_1 x + w_2$ fitted to noisy points
of a line by the loss $C = \frac{1}{2}\,\overline{(w_1 x + w_2 - t)^2}$ has a loss surface that
is an elongated bowl; `labkit.ops.descent` gives the loss, its gradient, and the descent path.
Because the inputs $x$ lie between 0 and 4 (not centred on 0), the two weights are coupled:
raising the slope can be compensated by lowering the intercept, and the bowl is a long, tilted
valley.
""")
b.code(r"""
from labkit.ops.descent import evaluate_grid, gradient_descent, linear_regression_loss
from labkit.viz.optim import landscape_figure

x_data = rng.uniform(0, 4, size=50)
t_data = 2.0 * x_data - 1.0 + rng.normal(0, 0.3, size=50)
loss2, grad2 = linear_regression_loss(x_data, t_data)
W1, W2, Z = evaluate_grid(loss2, (-1.5, 5.0), (-4.0, 4.5), n=61 if FAST else 101)

w_start = np.array([-0.5, 3.5])
steps = 40
rates = {"η = 0.05": 0.05, "η = 0.25": 0.25, "η = 0.29": 0.29}
paths = {name: gradient_descent(grad2, w_start, lr, steps) for name, lr in rates.items()}
losses = {name: np.array([loss2(w) for w in p]) for name, p in paths.items()}
for name, p in paths.items():
    print(f"{name}: w after {steps} steps = ({p[-1, 0]:+.3f}, {p[-1, 1]:+.3f}), loss {losses[name][-1]:.3g}")
landscape_figure(W1, W2, Z, paths=paths, losses=losses, surface=False, labels=("slope w₁", "intercept w₂"))
""")
b.md(r"""
Three regimes appear. With a small rate the path goes straight down the steep wall and then
crawls along the valley floor: stable but slow. With a larger one it zig-zags across the valley
and still gets there faster. Just past a critical rate (here $\eta = 0.29$) each step
overshoots more than the last: the path swings across the valley with growing amplitude and
the loss grows exponentially. For a quadratic loss the critical rate is
$2 / \lambda_{\max}$, where $\lambda_{\max}$ is the largest eigenvalue of the Hessian
$\nabla^2 C$; here the Hessian is $\begin{pmatrix}\overline{x^2} & \bar{x} \\ \bar{x} & 1\end{pmatrix}$:
""")
b.code(r"""
hessian = np.array([[np.mean(x_data ** 2), np.mean(x_data)], [np.mean(x_data), 1.0]])
eigenvalues = np.linalg.eigvalsh(hessian)
print("Hessian eigenvalues:", np.round(eigenvalues, 3))
print(f"critical learning rate 2 / λ_max = {2 / eigenvalues[-1]:.3f}")
print(f"condition number λ_max / λ_min = {eigenvalues[-1] / eigenvalues[0]:.0f}")
""")
b.md(r"""
The ratio of the two eigenvalues, the *condition number*, measures how elongated the valley
is; the larger it is, the more steps plain gradient descent needs, since the rate is limited by
the steep direction and progress by the shallow one. Normalising the inputs (here: centring
$x$) makes the bowl round, which is one reason networks normalise their data and, inside,
their features (batch normalisation, chapter 7).

Try it yourself: move the learning rate across the critical value.
""")
b.code(r"""
import ipywidgets as widgets


def descend(lr=0.25, steps=40, momentum=0.0):
    path = gradient_descent(grad2, w_start, lr, steps, momentum=momentum)
    name = f"η = {lr:.3f}, μ = {momentum:.2f}"
    fig = landscape_figure(W1, W2, Z, paths={name: path},
                           losses={name: np.array([loss2(w) for w in path])},
                           surface=False, labels=("slope w₁", "intercept w₂"))
    display(fig)


widgets.interact(descend,
                 lr=widgets.FloatSlider(value=0.25, min=0.01, max=0.4, step=0.005,
                                        readout_format=".3f", description="η"),
                 steps=widgets.IntSlider(value=40, min=1, max=200, description="steps"),
                 momentum=widgets.FloatSlider(value=0.0, min=0.0, max=0.95, step=0.05,
                                              description="momentum μ"));
""")
b.md(r"""
## 1.4 Backpropagation

Gradient descent needs $\partial C / \partial w$ for every weight. Computing each by finite
differences would cost one forward pass per weight: for EDSR's 1.4 million weights, 1.4 million
passes per step. **Backpropagation** (Rumelhart, Hinton and Williams 1986) gets all of them for
the price of about two passes, by applying the chain rule from the output backwards and reusing
intermediate results.

Take a fully connected network with layers $l = 1, \dots, L$ as above,
$\mathbf{z}^l = W^l \mathbf{a}^{l-1} + \mathbf{b}^l$, $\mathbf{a}^l = \sigma(\mathbf{z}^l)$, and
define the **error** of layer $l$ as the gradient of the loss with respect to its pre-activation,
$\delta^l_j = \partial C / \partial z^l_j$. Following Nielsen (2015), the four equations of
backpropagation are

$$
\begin{aligned}
\text{(BP1)}\quad & \boldsymbol\delta^L = \nabla_{\mathbf{a}} C \odot \sigma'(\mathbf{z}^L)
   && \text{error at the output}\\
\text{(BP2)}\quad & \boldsymbol\delta^l = \big((W^{l+1})^T \boldsymbol\delta^{l+1}\big) \odot \sigma'(\mathbf{z}^l)
   && \text{error moves back one layer}\\
\text{(BP3)}\quad & \frac{\partial C}{\partial b^l_j} = \delta^l_j
   && \text{gradient of a bias}\\
\text{(BP4)}\quad & \frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k\, \delta^l_j
   && \text{gradient of a weight}
\end{aligned}
$$

where $\odot$ is the element-wise product. Each is one application of the chain rule: BP1
because $C$ depends on $z^L_j$ only through $a^L_j = \sigma(z^L_j)$; BP2 because $z^l_k$
influences the loss through every $z^{l+1}_j = \sum_k w^{l+1}_{jk} \sigma(z^l_k) + b^{l+1}_j$;
BP3 and BP4 because $z^l_j$ depends on $b^l_j$ with slope 1 and on $w^l_{jk}$ with slope
$a^{l-1}_k$. The algorithm: a forward pass storing every $\mathbf{z}^l$ and $\mathbf{a}^l$,
then BP1 once and BP2 for $l = L-1, \dots, 1$, reading off BP3 and BP4 on the way.

labkit splits this work between two layer types, which is what makes it extend to any
architecture. `Activation.backward(dy)` returns `dy * σ'(z)`, the "$\odot\,\sigma'$" of BP1
and BP2. `Dense.backward(dy)`, given $\boldsymbol\delta$, stores $\partial C / \partial W$
(BP4, summed over the batch as $X^T \delta$ in labkit's row-vector convention
$Y = XW + \mathbf{b}$, where the stored `w` of shape (in, out) is the transpose of the $W^l$
above) and $\partial C / \partial \mathbf{b}$ (BP3), and returns `dy @ w.T`, which is the
"$(W^{l+1})^T \boldsymbol\delta^{l+1}$" of BP2. Let us first check
that the four equations, written out by hand in numpy, give exactly what labkit computes for a
small network and one input:
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.ops.activations import d_logistic, logistic

net = Network([Dense(3, 4, seed=1), Activation("logistic"),
               Dense(4, 2, seed=2), Activation("logistic")]).astype(np.float64)
x = np.array([[0.5, -1.0, 2.0]])
target = np.array([[1.0, 0.0]])

loss_fn = MSELoss()
loss_fn.forward(net.forward(x), target)
net.backward(loss_fn.backward())                    # labkit's gradients

# The four equations by hand (column vectors; labkit stores W as (in, out), so W^l = w.T).
W1, b1 = net.layers[0].params["w"].T, net.layers[0].params["b"]
W2, b2 = net.layers[2].params["w"].T, net.layers[2].params["b"]
a0 = x[0]
z1 = W1 @ a0 + b1; a1 = logistic(z1)
z2 = W2 @ a1 + b2; a2 = logistic(z2)
grad_a = 2 * (a2 - target[0]) / a2.size             # ∇_a C for the mean squared error
delta2 = grad_a * d_logistic(z2, a2)                 # BP1
delta1 = (W2.T @ delta2) * d_logistic(z1, a1)        # BP2
by_hand = {"0.b": delta1, "0.w": np.outer(delta1, a0).T,   # BP3, BP4 (transposed to labkit's layout)
           "2.b": delta2, "2.w": np.outer(delta2, a1).T}
labkit_grads = net.named_grads()
for name, g in by_hand.items():
    print(f"{name}: equations == labkit: {np.allclose(g, labkit_grads[name], rtol=0, atol=1e-14)}")
""")
b.md(r"""
### Gradient checking

The equations can be right and the code still wrong (a transposed matrix, a missing factor of
two). The standard test is to compare the analytic gradient with a **numerical** one, the
central difference

$$\frac{\partial C}{\partial \theta_i} \approx \frac{C(\theta + h\,\mathbf{e}_i) - C(\theta - h\,\mathbf{e}_i)}{2h},$$

whose error is $O(h^2)$, and to report the relative error
$\lVert g_{\text{analytic}} - g_{\text{numeric}} \rVert / (\lVert g_{\text{analytic}} \rVert + \lVert g_{\text{numeric}} \rVert)$.
In float64 with $h = 10^{-6}$ a correct implementation gives about $10^{-9}$ or less; a bug
typically gives $10^{-2}$ to $1$. `labkit.gradcheck.check_layer` checks a layer on the scalar
$\sum \mathbf{y} \odot G$ with a random $G$ (an all-ones $G$ could hide errors that cancel), and
`check_network` does the same for a whole network: every weight, every bias, and the input.
""")
b.code(r"""
from labkit.gradcheck import check_layer, check_network

x_check = np.random.default_rng(1).standard_normal((5, 3))
errors = {}
errors["Dense"] = check_layer(Dense(3, 4, seed=0).astype(np.float64), x_check)
for name in ("tanh", "logistic", "softplus", "elu"):
    errors[f"Activation {name}"] = check_layer(Activation(name), x_check)
deep = Network([Dense(3, 8, seed=3), Activation("tanh"), Dense(8, 8, seed=4), Activation("softplus"),
                Dense(8, 2, seed=5), Activation("logistic")]).astype(np.float64)
errors["Network 3-8-8-2"] = check_network(deep, x_check)
for name, errs in errors.items():
    worst = max(errs, key=errs.get)
    print(f"{name:18s} worst relative error {errs[worst]:.1e} ({worst}), checked: {sorted(errs)}")
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
worst_error = max(max(errs.values()) for errs in errors.values())
for name, errs in errors.items():
    print(f"{name:18s} errors below 1e-7: {max(errs.values()) < 1e-7}")
print("worst error < 1e-7:", worst_error < 1e-7)
""")
b.md(r"""
The full training algorithm is now complete, and every later chapter uses it unchanged:

1. initialise the weights randomly;
2. forward pass: compute the output for a batch of inputs, storing what backward needs;
3. compute the loss and, by backpropagation, its gradient with respect to every parameter;
4. update the parameters (gradient descent or a refinement such as Adam);
5. repeat from 2 until the loss stops improving.

Chapters 4-7 add layers (convolutions, pooling, shortcuts, pixel shuffle, batch normalisation),
each with its own `forward` and `backward`; chapter 8 looks at activations and losses, and
chapter 11 runs this loop on MRI.

## Exercises

1. Run `perceptron_fit` on the two clouds with `lr=0.01` and `lr=10`. Does the learning rate
   change the number of mistakes? Explain why, for a perceptron starting from zero weights,
   $\eta$ only rescales $\mathbf{w}$ and $b$.
2. Move the two clouds closer (centres at distance 1) so that they overlap. What happens to
   `history.converged` and to the mistakes per epoch?
3. Train the XOR network with 2 hidden units instead of 4, for several seeds. How often does
   it fail? What does the decision surface look like when it does?
4. Centre the regression inputs (`x_data - x_data.mean()`) and recompute the Hessian's
   eigenvalues, the critical learning rate and the paths. Why does the valley become a round
   bowl?
5. Introduce a bug: in the hand-written backpropagation, drop the factor `d_logistic(z1, a1)`
   in BP2. Which gradients change? Which check in this notebook would have caught it?
""")
b.code(r"""
assert history.converged and accuracy == 1.0
assert not xor_history.converged and np.all(xor_history.mistakes > 0)
assert np.array_equal(np.round(xor_out), t_xor) and xor_losses[-1] < 1e-3
assert losses["η = 0.25"][-1] < losses["η = 0.05"][-1]           # faster, still stable
assert losses["η = 0.29"][-1] > losses["η = 0.29"][0]            # beyond 2/λ_max: diverges
assert 0.25 < 2 / eigenvalues[-1] < 0.29
assert all(np.allclose(g, labkit_grads[k], rtol=0, atol=1e-14) for k, g in by_hand.items())
assert worst_error < 1e-7
print("chapter 1: all checks passed")
""")
b.write("01_neural_networks.ipynb")
