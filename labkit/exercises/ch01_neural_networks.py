"""Chapter 1 (01_neural_networks.ipynb): the perceptron and gradient descent.

``perceptron_predict(x, w, b)``: ``H(x w + b)`` of shape ``(N,)`` with the step function
``H(z) = 1`` for ``z >= 0`` and ``0`` otherwise (so ``H(0) = 1``).

``perceptron_fit(x, t, lr, epochs, w0, b0, shuffle, seed)``: Rosenblatt's rule, one example at
a time, in the order ``numpy.random.default_rng(seed).permutation(N)`` (a new permutation each
epoch from the one generator) or ``0..N-1`` without shuffling,

.. math:: y = H(\\mathbf w \\cdot \\mathbf x_i + b), \\quad
          \\mathbf w \\leftarrow \\mathbf w + \\eta (t_i - y) \\mathbf x_i, \\quad
          b \\leftarrow b + \\eta (t_i - y)

stopping after the first epoch without mistakes.  Graded on the entries ``w``, ``b``,
``mistakes`` (per epoch), ``epochs`` and ``converged`` of the returned dict.

``gradient_descent(grad_fn, w0, lr, steps, momentum)``: the path ``(steps + 1, D)`` of
``v <- mu v + grad(w)``, ``w <- w - lr v`` starting at ``w0`` (``v = 0``), frozen (the last
finite point repeated) once a step would leave the finite range or exceed 1e12 in magnitude.

``dense_backward(dy, cache)``: backpropagation through ``y = x W + b`` with the reference's
cache ``(x, w, has_bias)``: ``(dx, dw, db) = (dy W^T, x^T dy, sum_n dy)``, ``db`` None without
bias (see :mod:`labkit.ops.dense`).
"""

from __future__ import annotations

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.ops.dense import dense_forward
from labkit.ops.descent import gradient_descent, linear_regression_loss, quadratic_bowl, rosenbrock
from labkit.ops.perceptron import PerceptronHistory, perceptron_predict

# ----------------------------------------------------------------------------- predict

def _predict_cases(rng):
    for i in range(26):
        n = int(rng.integers(1, 12))
        f = int(rng.integers(1, 5))
        if i % 2 == 0:                       # integers: many exact ties z == 0
            x = rng.integers(-2, 3, size=(n, f)).astype(np.float64)
            w = rng.integers(-2, 3, size=f).astype(np.float64)
            b = float(rng.integers(-2, 3))
        else:
            x = rng.standard_normal((n, f))
            w = rng.standard_normal(f)
            b = float(rng.standard_normal())
        if i % 5 == 4:
            w = w.tolist()
        yield Case(f"perceptron_predict(x {x.shape}, w {np.shape(w)}"
                   f"{' list' if isinstance(w, list) else ''}, b={b:g})", (x, w, b))


def _z(x, w, b):
    return np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).reshape(-1) + float(b)


def _pred_strict(x, w, b):
    return (_z(x, w, b) > 0).astype(np.float64)


def _pred_no_bias(x, w, b):
    return perceptron_predict(x, w, 0.0)


def _pred_sign(x, w, b):
    return np.where(_z(x, w, b) >= 0, 1.0, -1.0)


def _pred_column(x, w, b):
    return perceptron_predict(x, w, b)[:, None]


# ----------------------------------------------------------------------------- fit

_KEYS = ("w", "b", "mistakes", "epochs", "converged")


def _history(result):
    if isinstance(result, dict) or hasattr(result, "keys"):
        return {k: result[k] for k in _KEYS}
    return {k: getattr(result, k) for k in _KEYS}


def _fit(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0, *, strict=False,
         early_stop=True, rng_per_epoch=False, bias=True, batch=False):
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    n, f = x.shape
    w = np.zeros(f) if w0 is None else np.array(w0, dtype=np.float64).reshape(-1)
    b = float(b0)
    rng = np.random.default_rng(seed)
    mistakes = []
    converged = False
    for _ in range(epochs):
        if rng_per_epoch:
            rng = np.random.default_rng(seed)
        order = rng.permutation(n) if shuffle else np.arange(n)
        errors = 0
        w_start, b_start = w.copy(), b
        for i in order:
            z = x[i] @ (w_start if batch else w) + (b_start if batch else b)
            y = float(z > 0) if strict else float(z >= 0)
            delta = t[i] - y
            if delta != 0:
                w = w + lr * delta * x[i]
                if bias:
                    b += lr * delta
                errors += 1
        mistakes.append(errors)
        if errors == 0:
            converged = True
            if early_stop:
                break
    return PerceptronHistory(w=w, b=b, mistakes=np.array(mistakes, dtype=np.int64),
                             converged=converged, epochs=len(mistakes))


def _fit_variant(**twist):
    def variant(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
        return _fit(x, t, lr, epochs, w0, b0, shuffle, seed, **twist)
    return variant


def _fit_cases(rng):
    gates = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0], "NAND": [1, 1, 1, 0]}
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    for name, t in gates.items():
        for shuffle in (False, True):
            yield Case(f"perceptron_fit({name} gate, lr=1, epochs=10, shuffle={shuffle})",
                       (inputs, np.array(t, dtype=np.float64)),
                       {"lr": 1.0, "epochs": 10, "shuffle": shuffle, "seed": 3})
    for i in range(22):
        n = int(rng.integers(4, 16))
        f = int(rng.integers(1, 4))
        x = rng.integers(-3, 4, size=(n, f)).astype(np.float64) if i % 2 else rng.standard_normal((n, f))
        w_true = rng.standard_normal(f)
        t = (x @ w_true + rng.uniform(-0.5, 0.5) >= 0).astype(np.float64)
        if i % 4 == 3:
            t[rng.integers(0, n)] = 1 - t[rng.integers(0, n)]   # maybe not separable
        kwargs = {"lr": [1.0, 0.5, 0.25][i % 3], "epochs": int(rng.integers(1, 25)),
                  "shuffle": bool(i % 3), "seed": int(rng.integers(0, 100))}
        if i % 5 == 2:
            kwargs["w0"] = rng.standard_normal(f)
            kwargs["b0"] = float(rng.standard_normal())
        desc = ", ".join(f"{k}={'array' if k == 'w0' else v}" for k, v in kwargs.items())
        yield Case(f"perceptron_fit(x {x.shape}, t ({n},), {desc})", (x, t), kwargs)


# ----------------------------------------------------------------------------- gradient descent

def _gd_cases(rng):
    problems = []
    for a, b in [(1.0, 10.0), (1.0, 1.0), (2.0, 50.0)]:
        problems.append((f"quadratic_bowl(a={a}, b={b})", quadratic_bowl(a, b)[1]))
    problems.append(("rosenbrock()", rosenbrock()[1]))
    xs = rng.uniform(-1, 1, size=12)
    problems.append(("linear_regression_loss(x (12,), t (12,))",
                     linear_regression_loss(xs, 0.7 * xs - 0.2 + 0.05 * rng.standard_normal(12))[1]))
    i = 0
    for name, grad in problems:
        for lr, steps, momentum in [(0.01, 20, 0.0), (0.05, 15, 0.5), (0.02, 25, 0.9), (0.1, 0, 0.0),
                                    (0.3, 12, 0.0)]:
            if name.startswith("rosenbrock") and lr > 0.01:
                lr = lr / 50
            w0 = rng.uniform(-2, 2, size=2)
            yield Case(f"gradient_descent({name} gradient, w0={np.round(w0, 2).tolist()}, "
                       f"lr={lr:g}, steps={steps}, momentum={momentum})",
                       (grad, w0, lr, steps), {"momentum": momentum})
            i += 1
    bowl = quadratic_bowl(1.0, 10.0)[1]
    yield Case("gradient_descent(quadratic_bowl(1, 10) gradient, w0=[1, 1], lr=0.5, steps=40) "
               "[diverges: the path freezes]", (bowl, np.array([1.0, 1.0]), 0.5, 40))
    yield Case("gradient_descent(quadratic_bowl(1, 10) gradient, w0=[1, 1], lr=0.21, steps=300, "
               "momentum=0.5) [diverges slowly]", (bowl, [1.0, 1.0], 0.21, 300),
               {"momentum": 0.5})


def _gd_no_start(grad_fn, w0, lr, steps, momentum=0.0):
    return gradient_descent(grad_fn, w0, lr, steps, momentum)[1:]


def _gd_ema(grad_fn, w0, lr, steps, momentum=0.0):
    w = np.array(w0, dtype=np.float64).reshape(-1)
    path = np.empty((steps + 1, w.size))
    path[0] = w
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        v = momentum * v + (1 - momentum) * np.asarray(grad_fn(w), dtype=np.float64)
        new = w - lr * v
        if not np.all(np.isfinite(new)) or np.max(np.abs(new)) > 1e12:
            path[t:] = w
            break
        w = new
        path[t] = w
    return path


def _gd_no_freeze(grad_fn, w0, lr, steps, momentum=0.0):
    w = np.array(w0, dtype=np.float64).reshape(-1)
    path = np.empty((steps + 1, w.size))
    path[0] = w
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        v = momentum * v + np.asarray(grad_fn(w), dtype=np.float64)
        w = w - lr * v
        path[t] = w
    return path


def _gd_ascent(grad_fn, w0, lr, steps, momentum=0.0):
    return gradient_descent(lambda w: -np.asarray(grad_fn(w)), w0, lr, steps, momentum)


def _gd_momentum_ignored(grad_fn, w0, lr, steps, momentum=0.0):
    return gradient_descent(grad_fn, w0, lr, steps, 0.0)


# ----------------------------------------------------------------------------- dense backward

def _dense_cases(rng):
    for i in range(24):
        n, fi, fo = (int(v) for v in rng.integers(1, 7, size=3))
        dtype = np.float32 if i % 3 == 2 else np.float64
        x = rng.standard_normal((n, fi)).astype(dtype)
        w = rng.standard_normal((fi, fo)).astype(dtype)
        bias = i % 4 != 1
        b = rng.standard_normal(fo).astype(dtype) if bias else None
        _, cache = dense_forward(x, w, b)
        dy = rng.standard_normal((n, fo)).astype(dtype)
        yield Case(f"dense_backward(dy ({n}, {fo}) {np.dtype(dtype).name}, cache of x ({n}, {fi}), "
                   f"w ({fi}, {fo}), bias={bias})", (dy, cache))


def _dense_db_mean(dy, cache):
    x, w, has_bias = cache
    return dy @ w.T, x.T @ dy, (dy.mean(axis=0) if has_bias else None)


def _dense_db_always(dy, cache):
    x, w, _ = cache
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def _dense_db_wrong_axis(dy, cache):
    x, w, has_bias = cache
    return dy @ w.T, x.T @ dy, (dy.sum(axis=1) if has_bias else None)


EXERCISES = [
    Exercise(
        id="perceptron_predict",
        chapter="01_neural_networks.ipynb",
        reference="labkit.ops.perceptron.perceptron_predict",
        summary="Perceptron outputs H(x w + b) of shape (N,), with H(z) = 1 for z >= 0.",
        cases=_predict_cases,
        mistakes=[
            Mistake("H(0) = 0", _pred_strict,
                    "Ties: where x w + b == 0 your output is 0; the step function fires at "
                    "z >= 0, so H(0) = 1."),
            Mistake("bias ignored", _pred_no_bias, "The bias b is missing from z = x w + b."),
            Mistake("-1/+1 outputs", _pred_sign,
                    "Your outputs are in {-1, +1}; the perceptron here outputs 0 or 1."),
            Mistake("column output", _pred_column,
                    "Your output is a column (N, 1); return a flat array of shape (N,)."),
        ],
    ),
    Exercise(
        id="perceptron_fit",
        chapter="01_neural_networks.ipynb",
        reference="labkit.ops.perceptron.perceptron_fit",
        summary="Rosenblatt's learning rule one example at a time, shuffled by "
                "default_rng(seed).permutation each epoch, stopping after an epoch without "
                "mistakes; returns a dict with w, b, mistakes, epochs, converged.",
        cases=_fit_cases,
        output=_history,
        mistakes=[
            Mistake("H(0) = 0", _fit_variant(strict=True),
                    "Ties: with w = 0 and b = 0 the first prediction is H(0) = 1 (the step fires "
                    "at z >= 0); yours predicts 0."),
            Mistake("no early stop", _fit_variant(early_stop=False),
                    "You keep training after an epoch without mistakes; stop there (epochs "
                    "counts the epochs actually run)."),
            Mistake("generator re-created each epoch", _fit_variant(rng_per_epoch=True),
                    "Every epoch visits the examples in the same order: create "
                    "default_rng(seed) once, before the loop, and draw a new permutation each "
                    "epoch."),
            Mistake("bias not updated", _fit_variant(bias=False),
                    "The bias never changes: it learns like a weight whose input is 1, "
                    "b <- b + lr (t - y)."),
            Mistake("batch update", _fit_variant(batch=True),
                    "You predict every example of an epoch with the weights from the start of "
                    "the epoch; the rule updates after each example, the next prediction uses "
                    "the new weights."),
        ],
    ),
    Exercise(
        id="gradient_descent",
        chapter="01_neural_networks.ipynb",
        reference="labkit.ops.descent.gradient_descent",
        summary="The path (steps + 1, D) of (momentum) gradient descent v <- mu v + grad(w), "
                "w <- w - lr v, frozen once it diverges.",
        cases=_gd_cases,
        mistakes=[
            Mistake("start missing", _gd_no_start,
                    "Your path lacks its starting point: path[0] is w0 and there are steps + 1 "
                    "rows."),
            Mistake("EMA momentum", _gd_ema,
                    "Your momentum averages the gradients (v = mu v + (1 - mu) g); PyTorch's "
                    "form, used here, accumulates them: v = mu v + g."),
            Mistake("no divergence guard", _gd_no_freeze,
                    "When the iteration diverges your path runs off to inf/NaN; freeze it at the "
                    "last point once a step would be non-finite or exceed 1e12 in magnitude."),
            Mistake("gradient ascent", _gd_ascent,
                    "You step up the gradient: descent subtracts lr * v."),
            Mistake("momentum ignored", _gd_momentum_ignored,
                    "momentum is ignored: keep a velocity v = mu v + g between steps."),
        ],
    ),
    Exercise(
        id="dense_backward",
        chapter="01_neural_networks.ipynb",
        reference="labkit.ops.dense.dense_backward",
        summary="Backward pass of a dense layer y = x W + b: (dx, dw, db) = (dy W^T, x^T dy, "
                "sum over the batch of dy).",
        cases=_dense_cases,
        mistakes=[
            Mistake("db averaged", _dense_db_mean,
                    "Your db is the batch *mean* of dy; every example contributes its full "
                    "gradient, so db is the sum over the batch."),
            Mistake("db without bias", _dense_db_always,
                    "When the forward pass had no bias (has_bias False), db is None."),
            Mistake("db over the wrong axis", _dense_db_wrong_axis,
                    "db has one entry per output feature: sum dy over the batch axis 0."),
        ],
    ),
]
