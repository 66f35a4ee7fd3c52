"""Rosenblatt's perceptron (1958): a linear threshold unit and its error-correction rule.

The perceptron computes

.. math:: y = H(\\mathbf{w} \\cdot \\mathbf{x} + b), \\qquad
          H(z) = \\begin{cases} 1 & z \\ge 0 \\\\ 0 & z < 0 \\end{cases}

and learns from one example at a time with

.. math:: \\mathbf{w} \\leftarrow \\mathbf{w} + \\eta\\,(t - y)\\,\\mathbf{x}, \\qquad
          b \\leftarrow b + \\eta\\,(t - y)

so a correctly classified example (``t == y``) changes nothing and a mistake moves the
hyperplane ``w . x + b = 0`` towards the misclassified point.  If the two classes are linearly
separable the rule stops changing the weights after a finite number of mistakes (Novikoff's
convergence theorem); if they are not (XOR) it never settles.

This module is the course's reference implementation (chapter 1): the notebook plots its
history with :func:`labkit.viz.optim.perceptron_figure`, it does not re-implement it.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import check_bool, check_float, check_int, check_seed

__all__ = ["PerceptronHistory", "heaviside", "perceptron_fit", "perceptron_predict"]


def heaviside(z) -> np.ndarray:
    """Step function ``H(z)``: 1 where ``z >= 0``, else 0 (float array)."""
    return (np.asarray(z) >= 0).astype(np.float64)


def _check_xy(x, t, owner):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{owner}: x must be (N, F) with N, F >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: x of shape {x.shape} contains NaN or inf")
    if t is None:
        return x, None
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if t.shape[0] != x.shape[0]:
        raise ValueError(f"{owner}: {x.shape[0]} examples but {t.shape[0]} targets")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError(f"{owner}: targets must be 0 or 1")
    return x, t


def perceptron_predict(x, w, b) -> np.ndarray:
    """Outputs ``H(x w + b)`` of shape ``(N,)`` for inputs ``x`` of shape ``(N, F)``."""
    x, _ = _check_xy(x, None, "perceptron_predict")
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"perceptron_predict: w has {w.shape[0]} weights, x has {x.shape[1]} "
                         f"features")
    return heaviside(x @ w + float(b))


class PerceptronHistory(dict):
    """Result of :func:`perceptron_fit`: a dict with attribute access.

    Keys: ``w`` (final weights, ``(F,)``), ``b`` (final bias), ``weights`` (``(E + 1, F)``:
    initial weights then the weights after each epoch), ``biases`` (``(E + 1,)``),
    ``step_weights`` (``(S + 1, F)``: initial weights then the weights after each of the
    ``S = N E`` single-example steps), ``step_biases`` (``(S + 1,)``), ``mistakes``
    (``(E,)``: mistakes made during each epoch), ``converged`` (True if an epoch made no
    mistake), ``epochs`` (epochs run).
    """

    __getattr__ = dict.__getitem__


def perceptron_fit(x, t, lr: float = 1.0, epochs: int = 20, w0=None, b0: float = 0.0,
                   shuffle: bool = True, seed: int = 0) -> PerceptronHistory:
    """Train a perceptron with Rosenblatt's rule, one example at a time.

    Parameters
    ----------
    x : array_like, shape (N, F)
    t : array_like, shape (N,)
        Targets in {0, 1}.
    lr : float
        Learning rate ``eta > 0``.
    epochs : int
        Maximum number of passes over the data; training stops after the first epoch without
        mistakes.
    w0 : array_like, shape (F,), optional
        Initial weights (default zeros).
    b0 : float
        Initial bias.
    shuffle : bool
        Visit the examples in a new random order each epoch (``numpy.random.default_rng(seed)``).
    seed : int

    Returns
    -------
    PerceptronHistory
    """
    x, t = _check_xy(x, t, "perceptron_fit")
    lr = check_float(lr, "lr", "perceptron_fit", min=0.0, min_open=True)
    epochs = check_int(epochs, "epochs", "perceptron_fit", min=1, max=10**6)
    shuffle = check_bool(shuffle, "shuffle", "perceptron_fit")
    seed = check_seed(seed, "seed", "perceptron_fit")
    b0 = check_float(b0, "b0", "perceptron_fit")
    n, f = x.shape
    w = np.zeros(f) if w0 is None else np.array(w0, dtype=np.float64).reshape(-1)
    if w.shape[0] != f:
        raise ValueError(f"perceptron_fit: w0 has {w.shape[0]} weights, x has {f} features")
    b = float(b0)
    rng = np.random.default_rng(seed)
    weights, biases, mistakes = [w.copy()], [b], []
    step_weights, step_biases = [w.copy()], [b]
    converged = False
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        errors = 0
        for i in order:
            y = float(x[i] @ w + b >= 0)
            delta = t[i] - y
            if delta != 0:
                w += lr * delta * x[i]
                b += lr * delta
                errors += 1
            step_weights.append(w.copy())
            step_biases.append(b)
        weights.append(w.copy())
        biases.append(b)
        mistakes.append(errors)
        if errors == 0:
            converged = True
            break
    return PerceptronHistory(w=w, b=b, weights=np.array(weights), biases=np.array(biases),
                             step_weights=np.array(step_weights),
                             step_biases=np.array(step_biases),
                             mistakes=np.array(mistakes, dtype=np.int64), converged=converged,
                             epochs=len(mistakes))
