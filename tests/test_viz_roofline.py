"""Step-profile bars and the roofline: figure data, roof arithmetic, bad input."""

import numpy as np
import pytest

from labkit.modelbench import profile_train_step, roofline_points
from labkit.models import edsr
from labkit.viz.roofline import roofline, step_profile_bars


@pytest.fixture(scope="module")
def profiled():
    rng = np.random.default_rng(0)
    x = rng.random((2, 16, 16, 1), dtype=np.float32)
    y = rng.random((2, 32, 32, 1), dtype=np.float32)
    net = edsr(2, 2, 8, seed=0)
    prof = profile_train_step(net, x, y, steps=1, warmup=1)
    return net, x.shape, prof


def _ax(fig, label):
    return next(a for a in fig.axes if a.get_label() == label)


def test_profile_bars_show_every_kind_in_milliseconds(profiled):
    _, _, prof = profiled
    fig = step_profile_bars(prof)
    ax = _ax(fig, "profile")
    widths = [p.get_width() for p in ax.patches]
    n = len(prof["by_kind"]) + 1
    assert len(widths) == 2 * n
    total = sum(k["total_s"] for k in prof["by_kind"]) + prof["update_s"]
    assert sum(widths) == pytest.approx(total * 1e3, rel=1e-9)
    ticks = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert ticks[max(ticks)].startswith(prof["by_kind"][0]["layer"])      # largest on top


def test_roofline_points_and_roof(profiled):
    net, shape, prof = profiled
    pts = roofline_points(net, shape, prof)
    # every unit shortcut of EDSR runs inside the convolution before it and has no work left
    assert set(net.fused_layers().values()) == {"relu", "shortcut"}
    assert {p["layer"] for p in pts} == {k["layer"] for k in prof["by_kind"]} - {"Shortcut"}
    relu = next(p for p in pts if p["layer"] == "Activation")
    n_relu = sum(1 for kind in net.fused_layers().values() if kind == "relu")
    assert relu["flops"] == n_relu * 2 * 16 * 16 * 8        # their backward only: dy * (y > 0)
    convs = [p for p in pts if p["layer"].startswith("Conv2D")]
    others = [p for p in pts if not p["layer"].startswith("Conv2D") and p["flops"] > 0]
    # a 3x3 convolution reuses each value many times; an element-wise layer does not
    assert min(p["intensity"] for p in convs) > max(p["intensity"] for p in others)
    for p in pts:
        assert p["gflops"] == pytest.approx(p["flops"] / p["seconds"] / 1e9)
    fig = roofline(pts, peak_gflops=190.0, bandwidth_gbs=20.0)
    ax = _ax(fig, "roofline")
    roof = next(line for line in ax.get_lines() if line.get_label() == "roof")
    ai, g = roof.get_data()
    np.testing.assert_allclose(g, np.minimum(190.0, 20.0 * ai))
    assert len(ax.collections) == sum(p["flops"] > 0 for p in pts)


@pytest.mark.parametrize("call,match", [
    (lambda: step_profile_bars([1, 2]), "step_profile_bars: expected the dict"),
    (lambda: roofline([], 190, 20), "roofline: no point"),
    (lambda: roofline([{"layer": "a", "intensity": 1, "gflops": 1}], 0, 20),
     "roofline: peak_gflops must be a positive number"),
    (lambda: roofline([{"layer": "a", "intensity": 1, "gflops": 1}], 190, float("nan")),
     "roofline: bandwidth_gbs must be a positive number"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
