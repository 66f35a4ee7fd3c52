"""Tests of labkit.viz.course_plots (figures of chapters 2, 8 and 10)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit.viz import course_plots as C
from labkit.viz.style import panel_axes


def test_curve_panels_labels_and_data():
    x = np.linspace(-2, 2, 11)
    fig = C.curve_panels(x, [("f", {"a": x, "b": (x[:3], x[:3] ** 2)}), ("g", {"c": -x})],
                         ncols=1, hline=0)
    assert isinstance(fig, Figure)
    axes = panel_axes(fig)
    assert set(axes) == {"f", "g"}
    np.testing.assert_allclose(axes["g"].lines[0].get_ydata(), -x)
    with pytest.raises(ValueError, match="curve_panels"):
        C.curve_panels(x, [("f", {"a": x[:3]})])


def test_image_panels_zoom_scales_box():
    hr = np.random.default_rng(0).random((40, 60))
    lr = hr[::2, ::2]
    fig = C.image_panels([hr, lr], ["hr", "lr"], zoom=(10, 20, 20, 40))
    axes = panel_axes(fig)
    assert {"image0", "image1", "zoom0", "zoom1"} <= set(axes)
    np.testing.assert_array_equal(axes["zoom0"].images[0].get_array(), hr[10:20, 20:40])
    np.testing.assert_array_equal(axes["zoom1"].images[0].get_array(), lr[5:10, 10:20])
    with pytest.raises(ValueError, match="titles"):
        C.image_panels([hr], ["a", "b"])


def test_grouped_bars_and_positions():
    fig = C.grouped_bars(["a", "b"], {"psnr": [1, 2], "ssim": [0.5, 0.7]}, ylabel="v")
    ax = panel_axes(fig)["bars"]
    assert len(ax.patches) == 4
    with pytest.raises(ValueError, match="grouped_bars"):
        C.grouped_bars(["a"], {"x": [1, 2]})
    fig = C.slice_positions(np.zeros((30, 20)), {"train": [1, 2, 3], "test": [10]})
    ax = panel_axes(fig)["positions"]
    assert len(ax.lines) == 4


def test_decision_surface():
    gx, gy = np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 20))
    fig = C.decision_surface(gx, gy, gx * gy, [[0, 0], [1, 1]], [0, 1], title="and")
    ax = panel_axes(fig)["surface"]
    assert len(ax.collections) >= 2
    with pytest.raises(ValueError, match="decision_surface"):
        C.decision_surface(gx, gy, gx[:3], [[0, 0]], [0])
