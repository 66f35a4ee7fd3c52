"""labkit.viz figures of convolution, gradient flow, optimisation, timing and MRI: expected
axes and images, data equal to what labkit computed, clear errors naming the function."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit.ops.filters import KERNELS, filter2d
from labkit.ops.kspace import fft2c, ifft2c, kspace_mask
from labkit.ops.receptive_field import receptive_field_maps, receptive_field_sizes
from labkit.viz import (
    conv_figure,
    feature_maps,
    gradient_flow_figure,
    kernel_gallery,
    kspace_figure,
    landscape_figure,
    orthogonal_slices,
    perceptron_figure,
    psnr_per_slice,
    receptive_field_figure,
    slice_figure,
    sr_comparison,
    timing_bars,
    timing_scaling,
)
from labkit.viz.mri import slice_image
from labkit.viz.style import panel_axes


def data(ax, k=0):
    return np.asarray(ax.images[k].get_array())


@pytest.fixture
def img(rng):
    yy, xx = np.mgrid[:20, :24]
    return ((xx - 12) ** 2 + (yy - 10) ** 2 < 40).astype(float) + 0.1 * rng.random((20, 24))


# ----------------------------------------------------------------------------- convolution

def test_kernel_gallery_shows_filter2d(img):
    fig = kernel_gallery(img, ["sobel_x", "sharpen", "gaussian_blur"], ncols=2)
    assert isinstance(fig, Figure)
    axes = panel_axes(fig)
    assert {"input", "sobel_x", "sharpen", "gaussian_blur", "kernel:sobel_x"} <= set(axes)
    for name in ("sobel_x", "sharpen", "gaussian_blur"):
        np.testing.assert_allclose(data(axes[name]), filter2d(img, KERNELS[name]))
        np.testing.assert_array_equal(data(axes[f"kernel:{name}"]), KERNELS[name])
    # signed responses are centred on zero
    lo, hi = axes["sobel_x"].images[0].get_clim()
    assert lo == -hi
    fig = kernel_gallery(img, {"mine": np.ones((2, 2))})
    np.testing.assert_allclose(data(panel_axes(fig)["mine"]), filter2d(img, np.ones((2, 2))))
    with pytest.raises(ValueError, match="kernel_gallery: unknown kernel"):
        kernel_gallery(img, ["nope"])


@pytest.mark.parametrize("stride,padding", [(1, "same"), (2, 1), (1, "valid"), (3, (0, 2))])
def test_conv_figure_output_equals_engine(img, stride, padding):
    fig = conv_figure(img, "laplacian", stride, padding)
    axes = panel_axes(fig)
    np.testing.assert_allclose(data(axes["output"]), filter2d(img, "laplacian", stride, padding))
    np.testing.assert_array_equal(data(axes["kernel"]), KERNELS["laplacian"])
    with pytest.raises(ValueError, match="conv_figure"):
        conv_figure(img[:2, :2], np.ones((5, 5)), 1, "valid")


def test_feature_maps_grid(rng):
    maps = [rng.standard_normal((1, 8, 8, 5)), rng.standard_normal((4, 4, 2)),
            rng.standard_normal((6, 6))]
    fig = feature_maps(maps, ["a", "b", "c"], max_channels=4)
    axes = panel_axes(fig)
    assert {"0:0", "0:3", "1:1", "2:0"} <= set(axes)
    assert "0:4" not in axes and "1:2" not in axes
    np.testing.assert_array_equal(data(axes["0:3"]), maps[0][0, :, :, 3])
    np.testing.assert_array_equal(data(axes["2:0"]), maps[2])
    with pytest.raises(ValueError, match="feature_maps"):
        feature_maps([np.zeros((2, 2, 2, 2, 2))])
    with pytest.raises(ValueError, match="2 names for 1 layers"):
        feature_maps(maps[:1], ["a", "b"])


def test_receptive_field_figure(img):
    maps = receptive_field_maps((20, 24), [3, 3, 3, 3])
    sizes = receptive_field_sizes([3, 3, 3, 3])
    fig = receptive_field_figure(maps, sizes, depths=[1, 4])
    axes = panel_axes(fig)
    assert {"depth1", "depth4", "growth"} <= set(axes)
    np.testing.assert_array_equal(data(axes["depth4"]), maps[3])
    np.testing.assert_array_equal(axes["growth"].lines[0].get_ydata(), [1, 3, 5, 7, 9])
    fig = receptive_field_figure(maps, image=img)            # overlay: map is the last image
    overlay = panel_axes(fig)["depth4"].images[-1].get_array()
    np.testing.assert_array_equal(overlay.filled(0), maps[3])
    # without sizes, the curve is measured from the maps and agrees with the recursion
    fig = receptive_field_figure(maps)
    np.testing.assert_array_equal(panel_axes(fig)["growth"].lines[0].get_ydata(), sizes["size"])
    with pytest.raises(ValueError, match="receptive_field_figure: depths"):
        receptive_field_figure(maps, depths=[9])


# ----------------------------------------------------------------------------- gradients, optim

def test_gradient_flow_figure():
    plain, res = np.geomspace(1e-12, 1, 10), np.linspace(0.5, 1, 10)
    fig = gradient_flow_figure({"plain": plain, "shortcuts": res},
                               activation_std={"plain": res, "shortcuts": res})
    axes = panel_axes(fig)
    assert {"norms", "activations"} <= set(axes)
    lines = {ln.get_label(): ln for ln in axes["norms"].lines}
    np.testing.assert_array_equal(lines["plain"].get_ydata(), plain)
    np.testing.assert_array_equal(lines["shortcuts"].get_xdata(), np.arange(1, 11))
    assert axes["norms"].get_yscale() == "log"
    fig = gradient_flow_figure(plain)
    assert set(panel_axes(fig)) == {"norms"}
    with pytest.raises(ValueError, match="gradient_flow_figure"):
        gradient_flow_figure({"x": np.zeros((2, 2))})


def test_landscape_figure_paths_and_losses():
    from labkit.ops.descent import evaluate_grid, gradient_descent, quadratic_bowl
    loss, grad = quadratic_bowl(1.0, 5.0)
    W1, W2, Z = evaluate_grid(loss, (-2, 2), (-2, 2), 21)
    path = gradient_descent(grad, [1.5, 1.5], 0.1, 20)
    losses = [loss(w) for w in path]
    fig = landscape_figure(W1, W2, Z, {"gd": path}, {"gd": losses})
    axes = panel_axes(fig)
    assert {"contour", "surface", "loss"} <= set(axes)
    line = next(ln for ln in axes["contour"].lines if ln.get_label() == "gd")
    np.testing.assert_array_equal(np.c_[line.get_xdata(), line.get_ydata()], path)
    np.testing.assert_allclose(axes["loss"].lines[0].get_ydata(), losses)
    fig = landscape_figure(W1, W2, Z + 1.0, path, surface=False)
    assert set(panel_axes(fig)) == {"contour"}
    with pytest.raises(ValueError, match="landscape_figure"):
        landscape_figure(W1, W2, Z[:3])
    with pytest.raises(ValueError, match="path 'p' must have shape"):
        landscape_figure(W1, W2, Z, {"p": np.zeros((3, 3))})


def test_landscape_figure_separate_panels():
    from labkit.ops.descent import evaluate_grid, gradient_descent, quadratic_bowl
    loss, grad = quadratic_bowl(1.0, 5.0)
    W1, W2, Z = evaluate_grid(loss, (-2, 2), (-2, 2), 21)
    paths = {f"lr {lr}": gradient_descent(grad, [1.5, 1.5], lr, 10) for lr in (0.05, 0.3, 0.39)}
    losses = {k: [loss(w) for w in p] for k, p in paths.items()}
    fig = landscape_figure(W1, W2, Z, paths, losses, surface=False, separate=True,
                           minimum=(0.0, 0.0))
    axes = panel_axes(fig)
    assert set(axes) == {f"contour: {k}" for k in paths} | {"loss"}
    for k, p in paths.items():                 # each panel holds its own path and the minimum
        lines = {ln.get_label(): ln for ln in axes[f"contour: {k}"].lines}
        np.testing.assert_array_equal(np.c_[lines[k].get_xdata(), lines[k].get_ydata()], p)
        assert {name for name in lines if not name.startswith("_")} == {k}
        assert lines["_minimum"].get_xydata().tolist() == [[0.0, 0.0]]
    styles = [ln.get_linestyle() for ln in axes["loss"].lines]
    assert len(set(styles)) == 3                # the loss curves differ by more than colour
    fig = landscape_figure(W1, W2, Z, {"one": paths["lr 0.05"]}, separate=True)
    assert set(panel_axes(fig)) == {"contour", "surface"}      # one path: the usual layout
    with pytest.raises(ValueError, match="minimum"):
        landscape_figure(W1, W2, Z, paths, minimum=(0.0, np.nan))


def test_perceptron_figure_limits(rng):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    W = np.array([[0.0, 0.0], [-0.5, 0.0]])
    B = np.array([0.0, -0.5])
    fig = perceptron_figure(X, y, W, B, limits=((-1.5, 2.0), (-1.0, 2.5)))
    ax = panel_axes(fig)["data"]
    assert ax.get_xlim() == (-1.5, 2.0) and ax.get_ylim() == (-1.0, 2.5)
    xs, _ = {ln.get_label(): ln for ln in ax.lines}["step 1"].get_data()
    np.testing.assert_allclose(xs, -1.0)           # x1 = -1: beside the data, inside the view
    fig = perceptron_figure(X, y, W, B, errors=[3, 2])
    assert list(panel_axes(fig)["errors"].lines[0].get_xdata()) == [1, 2]   # epochs from 1
    with pytest.raises(ValueError, match="perceptron_figure: limits"):
        perceptron_figure(X, y, W, B, limits=((1.0, 0.0), (0.0, 1.0)))


def test_perceptron_figure_boundaries_lie_on_the_line(rng):
    X = rng.standard_normal((20, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    W = np.array([[0.0, 0.0], [1.0, 0.5], [1.0, 0.5], [1.0, 1.0]])
    B = np.array([0.0, 0.2, 0.2, 0.0])
    fig = perceptron_figure(X, y, W, B, errors=[5, 2, 0])
    axes = panel_axes(fig)
    assert {"data", "errors"} <= set(axes)
    lines = {ln.get_label(): ln for ln in axes["data"].lines}
    # w = 0 at step 0 has no boundary; step 2 repeats step 1 (no update), so it is skipped
    assert set(lines) == {"step 1", "step 3"}
    for s in (1, 3):
        xs, ys = lines[f"step {s}"].get_data()
        np.testing.assert_allclose(W[s, 0] * xs + W[s, 1] * ys + B[s], 0, atol=1e-12)
    assert lines["step 3"].get_color() == "black"
    with pytest.raises(ValueError, match="perceptron_figure"):
        perceptron_figure(X, y, W[:, :1], B)


# ----------------------------------------------------------------------------- timing

def bench_rows():
    rows = []
    for alg, c in (("naive", 3.0), ("im2col", 1.0), ("winograd", 0.5)):
        for h in (16, 32, 64):
            for p in ("forward", "backward"):
                for rep in range(3):
                    rows.append({"algorithm": alg, "H": h, "W": h, "C_in": 8, "C_out": 8,
                                 "pass": p, "seconds": c * h * h * 1e-6 * (1 + 0.1 * rep),
                                 "N": 1})
    return rows


def test_timing_bars_medians():
    rows = bench_rows()
    fig = timing_bars(rows)
    axes = panel_axes(fig)
    assert set(axes) == {"bars:forward", "bars:backward"}
    bars = {c.get_label(): c for c in axes["bars:forward"].containers}
    assert set(bars) == {"naive", "im2col", "winograd"}
    heights = [b.get_height() for b in bars["im2col"]]
    np.testing.assert_allclose(heights, [1.1 * h * h * 1e-6 for h in (16, 32, 64)])


def test_timing_scaling_lines():
    rows = bench_rows()
    fig = timing_scaling(rows, "H", reference_slope=2)
    ax = panel_axes(fig)["scaling:backward"]
    lines = {ln.get_label(): ln for ln in ax.lines}
    assert {"naive", "im2col", "winograd", "∝ x^2"} <= set(lines)
    np.testing.assert_array_equal(lines["naive"].get_xdata(), [16, 32, 64])
    np.testing.assert_allclose(lines["naive"].get_ydata(),
                               [3.3 * h * h * 1e-6 for h in (16, 32, 64)])
    np.testing.assert_allclose(lines["∝ x^2"].get_ydata(), lines["naive"].get_ydata())
    fig = timing_scaling(rows, "pixels")
    assert panel_axes(fig)["scaling:forward"].lines[0].get_xdata()[0] == 256
    fig = timing_scaling(rows, "H", where={"algorithm": "winograd", "pass": "forward"})
    (ax,) = panel_axes(fig).values()
    assert [ln.get_label() for ln in ax.lines] == ["winograd"]
    with pytest.raises(ValueError, match="none match"):
        timing_bars(rows, where={"C_in": 99})


@pytest.mark.parametrize("rows,match", [
    ([], "no benchmark rows"),
    ([{"algorithm": "naive"}], "lacks"),
    ([dict(algorithm="a", H=1, W=1, C_in=1, C_out=1, seconds=-1.0, **{"pass": "forward"})],
     "positive time"),
])
def test_timing_bad_rows(rows, match):
    with pytest.raises(ValueError, match=match):
        timing_bars(rows)
    with pytest.raises(ValueError, match="timing_scaling: x must be"):
        timing_scaling(bench_rows(), "depth")


# ----------------------------------------------------------------------------- MRI

@pytest.fixture
def vol(rng):
    return rng.random((6, 7, 8)).astype(np.float32)


def test_orthogonal_slices_data_and_aspect(vol):
    fig = orthogonal_slices(vol, (1, 2, 3), voxel_size=(1.0, 1.0, 2.0))
    axes = panel_axes(fig)
    assert set(axes) == {"sagittal", "coronal", "axial"}
    np.testing.assert_array_equal(data(axes["sagittal"]), vol[1].T)
    np.testing.assert_array_equal(data(axes["coronal"]), vol[:, 2].T)
    np.testing.assert_array_equal(data(axes["axial"]), vol[:, :, 3].T)
    assert axes["sagittal"].get_aspect() == 2.0          # rows are 2 mm z voxels
    assert axes["axial"].get_aspect() == 1.0
    with pytest.raises(ValueError, match="orthogonal_slices: index"):
        orthogonal_slices(vol, (6, 0, 0))
    with pytest.raises(ValueError, match="orthogonal_slices: volume must be a 3-D"):
        orthogonal_slices(vol[0])


def test_slice_figure_and_slice_image(vol):
    fig = slice_figure(vol, 1, 4)
    np.testing.assert_array_equal(data(panel_axes(fig)["slice"]), vol[:, 4].T)
    np.testing.assert_array_equal(slice_image(vol, 0, 5), vol[5].T)
    with pytest.raises(ValueError, match="slice_image: index 7"):
        slice_image(vol, 0, 7)
    with pytest.raises(ValueError, match="slice_figure: axis"):
        slice_figure(vol, 3)


def test_kspace_figure(img):
    fig = kspace_figure(img, 4)
    axes = panel_axes(fig)
    assert set(axes) == {"image", "kspace", "masked", "reconstruction"}
    k = fft2c(img)
    np.testing.assert_allclose(data(axes["kspace"]), np.log10(np.abs(k) + 1e-6))
    mask = kspace_mask(img.shape, (5, 6))
    np.testing.assert_allclose(data(axes["reconstruction"]), ifft2c(k * mask).real)
    assert np.all(data(axes["masked"])[~mask] == -6)
    with pytest.raises(ValueError, match="kspace_figure: scale"):
        kspace_figure(img, 0)


def test_sr_comparison_panels(rng):
    hr = rng.random((16, 20))
    lr = hr.reshape(8, 2, 10, 2).mean(axis=(1, 3))
    sr = hr + 0.01 * rng.standard_normal(hr.shape)
    fig = sr_comparison(hr, {"LR": lr, "SR": sr}, zoom=(4, 6, 8), scores={"SR": (40.0, 0.99)})
    axes = panel_axes(fig)
    assert {"LR", "LR:zoom", "SR", "SR:zoom", "SR:error", "HR", "HR:zoom"} <= set(axes)
    assert "LR:error" not in axes                 # an LR image has no error map
    np.testing.assert_array_equal(data(axes["SR:error"]), np.abs(sr - hr))
    np.testing.assert_array_equal(data(axes["SR:zoom"]), sr[4:12, 6:14])
    np.testing.assert_array_equal(data(axes["LR:zoom"]), lr[2:6, 3:7])
    np.testing.assert_array_equal(data(axes["LR"]), lr)
    assert "40.00 dB / 0.990" in axes["SR"].get_title()
    with pytest.raises(ValueError, match="sr_comparison: zoom window"):
        sr_comparison(hr, {"SR": sr}, zoom=(10, 0, 8))
    with pytest.raises(ValueError, match="integer fraction"):
        sr_comparison(hr, {"bad": hr[:5, :7]})


def test_psnr_per_slice(rng):
    z = np.array([62, 60, 61])
    vals = {"bicubic": np.array([30.0, 31.0, 32.0]), "edsr": np.array([33.0, 33.5, 34.0])}
    fig = psnr_per_slice(z, vals, baseline="bicubic")
    axes = panel_axes(fig)
    lines = {ln.get_label().split(" (")[0]: ln for ln in axes["per_slice"].lines}
    np.testing.assert_array_equal(lines["edsr"].get_xdata(), [60, 61, 62])
    np.testing.assert_array_equal(lines["edsr"].get_ydata(), [33.5, 34.0, 33.0])
    gain = axes["gain"].lines[0]
    np.testing.assert_array_equal(gain.get_ydata(), [2.5, 2.0, 3.0])
    with pytest.raises(ValueError, match="psnr_per_slice: baseline"):
        psnr_per_slice(z, vals, baseline="nope")


def test_figures_are_not_registered_with_pyplot_and_are_freed(img, vol):
    import gc
    import weakref

    import matplotlib.pyplot as plt
    before = set(plt.get_fignums())
    refs = []
    for k in range(3):
        for make in (lambda: kernel_gallery(img, ["sobel_x"]),
                     lambda: orthogonal_slices(vol),
                     lambda: kspace_figure(img, 2),
                     lambda k=k: gradient_flow_figure(np.ones(3) * (k + 1))):
            refs.append(weakref.ref(make()))
    assert set(plt.get_fignums()) == before
    gc.collect()
    assert all(r() is None for r in refs)
