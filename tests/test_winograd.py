"""Winograd minimal filtering: the 1-D F(2, 3), the transform matrices, the 2-D variants,
their rejection of shapes they cannot do, and their float32 accuracy."""

import numpy as np
import pytest

from labkit.ops import winograd as W
from labkit.ops.conv import conv2d_naive_backward, conv2d_naive_forward


def rel_err(a, ref):
    return float(np.abs(a - ref).max() / np.abs(ref).max())


def test_f2_3_matches_direct_correlation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        d, g = rng.standard_normal(4), rng.standard_normal(3)
        direct = np.array([d[0:3] @ g, d[1:4] @ g])
        np.testing.assert_allclose(W.winograd_f2_3(d, g), direct, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(W.winograd_f2_3([1, 2, 3, 4], [1, 0, -1]), [-2, -2])


def test_f2_3_rejects_bad_lengths():
    with pytest.raises(ValueError, match=r"winograd_f2_3.*\(5,\)"):
        W.winograd_f2_3(np.zeros(5), np.zeros(3))


@pytest.mark.parametrize("variant", sorted(W.VARIANTS))
def test_matrices_compute_1d_correlation(variant):
    """``A^T [(G g) * (B^T d)]`` is the valid correlation of ``d`` with ``g`` (F(m, 3))."""
    m, BT, G, AT = W.VARIANTS[variant]
    assert BT.shape == (m + 2, m + 2) and G.shape == (m + 2, 3) and AT.shape == (m, m + 2)
    rng = np.random.default_rng(1)
    d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
    direct = np.array([d[i:i + 3] @ g for i in range(m)])
    np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), direct, rtol=1e-12, atol=1e-12)


def test_f4_matrices_are_lavin_gray():
    # points 0, 1, -1, 2, -2 and infinity
    np.testing.assert_array_equal(W.F4_AT[:, 1:5], [[1, 1, 1, 1], [1, -1, 2, -2],
                                                    [1, 1, 4, 4], [1, -1, 8, -8]])
    np.testing.assert_allclose(W.F4_G[3], [1 / 24, 1 / 12, 1 / 6])
    assert W.multiplication_counts("f4x3")["saving"] == 4.0
    assert W.multiplication_counts("f2x3")["saving"] == 2.25


@pytest.mark.parametrize("variant", sorted(W.VARIANTS))
@pytest.mark.parametrize("backend", W.BACKENDS)
def test_2d_functions_match_naive(variant, backend):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 11, 9, 3))
    w = rng.standard_normal((3, 3, 3, 5))
    b = rng.standard_normal(5)
    fn = W.winograd_f2x3 if variant == "f2x3" else W.winograd_f4x3
    y = fn(x, w, b, backend=backend)
    ref, _ = conv2d_naive_forward(x, w, b, (1, 1), ((1, 1), (1, 1)))
    assert rel_err(y, ref) < 1e-12


@pytest.mark.parametrize("w_shape,stride", [((5, 5, 2, 2), (1, 1)), ((3, 1, 2, 2), (1, 1)),
                                            ((1, 1, 2, 2), (1, 1)), ((3, 3, 2, 2), (2, 2)),
                                            ((3, 3, 2, 2), (1, 2))])
def test_rejects_non_3x3_or_stride(w_shape, stride):
    x = np.zeros((1, 8, 8, 2))
    with pytest.raises(ValueError) as err:
        W.conv2d_winograd_forward(x, np.zeros(w_shape), None, stride, ((1, 1), (1, 1)))
    msg = str(err.value)
    assert "conv2d_winograd_forward" in msg and "3x3 kernel with stride 1" in msg
    assert str(tuple(w_shape)) in msg and str(tuple(stride)) in msg and "(1, 8, 8, 2)" in msg


def test_rejects_unknown_variant_and_backend():
    x, w = np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1))
    with pytest.raises(ValueError, match="unknown Winograd variant 'f6x3'"):
        W.conv2d_winograd_forward(x, w, variant="f6x3")
    with pytest.raises(ValueError, match="unknown backend"):
        W.conv2d_winograd_forward(x, w, backend="cuda")
    with pytest.raises(ValueError, match="channels"):
        W.conv2d_winograd_forward(x, np.zeros((3, 3, 2, 1)))


@pytest.mark.parametrize("variant", sorted(W.VARIANTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_and_numpy_backends_agree(variant, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 13, 10, 6)).astype(dtype)
    w = rng.standard_normal((3, 3, 6, 7)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    pads = ((2, 0), (1, 3))
    outs = {}
    for backend in W.BACKENDS:
        y, cache = W.conv2d_winograd_forward(x, w, b, (1, 1), pads, variant, backend)
        dy = np.random.default_rng(5).standard_normal(y.shape).astype(dtype)
        outs[backend] = (y, *W.conv2d_winograd_backward(dy, cache))
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, ref in zip(outs["numba"], outs["numpy"]):
        assert a.dtype == dtype
        assert rel_err(a, ref) < tol


def test_threaded_result_is_deterministic():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 40, 36, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    y1, c1 = W.conv2d_winograd_forward(x, w, None, (1, 1), ((1, 1), (1, 1)))
    y2, c2 = W.conv2d_winograd_forward(x, w, None, (1, 1), ((1, 1), (1, 1)))
    np.testing.assert_array_equal(y1, y2)
    g1 = W.conv2d_winograd_backward(np.ones_like(y1), c1)
    g2 = W.conv2d_winograd_backward(np.ones_like(y2), c2)
    for a, b in zip(g1[:2], g2[:2]):
        np.testing.assert_array_equal(a, b)


def test_backward_rejects_wrong_dy():
    x, w = np.ones((1, 6, 6, 2)), np.ones((3, 3, 2, 3))
    _, cache = W.conv2d_winograd_forward(x, w, None, (1, 1), ((1, 1), (1, 1)))
    with pytest.raises(ValueError, match="conv2d_winograd_backward"):
        W.conv2d_winograd_backward(np.ones((1, 6, 6, 2)), cache)


def test_float32_error_f4_larger_than_f2():
    """EDSR-like data (He init, unit variance): both variants are accurate in float32, F(4x4)
    less so, as documented in the module docstring."""
    rng = np.random.default_rng(8)
    c = 32
    x = rng.standard_normal((2, 24, 24, c))
    w = rng.standard_normal((3, 3, c, c)) * np.sqrt(2 / (9 * c))
    ref, cache = conv2d_naive_forward(x, w, None, (1, 1), ((1, 1), (1, 1)))
    dy = rng.standard_normal(ref.shape)
    dref = conv2d_naive_backward(dy, cache)
    errs = {}
    for variant in ("f2x3", "f4x3"):
        y, c32 = W.conv2d_winograd_forward(x.astype(np.float32), w.astype(np.float32), None,
                                           (1, 1), ((1, 1), (1, 1)), variant)
        dx, dw, _ = W.conv2d_winograd_backward(dy.astype(np.float32), c32)
        errs[variant] = rel_err(y, ref)
        assert rel_err(dx, dref[0]) < 1e-5 and rel_err(dw, dref[1]) < 1e-5
    assert errs["f2x3"] < 2e-6
    assert errs["f4x3"] < 3e-5
    assert errs["f4x3"] > errs["f2x3"]


def test_filter_transform_roundtrip_adjoint():
    """``<G g G^T, dU> = <g, G^T dU G>``: the weight-gradient transform is the adjoint."""
    rng = np.random.default_rng(9)
    _, _, G, _ = W.VARIANTS["f4x3"]
    g = rng.standard_normal((3, 3, 2, 3))
    du = rng.standard_normal((36, 2, 3))
    lhs = np.sum(W.filter_transform(g, G) * du)
    rhs = np.sum(g * W.filter_gradient_transform(du, G))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


@pytest.mark.parametrize("variant", sorted(W.VARIANTS))
def test_bias_gradient_read_off_the_winograd_domain(variant):
    """Column 1 of ``A^T`` is all ones, so ``dM[1, 1] = sum(dY)`` per tile: the numba path's
    bias gradient.  Checked on odd sizes, where tiles hang over the border."""
    _, _, _, AT = W.VARIANTS[variant]
    assert np.all(AT[:, 1] == 1)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 11, 13, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    y, cache = W.conv2d_winograd_forward(x, w, np.zeros(4), (1, 1), ((1, 1), (1, 1)), variant)
    dy = rng.standard_normal(y.shape)
    _, _, db = W.conv2d_winograd_backward(dy, cache)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1, 2)), rtol=1e-12, atol=1e-12)
