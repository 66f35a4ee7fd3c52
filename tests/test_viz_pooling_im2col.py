"""labkit.viz figures of pooling, im2col/col2im and Winograd: axes, and the data they show is
exactly what labkit.ops computes."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit.ops import pooling as P
from labkit.ops.conv import conv2d
from labkit.ops.im2col import col2im, im2col
from labkit.viz import (
    col2im_figure,
    im2col_figure,
    im2col_gemm_figure,
    pooling_comparison,
    pooling_figure,
    winograd_tiles_figure,
    winograd_transform_figure,
)
from labkit.viz.pooling import pooling_arrays
from labkit.viz.style import panel_axes
from labkit.viz.winograd import winograd_tile_arrays


def data(ax, k=0):
    return np.asarray(ax.images[k].get_array())


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size,stride,padding", [(2, 2, 0), (3, 2, 1), (3, 1, 0), (2, 3, 1)])
def test_pooling_figure_shows_engine_forward_and_backward(rng, kind, size, stride, padding):
    x = rng.random((9, 10))
    fig = pooling_figure(x, kind, size, stride, padding)
    assert isinstance(fig, Figure)
    axes = panel_axes(fig)
    assert {"input", "output", "backward"} <= set(axes)
    pads = ((padding, padding), (padding, padding))
    fwd, bwd = (P.maxpool_forward, P.maxpool_backward) if kind == "max" else \
        (P.avgpool_forward, P.avgpool_backward)
    y, cache = fwd(x[None, :, :, None], (size, size), (stride, stride), pads)
    dx = bwd(np.ones_like(y), cache)
    np.testing.assert_array_equal(data(axes["input"]), x)
    np.testing.assert_array_equal(data(axes["output"]), y[0, :, :, 0])
    np.testing.assert_array_equal(data(axes["backward"]), dx[0, :, :, 0])
    # every panel that carries values has a colourbar
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 3


def test_pooling_max_backward_marks_winners_only(rng):
    x = rng.random((8, 8))
    a = pooling_arrays(x, "max", 2, 2, 0)
    # non-overlapping windows: exactly one pixel per window receives the gradient
    assert np.count_nonzero(a["dx"]) == a["output"].size
    np.testing.assert_array_equal(np.sort(x[a["dx"] > 0]), np.sort(a["output"].ravel()))


def test_pooling_custom_dy_and_overlays(rng):
    x = rng.random((6, 6))
    dy = rng.standard_normal((3, 3))
    fig = pooling_figure(x, "avg", 2, 2, 0, dy=dy, highlight=(1, 2))
    _, cache = P.avgpool_forward(x[None, :, :, None], (2, 2), (2, 2), ((0, 0), (0, 0)))
    expected = P.avgpool_backward(dy[None, :, :, None], cache)[0, :, :, 0]
    np.testing.assert_allclose(data(panel_axes(fig)["backward"]), expected)
    # all 9 windows outlined in one collection plus the highlighted window's two patches
    assert len(panel_axes(fig)["input"].collections) == 1
    assert len(panel_axes(fig)["input"].patches) == 2


def test_pooling_comparison_has_both_kinds(rng):
    x = rng.random((12, 12))
    fig = pooling_comparison(x, 3, 2, 1)
    axes = panel_axes(fig)
    for kind in ("max", "avg"):
        assert {f"{kind}:input", f"{kind}:output", f"{kind}:backward"} <= set(axes)
    assert data(axes["max:output"]).max() >= data(axes["avg:output"]).max()


@pytest.mark.parametrize("bad,match", [
    ({"img": np.zeros((2, 3, 4))}, "2-D image"),
    ({"size": 5}, "larger than the padded input"),
    ({"size": 2, "padding": 2}, "padding"),
    ({"kind": "median"}, "kind"),
    ({"stride": 0}, "stride"),
    ({"img": np.array([[np.nan, 1.0], [1.0, 1.0]])}, "NaN"),
    ({"dy": np.ones((5, 5))}, "dy must have"),
])
def test_pooling_figure_bad_input_names_function(bad, match):
    args = {"img": np.ones((4, 4)), "kind": "max", "size": 2, "stride": None, "padding": 0}
    args.update(bad)
    img = args.pop("img")
    with pytest.raises(ValueError, match=match) as err:
        pooling_figure(img, **args)
    assert "pooling_figure" in str(err.value)


@pytest.mark.parametrize("kernel,stride,padding", [(2, 1, 0), (3, 2, 1), (2, 1, "same")])
def test_im2col_figure_shows_engine_columns(kernel, stride, padding):
    x = np.arange(25.0).reshape(5, 5)
    fig = im2col_figure(x, kernel, stride, padding, highlight=[0, 2])
    axes = panel_axes(fig)
    assert set(axes) >= {"input", "columns"}
    from labkit.ops.conv import pad_nhwc, resolve_padding
    pads = resolve_padding(padding, (kernel, kernel), (stride, stride), (5, 5))
    xp = pad_nhwc(x[None, :, :, None], pads)
    np.testing.assert_array_equal(data(axes["columns"]), im2col(xp, (kernel, kernel),
                                                                (stride, stride)))
    np.testing.assert_array_equal(data(axes["input"]), xp[0, :, :, 0])
    # one colour stripe per window (row) plus a frame per highlighted window
    n_rows = data(axes["columns"]).shape[0]
    assert len(axes["columns"].patches) == n_rows + 2


def test_im2col_figure_multichannel():
    x = np.arange(48.0).reshape(4, 4, 3)
    fig = im2col_figure(x, 2)
    assert data(panel_axes(fig)["columns"]).shape == (9, 12)


def test_im2col_gemm_figure_equals_conv(rng):
    x = rng.random((5, 6, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    fig = im2col_gemm_figure(x, w, stride=1, padding=1)
    axes = panel_axes(fig)
    y = conv2d(x[None], w, stride=1, padding=1)[0]
    np.testing.assert_allclose(data(axes["product"]), y.reshape(-1, 3), atol=1e-12)
    np.testing.assert_array_equal(data(axes["filters"]), w.reshape(-1, 3))
    for f in range(3):
        np.testing.assert_allclose(data(axes[f"map{f}"]), y[:, :, f], atol=1e-12)
    with pytest.raises(ValueError, match="im2col_gemm_figure"):
        im2col_gemm_figure(x, w[:, :, :1])


def test_col2im_figure_sums_overlaps(rng):
    x = rng.random((5, 5))
    fig = col2im_figure(x, 3, 1, 1)
    axes = panel_axes(fig)
    counts = data(axes["counts"])
    np.testing.assert_array_equal(counts[[0, 0, 2], [0, 2, 2]], [4, 6, 9])
    np.testing.assert_allclose(data(axes["col2im"]), x * counts)
    cols = rng.standard_normal((9, 4))
    fig = col2im_figure(np.zeros((4, 4)), 2, 1, 0, cols=cols)
    expected = col2im(cols, (1, 4, 4, 1), (2, 2), (1, 1))[0, :, :, 0]
    np.testing.assert_allclose(data(panel_axes(fig)["col2im"]), expected)
    with pytest.raises(ValueError, match="col2im_figure: cols must have shape"):
        col2im_figure(np.zeros((4, 4)), 2, cols=np.zeros((3, 3)))


@pytest.mark.parametrize("variant,a", [("f2x3", 4), ("f4x3", 6)])
def test_winograd_transform_figure_is_exact(rng, variant, a):
    d = rng.integers(-3, 4, (a, a)).astype(float)
    g = rng.integers(-2, 3, (3, 3)).astype(float)
    fig = winograd_transform_figure(d, g, variant)
    axes = panel_axes(fig)
    assert set(axes) >= {"d", "V", "M", "Y", "g", "U", "direct"}
    t = winograd_tile_arrays(d, g, variant)
    np.testing.assert_allclose(data(axes["Y"]), data(axes["direct"]), atol=1e-9)
    np.testing.assert_allclose(data(axes["V"]), t["BT"] @ d @ t["BT"].T)
    np.testing.assert_allclose(data(axes["M"]), data(axes["U"]) * data(axes["V"]))
    with pytest.raises(ValueError, match="winograd_transform_figure"):
        winograd_transform_figure(np.zeros((5, 5)), g, variant)


def test_winograd_tiles_figure_output_is_valid_correlation(rng):
    x = rng.random((9, 8))
    g = rng.standard_normal((3, 3))
    fig = winograd_tiles_figure(x, g, "f2x3", highlight=(1, 1))
    out = data(panel_axes(fig)["output"])
    ref = conv2d(x[None, :, :, None], g[:, :, None, None], algorithm="naive")[0, :, :, 0]
    np.testing.assert_allclose(out, ref, atol=1e-10)
    with pytest.raises(ValueError, match="winograd_tiles_figure"):
        winograd_tiles_figure(x, np.ones((5, 5)))
    with pytest.raises(ValueError, match="unknown variant"):
        winograd_tiles_figure(x, g, "f6x3")
