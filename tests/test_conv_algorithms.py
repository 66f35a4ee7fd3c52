"""Every convolution algorithm equals the naive direct sum (float64, 1e-10 relative), forward
and all three gradients, on random shapes, odd sizes, strides and non-square kernels."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.ops.conv import (
    ALGORITHMS,
    conv2d,
    conv2d_backward,
    conv2d_forward,
    conv2d_naive_backward,
    conv2d_naive_forward,
    resolve_padding,
)
from labkit.ops.conv_direct import conv2d_direct_backward, conv2d_direct_forward
from labkit.ops.conv_select import choose_algorithm, winograd_applicable
from labkit.ops.im2col import conv2d_im2col_backward, conv2d_im2col_forward
from labkit.ops.winograd import conv2d_winograd_backward, conv2d_winograd_forward

TOL = 1e-10


def rel_err(a, ref):
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-300))


def problem(rng, n, h, w, c_in, c_out, kh, kw, dtype=np.float64):
    x = rng.standard_normal((n, h, w, c_in)).astype(dtype)
    wt = rng.standard_normal((kh, kw, c_in, c_out)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, wt, b


def implementations(kernel, stride):
    """(name, forward, backward) of every algorithm/backend valid for this kernel and stride."""
    impls = [
        ("im2col-numba", lambda *a: conv2d_im2col_forward(*a, backend="numba"),
         conv2d_im2col_backward),
        ("im2col-numpy", lambda *a: conv2d_im2col_forward(*a, backend="numpy"),
         conv2d_im2col_backward),
    ]
    if tuple(stride) == (1, 1):
        for backend in ("numba", "numpy"):
            impls.append((f"direct-{backend}",
                          lambda *a, be=backend: conv2d_direct_forward(*a, backend=be),
                          conv2d_direct_backward))
    if tuple(kernel) == (3, 3) and tuple(stride) == (1, 1):
        for variant in ("f2x3", "f4x3"):
            for backend in ("numba", "numpy"):
                impls.append((f"winograd-{variant}-{backend}",
                              lambda *a, v=variant, be=backend: conv2d_winograd_forward(
                                  *a, variant=v, backend=be),
                              conv2d_winograd_backward))
    return impls


def check_against_naive(x, w, b, stride, pads):
    y_ref, cache_ref = conv2d_naive_forward(x, w, b, stride, pads)
    dy = np.random.default_rng(7).standard_normal(y_ref.shape)
    grads_ref = conv2d_naive_backward(dy, cache_ref)
    for name, fwd, bwd in implementations(w.shape[:2], stride):
        y, cache = fwd(x, w, b, stride, pads)
        assert y.shape == y_ref.shape, name
        assert rel_err(y, y_ref) < TOL, (name, "y", rel_err(y, y_ref))
        grads = bwd(dy, cache)
        for label, g, g_ref in zip(("dx", "dw", "db"), grads, grads_ref):
            if g_ref is None:
                assert g is None, (name, label)
                continue
            assert g.shape == g_ref.shape, (name, label)
            assert rel_err(g, g_ref) < TOL, (name, label, rel_err(g, g_ref))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 2), h=st.integers(1, 11), w=st.integers(1, 11), c_in=st.integers(1, 4),
       c_out=st.integers(1, 4), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 3), pw=st.integers(0, 3),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_random_shapes_match_naive(n, h, w, c_in, c_out, kh, kw, sh, sw, ph, pw, bias, seed):
    if kh > h + 2 * ph or kw > w + 2 * pw:
        return                                   # kernel larger than the padded input
    rng = np.random.default_rng(seed)
    x, wt, b = problem(rng, n, h, w, c_in, c_out, kh, kw)
    check_against_naive(x, wt, b if bias else None, (sh, sw), ((ph, ph), (pw, pw)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 2), h=st.integers(1, 13), w=st.integers(1, 13), c_in=st.integers(1, 5),
       c_out=st.integers(1, 5), pads=st.tuples(*[st.integers(0, 4)] * 4), seed=st.integers(0, 999))
def test_random_3x3_stride1_match_naive(n, h, w, c_in, c_out, pads, seed):
    """The Winograd variants on odd sizes and asymmetric, even over-large, padding."""
    pt, pb, pl, pr = pads
    if 3 > h + pt + pb or 3 > w + pl + pr:
        return
    rng = np.random.default_rng(seed)
    x, wt, b = problem(rng, n, h, w, c_in, c_out, 3, 3)
    check_against_naive(x, wt, b, (1, 1), ((pt, pb), (pl, pr)))


@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((2, 17, 13, 3), (3, 3), (1, 1), "same"),       # odd sizes: partial Winograd tiles
    ((1, 9, 9, 2), (3, 3), (1, 1), "valid"),
    ((2, 10, 7, 3), (2, 5), (1, 2), "same"),        # non-square kernel, mixed stride
    ((1, 12, 12, 4), (5, 3), (3, 2), 2),
    ((2, 8, 8, 3), (1, 1), (1, 1), "valid"),        # 1x1: im2col is just a GEMM
    ((1, 7, 5, 2), (4, 4), (2, 2), "same"),         # even kernel, asymmetric 'same' padding
])
def test_fixed_cases_match_naive(shape, kernel, stride, padding):
    rng = np.random.default_rng(3)
    x, wt, b = problem(rng, *shape, 4, *kernel)
    pads = resolve_padding(padding, kernel, stride, shape[1:3])
    check_against_naive(x, wt, b, stride, pads)


def test_edsr_like_shape_float64():
    rng = np.random.default_rng(5)
    x, wt, b = problem(rng, 2, 24, 20, 16, 24, 3, 3)
    check_against_naive(x, wt, b, (1, 1), ((1, 1), (1, 1)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_dispatcher_float32_close_to_float64(algorithm):
    rng = np.random.default_rng(11)
    x, wt, b = problem(rng, 2, 14, 11, 8, 6, 3, 3)
    y64, _ = conv2d_forward(x, wt, b, (1, 1), ((1, 1), (1, 1)), "naive")
    y32, cache = conv2d_forward(x.astype(np.float32), wt.astype(np.float32),
                                b.astype(np.float32), (1, 1), ((1, 1), (1, 1)), algorithm)
    assert y32.dtype == np.float32
    assert rel_err(y32, y64) < 1e-5
    dx, dw, db = conv2d_backward(np.ones_like(y32), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    assert cache[0] == algorithm


def test_dispatcher_rejects_unknown_algorithm():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match="unknown algorithm"):
        conv2d_forward(x, np.zeros((3, 3, 1, 1)), None, (1, 1), ((1, 1), (1, 1)), "fft")


def test_conv2d_convenience_winograd_rejects_stride():
    x = np.zeros((1, 8, 8, 2))
    with pytest.raises(ValueError, match=r"3x3 kernel with stride 1.*\(2, 2\)"):
        conv2d(x, np.zeros((3, 3, 2, 2)), stride=2, padding="same", algorithm="winograd")


# ----------------------------------------------------------------------------- auto


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 200), c_in=st.integers(1, 300), c_out=st.integers(1, 300),
       k=st.sampled_from([(1, 1), (3, 3), (5, 5), (3, 1), (2, 2)]),
       stride=st.sampled_from([(1, 1), (2, 2), (1, 2)]), n=st.integers(1, 32))
def test_choose_algorithm_always_valid(h, c_in, c_out, k, stride, n):
    pads = resolve_padding("same", k, stride, (h, h))
    algo = choose_algorithm((n, h, h, c_in), (*k, c_in, c_out), stride, pads, np.float32)
    assert algo in ALGORITHMS
    if algo == "winograd":
        assert winograd_applicable((*k, c_in, c_out), stride)


def test_choose_algorithm_edsr_shapes():
    same = ((1, 1), (1, 1))
    for size in (48, 96):
        x64 = (16, size, size, 64)
        assert choose_algorithm(x64, (3, 3, 64, 64), (1, 1), same) == "winograd"
        assert choose_algorithm(x64, (3, 3, 64, 256), (1, 1), same) == "winograd"
        assert choose_algorithm((16, size, size, 1), (3, 3, 1, 64), (1, 1), same) == "direct"
        assert choose_algorithm(x64, (3, 3, 64, 1), (1, 1), same) == "direct"
        assert choose_algorithm(x64, (5, 5, 64, 1), (1, 1), same) == "direct"
        assert choose_algorithm((16, size, size, 1), (9, 9, 1, 64), (1, 1), same) == "im2col"
        assert choose_algorithm(x64, (3, 3, 64, 1), (2, 2), same) == "im2col"
        assert choose_algorithm(x64, (3, 3, 64, 4), (1, 1), same) == "winograd"
        assert choose_algorithm(x64, (5, 5, 64, 64), (1, 1), same) == "im2col"
        assert choose_algorithm(x64, (3, 3, 64, 64), (2, 2), same) == "im2col"
    assert choose_algorithm((1, 16, 16, 64), (3, 3, 64, 64), (1, 1), same) == "im2col"  # 16 tiles


@pytest.mark.parametrize("c_in,c_out", [(1, 32), (32, 1), (1, 1), (3, 5), (6, 2)])
def test_direct_numba_matches_numpy_float32(c_in, c_out):
    """The compiled kernels (broadcast, GEMM + shift-add, both weight gradients) against the
    naive numpy path in float32, on a shape with border rows in every task."""
    rng = np.random.default_rng(c_in * 7 + c_out)
    x, w, b = problem(rng, 3, 13, 11, c_in, c_out, 3, 3, np.float32)
    out = {}
    for backend in ("numba", "numpy"):
        y, cache = conv2d_direct_forward(x, w, b, (1, 1), ((1, 1), (1, 1)), backend=backend)
        dy = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
        out[backend] = (y, *conv2d_direct_backward(dy, cache))
    for got, ref in zip(out["numba"], out["numpy"]):
        assert got.dtype == np.float32
        assert rel_err(got, ref) < 1e-5


@pytest.mark.parametrize("stride", [(2, 2), (1, 2)])
def test_direct_rejects_stride(stride):
    x, w, b = problem(np.random.default_rng(0), 1, 6, 6, 1, 2, 3, 3)
    with pytest.raises(ValueError, match="conv2d_direct_forward.*stride"):
        conv2d_direct_forward(x, w, b, stride, ((1, 1), (1, 1)))
    layers = pytest.importorskip("labkit.layers", reason="labkit.layers is not available")
    with pytest.raises(ValueError, match="Conv2D.*direct.*stride"):
        layers.Conv2D(1, 2, 3, stride=stride, algorithm="direct")


def test_direct_rejects_bad_input():
    rng = np.random.default_rng(0)
    x, w, b = problem(rng, 1, 6, 6, 2, 1, 3, 3)
    with pytest.raises(ValueError, match="conv2d_direct_forward"):
        conv2d_direct_forward(x[..., :1], w, b, (1, 1), ((1, 1), (1, 1)))
    with pytest.raises(ValueError, match="conv2d_direct_forward"):
        conv2d_direct_forward(x, w, b, (1, 1), ((1, 1), (1, 1)), backend="cuda")
    _, cache = conv2d_direct_forward(x, w, b, (1, 1), ((1, 1), (1, 1)))
    with pytest.raises(ValueError, match="conv2d_direct_backward"):
        conv2d_direct_backward(np.zeros((1, 6, 6, 2)), cache)


def test_choose_algorithm_rejects_bad_shapes():
    with pytest.raises(ValueError, match="choose_algorithm"):
        choose_algorithm((4, 4, 1), (3, 3, 1, 1), (1, 1), ((1, 1), (1, 1)))


def test_conv2d_layer_auto_matches_naive():
    layers = pytest.importorskip("labkit.layers", reason="labkit.layers is not available")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 12, 10, 8))
    outputs = {}
    for algorithm in ("auto", "naive", "im2col", "winograd", "direct"):
        layer = layers.Conv2D(8, 8, 3, algorithm=algorithm, seed=0, dtype=np.float64)
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        outputs[algorithm] = (y, dx, layer.grads["w"], layer.grads["b"])
    for algorithm in ("auto", "im2col", "winograd"):
        for got, ref in zip(outputs[algorithm], outputs["naive"]):
            assert rel_err(got, ref) < TOL, algorithm


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_fused_residual_and_relu_match_separate_passes(algorithm):
    """conv2d_forward(residual=r, relu=True) is max(0, conv + r) for every algorithm (Winograd
    in its output transform, on border tiles too); the bad shape is refused."""
    from labkit.ops.conv import conv2d_forward
    rng = np.random.default_rng(5)
    x, w, b = problem(rng, 2, 9, 11, 3, 4, 3, 3)
    pads = ((1, 1), (1, 1))
    r = rng.standard_normal((2, 9, 11, 4))
    y, _ = conv2d_forward(x, w, b, (1, 1), pads, "naive")
    for relu in (False, True):
        got, _ = conv2d_forward(x, w, b, (1, 1), pads, algorithm, relu=relu, residual=r)
        assert rel_err(got, np.maximum(y + r, 0) if relu else y + r) < 1e-10
    with pytest.raises(ValueError, match="residual"):
        conv2d_forward(x, w, b, (1, 1), pads, algorithm, residual=r[:, :8])
