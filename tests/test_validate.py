"""The shared argument checks of labkit._validate (used by ops, layers, data, widgets, CLI)."""

import numpy as np
import pytest

from labkit._validate import (
    as_pair,
    check_alloc,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from labkit.ops import geometry as G


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 1.0, "1", None, [1]])
def test_bools_and_non_ints_are_never_sizes(value):
    with pytest.raises(ValueError, match=r"^Thing: n must be an int"):
        check_int(value, "n", "Thing", min=1)


def test_check_int_bounds_and_numpy_ints():
    assert check_int(np.int64(3), "n", "T", min=1, max=3) == 3
    assert type(check_int(np.int32(2), "n", "T")) is int
    with pytest.raises(ValueError, match=r"^T: n must be an int >= 1, got 0"):
        check_int(0, "n", "T", min=1)
    with pytest.raises(ValueError, match=r"^T: n must be an int <= 3, got 4"):
        check_int(4, "n", "T", max=3)


def test_check_float():
    assert check_float(2, "lr", "T") == 2.0
    for bad in (True, "a", None, [0.1], float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^T: lr must be"):
            check_float(bad, "lr", "T")
    assert check_float(float("inf"), "x", "T", finite=False) == float("inf")
    with pytest.raises(ValueError, match=r"^T: b must be < 1"):
        check_float(1.0, "b", "T", max=1.0, max_open=True)
    with pytest.raises(ValueError, match=r"^T: e must be > 0"):
        check_float(0.0, "e", "T", min=0.0, min_open=True)


def test_check_choice_bool_seed():
    assert check_choice("a", "kind", "T", ("a", "b")) == "a"
    assert check_choice(np.int64(2), "scale", "T", [2, 3, 4]) == 2
    for bad, choices in (("A", ("a",)), (None, ("a",)), (["a"], ("a",)), (True, (1, 2)),
                         ("2", (2, 3))):
        with pytest.raises(ValueError, match=r"^T: unknown kind"):
            check_choice(bad, "kind", "T", choices)
    assert check_bool(np.bool_(False), "flag", "T") is False
    with pytest.raises(ValueError, match=r"^T: flag must be True or False, got 1"):
        check_bool(1, "flag", "T")
    assert check_seed(None, owner="T") is None and check_seed(2**32 - 1, owner="T") == 2**32 - 1
    for bad in (-1, 2**32, 1.5, "a", True):
        with pytest.raises(ValueError, match=r"^T: seed must be None or an int in \[0, 2\*\*32\)"):
            check_seed(bad, owner="T")


def test_as_pair_and_check_array():
    assert as_pair(3, "k", "T") == (3, 3) and as_pair((2, np.int64(5)), "k", "T") == (2, 5)
    for bad in (True, (1, True), (1, 2, 3), "33", 1.5, None):
        with pytest.raises(ValueError, match=r"^T: k must be an int or a pair"):
            as_pair(bad, "k", "T")
    with pytest.raises(ValueError, match=r"^T: k must be >= 1"):
        as_pair((0, 1), "k", "T", min=1)
    assert check_array(np.arange(3), "T").dtype == np.float32
    assert check_array(np.arange(3), "T", int_dtype=np.float64).dtype == np.float64
    for arr in (np.array(["a"]), np.array([None], dtype=object), np.ones(2, complex)):
        with pytest.raises(ValueError, match=r"^T: expected a float input"):
            check_array(arr, "T")
    with pytest.raises(ValueError, match=r"^T: input is not an array"):
        check_array([[1, 2], [3]], "T")
    with pytest.raises(ValueError, match=r"^T: input is empty"):
        check_array(np.zeros((0, 3)), "T", nonempty=True)


def test_check_alloc_names_owner_and_sizes():
    check_alloc((1000, 1000), "T")
    with pytest.raises(ValueError, match=r"^T: the matrix would have shape \(100000, 100000\) "
                                         r"\(74.5 GiB\)"):
        check_alloc((100000, 100000), "T", "matrix")


@pytest.mark.parametrize("n", range(1, 14))
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_same_padding_gives_ceil_and_formula(n, k, s):
    pads = G.resolve_padding("same", (k, k), (s, s), (n, n))
    assert G.output_hw((n, n), (k, k), (s, s), pads) == (-(-n // s),) * 2
    (t, b), _ = pads
    assert 0 <= b - t <= 1                    # the odd pixel goes to the bottom/right
    p = 1
    assert G.conv_output_size(n, k, s, 2 * p) == (n + 2 * p - k) // s + 1
