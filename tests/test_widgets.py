"""Widget factories driven headless: set control values, check state, arrays and figure data;
invalid combinations give a message, never an exception; hypothesis sweeps of every control
space; no figure accumulation."""

import gc
import weakref

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.ops import pooling as P
from labkit.ops.filters import KERNELS, filter2d
from labkit.ops.im2col import im2col
from labkit.viz.style import panel_axes
from labkit.widgets import (
    convolution_explorer,
    degradation_explorer,
    im2col_explorer,
    pooling_explorer,
    sr_viewer,
    volume_viewer,
)

SWEEP = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])
# Multi-panel explorers take ~0.3 s per render: fewer examples keep the suite under a minute.
HEAVY_SWEEP = settings(SWEEP, max_examples=20)


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:24, :24]
    disc = ((xx - 12) ** 2 + (yy - 11) ** 2 < 60).astype(float)
    return np.stack([disc * (0.6 + 0.1 * k) + 0.05 * rng.random((24, 24)) for k in range(3)])


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(8)
    return rng.random((10, 12, 14)).astype(np.float32)


def shown(state, label, k=0):
    return np.asarray(panel_axes(state.figure)[label].images[k].get_array())


def assert_png(state):
    assert state.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def sliders_release_only(state):
    for c in state.controls.values():
        if hasattr(c, "continuous_update"):
            assert c.continuous_update is False, c.description


# ----------------------------------------------------------------------------- pooling

def test_pooling_explorer_headless(stack):
    ui, state = pooling_explorer(stack)
    assert ui is state.ui
    sliders_release_only(state)
    assert set(state.controls) == {"kind", "size", "stride", "padding", "slice"}
    assert state.error is None and state.renders == 1
    assert_png(state)
    png0 = state.image.value
    state.controls["size"].value = 3
    state.controls["stride"].value = 1
    state.controls["padding"].value = 1
    state.controls["slice"].value = 2
    state.controls["kind"].value = "avg"
    assert state.error is None and state.renders == 6
    assert state.image.value != png0
    x = stack[2][None, :, :, None]
    y, cache = P.avgpool_forward(x, (3, 3), (1, 1), ((1, 1), (1, 1)))
    dx = P.avgpool_backward(np.ones_like(y), cache)
    np.testing.assert_allclose(state.arrays["output"], y[0, :, :, 0])
    np.testing.assert_allclose(state.arrays["dx"], dx[0, :, :, 0])
    np.testing.assert_allclose(shown(state, "output"), y[0, :, :, 0])
    np.testing.assert_allclose(shown(state, "backward"), dx[0, :, :, 0])


def test_pooling_explorer_invalid_shows_message(stack):
    _, state = pooling_explorer(stack[0])
    assert state.controls["slice"].disabled
    good = state.figure
    state.set(size=2, padding=2)                    # padding >= size
    assert state.error is not None and "padding" in state.error
    assert "padding" in state.message.value and "color:#b00020" in state.message.value
    assert state.figure is good                     # last valid figure kept
    state.set(padding=0)
    assert state.error is None and state.message.value.find("b00020") < 0
    _, state = pooling_explorer(np.ones((3, 3)), size=2, stride=2)
    state.set(size=5, padding=0)                    # window larger than the image
    assert "larger than the padded input" in state.error


def test_set_renders_once(stack):
    _, state = pooling_explorer(stack)
    n = state.renders
    state.set(size=4, stride=3, padding=1, kind="avg")
    assert state.renders == n + 1
    with pytest.raises(ValueError, match="unknown controls"):
        state.set(colour=3)


@HEAVY_SWEEP
@given(kind=st.sampled_from(["max", "avg"]), size=st.integers(1, 8), stride=st.integers(1, 8),
       padding=st.integers(0, 4), sl=st.integers(0, 2))
def test_pooling_explorer_sweep(pooling_state, kind, size, stride, padding, sl):
    state = pooling_state
    state.set(kind=kind, size=size, stride=stride, padding=padding, slice=sl)
    valid = padding < size
    assert (state.error is None) == valid, state.error
    if valid:
        x = pooling_state_stack[sl][None, :, :, None]
        fwd = P.maxpool_forward if kind == "max" else P.avgpool_forward
        y, _ = fwd(x, (size, size), (stride, stride), ((padding,) * 2,) * 2)
        np.testing.assert_allclose(state.arrays["output"], y[0, :, :, 0])


pooling_state_stack = np.random.default_rng(3).random((3, 13, 14))   # > 12: no cell labels


@pytest.fixture(scope="module")
def pooling_state():
    return pooling_explorer(pooling_state_stack)[1]


# ----------------------------------------------------------------------------- convolution

def test_convolution_explorer_headless(stack):
    _, state = convolution_explorer(stack)
    sliders_release_only(state)
    assert set(state.controls) == {"kernel", "stride", "padding", "slice"}
    state.set(kernel="laplacian", stride=2, padding=1, slice=1)
    assert state.error is None
    expected = filter2d(stack[1], KERNELS["laplacian"], 2, 1)
    np.testing.assert_allclose(state.arrays["output"], expected)
    np.testing.assert_allclose(shown(state, "output"), expected)
    np.testing.assert_array_equal(shown(state, "kernel"), KERNELS["laplacian"])
    with pytest.raises(ValueError, match="convolution_explorer: unknown kernel"):
        convolution_explorer(stack, kernel="nope")


@HEAVY_SWEEP
@given(kernel=st.sampled_from(sorted(KERNELS)), stride=st.integers(1, 4),
       padding=st.sampled_from(["same", "valid", 0, 1, 2, 3]), sl=st.integers(0, 2))
def test_convolution_explorer_sweep(conv_state, kernel, stride, padding, sl):
    conv_state.set(kernel=kernel, stride=stride, padding=padding, slice=sl)
    assert conv_state.error is None, conv_state.error
    np.testing.assert_allclose(conv_state.arrays["output"],
                               filter2d(small_stack[sl], kernel, stride, padding))


small_stack = np.random.default_rng(4).random((3, 9, 8))


@pytest.fixture(scope="module")
def conv_state():
    return convolution_explorer(small_stack)[1]


def test_convolution_explorer_small_image_message():
    _, state = convolution_explorer(np.ones((3, 3)), kernel="identity")
    state.set(kernel="gaussian_blur", padding="valid")       # 5x5 kernel on a 3x3 image
    assert state.error is not None and "larger than the padded input" in state.error


# ----------------------------------------------------------------------------- im2col

def test_im2col_explorer_headless():
    _, state = im2col_explorer()
    sliders_release_only(state)
    assert set(state.controls) == {"size", "kernel", "stride", "padding"}
    state.set(size=5, kernel=3, stride=2, padding=1)
    x = np.pad(np.arange(25.0).reshape(5, 5), 1)[None, :, :, None]
    cols = im2col(x, (3, 3), (2, 2))
    np.testing.assert_array_equal(state.arrays["columns"], cols)
    np.testing.assert_array_equal(shown(state, "columns"), cols)
    state.set(size=2, kernel=4, padding=0)
    assert "larger than the padded input" in state.error


@SWEEP
@given(size=st.integers(2, 8), kernel=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.integers(0, 2))
def test_im2col_explorer_sweep(im2col_state, size, kernel, stride, padding):
    im2col_state.set(size=size, kernel=kernel, stride=stride, padding=padding)
    valid = kernel <= size + 2 * padding
    assert (im2col_state.error is None) == valid
    if valid:
        ho = (size + 2 * padding - kernel) // stride + 1
        assert im2col_state.arrays["columns"].shape == (ho * ho, kernel * kernel)


@pytest.fixture(scope="module")
def im2col_state():
    return im2col_explorer()[1]


# ----------------------------------------------------------------------------- volume viewer

def test_volume_viewer_axis_and_index(volume):
    _, state = volume_viewer(volume, voxel_size=(1, 1, 2))
    sliders_release_only(state)
    assert state.controls["index"].value == 7 and state.controls["index"].max == 13
    np.testing.assert_array_equal(state.arrays["slice"], volume[:, :, 7].T)
    state.controls["index"].value = 3
    np.testing.assert_array_equal(shown(state, "slice"), volume[:, :, 3].T)
    n = state.renders
    state.controls["axis"].value = 0                     # sagittal: 10 slices
    assert state.renders == n + 1                        # one render for axis + index change
    assert state.controls["index"].max == 9 and state.controls["index"].value == 5
    np.testing.assert_array_equal(state.arrays["slice"], volume[5].T)
    assert state.error is None


@SWEEP
@given(axis=st.sampled_from([0, 1, 2]), frac=st.floats(0, 1))
def test_volume_viewer_sweep(viewer_state, axis, frac):
    viewer_state.controls["axis"].value = axis
    n = viewer_volume.shape[axis]
    viewer_state.controls["index"].value = int(frac * (n - 1))
    assert viewer_state.error is None
    np.testing.assert_array_equal(viewer_state.arrays["slice"],
                                  np.take(viewer_volume, int(frac * (n - 1)), axis=axis).T)


viewer_volume = np.random.default_rng(5).random((5, 6, 7))


@pytest.fixture(scope="module")
def viewer_state():
    return volume_viewer(viewer_volume)[1]


# ----------------------------------------------------------------------------- degradation

def test_degradation_explorer_headless(stack):
    from labkit.data import degrade
    _, state = degradation_explorer(stack, zoom=(4, 4, 8))
    sliders_release_only(state)
    assert set(state.controls) == {"method", "scale", "noise", "slice"}
    state.set(method="kspace", scale=3, slice=1)
    assert state.error is None
    np.testing.assert_allclose(state.arrays["lr"], degrade(stack[1], 3, method="kspace"))
    assert state.arrays["lr"].shape == (8, 8)
    clean = state.arrays["lr"]
    state.controls["noise"].value = 0.1
    noisy = state.arrays["lr"]
    np.testing.assert_allclose(noisy, degrade(stack[1], 3, "kspace", noise_snr=10.0, seed=0))
    assert not np.allclose(noisy, clean)
    psnr_, ssim_ = state.arrays["scores"]
    assert 0 < psnr_ < 100 and -1 <= ssim_ <= 1


@HEAVY_SWEEP
@given(method=st.sampled_from(["bicubic", "kspace", "gaussian"]), scale=st.sampled_from([2, 3, 4]),
       noise=st.floats(0, 0.2), sl=st.integers(0, 2))
def test_degradation_explorer_sweep(degradation_state, method, scale, noise, sl):
    degradation_state.set(method=method, scale=scale, noise=round(noise, 2), slice=sl)
    assert degradation_state.error is None, degradation_state.error
    hr = degradation_state.arrays["hr"]
    assert hr.shape[0] % scale == 0 and degradation_state.arrays["lr"].shape == (
        hr.shape[0] // scale, hr.shape[1] // scale)


@pytest.fixture(scope="module")
def degradation_state(stack):
    return degradation_explorer(stack)[1]


def test_degradation_explorer_too_small_image():
    _, state = degradation_explorer(np.ones((5, 5)) * 0.5 + np.eye(5) * 0.5, scale=2)
    state.set(scale=4)
    assert state.error is not None and "too small" in state.error


# ----------------------------------------------------------------------------- SR viewer

def nearest_up(x):
    return np.kron(x, np.ones((2, 2)))


def test_sr_viewer_headless(stack):
    from labkit.data import degrade
    lr = degrade(stack, 2)
    calls = []

    def model(x):
        calls.append(1)
        return nearest_up(x)

    precomputed = np.stack([nearest_up(s) * 0.9 for s in lr])
    _, state = sr_viewer(stack, {"nn": model, "dim": precomputed}, lr=lr, zoom_size=8)
    sliders_release_only(state)
    assert set(state.controls) == {"slice", "model", "zoom_row", "zoom_col", "zoom_size"}
    assert state.error is None
    assert {"LR ×2", "bicubic", "nn", "dim", "hr", "scores"} <= set(state.arrays)
    np.testing.assert_array_equal(state.arrays["nn"], nearest_up(lr[0]))
    state.set(model="dim", slice=2, zoom_row=3, zoom_col=5, zoom_size=6)
    assert state.error is None and "nn" not in state.arrays
    np.testing.assert_array_equal(shown(state, "dim:zoom"), precomputed[2][3:9, 5:11])
    n_calls = len(calls)
    state.set(model="nn", slice=0)                  # cached: the model is not called again
    assert len(calls) == n_calls
    state.set(zoom_row=20, zoom_size=8)
    assert "leaves the 24×24 slice" in state.error
    with pytest.raises(ValueError, match="sr_viewer: model 'f' is a function, so lr is needed"):
        sr_viewer(stack, {"f": model})
    with pytest.raises(ValueError, match="sr_viewer: output 'x' has shape"):
        sr_viewer(stack, {"x": stack[:2]})


@HEAVY_SWEEP
@given(sl=st.integers(0, 2), model=st.sampled_from(["all", "nn"]), row=st.integers(0, 22),
       col=st.integers(0, 22), size=st.integers(2, 24))
def test_sr_viewer_sweep(sr_state, sl, model, row, col, size):
    sr_state.set(slice=sl, model=model, zoom_row=row, zoom_col=col, zoom_size=size)
    fits = row + size <= 24 and col + size <= 24
    assert (sr_state.error is None) == fits, sr_state.error


@pytest.fixture(scope="module")
def sr_state(stack):
    from labkit.data import degrade
    return sr_viewer(stack, {"nn": nearest_up}, lr=degrade(stack, 2))[1]


# ----------------------------------------------------------------------------- robustness

def test_unexpected_exception_becomes_message(stack):
    from labkit.widgets._base import Explorer, slider

    def render(v):
        raise RuntimeError("boom")

    state = Explorer("broken", {"a": slider("a", 0, 0, 3)}, render)
    assert "internal error" in state.error and "RuntimeError: boom" in state.error
    state.controls["a"].value = 2                   # still no exception escapes
    assert state.error is not None


def test_no_figure_accumulation_over_a_sweep():
    before = set(plt.get_fignums())
    _, state = pooling_explorer(np.random.default_rng(0).random((16, 16)))
    refs = []
    for k in range(8):
        state.set(size=1 + k % 4, stride=1 + k % 3, kind="max" if k % 2 else "avg")
        refs.append(weakref.ref(state.figure))
    assert set(plt.get_fignums()) == before
    gc.collect()
    # every replaced figure has been freed; only the current one is alive
    alive = [r for r in refs if r() is not None]
    assert alive == [refs[-1]]
