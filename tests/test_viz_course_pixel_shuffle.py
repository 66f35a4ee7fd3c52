"""Tests of labkit.viz.course_pixel_shuffle (figure of chapter 07)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit.viz.course_pixel_shuffle import pixel_shuffle_figure, pixel_shuffle_sources
from labkit.viz.style import panel_axes


@pytest.mark.parametrize("order", ["torch", "tf"])
def test_sources_follow_the_documented_formulas(order):
    r, c, h, w = 3, 2, 2, 4
    s = pixel_shuffle_sources(r, c, (h, w), order)
    assert s["channel"].shape == (h * r, w * r, c)
    for a in range(h):
        for b in range(w):
            for i in range(r):
                for j in range(r):
                    for ch in range(c):
                        k = ch * r * r + i * r + j if order == "torch" else (i * r + j) * c + ch
                        assert s["channel"][a * r + i, b * r + j, ch] == k
                        assert s["pixel"][a * r + i, b * r + j, ch] == a * w + b


def test_orders_agree_for_one_channel_and_differ_for_two():
    one = [pixel_shuffle_sources(2, 1, (2, 2), o)["channel"] for o in ("torch", "tf")]
    np.testing.assert_array_equal(*one)
    two = [pixel_shuffle_sources(2, 2, (2, 2), o)["channel"] for o in ("torch", "tf")]
    assert not np.array_equal(*two)


def test_figure_panels_hold_the_source_maps():
    fig = pixel_shuffle_figure(2, 2, (2, 3), "tf")
    assert isinstance(fig, Figure)
    axes = panel_axes(fig)
    assert set(axes) == {"input", "output0", "output1"}
    src = pixel_shuffle_sources(2, 2, (2, 3), "tf")["channel"]
    np.testing.assert_array_equal(axes["output1"].images[0].get_array(), src[:, :, 1])
    mosaic = np.ma.filled(axes["input"].images[0].get_array().astype(float), np.nan)
    assert np.nanmax(mosaic) == 7 and np.isnan(mosaic[:, 3]).all()
    # Large figures skip the per-cell numbers but still draw.
    fig = pixel_shuffle_figure(4, 1, (8, 8))
    assert len(panel_axes(fig)["output0"].texts) == 0


@pytest.mark.parametrize("bad", [{"scale": 0}, {"channels": 0}, {"size": (0, 2)},
                                 {"order": "caffe"}, {"scale": 1.5}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError, match="pixel_shuffle_sources"):
        pixel_shuffle_sources(**{"scale": 2, "channels": 1, "size": (2, 2), "order": "torch", **bad})
