"""Chapter 8 (08_activations_and_losses.ipynb): derivatives of activation functions.

Each derivative takes the input ``x`` *and* the forward output ``y = f(x)`` (so that e.g. the
logistic's derivative can reuse ``y``) and returns ``df/dx`` element-wise, in ``x``'s dtype:

* ``d_elu(x, y, alpha)``:  ``1`` for ``x > 0``, else ``alpha e^x`` (so ``alpha`` at ``x = 0``);
* ``d_leaky(x, y, alpha)``: ``1`` for ``x > 0``, else ``alpha`` (also at ``x = 0``);
* ``d_logistic(x, y)``: ``y (1 - y)``;
* ``d_tanh(x, y)``: ``1 - y^2``.

And two loss gradients with respect to the prediction ``y`` (``M = y.size``, see
:mod:`labkit.losses`): ``l1_grad(y, target) = sign(y - t) / M`` (0 where ``y == t``) and
``charbonnier_grad(y, target, eps) = (y - t) / (M sqrt((y - t)^2 + eps^2))``.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.activations import elu, leaky, logistic, tanh


def _inputs(rng, i):
    shapes = [(7,), (3, 4), (2, 3, 3, 2), (1,), (5, 1)]
    shape = shapes[i % len(shapes)] if i < 10 else tuple(int(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    x = rng.standard_normal(shape) * 3
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, size=max(1, flat.size // 4))] = 0.0    # the kink
    if i % 4 == 3:
        x = x.astype(np.float32)
    return x


def _act_cases(name, forward, alphas):
    def cases(rng):
        for i in range(24):
            x = _inputs(rng, i)
            if alphas:
                alpha = alphas[i % len(alphas)]
                y = forward(x, alpha)
                yield Case(f"{name}(x {x.shape} {x.dtype.name} with zeros, y, alpha={alpha})",
                           (x, y, alpha))
            else:
                y = forward(x)
                yield Case(f"{name}(x {x.shape} {x.dtype.name} with zeros, y)", (x, y))
    return cases


def _elu_kink_one(x, y, alpha=1.0):
    return np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


def _elu_no_alpha(x, y, alpha=1.0):
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))).astype(x.dtype)


def _elu_exp_y(x, y, alpha=1.0):
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(y, 0))).astype(x.dtype)


def _elu_is_forward(x, y, alpha=1.0):
    return elu(x, alpha)


def _leaky_kink_one(x, y, alpha=0.1):
    return np.where(x >= 0, 1.0, alpha).astype(x.dtype)


def _leaky_zero(x, y, alpha=0.1):
    return (x > 0).astype(x.dtype)


def _leaky_float64(x, y, alpha=0.1):
    return np.where(x > 0, 1.0, alpha)


def _leaky_forward(x, y, alpha=0.1):
    return leaky(x, alpha)


def _logistic_x(x, y):
    return x * (1 - x)


def _logistic_twice(x, y):
    s = logistic(y)
    return s * (1 - s)


def _logistic_y(x, y):
    return y.copy()


def _logistic_plus(x, y):
    return y * (1 + y)


def _tanh_x(x, y):
    return 1 - x * x


def _tanh_twice(x, y):
    return 1 - np.tanh(y) ** 2


def _tanh_square(x, y):
    return (1 - y) ** 2


def _tanh_sech(x, y):
    return 1 / np.cosh(x)


def _loss_cases(name, eps_values):
    def cases(rng):
        for i in range(24):
            x = _inputs(rng, i)
            t = (rng.standard_normal(x.shape) * 3).astype(x.dtype)
            flat_t, flat_y = t.reshape(-1), x.reshape(-1)
            flat_y[: max(1, flat_y.size // 4)] = flat_t[: max(1, flat_y.size // 4)]   # y == t
            if eps_values:
                eps = eps_values[i % len(eps_values)]
                yield Case(f"{name}(y {x.shape} {x.dtype.name} with y == t in places, target, "
                           f"eps={eps})", (x, t, eps))
            else:
                yield Case(f"{name}(y {x.shape} {x.dtype.name} with y == t in places, target)",
                           (x, t))
    return cases


def _l1_no_mean(y, target):
    return np.sign(y - target)


def _l1_reversed(y, target):
    return np.sign(target - y) / y.size


def _l1_kink_one(y, target):
    return np.where(y >= target, 1.0, -1.0).astype(y.dtype) / y.size


def _l1_abs(y, target):
    return np.abs(y - target) / y.size


def _charb_no_mean(y, target, eps=1e-3):
    d = y - target
    return d / np.sqrt(d * d + eps ** 2)


def _charb_eps_unsquared(y, target, eps=1e-3):
    d = y - target
    return d / np.sqrt(d * d + eps) / d.size


def _charb_value(y, target, eps=1e-3):
    d = y - target
    return np.sqrt(d * d + eps ** 2) / d.size


_MEAN = ("Your gradient is M = y.size times too large: the loss is a *mean* over all elements, "
         "so each element's gradient carries a factor 1 / M.")

_KINK = ("At x == 0 your derivative takes the right-hand value 1; the convention here (as in "
         "PyTorch) is the left-hand one for x <= 0.")
_DTYPE = ("Your float32 input gives a float64 derivative: np.where(x > 0, 1.0, ...) is float64, "
          "convert with .astype(x.dtype).")

EXERCISES = [
    Exercise(
        id="d_elu",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.ops.activations.d_elu",
        summary="Derivative of ELU: 1 for x > 0, alpha e^x for x <= 0, in x's dtype.",
        cases=_act_cases("d_elu", elu, [1.0, 0.5, 2.0]),
        mistakes=[
            Mistake("kink gets 1", _elu_kink_one, _KINK),
            Mistake("alpha forgotten", _elu_no_alpha,
                    "alpha is missing on the negative side: d/dx alpha (e^x - 1) = alpha e^x."),
            Mistake("exp of y", _elu_exp_y,
                    "You exponentiated y instead of x: the negative side is alpha e^x "
                    "(equivalently y + alpha)."),
            Mistake("forward instead of derivative", _elu_is_forward,
                    "Your output equals ELU itself, not its derivative."),
        ],
    ),
    Exercise(
        id="d_leaky",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.ops.activations.d_leaky",
        summary="Derivative of leaky ReLU: 1 for x > 0, alpha for x <= 0, in x's dtype.",
        cases=_act_cases("d_leaky", leaky, [0.1, 0.01, 0.3]),
        mistakes=[
            Mistake("kink gets 1", _leaky_kink_one, _KINK),
            Mistake("ReLU derivative", _leaky_zero,
                    "Your negative side has slope 0 (the ReLU derivative); leaky ReLU's slope "
                    "there is alpha."),
            Mistake("float64 output", _leaky_float64, _DTYPE),
            Mistake("forward instead of derivative", _leaky_forward,
                    "Your output equals leaky ReLU itself, not its derivative."),
        ],
    ),
    Exercise(
        id="d_logistic",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.ops.activations.d_logistic",
        summary="Derivative of the logistic sigmoid from its output: y (1 - y).",
        cases=_act_cases("d_logistic", logistic, None),
        mistakes=[
            Mistake("x instead of y", _logistic_x,
                    "You used x where the formula needs the output y = sigma(x): "
                    "sigma'(x) = sigma(x) (1 - sigma(x))."),
            Mistake("sigmoid applied twice", _logistic_twice,
                    "You applied the sigmoid to y again: y already is sigma(x)."),
            Mistake("factor (1 - y) forgotten", _logistic_y,
                    "Your derivative equals y itself: a factor is missing."),
            Mistake("sign of y", _logistic_plus,
                    "Your derivative grows with y; check the sign inside the second factor."),
        ],
    ),
    Exercise(
        id="d_tanh",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.ops.activations.d_tanh",
        summary="Derivative of tanh from its output: 1 - y^2.",
        cases=_act_cases("d_tanh", tanh, None),
        mistakes=[
            Mistake("x instead of y", _tanh_x,
                    "You used x where the formula needs the output y = tanh(x): "
                    "tanh'(x) = 1 - tanh(x)^2."),
            Mistake("tanh applied twice", _tanh_twice,
                    "You applied tanh to y again: y already is tanh(x)."),
            Mistake("(1 - y)^2", _tanh_square,
                    "Your derivative is (1 - y)^2; only y is squared."),
            Mistake("sech instead of sech^2", _tanh_sech,
                    "Your derivative is sech(x); tanh' is sech(x)^2 = 1 - tanh(x)^2."),
        ],
    ),
    Exercise(
        id="l1_grad",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.losses.l1_grad",
        summary="Gradient of the mean absolute error: sign(y - t) / y.size (0 where y == t).",
        cases=_loss_cases("l1_grad", None),
        mistakes=[
            Mistake("no 1/M", _l1_no_mean, _MEAN),
            Mistake("sign reversed", _l1_reversed,
                    "Your gradient has the wrong sign: d|y - t|/dy = sign(y - t)."),
            Mistake("kink gets 1", _l1_kink_one,
                    "Where y == t your gradient is +-1; the convention (PyTorch's) is sign(0) = 0."),
            Mistake("loss instead of gradient", _l1_abs,
                    "Your output is |y - t| / M, the loss terms, not their derivative."),
        ],
    ),
    Exercise(
        id="charbonnier_grad",
        chapter="08_activations_and_losses.ipynb",
        reference="labkit.losses.charbonnier_grad",
        summary="Gradient of the Charbonnier loss: (y - t) / (M sqrt((y - t)^2 + eps^2)).",
        cases=_loss_cases("charbonnier_grad", [1e-3, 0.1, 1.0]),
        mistakes=[
            Mistake("no 1/M", _charb_no_mean, _MEAN),
            Mistake("eps not squared", _charb_eps_unsquared,
                    "Inside the root it is eps^2, not eps."),
            Mistake("loss instead of gradient", _charb_value,
                    "Your output is the loss terms sqrt((y - t)^2 + eps^2) / M, not their "
                    "derivative."),
        ],
    ),
]
