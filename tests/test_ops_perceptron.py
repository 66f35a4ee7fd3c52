"""Tests of labkit.ops.perceptron (Rosenblatt's rule)."""

import numpy as np
import pytest

from labkit.ops.perceptron import heaviside, perceptron_fit, perceptron_predict


def test_heaviside():
    np.testing.assert_array_equal(heaviside([-1.0, 0.0, 2.0]), [0.0, 1.0, 1.0])


def test_learns_separable_data(rng):
    x = rng.normal(size=(100, 2))
    t = (x @ np.array([1.0, -2.0]) + 0.3 > 0).astype(float)
    h = perceptron_fit(x, t, lr=0.5, epochs=200, seed=0)
    assert h.converged
    np.testing.assert_array_equal(perceptron_predict(x, h.w, h.b), t)
    assert h.weights.shape == (h.epochs + 1, 2) and h.biases.shape == (h.epochs + 1,)
    assert h.mistakes[-1] == 0
    np.testing.assert_array_equal(h.weights[-1], h.w)
    assert h.step_weights.shape == (100 * h.epochs + 1, 2)
    np.testing.assert_array_equal(h.step_weights[-1], h.w)
    np.testing.assert_array_equal(h.step_weights[100], h.weights[1])   # end of epoch 1


def test_single_update_rule():
    # One mistake on x = (1, 2), t = 1 from w = 0, b = -1: w += lr * x, b += lr.
    h = perceptron_fit([[1.0, 2.0]], [1], lr=0.5, epochs=1, w0=[0.0, 0.0], b0=-1.0)
    np.testing.assert_allclose(h.weights[1], [0.5, 1.0])
    assert h.biases[1] == -0.5


def test_xor_never_converges():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    h = perceptron_fit(x, [0, 1, 1, 0], epochs=50)
    assert not h.converged and h.epochs == 50
    assert np.all(h.mistakes > 0)


def test_bad_input():
    with pytest.raises(ValueError, match="targets"):
        perceptron_fit([[0.0, 1.0]], [2])
    with pytest.raises(ValueError, match="examples"):
        perceptron_fit([[0.0, 1.0]], [1, 0])
    with pytest.raises(ValueError, match="lr"):
        perceptron_fit([[0.0, 1.0]], [1], lr=0)
