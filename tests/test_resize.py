"""imresize: MATLAB semantics, checked against a line-by-line transcription of MATLAB's algorithm."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.ops.resize import KERNELS, cubic_kernel, imresize, interpolation_matrix


# ----------------------------------------------------------------------------- reference
def matlab_contributions(in_length, out_length, scale, kernel, kernel_width, antialiasing):
    """Literal, loop-based transcription of MATLAB imresize's ``contributions`` (1-based)."""
    if scale < 1 and antialiasing:
        def h(x):
            return scale * kernel(scale * x)
        kernel_width = kernel_width / scale
    else:
        h = kernel
    aux = list(range(1, in_length + 1)) + list(range(in_length, 0, -1))
    rows = []
    for x in range(1, out_length + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - kernel_width / 2)
        taps = math.ceil(kernel_width) + 2
        indices = [left + p for p in range(taps)]
        weights = [float(h(np.float64(u - i))) for i in indices]
        total = sum(weights)
        weights = [w / total for w in weights]
        indices = [aux[(i - 1) % len(aux)] for i in indices]
        rows.append(list(zip(indices, weights)))
    return rows


def matlab_resize_1d(signal, rows):
    return np.array([sum(w * signal[i - 1] for i, w in row) for row in rows])


def matlab_imresize(img, out_shape, scales, method, antialias):
    kernel, width = KERNELS[method]
    antialias = antialias and method != "nearest"
    rows_h = matlab_contributions(img.shape[0], out_shape[0], scales[0], kernel, width, antialias)
    rows_w = matlab_contributions(img.shape[1], out_shape[1], scales[1], kernel, width, antialias)
    tmp = np.stack([matlab_resize_1d(img[:, c], rows_h) for c in range(img.shape[1])], axis=1)
    return np.stack([matlab_resize_1d(tmp[r], rows_w) for r in range(tmp.shape[0])], axis=0)


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("shape,scale", [((9, 7), 0.5), ((12, 10), 1 / 3), ((5, 6), 2.0),
                                         ((7, 4), 3.0), ((11, 13), 0.7), ((8, 9), 1.6),
                                         ((3, 2), 0.25)])
def test_matches_matlab_transcription(method, antialias, shape, scale):
    rng = np.random.default_rng(0)
    img = rng.random(shape)
    out = imresize(img, scale, method=method, antialias=antialias)
    out_shape = tuple(math.ceil(n * scale - 1e-9) for n in shape)
    ref = matlab_imresize(img, out_shape, (scale, scale), method, antialias)
    assert out.shape == out_shape
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_output_shape_uses_per_axis_scale():
    rng = np.random.default_rng(1)
    img = rng.random((10, 8))
    out = imresize(img, output_shape=(7, 13))
    ref = matlab_imresize(img, (7, 13), (7 / 10, 13 / 8), "bicubic", True)
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_scale_pair():
    rng = np.random.default_rng(2)
    img = rng.random((8, 9))
    out = imresize(img, scale=(2, 0.5))
    assert out.shape == (16, 5)
    np.testing.assert_allclose(out, matlab_imresize(img, (16, 5), (2, 0.5), "bicubic", True),
                               atol=1e-12)


# ----------------------------------------------------------------------------- properties
def test_cubic_kernel_values():
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(cubic_kernel(x), [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0])


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40),
       scale=st.sampled_from([0.25, 1 / 3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0]),
       method=st.sampled_from(["bicubic", "bilinear", "nearest"]),
       value=st.floats(-10, 10, allow_nan=False))
def test_constant_stays_constant(h, w, scale, method, value):
    img = np.full((h, w), value)
    out = imresize(img, scale, method=method)
    np.testing.assert_allclose(out, value, atol=1e-10 * max(1.0, abs(value)))


@pytest.mark.parametrize("s", [2, 3, 4])
def test_rows_sum_to_one(s):
    m = interpolation_matrix(23, 23 * s, s, *KERNELS["bicubic"])
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    m = interpolation_matrix(24, 24 // s, 1 / s, *KERNELS["bicubic"])
    np.testing.assert_allclose(m.sum(axis=1), 1.0)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_linear_ramp_lands_on_pixel_centres(s):
    """Symmetric normalised kernels reproduce linear functions: LR pixel i sits at s*i + (s-1)/2."""
    n = 24 * s
    ramp = np.tile(np.arange(n, dtype=np.float64)[:, None], (1, 8))
    lr = imresize(ramp, output_shape=(n // s, 8))
    centres = s * np.arange(n // s) + (s - 1) / 2
    inner = slice(3, -3)                     # away from the mirrored borders
    np.testing.assert_allclose(lr[inner, 0], centres[inner], atol=1e-10)


def test_down_then_up_smooth_image_is_close():
    y, x = np.mgrid[0:64, 0:80] / 64.0
    img = np.sin(2 * np.pi * x) * np.cos(np.pi * y) * 0.5 + 0.5
    back = imresize(imresize(img, 0.5), 2.0)
    assert back.shape == img.shape
    assert np.abs(back - img)[4:-4, 4:-4].max() < 0.01


def test_scale_one_is_identity():
    img = np.random.default_rng(3).random((7, 9))
    np.testing.assert_allclose(imresize(img, 1.0), img, atol=1e-12)


def test_nearest_up_repeats_and_down_takes_second_of_each_pair():
    img = np.arange(12, dtype=np.float64).reshape(3, 4)
    up = imresize(img, 2, method="nearest")
    np.testing.assert_array_equal(up, np.repeat(np.repeat(img, 2, axis=0), 2, axis=1))
    big = np.arange(48, dtype=np.float64).reshape(6, 8)
    np.testing.assert_array_equal(imresize(big, 0.5, method="nearest"), big[1::2, 1::2])


@pytest.mark.parametrize("shape", [(13, 17), (195, 231), (7, 5)])
def test_odd_sizes_and_scale_three(shape):
    img = np.random.default_rng(4).random(shape)
    out = imresize(img, 1 / 3)
    assert out.shape == tuple(math.ceil(n / 3 - 1e-9) for n in shape)
    up = imresize(img, 3)
    assert up.shape == (shape[0] * 3, shape[1] * 3)


def test_195_over_3_is_65_not_66():
    assert imresize(np.zeros((195, 231)), 1 / 3).shape == (65, 77)


# ----------------------------------------------------------------------------- layouts, dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    img = np.random.default_rng(5).random((10, 12)).astype(dtype)
    out = imresize(img, 0.5)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, imresize(img.astype(np.float64), 0.5),
                               atol=1e-6 if dtype == np.float32 else 1e-14)


def test_integer_input_becomes_float32():
    assert imresize(np.ones((4, 4), dtype=np.uint8), 2).dtype == np.float32


def test_stack_and_nhwc_match_single_images():
    rng = np.random.default_rng(6)
    stack = rng.random((3, 10, 14))
    out = imresize(stack, output_shape=(5, 9))
    for n in range(3):
        np.testing.assert_allclose(out[n], imresize(stack[n], output_shape=(5, 9)), atol=1e-13)
    nhwc = rng.random((2, 10, 14, 3))
    out = imresize(nhwc, 2)
    assert out.shape == (2, 20, 28, 3) and out.flags.c_contiguous
    for n in range(2):
        for c in range(3):
            np.testing.assert_allclose(out[n, ..., c], imresize(nhwc[n, ..., c], 2), atol=1e-13)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs", [
    {},                                            # neither scale nor output_shape
    {"scale": 2, "output_shape": (4, 4)},          # both
    {"scale": 0},
    {"scale": -1.0},
    {"scale": (1, 2, 3)},
    {"scale": "big"},
    {"output_shape": (0, 3)},
    {"output_shape": 5},
    {"scale": 2, "method": "lanczos"},
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="imresize"):
        imresize(np.zeros((4, 4)), **kwargs)


@pytest.mark.parametrize("shape", [(5,), (1, 2, 3, 4, 5)])
def test_bad_rank(shape):
    with pytest.raises(ValueError, match=r"imresize.*shape"):
        imresize(np.zeros(shape), 2)


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("shape, out", [((13, 17), (26, 9)), ((3, 11, 7), (5, 21)),
                                        ((2, 9, 8, 3), (4, 3))])
def test_tap_path_equals_dense_matrices(monkeypatch, method, shape, out):
    import labkit.ops.resize as R
    x = np.random.default_rng(2).random(shape)
    dense = R.imresize(x, output_shape=out, method=method)
    monkeypatch.setattr(R, "DENSE_LIMIT_BYTES", 0)               # force the linear-memory path
    np.testing.assert_allclose(R.imresize(x, output_shape=out, method=method), dense,
                               rtol=1e-12, atol=1e-12)


def test_long_axis_does_not_allocate_quadratic_memory():
    # (1, 100000) used to ask for two dense matrices, 149 GiB in all.
    y = imresize(np.full((1, 100000), 3.0, np.float32), 2)
    assert y.shape == (2, 200000) and np.allclose(y, 3.0, atol=1e-5)


def test_huge_output_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"imresize: the output would have shape"):
        imresize(np.zeros((12, 14)), 10**5)
    with pytest.raises(ValueError, match=r"imresize: output_shape must be an int >= 1, got 2.5"):
        imresize(np.zeros((12, 14)), output_shape=(2.5, 4))
    with pytest.raises(ValueError, match=r"imresize: scale must be a number, got True"):
        imresize(np.zeros((12, 14)), True)
