"""labkit.viz.selfsr: per-slice PSNR agrees with brain_psnr, thick volumes on the fine grid,
orthogonal comparison panels hold the slices they claim, per-slice figure data, clear errors."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from labkit.ops.slice_profile import brain_mask, brain_psnr, simulate_thick_slices
from labkit.viz.mri import slice_image
from labkit.viz.selfsr import on_fine_grid, orthogonal_comparison, slice_psnr, slice_psnr_figure
from labkit.viz.style import panel_axes


@pytest.fixture
def vols(rng):
    x, y, z = np.mgrid[:14, :16, :24]
    truth = (((x - 7) ** 2 + (y - 8) ** 2 + (z - 12) ** 2) < 40).astype(np.float32)
    truth = truth * (0.5 + 0.5 * rng.random(truth.shape)).astype(np.float32)
    truth /= truth.max()
    pred = truth + 0.05 * rng.standard_normal(truth.shape).astype(np.float32)
    return truth, pred


def data(ax):
    return np.asarray(ax.images[0].get_array())


# ----------------------------------------------------------------------------- slice_psnr

def test_slice_psnr_matches_brain_psnr_slice_by_slice(vols):
    truth, pred = vols
    for axis in (0, 1, 2):
        per = slice_psnr(pred, truth, axis=axis, exclude=2)
        assert per.shape == (truth.shape[axis],)
        mask = brain_mask(truth, axis, 2)
        for k in range(truth.shape[axis]):
            m = np.take(mask, k, axis=axis)
            if not m.any():
                assert math.isnan(per[k])
                continue
            err = (np.take(pred, k, axis=axis) - np.take(truth, k, axis=axis))[m].astype(float)
            assert per[k] == pytest.approx(10 * np.log10(1.0 / np.mean(err ** 2)), abs=1e-9)
        # excluded end slices are NaN; pooled MSE of the slices gives brain_psnr
        assert np.all(np.isnan(per[:2])) and np.all(np.isnan(per[-2:]))
        n = mask.sum(axis=tuple(a for a in range(3) if a != axis))
        ok = n > 0
        pooled = np.sum(n[ok] * 10 ** (-per[ok] / 10)) / n[ok].sum()
        assert 10 * np.log10(1 / pooled) == pytest.approx(brain_psnr(pred, truth, axis, 2),
                                                          abs=1e-6)


def test_slice_psnr_perfect_slices_and_data_range(vols):
    truth, _ = vols
    per = slice_psnr(truth, truth, exclude=0)
    has = brain_mask(truth, 2, 0).any(axis=(0, 1))
    assert np.all(np.isposinf(per[has])) and np.all(np.isnan(per[~has]))
    a = slice_psnr(truth + 0.1, truth, exclude=0)
    b = slice_psnr(truth + 0.1, truth, exclude=0, data_range=2.0)
    ok = np.isfinite(a)
    np.testing.assert_allclose(b[ok] - a[ok], 20 * np.log10(2.0))


def test_slice_psnr_errors(vols):
    truth, pred = vols
    with pytest.raises(ValueError, match="slice_psnr: pred has shape"):
        slice_psnr(pred[:, :, :4], truth)
    with pytest.raises(ValueError, match="slice_psnr"):
        slice_psnr(pred, truth, axis=3)
    with pytest.raises(ValueError, match="slice_psnr"):
        slice_psnr(pred[0], truth[0])


# ----------------------------------------------------------------------------- on_fine_grid

def test_on_fine_grid_repeats_thick_slices(vols):
    truth, _ = vols
    thick, _ = simulate_thick_slices(truth, 2, 4)
    fine = on_fine_grid(thick, truth.shape)
    assert fine.shape == truth.shape
    for j in range(truth.shape[2]):
        np.testing.assert_array_equal(fine[:, :, j], thick[:, :, j // 4])
    np.testing.assert_array_equal(on_fine_grid(truth, truth.shape), truth)
    with pytest.raises(ValueError, match="on_fine_grid: axis 2"):
        on_fine_grid(thick[:, :, :5], truth.shape)


# ----------------------------------------------------------------------------- figures

def test_orthogonal_comparison_images_and_errors(vols):
    truth, pred = vols
    thick, _ = simulate_thick_slices(truth, 2, 4)
    index = (5, 9, 13)
    fig = orthogonal_comparison(truth, {"thick": thick, "model": pred}, index=index)
    assert isinstance(fig, Figure)
    axes = panel_axes(fig)
    names = {f"{v}:{n}" for v in ("sagittal", "coronal", "axial")
             for n in ("truth", "thick", "model")}
    assert names == set(axes)
    for axis, view in enumerate(("sagittal", "coronal", "axial")):
        np.testing.assert_allclose(data(axes[f"{view}:truth"]), slice_image(truth, axis, index[axis]))
        np.testing.assert_allclose(data(axes[f"{view}:model"]), slice_image(pred, axis, index[axis]))
        np.testing.assert_allclose(data(axes[f"{view}:thick"]),
                                   slice_image(on_fine_grid(thick, truth.shape), axis, index[axis]))
    fig = orthogonal_comparison(truth, {"model": pred}, index=index, views=("coronal",),
                                error=True, error_vmax=0.1)
    axes = panel_axes(fig)
    assert set(axes) == {"coronal:model"}
    np.testing.assert_allclose(data(axes["coronal:model"]),
                               np.abs(slice_image(pred, 1, 9) - slice_image(truth, 1, 9)),
                               rtol=1e-6, atol=1e-7)
    assert axes["coronal:model"].images[0].get_clim() == (0.0, 0.1)
    # rows="volumes": the same panels, one row per volume
    fig = orthogonal_comparison(truth, {"model": pred}, index=index, rows="volumes")
    axes = panel_axes(fig)
    assert set(axes) == {f"{v}:{n}" for v in ("sagittal", "coronal", "axial")
                         for n in ("truth", "model")}
    np.testing.assert_allclose(data(axes["axial:model"]), slice_image(pred, 2, 13))
    rows = {round(ax.get_position().y0, 3) for name, ax in axes.items() if name.endswith(":model")}
    assert len(rows) == 1


def test_orthogonal_comparison_errors(vols):
    truth, pred = vols
    with pytest.raises(ValueError, match="orthogonal_comparison: volumes"):
        orthogonal_comparison(truth, {})
    with pytest.raises(ValueError, match=r"orthogonal_comparison: volumes\['bad'\]"):
        orthogonal_comparison(truth, {"bad": pred[:, :, :5]})
    with pytest.raises(ValueError, match="orthogonal_comparison: index"):
        orthogonal_comparison(truth, {"m": pred}, index=(0, 0, 99))
    with pytest.raises(ValueError, match="orthogonal_comparison: unknown view"):
        orthogonal_comparison(truth, {"m": pred}, views=("oblique",))
    with pytest.raises(ValueError, match="orthogonal_comparison: rows"):
        orthogonal_comparison(truth, {"m": pred}, rows="columns")
    with pytest.raises(ValueError, match="orthogonal_comparison: voxel_size"):
        orthogonal_comparison(truth, {"m": pred}, voxel_size=(1, 0, 1))


def test_slice_psnr_figure_data():
    z = np.arange(12)
    a = np.array([np.nan, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, np.nan])
    b = a + np.tile([1.0, 2.0, 3.0, 4.0], 3)
    fig = slice_psnr_figure({"cubic": a, "model": b}, factor=4, baseline="cubic", z=z)
    axes = panel_axes(fig)
    assert set(axes) == {"per_slice", "phase", "gain", "gain_phase"}
    np.testing.assert_array_equal(axes["per_slice"].lines[1].get_ydata(), b)
    np.testing.assert_allclose(axes["gain"].lines[0].get_ydata()[1:-1], (b - a)[1:-1])
    heights = [p.get_height() for p in axes["gain_phase"].patches]
    np.testing.assert_allclose(heights, [1, 2, 3, 4])
    phase = [p.get_height() for p in axes["phase"].patches][:4]      # cubic's bars first
    np.testing.assert_allclose(phase, [np.nanmean(a[k::4]) for k in range(4)])
    fig = slice_psnr_figure({"cubic": a})
    assert set(panel_axes(fig)) == {"per_slice"}


def test_slice_psnr_figure_errors():
    with pytest.raises(ValueError, match="slice_psnr_figure: values"):
        slice_psnr_figure({})
    with pytest.raises(ValueError, match="slice_psnr_figure: values"):
        slice_psnr_figure({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="slice_psnr_figure: baseline"):
        slice_psnr_figure({"a": np.zeros(3)}, baseline="b")
    with pytest.raises(ValueError, match="slice_psnr_figure: z"):
        slice_psnr_figure({"a": np.zeros(3)}, z=np.arange(4))
