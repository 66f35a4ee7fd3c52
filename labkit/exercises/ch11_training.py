"""Chapter 11 (11_training.ipynb): the learning-rate schedule and one Adam step.

``adam_step(p, g, m, v, t, lr, beta1, beta2, eps) -> (p_new, m_new, v_new)``, PyTorch's Adam
(see :func:`labkit.optimizers.adam_step`): ``m_t = b1 m + (1 - b1) g``,
``v_t = b2 v + (1 - b2) g^2``, ``p - lr / (1 - b1^t) * m_t / (sqrt(v_t) / sqrt(1 - b2^t) + eps)``,
without modifying its inputs, ``p_new`` in p's dtype.

``learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)`` for 0-based ``step`` of
``total`` steps:

* ``"cosine"``: :math:`\\eta_t = \\eta_{min} + \\tfrac12 (\\eta_0 - \\eta_{min})(1 + \\cos(\\pi
  \\min(t, T) / T))` (it stays at ``lr_min`` after ``total``);
* ``"step"``: :math:`\\eta_t = \\eta_0 \\gamma^{\\lfloor t / s \\rfloor}` with ``s = step_size``, or
  ``max(total // 2, 1)`` when ``step_size`` is 0 (EDSR's halving);
* ``"constant"``: :math:`\\eta_0`.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises._core import Case, Exercise, Mistake
from labkit.optimizers import adam_step


def learning_rate(*args, **kwargs):
    # imported on use: labkit.train pulls in the whole training stack
    from labkit.train import learning_rate as reference
    return reference(*args, **kwargs)


def _cases(rng):
    for total, steps in [(100, [0, 1, 25, 50, 99, 100, 130]), (7, [0, 3, 6, 7, 9]), (1, [0, 1, 4])]:
        for step in steps:
            yield Case(f"learning_rate(step={step}, total={total}, lr=0.001, 'cosine', "
                       f"lr_min=1e-05)", (step, total, 1e-3, "cosine", 1e-5))
    for step in (0, 10, 40):
        yield Case(f"learning_rate(step={step}, total=40, lr=0.01) [cosine default, lr_min 0]",
                   (step, 40, 0.01))
    for total, size, gamma, steps in [(100, 0, 0.5, [0, 49, 50, 99, 100, 150]),
                                      (30, 10, 0.1, [0, 9, 10, 19, 25, 31]),
                                      (1, 0, 0.5, [0, 1, 2]), (9, 0, 0.5, [3, 4, 5, 8])]:
        for step in steps:
            yield Case(f"learning_rate(step={step}, total={total}, lr=0.1, 'step', "
                       f"step_size={size}, gamma={gamma})",
                       (step, total, 0.1, "step"), {"step_size": size, "gamma": gamma})
    for step in (0, 5, 1000):
        yield Case(f"learning_rate(step={step}, total=10, lr=0.002, 'constant')",
                   (step, 10, 0.002, "constant"))
    for _ in range(8):
        total = int(rng.integers(2, 200))
        step = int(rng.integers(0, total + 10))
        lr = float(10.0 ** rng.uniform(-4, -1))
        lr_min = float(lr * rng.uniform(0, 0.5))
        yield Case(f"learning_rate(step={step}, total={total}, lr={lr:.3g}, 'cosine', "
                   f"lr_min={lr_min:.3g})", (step, total, lr, "cosine", lr_min))


def _cos_no_min(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    if schedule == "cosine":
        return 0.5 * lr * (1 + math.cos(math.pi * min(step, total) / total))
    return learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)


def _cos_no_clamp(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    if schedule == "cosine":
        return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * step / total))
    return learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)


def _cos_rising(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    if schedule == "cosine":
        return lr_min + 0.5 * (lr - lr_min) * (1 - math.cos(math.pi * min(step, total) / total))
    return learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)


def _step_off_by_one(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return learning_rate(step + 1, total, lr, schedule, lr_min, step_size, gamma)


def _step_continuous(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    if schedule == "step":
        size = step_size if step_size > 0 else max(total // 2, 1)
        return lr * gamma ** (step / size)
    return learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)


def _step_default_total(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    if schedule == "step" and step_size == 0:
        return lr * gamma ** (step // total)
    return learning_rate(step, total, lr, schedule, lr_min, step_size, gamma)


def _adam_cases(rng):
    shapes = [(5,), (3, 4), (2, 3, 3, 2), (1,), (4, 1)]
    for i in range(24):
        shape = shapes[i % len(shapes)]
        dtype = np.float32 if i % 3 == 2 else np.float64
        p = rng.standard_normal(shape).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        t = [1, 2, 5, 100][i % 4]
        if t == 1:
            m, v = np.zeros_like(p), np.zeros_like(p)
        else:
            m = (0.1 * rng.standard_normal(shape)).astype(dtype)
            v = (0.01 * rng.random(shape)).astype(dtype)
        lr, b1, b2, eps = [(1e-3, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.9, 1e-6),
                           (1e-2, 0.9, 0.99, 1e-3)][i % 3]
        yield Case(f"adam_step(p {shape} {np.dtype(dtype).name}, g, m, v, t={t}, lr={lr}, "
                   f"beta1={b1}, beta2={b2}, eps={eps})", (p, g, m, v, t, lr, b1, b2, eps))


def _adam_no_bias_correction(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return (p - lr * m / (np.sqrt(v) + eps)).astype(p.dtype), m, v


def _adam_eps_inside(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    mhat, vhat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return (p - lr * mhat / np.sqrt(vhat + eps)).astype(p.dtype), m, v


def _adam_swapped_betas(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (1 - beta1) * m + beta1 * g
    v = (1 - beta2) * v + beta2 * g * g
    return _finish(p, m, v, t, lr, beta1, beta2, eps), m, v


def _finish(p, m, v, t, lr, beta1, beta2, eps):
    denom = np.sqrt(v) / np.sqrt(1 - beta2 ** t) + eps
    return (p - (lr / (1 - beta1 ** t)) * m / denom).astype(p.dtype)


def _adam_old_moments(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    return _finish(p, m, v, t, lr, beta1, beta2, eps), new_m, new_v


def _adam_ascent(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    q, m, v = adam_step(p, g, m, v, t, lr, beta1, beta2, eps)
    return (2 * p - q).astype(p.dtype), m, v


EXERCISES = [
    Exercise(
        id="learning_rate",
        chapter="11_training.ipynb",
        reference="labkit.train.learning_rate",
        summary="Learning rate of step t of T: cosine annealing to lr_min, step decay "
                "lr * gamma^floor(t / s), or constant.",
        cases=_cases,
        mistakes=[
            Mistake("lr_min ignored", _cos_no_min,
                    "Your cosine schedule ends at 0 instead of lr_min: it anneals from lr down to "
                    "lr_min."),
            Mistake("no clamp after total", _cos_no_clamp,
                    "After `total` steps your cosine rises again; clamp t to T so the rate stays "
                    "at lr_min."),
            Mistake("rising cosine", _cos_rising,
                    "Your cosine schedule starts low and rises; it starts at lr (cos 0 = 1)."),
            Mistake("off by one", _step_off_by_one,
                    "Off by one: step is 0-based, the first step (step=0) uses the full lr."),
            Mistake("exponent not floored", _step_continuous,
                    "Step decay is piecewise constant: the exponent is floor(t / s), not t / s."),
            Mistake("step_size 0", _step_default_total,
                    "step_size=0 means total // 2 (the rate halves in the middle of training)."),
        ],
        rtol=1e-12,
    ),
    Exercise(
        id="adam_step",
        chapter="11_training.ipynb",
        reference="labkit.optimizers.adam_step",
        summary="One Adam step (PyTorch's rule): new moments m, v and the updated parameter, "
                "with bias corrections 1 - beta^t.",
        cases=_adam_cases,
        mistakes=[
            Mistake("no bias correction", _adam_no_bias_correction,
                    "Your step lacks the bias corrections: divide by 1 - beta1^t and "
                    "sqrt(1 - beta2^t) (they matter most in the first steps, t small)."),
            Mistake("eps inside the root", _adam_eps_inside,
                    "PyTorch adds eps after the square root: sqrt(v_hat) + eps, not "
                    "sqrt(v_hat + eps)."),
            Mistake("betas swapped", _adam_swapped_betas,
                    "The moving averages weight the *old* moment by beta: m_t = beta1 m + "
                    "(1 - beta1) g."),
            Mistake("old moments in the step", _adam_old_moments,
                    "Update m and v first, then step with the new m_t and v_t."),
            Mistake("gradient ascent", _adam_ascent,
                    "Your parameter moves up the gradient: subtract the step."),
        ],
    ),
]
