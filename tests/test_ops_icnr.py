"""ICNR initialisation and the sub-pixel pattern measure (labkit.ops.icnr)."""

import numpy as np
import pytest

from labkit.ops.conv import conv2d
from labkit.ops.icnr import icnr, subpixel_pattern
from labkit.ops.pixel_shuffle import pixel_shuffle


@pytest.mark.parametrize("order", ["torch", "tf"])
@pytest.mark.parametrize("scale", [2, 3])
def test_icnr_shuffle_is_nearest_neighbour_of_base_conv(order, scale, rng):
    cin, cout = 3, 2
    w = icnr(3, cin, cout, scale, order=order, seed=0, dtype=np.float64)
    assert w.shape == (3, 3, cin, cout * scale * scale)
    x = rng.standard_normal((2, 5, 6, cin))
    y = pixel_shuffle(conv2d(x, w, padding="same"), scale, order)
    # Base kernel of output channel c: the copy for phase 0.
    base = w[..., ::scale * scale] if order == "torch" else w[..., :cout]
    z = conv2d(x, base, padding="same")
    nn = np.repeat(np.repeat(z, scale, axis=1), scale, axis=2)
    np.testing.assert_allclose(y, nn, rtol=1e-12, atol=1e-12)


def test_icnr_he_scale_and_dtype():
    w = icnr((3, 3), 16, 8, 2, seed=1)
    assert w.dtype == np.float32
    base = w[..., ::4]
    assert abs(base.std() - np.sqrt(2.0 / (9 * 16))) < 0.02


@pytest.mark.parametrize("bad", [{"kernel_size": 0}, {"scale": 0}, {"order": "caffe"},
                                 {"in_channels": 1.5}, {"kernel_size": (3,)}])
def test_icnr_bad_arguments(bad):
    args = {"kernel_size": 3, "in_channels": 2, "out_channels": 1, "scale": 2, "order": "torch"}
    args.update(bad)
    with pytest.raises(ValueError, match="icnr"):
        icnr(**args)


def test_subpixel_pattern_zero_for_nearest_neighbour(rng):
    lr = rng.random((7, 9))
    hr = np.repeat(np.repeat(lr, 3, axis=0), 3, axis=1)
    np.testing.assert_allclose(subpixel_pattern(hr, 3), 0.0, atol=1e-15)


def test_subpixel_pattern_recovers_a_tiled_pattern(rng):
    tile = np.array([[1.0, -1.0], [0.5, 0.25]])
    smooth = np.repeat(np.repeat(rng.random((6, 5)), 2, axis=0), 2, axis=1)
    img = smooth + np.tile(tile, (6, 5))
    p = subpixel_pattern(img, 2)
    np.testing.assert_allclose(p, tile - tile.mean(), atol=1e-12)
    assert abs(p.sum()) < 1e-12
    # A stack is averaged like one long image.
    np.testing.assert_allclose(subpixel_pattern(np.stack([img, img]), 2), p, atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((1, 1)), np.zeros((2, 2, 2, 2)), np.full((4, 4), np.nan)])
def test_subpixel_pattern_bad_input(bad):
    with pytest.raises(ValueError, match="subpixel_pattern"):
        subpixel_pattern(bad, 2)
