"""Each numba kernel equals its pure-numpy twin (float32 and float64)."""

import itertools

import numpy as np
import pytest

from labkit.ops import _numba_kernels as nk
from labkit.ops import pooling, pooling_numba
from labkit.ops import winograd as W
from labkit.ops.conv import pad_nhwc, unpad_nhwc
from labkit.ops.im2col import col2im, col2im_numba, im2col, im2col_numba

DTYPES = [np.float32, np.float64]
GEOMETRIES = [((3, 3), (1, 1), ((1, 1), (1, 1))), ((2, 5), (2, 3), ((1, 0), (2, 2))),
              ((4, 1), (3, 1), ((0, 3), (0, 0))), ((1, 1), (2, 2), ((0, 0), (0, 0)))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride,pads", GEOMETRIES)
def test_im2col_and_col2im(dtype, kernel, stride, pads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 11, 3)).astype(dtype)
    cols_ref = im2col(pad_nhwc(x, pads), kernel, stride)
    cols = im2col_numba(x, kernel, stride, pads)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, cols_ref)
    d = rng.standard_normal(cols.shape).astype(dtype)
    padded = (2, 9 + sum(pads[0]), 11 + sum(pads[1]), 3)
    ref = unpad_nhwc(col2im(d, padded, kernel, stride), pads)
    got = col2im_numba(d, x.shape, kernel, stride, pads)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-13)


def test_col2im_numba_rejects_wrong_shape():
    with pytest.raises(ValueError, match="col2im_numba"):
        col2im_numba(np.zeros((5, 9)), (1, 4, 4, 1), (3, 3))


POOLS = [((2, 2), (2, 2), ((0, 0), (0, 0))), ((3, 3), (1, 1), ((1, 1), (1, 1))),
         ((3, 2), (2, 1), ((1, 0), (0, 1))), ((2, 2), (2, 2), ((1, 1), (1, 1)))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size,stride,pads", POOLS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(dtype, size, stride, pads, kind):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 9, 3)).astype(dtype)
    fwd, bwd = getattr(pooling, f"{kind}pool_forward"), getattr(pooling, f"{kind}pool_backward")
    fwd_nb = getattr(pooling_numba, f"{kind}pool_forward")
    bwd_nb = getattr(pooling_numba, f"{kind}pool_backward")
    y, cache = fwd(x, size, stride, pads)
    y_nb, cache_nb = fwd_nb(x, size, stride, pads)
    assert y_nb.dtype == dtype
    if kind == "max":          # a selection: both paths pick the same element, bit for bit
        np.testing.assert_array_equal(y_nb, y)
    else:                      # sums in different orders: equal only to rounding
        tol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(y_nb, y, rtol=tol, atol=tol)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = bwd(dy, cache)
    np.testing.assert_allclose(bwd_nb(dy, cache_nb), dx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bwd(dy, cache_nb), dx, rtol=1e-6, atol=1e-6)  # same caches


def test_pooling_numba_checks_args():
    with pytest.raises(ValueError, match="maxpool_forward"):
        pooling_numba.maxpool_forward(np.zeros((1, 2, 2, 1)), (3, 3), (1, 1))


def chunk_layout(v, a):
    """numpy path's ``(a*a, T, C)`` -> the numba kernels' chunk layout ``(a, T, a, C)``."""
    return np.ascontiguousarray(v.reshape(a, a, v.shape[1], v.shape[2]).transpose(0, 2, 1, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [(1, 1), (0, 0), (2, -1), (-2, 3)])
def test_winograd_input_transforms(dtype, offset):
    """Generic and F(4x4)-specialised input transforms equal the numpy einsum."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 11, 4)).astype(dtype)
    tiles = (3, 3)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-13}
    for variant, (m, BT, _, _) in W.VARIANTS.items():
        a = m + 2
        ref = W.tile_transform(x, BT, m, offset, tiles)           # (a*a, T, C)
        T = ref.shape[1]
        ref = chunk_layout(ref, a)                                # (a, T, a, C)
        out = np.empty_like(ref)
        nk.winograd_tiles_generic(x, BT.astype(dtype), m, offset[0], offset[1], *tiles, 0, T,
                                  W._merged(out))
        np.testing.assert_allclose(out, ref, **tol)
        if variant == "f4x3":
            for lo, hi in [(0, T), (5, T), (2, 7), (3, 6), (4, 5)]:   # sub-ranges of tiles
                out2 = np.empty((a, hi - lo, a, 4), dtype)
                nk.winograd_f4_input(x, W._consts(dtype), offset[0], offset[1], *tiles, lo, hi,
                                     W._merged(out2))
                np.testing.assert_allclose(out2, ref[:, lo:hi], **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_output_and_gradient_transforms(dtype):
    rng = np.random.default_rng(3)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-13}
    out_shape = (2, 7, 10, 3)
    for variant, (m, _, _, AT) in W.VARIANTS.items():
        a = m + 2
        tiles = (-(-7 // m), -(-10 // m))
        T = 2 * tiles[0] * tiles[1]
        M = rng.standard_normal((a * a, T, 3)).astype(dtype)
        bias = rng.standard_normal(3).astype(dtype)
        ref = W.output_transform(M, AT, bias, tiles, out_shape)
        M = chunk_layout(M, a)
        y = np.empty(out_shape, dtype)
        res = rng.standard_normal(out_shape).astype(dtype)
        none = W._no_residual(y)
        nk.winograd_output_generic(W._merged(M), AT.astype(dtype), bias, *tiles, 0, T, y, False,
                                   none, False)
        np.testing.assert_allclose(y, ref, **tol)
        nk.winograd_output_generic(W._merged(M), AT.astype(dtype), bias, *tiles, 0, T, y, True,
                                   none, False)
        np.testing.assert_allclose(y, np.maximum(ref, 0), **tol)      # the fused ReLU
        nk.winograd_output_generic(W._merged(M), AT.astype(dtype), bias, *tiles, 0, T, y, True,
                                   res, True)
        np.testing.assert_allclose(y, np.maximum(ref + res, 0), **tol)   # and the residual
        dy = rng.standard_normal(out_shape).astype(dtype)
        gref = chunk_layout(W.tile_transform(dy, AT.T, m, (0, 0), tiles), a)
        g = np.empty_like(gref)
        nk.winograd_tiles_generic(dy, AT.T.astype(dtype), m, 0, 0, *tiles, 0, T, W._merged(g))
        np.testing.assert_allclose(g, gref, **tol)
        if variant == "f4x3":
            for relu, add in [(False, False), (True, False), (False, True), (True, True)]:
                y2 = np.empty(out_shape, dtype)
                for lo, hi in [(0, 5), (5, 9), (9, T)]:             # the tiles in three ranges
                    sub = np.ascontiguousarray(M[:, lo:hi])
                    nk.winograd_f4_output(W._merged(sub), W._consts(dtype), bias, *tiles, lo, hi,
                                          y2, relu, res if add else none, add)
                expect = ref + res if add else ref
                np.testing.assert_allclose(y2, np.maximum(expect, 0) if relu else expect, **tol)
            for lo, hi in [(0, T), (1, 8), (6, 7)]:
                g2 = np.empty((a, hi - lo, a, 3), dtype)
                nk.winograd_f4_gradient(dy, W._consts(dtype), *tiles, lo, hi, W._merged(g2))
                np.testing.assert_allclose(g2, gref[:, lo:hi], **tol)


def test_thread_plan_covers_tiles_once():
    for n_tiles, c_in, c_out in [(1, 1, 1), (17, 64, 64), (2304, 32, 32), (5000, 64, 256)]:
        chunk, parts = W._plan(n_tiles, c_in, c_out)
        if n_tiles == 2304 and W._num_threads() == 2:
            assert -(-n_tiles // chunk) == 10        # 9 chunks of 256 would leave one thread 5
        assert 1 <= chunk <= 256
        if n_tiles >= 16 * W._num_threads():
            assert chunk >= 16
        assert parts[0][0] == 0 and parts[-1][1] == n_tiles
        assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size, stride, pads", [((2, 2), (2, 2), ((0, 0), (0, 0))),
                                                ((3, 3), (1, 1), ((1, 1), (1, 1))),
                                                ((3, 2), (2, 1), ((1, 0), (0, 1)))])
def test_maxpool_nan_windows_agree(dtype, size, stride, pads):
    # A NaN in a window makes that output NaN on both paths (numpy's argmax picks the first
    # NaN), and the gradient goes to that NaN pixel on both paths.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 6, 3)).astype(dtype)
    x[rng.random(x.shape) < 0.08] = np.nan
    x[0, 0, 0, 0] = np.nan
    y_np, c_np = pooling.maxpool_forward(x, size, stride, pads)
    y_nb, c_nb = pooling_numba.maxpool_forward(x, size, stride, pads)
    np.testing.assert_array_equal(np.isnan(y_np), np.isnan(y_nb))
    assert np.isnan(y_np).any() and not np.isnan(y_np).all()
    np.testing.assert_allclose(y_nb[~np.isnan(y_nb)], y_np[~np.isnan(y_np)], rtol=0, atol=0)
    np.testing.assert_array_equal(c_np[1], c_nb[1])          # same winning taps
    dy = rng.standard_normal(y_np.shape).astype(dtype)
    np.testing.assert_allclose(pooling_numba.maxpool_backward(dy, c_nb),
                               pooling.maxpool_backward(dy, c_np), rtol=1e-6, atol=1e-6)


def test_maxpool_nan_example_from_the_issue():
    x = np.array([1, np.nan, 2, 3], np.float32).reshape(1, 2, 2, 1)
    for mod in (pooling, pooling_numba):
        assert np.isnan(mod.maxpool_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))[0]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["torch", "tf"])
@pytest.mark.parametrize("shape,r", [((2, 3, 5, 12), 2), ((1, 4, 3, 18), 3), ((3, 1, 2, 32), 4),
                                     ((1, 2, 2, 5), 1)])
def test_pixel_shuffle_numba_equals_numpy(dtype, order, shape, r):
    from labkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    y = pixel_shuffle(x, r, order, backend="numpy")
    got = pixel_shuffle(x, r, order, backend="numba")
    assert got.dtype == dtype and got.shape == y.shape
    np.testing.assert_array_equal(got, y)             # a permutation: exact
    back = pixel_unshuffle(y, r, order, backend="numba")
    np.testing.assert_array_equal(back, pixel_unshuffle(y, r, order, backend="numpy"))
    np.testing.assert_array_equal(back, x)
    # a non-contiguous input gives the same result
    xt = np.asfortranarray(x)
    np.testing.assert_array_equal(pixel_shuffle(xt, r, order, backend="numba"), y)


def test_pixel_shuffle_backend_is_checked():
    from labkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
    with pytest.raises(ValueError, match="pixel_shuffle: unknown backend"):
        pixel_shuffle(np.zeros((1, 2, 2, 4)), 2, backend="cuda")
    with pytest.raises(ValueError, match="pixel_unshuffle: unknown backend"):
        pixel_unshuffle(np.zeros((1, 2, 2, 4)), 2, backend="cuda")


def test_pixel_shuffle_on_the_worker_pool_equals_numpy():
    """Large enough that the rows are cut into pieces for several worker threads."""
    from labkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
    from labkit.ops.workers import run_ranges
    x = np.random.default_rng(4).standard_normal((4, 64, 64, 16)).astype(np.float32)
    for order in ("torch", "tf"):
        y = pixel_shuffle(x, 2, order, backend="numba")
        np.testing.assert_array_equal(y, pixel_shuffle(x, 2, order, backend="numpy"))
        np.testing.assert_array_equal(pixel_unshuffle(y, 2, order, backend="numba"), x)
    seen = np.zeros(1000, dtype=np.int64)

    def mark(out, lo, hi):
        out[lo:hi] += 1

    run_ranges(mark, 1000, seen, grain=7)
    assert np.all(seen == 1)                 # every index exactly once
