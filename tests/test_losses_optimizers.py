import numpy as np
import pytest

from labkit.gradcheck import numerical_gradient, relative_error
from labkit.losses import CharbonnierLoss, L1Loss, MSELoss
from labkit.optimizers import SGD, Adam


@pytest.mark.parametrize("loss", [L1Loss(), MSELoss(), CharbonnierLoss(), CharbonnierLoss(eps=0.1)])
def test_loss_gradients(loss, rng):
    y, t = rng.standard_normal((2, 3, 4, 1)), rng.standard_normal((2, 3, 4, 1))
    loss.forward(y, t)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(y, t), y)
    assert relative_error(analytic, numeric) < 1e-7


def test_loss_values():
    y, t = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])
    assert L1Loss()(y, t) == pytest.approx(5 / 3)
    assert MSELoss()(y, t) == pytest.approx(13 / 3)
    assert CharbonnierLoss(eps=1e-3)(y, t) == pytest.approx(np.mean(np.sqrt((y - t) ** 2 + 1e-6)))


def test_loss_bad_input():
    with pytest.raises(ValueError, match=r"L1Loss: prediction \(3,\) and target \(2,\)"):
        L1Loss()(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="MSELoss: backward called before forward"):
        MSELoss().backward()
    with pytest.raises(ValueError, match="CharbonnierLoss: eps"):
        CharbonnierLoss(eps=0)


def test_adam_matches_handwritten_rule():
    p = np.array([1.0, -2.0])
    opt = Adam(lr=0.1)
    m = v = np.zeros(2)
    ref = p.copy()
    for t, g in enumerate([np.array([0.5, -1.0]), np.array([0.1, 0.3]), np.array([-0.2, 0.0])], 1):
        opt.update({"p": p}, {"p": g})
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(p, ref, rtol=1e-12)


def test_sgd_momentum_and_state_roundtrip():
    p = np.array([1.0, 1.0])
    opt = SGD(lr=0.5, momentum=0.9)
    opt.update({"p": p}, {"p": np.array([1.0, 0.0])})
    opt.update({"p": p}, {"p": np.array([1.0, 0.0])})
    np.testing.assert_allclose(p, [1 - 0.5 - 0.5 * 1.9, 1.0])
    state = opt.state_dict({"w": p})
    opt2 = SGD(lr=0.5, momentum=0.9)
    q = p.copy()
    opt2.load_state_dict({"w": q}, state)
    opt.update({"p": p}, {"p": np.array([0.3, 0.2])})
    opt2.update({"p": q}, {"p": np.array([0.3, 0.2])})
    np.testing.assert_array_equal(p, q)


def test_optimizer_bad_input():
    with pytest.raises(ValueError, match="Adam: lr"):
        Adam(lr=float("nan"))
    with pytest.raises(ValueError, match="SGD: momentum"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"gradient 'p' has shape \(3,\), parameter has \(2,\)"):
        SGD(0.1).update({"p": np.zeros(2)}, {"p": np.zeros(3)})


@pytest.mark.parametrize("loss, expected", [(L1Loss, 0.7), (MSELoss, 0.49),
                                            (CharbonnierLoss, np.sqrt(0.49 + 1e-6))])
def test_integer_predictions_give_the_float_result(loss, expected):
    # An integer y - t used to truncate: L1Loss()([0, 0], [0.7, 0.7]) returned 0.0.
    lf = loss()
    assert abs(lf(np.array([0, 0]), np.array([0.7, 0.7])) - expected) < 1e-6
    assert lf.backward().dtype.kind == "f"


@pytest.mark.parametrize("make, pattern", [
    (lambda: SGD(-0.1), r"SGD: lr must be >= 0"),
    (lambda: SGD(True), r"SGD: lr must be a number, got True"),
    (lambda: SGD(0.1, momentum=1.0), r"SGD: momentum must be < 1"),
    (lambda: Adam(beta1=1.0), r"Adam: beta1 must be < 1"),
    (lambda: Adam(beta2=-0.1), r"Adam: beta2 must be >= 0"),
    (lambda: Adam(eps=0.0), r"Adam: eps must be > 0"),
    (lambda: CharbonnierLoss("a"), r"CharbonnierLoss: eps must be a number"),
])
def test_bad_hyper_parameters(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_update_refuses_missing_or_non_finite_gradients():
    opt = Adam(0.1)
    p = np.zeros(2)
    with pytest.raises(ValueError, match="Adam: no gradient for parameter 'w'"):
        opt.update({"w": p}, {})
    with pytest.raises(ValueError, match="Adam: gradient 'w' of shape .* contains NaN"):
        opt.update({"w": p}, {"w": np.array([np.nan, 1.0])})
    np.testing.assert_array_equal(p, 0.0)
    assert opt.state == {}


def test_pure_steps_leave_inputs_and_match_the_classes(rng):
    from labkit.optimizers import adam_step, sgd_step

    p = rng.standard_normal((3, 4)).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    before = [a.copy() for a in (p, g, m, v)]
    q, m1, v1 = adam_step(p, g, m, v, 1, lr=0.01)
    for a, b in zip((p, g, m, v), before):
        np.testing.assert_array_equal(a, b)                  # pure: inputs untouched
    assert q.dtype == m1.dtype == v1.dtype == np.float32
    opt, w = Adam(lr=0.01), p.copy()
    opt.update({"w": w}, {"w": g})
    np.testing.assert_array_equal(w, q)
    np.testing.assert_array_equal(opt.state[id(w)]["m"], m1)
    # SGD: the first momentum step takes buf = g, the next buf = mu buf + g
    q1, buf = sgd_step(p, g, 0.1, momentum=0.9)
    np.testing.assert_array_equal(buf, g)
    q2, buf2 = sgd_step(q1, g, 0.1, momentum=0.9, buf=buf)
    np.testing.assert_allclose(buf2, 1.9 * g, rtol=1e-6)
    np.testing.assert_allclose(q2, p - 0.1 * g - 0.1 * 1.9 * g, rtol=1e-5, atol=1e-6)
    assert sgd_step(p, g, 0.1)[1] is None
    opt, w = SGD(lr=0.1, momentum=0.9), p.copy()
    opt.update({"w": w}, {"w": g})
    opt.update({"w": w}, {"w": g})
    np.testing.assert_array_equal(w, q2)


@pytest.mark.parametrize("name", ["l1", "mse", "charbonnier"])
def test_pure_loss_gradients_match_numerical_and_classes(name, rng):
    from labkit.losses import LOSSES, charbonnier_grad, l1_grad, mse_grad

    grad = {"l1": l1_grad, "mse": mse_grad, "charbonnier": charbonnier_grad}[name]
    y, t = rng.standard_normal((2, 3, 4, 1)), rng.standard_normal((2, 3, 4, 1))
    loss = LOSSES[name]()
    numeric = numerical_gradient(lambda: loss.forward(y, t), y)
    assert relative_error(grad(y, t), numeric) < 1e-7
    loss.forward(y, t)
    np.testing.assert_array_equal(loss.backward(), grad(y, t))
    assert grad(y.astype(np.float32), t.astype(np.float32)).dtype == np.float32
