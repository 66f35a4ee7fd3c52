"""Cook-Toom construction of the Winograd transforms (``winograd_matrices``) and the
addition counts of the transforms (``transform_additions``)."""

from fractions import Fraction

import numpy as np
import pytest

from labkit.ops import winograd as W

CONFIGS = [  # (m, r, finite points)
    (2, 3, [0, 1, -1]),
    (4, 3, [0, 1, -1, 2, -2]),
    (6, 3, [0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)]),
    (3, 2, [0, 1, -1]),
    (2, 2, [0, 1]),
    (1, 3, [0, 1]),
    (3, 3, [0, 1, -1, 0.5]),
    (1, 1, []),
]


def _scaling(ours, theirs, axis):
    """The factors s with theirs = s * ours along ``axis`` (rows: 1, columns: 0), or None."""
    ours, theirs = np.moveaxis(ours, axis, 0), np.moveaxis(theirs, axis, 0)
    s = []
    for a, b in zip(ours, theirs):
        k = np.flatnonzero(a)[0]
        s.append(b[k] / a[k])
        if not np.allclose(b, s[-1] * a, rtol=1e-14, atol=1e-15):
            return None
    return np.array(s)


@pytest.mark.parametrize("m, r, points", CONFIGS)
def test_matrices_compute_1d_and_2d_correlation(m, r, points):
    AT, G, BT = W.winograd_matrices(m, r, points)
    n = m + r - 1
    assert AT.shape == (m, n) and G.shape == (n, r) and BT.shape == (n, n)
    rng = np.random.default_rng(m * 10 + r)
    for _ in range(5):
        d, g = rng.standard_normal(n), rng.standard_normal(r)
        direct = np.array([d[i:i + r] @ g for i in range(m)])
        np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), direct, rtol=1e-10, atol=1e-10)
        d2, g2 = rng.standard_normal((n, n)), rng.standard_normal((r, r))
        direct2 = np.array([[np.sum(d2[i:i + r, j:j + r] * g2) for j in range(m)]
                            for i in range(m)])
        y2 = AT @ ((G @ g2 @ G.T) * (BT @ d2 @ BT.T)) @ AT.T
        np.testing.assert_allclose(y2, direct2, rtol=1e-9, atol=1e-9)


def test_f4_3_is_labkits_exactly():
    AT, G, BT = W.winograd_matrices(4, 3, [0, 1, -1, 2, -2])
    np.testing.assert_array_equal(AT, W.F4_AT)
    np.testing.assert_array_equal(BT, W.F4_BT)
    np.testing.assert_allclose(G, W.F4_G, rtol=1e-15, atol=0)


def test_f2_3_is_labkits_up_to_signs():
    """Lavin & Gray's F(2, 3) flips the signs of point 0 (a row of B^T and of G) and of
    infinity (a row of B^T and a column of A^T): a diagonal rescaling whose factors multiply
    to 1 for every point, so the same products come out."""
    AT, G, BT = W.winograd_matrices(2, 3, [0, 1, -1])
    s_b = _scaling(BT, W.F2_BT, axis=0)
    s_g = _scaling(G, W.F2_G, axis=0)
    s_a = _scaling(AT, W.F2_AT, axis=1)
    assert s_b is not None and s_g is not None and s_a is not None
    np.testing.assert_allclose(s_b * s_g * s_a, 1.0)
    np.testing.assert_array_equal(s_b, [-1, 1, 1, -1])
    np.testing.assert_array_equal(s_g, [-1, 1, 1, 1])
    np.testing.assert_array_equal(s_a, [1, 1, 1, -1])


def test_integer_points_give_integer_data_and_output_transforms():
    AT, _, BT = W.winograd_matrices(6, 3, [0, 1, -1, 2, -2, 3, -3])
    assert np.array_equal(BT, np.round(BT)) and np.array_equal(AT, np.round(AT))
    assert np.abs(BT).max() > np.abs(W.F4_BT).max()        # larger tiles: larger entries


def test_float_and_fraction_points_agree():
    a = W.winograd_matrices(6, 3, [0, 1, -1, 2, -2, 0.5, -0.5])
    b = W.winograd_matrices(6, 3, [0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("m, r, points, match", [
    (2, 3, [0, 1], r"needs m \+ r - 2 = 3 finite points"),
    (2, 3, [0, 1, 1], "distinct"),
    (2, 3, [0, 1, float("inf")], "finite"),
    (2, 3, [0, 1, "a"], "finite"),
    (0, 3, [0], "m must be"),
    (2, True, [0, 1], "r must be"),
])
def test_bad_arguments_raise(m, r, points, match):
    with pytest.raises(ValueError, match=match):
        W.winograd_matrices(m, r, points)


def test_transform_additions():
    f2 = W.transform_additions("f2x3")
    # 1-D: d0 - d2, d1 + d2, d2 - d1, d1 - d3; y0 = m1 + m2 + m3, y1 = m2 - m3 - m4
    assert (f2["data_1d"], f2["output_1d"], f2["direct_1d"]) == (4, 4, 4)
    # 2-D: Lavin & Gray's 32 additions (data) and 24 (output) per F(2x2, 3x3) tile
    assert (f2["data_2d"], f2["output_2d"], f2["direct_2d"]) == (32, 24, 32)
    f4 = W.transform_additions("f4x3")
    assert f4["data_1d"] == sum(np.count_nonzero(row) - 1 for row in W.F4_BT)
    assert f4["data_2d"] == 12 * f4["data_1d"] and f4["output_2d"] == 10 * f4["output_1d"]
    with pytest.raises(ValueError, match="unknown Winograd variant"):
        W.transform_additions("f6x3")
