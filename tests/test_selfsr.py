"""Self-supervised through-plane SR (labkit.selfsr) and its slice-profile ops: grids, affines,
units, header defaults, exact resume, safe files, bad input.  Tiny volumes and networks: fast."""

from __future__ import annotations

import json
import os

import nibabel as nib
import numpy as np
import pytest

from labkit.data import load_volume
from labkit.ops.slice_profile import (
    brain_mask,
    brain_psnr,
    cubic_taps,
    degrade_axis,
    fine_affine,
    interpolate_slices,
    profile_weights,
    simulate_thick_slices,
    thick_affine,
)
from labkit.selfsr import (
    SelfSR,
    apply_selfsr,
    build_selfsr_network,
    default_axis_factor,
    selfsr_file,
    selfsr_volume,
    train_selfsr,
)

TINY = {"n_blocks": 1, "n_filters": 4, "patch": 8, "batch": 2, "checkpoint_every": 2}


@pytest.fixture(scope="module")
def fine():
    """A small phantom (1 mm) with its affine, cropped along z to a multiple of 4."""
    vol, affine, _ = load_volume("phantom", shape=(20, 24, 24))
    return vol, affine


@pytest.fixture(scope="module")
def thick(fine):
    vol, affine = fine
    return simulate_thick_slices(vol, 2, 4, affine)          # (20, 24, 6), 1 x 1 x 4 mm


def _edges(affine, shape, axis):
    """World positions of the outer edges of the first and last voxels along ``axis``."""
    lo = np.zeros(4)
    hi = np.zeros(4)
    lo[3] = hi[3] = 1
    lo[axis], hi[axis] = -0.5, shape[axis] - 0.5
    return (affine @ lo)[:3], (affine @ hi)[:3]


# ----------------------------------------------------------------------------- ops

@pytest.mark.parametrize("factor", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_simulate_is_mean_of_consecutive_slices(factor, axis):
    rng = np.random.default_rng(factor)
    vol = rng.random((13, 14, 15)).astype(np.float32)
    thick, _ = simulate_thick_slices(vol, axis, factor)
    n = vol.shape[axis] // factor
    assert thick.shape[axis] == n
    moved = np.moveaxis(vol, axis, 0)[:n * factor]
    want = moved.reshape(n, factor, *moved.shape[1:]).mean(axis=1)
    np.testing.assert_allclose(np.moveaxis(thick, axis, 0), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("factor", [2, 3, 4, 5, 6])
def test_affines_keep_field_of_view(factor):
    rng = np.random.default_rng(0)
    affine = np.eye(4)
    affine[:3, :3] = rng.normal(size=(3, 3))
    affine[:3, 3] = rng.normal(size=3) * 50
    shape = (7, 8, 9)
    for axis in range(3):
        fine_shape = list(shape)
        fine_shape[axis] *= factor
        fa = fine_affine(affine, axis, factor)
        for got, want in zip(_edges(fa, fine_shape, axis), _edges(affine, shape, axis)):
            np.testing.assert_allclose(got, want, atol=1e-9)
        np.testing.assert_allclose(thick_affine(fa, axis, factor), affine, atol=1e-12)
        # the origin shifts by half an input voxel minus half an output voxel
        step = affine[:3, axis]
        np.testing.assert_allclose(fa[:3, 3], affine[:3, 3] + step * (1 / factor - 1) / 2,
                                   atol=1e-12)


@pytest.mark.parametrize("factor", [2, 3, 4, 5, 6])
def test_cubic_baseline_reproduces_a_ramp_on_the_edge_aligned_grid(factor):
    # fine ramp -> thick slices (means) -> cubic back: exact away from the ends, because the
    # mean of a ramp over a thick slice is its value at the slice centre, and the thick
    # centres sit at fine coordinate f i + (f - 1) / 2, which the grid must match.
    n = 12 * factor
    ramp = np.broadcast_to(np.arange(n, dtype=np.float64) * 0.37 + 2, (3, 2, n)).copy()
    th, _ = simulate_thick_slices(ramp, 2, factor)
    for method in ("cubic", "linear"):
        back = interpolate_slices(th, 2, factor, method=method)
        assert back.shape == ramp.shape
        np.testing.assert_allclose(back[..., 2 * factor:-2 * factor],
                                   ramp[..., 2 * factor:-2 * factor], atol=1e-9)
    near = interpolate_slices(th, 2, factor, method="nearest")
    np.testing.assert_array_equal(near[0, 0], np.repeat(th[0, 0], factor))


def test_cubic_taps_sum_to_one_and_constant_stays_constant():
    for f in (2, 3, 4, 5, 6):
        idx, w = cubic_taps(5, f)
        np.testing.assert_allclose(w.sum(axis=1), 1.0)
        assert idx.min() >= 0 and idx.max() <= 4
    const = np.full((4, 5, 3), 7.25, dtype=np.float32)
    np.testing.assert_allclose(interpolate_slices(const, 2, 4), 7.25, rtol=1e-7)


def test_profiles_gap_and_gaussian():
    t0, w = profile_weights(4, thickness=3)                 # a 1-voxel gap between slices
    assert t0 == 0
    np.testing.assert_allclose(w, [1 / 6, 1 / 3, 1 / 3, 1 / 6])
    t0, w = profile_weights(4, "gaussian")
    np.testing.assert_allclose(w.sum(), 1.0)
    np.testing.assert_allclose(w, w[::-1])                    # centred on the slice
    assert t0 < 0                                             # reaches the neighbours
    x = np.arange(16, dtype=np.float64)
    # a symmetric profile keeps a ramp's value at the slice centre
    np.testing.assert_allclose(degrade_axis(x, 0, 4, "gaussian")[1:-1], [5.5, 9.5])
    np.testing.assert_allclose(degrade_axis(x, 0, 4, thickness=2), [1.5, 5.5, 9.5, 13.5])


def test_brain_psnr_mask_and_value():
    truth = np.zeros((6, 6, 20))
    truth[1:5, 1:5, :] = 1.0
    mask = brain_mask(truth, axis=2, exclude=4)
    assert mask.sum() == 16 * 12
    pred = truth.copy()
    pred[mask] += 0.1
    assert brain_psnr(pred, truth, axis=2) == pytest.approx(20.0)
    pred[..., :4] = 5.0                                       # end slices are not scored
    assert brain_psnr(pred, truth, axis=2) == pytest.approx(20.0)
    assert brain_psnr(truth, truth) == float("inf")


# ----------------------------------------------------------------------------- header defaults

@pytest.mark.parametrize("vs, want", [
    ((1, 1, 4), (2, 4)), ((4, 1, 1), (0, 4)), ((0.9, 5.0, 0.9), (1, 6)),
    ((1, 1, 2.6), (2, 3)), ((0.5, 0.5, 1.0), (2, 2)), ((1, 1.2, 3.0), (2, 3)),
])
def test_default_axis_and_factor_from_header(vs, want):
    assert default_axis_factor(vs) == want


@pytest.mark.parametrize("vs, kw", [
    ((1, 1, 1), {}),                       # isotropic: no axis is thicker
    ((1, 4, 4), {}),                       # two equally thick axes
    ((1, 1, 1.2), {}),                     # ratio rounds to 1
    ((1, 1, 8), {}),                       # ratio 8: outside 2..6
    ((1, 1, 1), {"axis": 2}),              # axis given, factor 1
    ((1, 1, 0), {}), ((1, 1), {}), ((1, np.nan, 4), {}),
])
def test_default_axis_and_factor_refuse(vs, kw):
    with pytest.raises(ValueError, match="default_axis_factor"):
        default_axis_factor(vs, **kw)


def test_isotropic_scan_with_factor_given_is_fine():
    assert default_axis_factor((1, 1, 1), axis=1, factor=3) == (1, 3)


# ----------------------------------------------------------------------------- the method

def test_selfsr_volume_round_trip(thick):
    th, taff = thick
    vs = np.sqrt((taff[:3, :3] ** 2).sum(axis=0))
    np.testing.assert_allclose(vs, [1, 1, 4])
    out, oaff, info = selfsr_volume(th, vs, taff, steps=3, progress=False, **TINY)
    assert out.shape == (20, 24, 24) and out.dtype == np.float32
    assert info["axis"] == 2 and info["factor"] == 4
    assert info["output_shape"] == [20, 24, 24]
    assert info["input_voxel_size"] == [1.0, 1.0, 4.0]
    assert info["output_voxel_size"] == [1.0, 1.0, 1.0]
    assert info["steps"] == 3 and info["seconds"] > 0
    json.dumps(info)                                         # the CLI payload is JSON
    for got, want in zip(_edges(oaff, out.shape, 2), _edges(taff, th.shape, 2)):
        np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(np.sqrt((oaff[:3, :3] ** 2).sum(axis=0)), [1, 1, 1])
    # The two orientations run: the output differs from cubic but not wildly (few steps).
    cubic = interpolate_slices(th, 2, 4)
    assert not np.array_equal(out, cubic)
    assert np.abs(out - cubic).max() < 0.5 * th.max()


def test_output_is_in_the_input_units(thick):
    th, _ = thick
    a, _, _ = selfsr_volume(th, (1, 1, 4), steps=2, progress=False, **TINY)
    b, _, _ = selfsr_volume(th * 1000.0, (1, 1, 4), steps=2, progress=False, **TINY)
    np.testing.assert_allclose(b, a * 1000.0, rtol=1e-3, atol=1e-3 * 1000 * 1e-3)
    const = np.full((8, 9, 3), 42.5, dtype=np.float32)
    out, _, info = selfsr_volume(const, (1, 1, 3), steps=2, progress=False, **TINY)
    assert out.shape == (8, 9, 9) and info["constant"]
    np.testing.assert_array_equal(out, 42.5)


@pytest.mark.parametrize("arch", ["residual", "subpixel"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_both_networks_and_every_axis(arch, axis):
    rng = np.random.default_rng(axis)
    shape = [10, 11, 12]
    shape[axis] = 4
    vol = rng.random(shape).astype(np.float32)
    model = train_selfsr(vol, axis=axis, factor=3, steps=2, progress=False, arch=arch, **TINY)
    out = apply_selfsr(model, vol)
    want = list(shape)
    want[axis] *= 3
    assert list(out.shape) == want and np.all(np.isfinite(out))


@pytest.mark.parametrize("factor", [2, 3, 4, 5, 6])
def test_subpixel_network_shapes(factor):
    net = build_selfsr_network(factor, "subpixel", 1, 4)
    assert net.forward(np.zeros((2, 3, 5, 1), np.float32)).shape == (2, 3 * factor, 5, 1)
    net = build_selfsr_network(factor, "residual", 1, 4)
    assert net.forward(np.zeros((2, 6, 5, 1), np.float32)).shape == (2, 6, 5, 1)


def _weights(model):
    return {k: v.copy() for k, v in model.net.named_params().items()}


def test_resume_is_exact(thick, tmp_path):
    th, _ = thick
    full = SelfSR(4, 2, **TINY).fit(th, steps=6, run_dir=tmp_path / "a", progress=False)
    half = SelfSR(4, 2, **TINY).fit(th, steps=6, until=3, run_dir=tmp_path / "b",
                                    progress=False)
    assert half.step == 3
    again = SelfSR(4, 2, **TINY).fit(th, steps=6, run_dir=tmp_path / "b", resume=True,
                                     progress=False)
    assert again.step == 6
    wf, wr = _weights(full), _weights(again)
    assert wf.keys() == wr.keys()
    for k in wf:
        np.testing.assert_array_equal(wf[k], wr[k], err_msg=k)
    assert full.history == again.history
    np.testing.assert_array_equal(full.apply(th), again.apply(th))
    # the checkpoint loads on its own, ready to apply
    loaded = SelfSR.load(tmp_path / "a" / "checkpoint.npz")
    np.testing.assert_array_equal(loaded.apply(th), full.apply(th))
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.endswith(".tmp")]


def test_resume_refuses_another_volume(thick, tmp_path):
    th, _ = thick
    SelfSR(4, 2, **TINY).fit(th, steps=2, run_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="another volume"):
        SelfSR(4, 2, **TINY).fit(th[::-1].copy(), steps=4, run_dir=tmp_path, resume=True,
                                 progress=False)


def test_fresh_run_refuses_an_existing_run_directory(thick, tmp_path):
    th, _ = thick
    SelfSR(4, 2, **TINY).fit(th, steps=2, run_dir=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.npz").read_bytes()
    with pytest.raises(ValueError, match="SelfSR.fit: .* already holds a run"):
        SelfSR(4, 2, **TINY).fit(th, steps=2, run_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert not (tmp_path / ".lock").exists()


def test_checkpoint_is_plain_arrays(thick, tmp_path):
    th, _ = thick
    SelfSR(4, 2, **TINY).fit(th, steps=2, run_dir=tmp_path, progress=False)
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as z:
        names = list(z.files)
        state = json.loads(str(z["__selfsr__"]))
    assert state["step"] == 2 and state["config"]["n_filters"] == 4
    assert any(n.startswith("optimizer:") and n.endswith("/m") for n in names)


# ----------------------------------------------------------------------------- files

def _write(tmp_path, thick, name="thick.nii.gz"):
    th, taff = thick
    path = tmp_path / name
    nib.save(nib.Nifti1Image(th, taff), str(path))
    return path


def test_selfsr_file_writes_fine_grid(thick, tmp_path):
    src = _write(tmp_path, thick)
    before = src.read_bytes()
    dst = tmp_path / "out" / "fine.nii.gz"
    info = selfsr_file(src, dst, steps=2, run_dir=tmp_path / "run", progress=False, **TINY)
    assert src.read_bytes() == before
    img = nib.load(str(dst))
    assert img.shape == (20, 24, 24)
    np.testing.assert_allclose(img.header.get_zooms()[:3], (1, 1, 1), rtol=1e-6)
    np.testing.assert_allclose(img.affine, fine_affine(thick[1], 2, 4), atol=1e-5)
    for key in ("axis", "factor", "input_voxel_size", "output_voxel_size", "output_shape",
                "steps", "seconds"):
        assert key in info
    assert info["output"] == str(dst) and (tmp_path / "run" / "checkpoint.npz").exists()
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(".")]
    # resume with the run finished: no more training, same output
    info2 = selfsr_file(src, tmp_path / "again.nii", steps=2, run_dir=tmp_path / "run",
                        resume=True, progress=False, **TINY)
    assert info2["steps"] == 2
    np.testing.assert_allclose(nib.load(str(tmp_path / "again.nii")).get_fdata(),
                               img.get_fdata(), rtol=1e-6, atol=1e-6)


def test_selfsr_file_keeps_scaled_integer_units(tmp_path):
    # int16 voxels with a scale slope: the output (float32) is in the scaled units.
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 300, size=(8, 9, 4)).astype(np.int16)
    img = nib.Nifti1Image(raw, np.diag([1.0, 1.0, 2.0, 1.0]))
    img.header.set_slope_inter(2.5, 10.0)
    nib.save(img, str(tmp_path / "s.nii"))
    units = np.asarray(nib.load(str(tmp_path / "s.nii")).dataobj, dtype=np.float32)
    info = selfsr_file(tmp_path / "s.nii", tmp_path / "o.nii", steps=1, progress=False, **TINY)
    assert info["factor"] == 2
    out = np.asarray(nib.load(str(tmp_path / "o.nii")).dataobj, dtype=np.float32)
    want, _, _ = selfsr_volume(units, (1, 1, 2), steps=1, progress=False, **TINY)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-4)


def test_selfsr_file_refuses_to_overwrite_its_input(thick, tmp_path):
    src = _write(tmp_path, thick)
    before = src.read_bytes()
    link = tmp_path / "link.nii.gz"
    os.symlink(src, link)
    for out in (src, link, tmp_path / "." / "thick.nii.gz"):
        with pytest.raises(ValueError, match="selfsr_file: the output"):
            selfsr_file(src, out, steps=1, progress=False, **TINY)
    assert src.read_bytes() == before


def test_selfsr_file_write_is_atomic(thick, tmp_path, monkeypatch):
    src = _write(tmp_path, thick)
    dst = tmp_path / "fine.nii.gz"
    dst.write_bytes(b"previous result")

    def broken_save(img, path):
        with open(path, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(nib, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        selfsr_file(src, dst, steps=1, progress=False, **TINY)
    assert dst.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.nii.gz", "thick.nii.gz"]


def test_selfsr_file_header_defaults(tmp_path):
    rng = np.random.default_rng(0)
    vol = rng.random((5, 12, 10)).astype(np.float32)
    affine = np.diag([3.0, 1.0, 1.0, 1.0])                   # thick along axis 0, factor 3
    nib.save(nib.Nifti1Image(vol, affine), str(tmp_path / "a.nii"))
    info = selfsr_file(tmp_path / "a.nii", tmp_path / "b.nii", steps=1, progress=False, **TINY)
    assert (info["axis"], info["factor"]) == (0, 3)
    assert info["output_shape"] == [15, 12, 10]
    assert nib.load(str(tmp_path / "b.nii")).header.get_zooms()[:3] == (1.0, 1.0, 1.0)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(tmp_path / "iso.nii"))
    with pytest.raises(ValueError, match="selfsr_volume: cannot tell the slice axis"):
        selfsr_file(tmp_path / "iso.nii", tmp_path / "c.nii", steps=1, progress=False)


# ----------------------------------------------------------------------------- bad input

_V = np.random.default_rng(0).random((8, 9, 4)).astype(np.float32)
_NAN = _V.copy()
_NAN[1, 1, 1] = np.nan

BAD = [
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), factor=1)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), factor=7)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), factor=2.0, axis=2)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), factor=True, axis=2)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), axis=3, factor=2)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), axis=-1, factor=2)),
    ("selfsr_volume", lambda: selfsr_volume(_V[..., 0], (1, 1, 4))),
    ("selfsr_volume", lambda: selfsr_volume(_V[..., None], (1, 1, 4))),
    ("selfsr_volume", lambda: selfsr_volume(_NAN, (1, 1, 4))),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 1))),
    ("selfsr_volume", lambda: selfsr_volume(_V)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, -4))),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), np.eye(3))),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), steps=-1)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), bogus=1)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), arch="unet")),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), lr=0)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), seed=-1)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), fwhm=2.0)),
    ("selfsr_volume", lambda: selfsr_volume(_V, (1, 1, 4), patch=2)),
    ("SelfSR", lambda: SelfSR(4, 2, profile="triangle")),
    ("profile_weights", lambda: SelfSR(4, 2, fwhm=3.0)),
    ("SelfSR", lambda: SelfSR(8, 2)),
    ("SelfSR", lambda: SelfSR(4, 5)),
    ("SelfSR.fit", lambda: SelfSR(4, 2).fit(np.zeros((5, 5, 3)))),
    ("SelfSR.fit", lambda: SelfSR(4, 2).fit(_V, resume=True)),
    ("SelfSR.apply", lambda: SelfSR(4, 2).apply(_NAN)),
    ("apply_selfsr", lambda: apply_selfsr("model", _V)),
    ("simulate_thick_slices", lambda: simulate_thick_slices(_V, 2, 7)),
    ("simulate_thick_slices", lambda: simulate_thick_slices(_V, 3, 2)),
    ("simulate_thick_slices", lambda: simulate_thick_slices(_V, 2, 5)),
    ("simulate_thick_slices", lambda: simulate_thick_slices(_NAN, 2, 2)),
    ("simulate_thick_slices", lambda: simulate_thick_slices(_V[0], 1, 2)),
    ("interpolate_slices", lambda: interpolate_slices(_V, 2, 1)),
    ("interpolate_slices", lambda: interpolate_slices(_V, 2, 2, method="spline")),
    ("interpolate_slices", lambda: interpolate_slices(_V, 2.0, 2)),
    ("brain_psnr", lambda: brain_psnr(_V, _V[:4])),
    ("brain_mask", lambda: brain_psnr(_V, _V, exclude=2)),
    ("brain_mask", lambda: brain_psnr(_V, _V, exclude=-1)),
    ("brain_psnr", lambda: brain_psnr(_V, np.zeros((8, 9, 4)), exclude=1)),
    ("fine_affine", lambda: fine_affine(np.eye(3), 2, 2)),
    ("thick_affine", lambda: thick_affine(np.eye(4), 2, 9)),
    ("default_axis_factor", lambda: default_axis_factor((1, 1, 4), axis=7)),
]


@pytest.mark.parametrize("owner, call", BAD, ids=[f"{o}-{i}" for i, (o, _) in enumerate(BAD)])
def test_bad_input_names_the_function(owner, call):
    with pytest.raises(ValueError, match=owner.replace(".", r"\.")):
        call()


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="selfsr_file"):
        selfsr_file(tmp_path / "missing.nii", tmp_path / "o.nii")
    (tmp_path / "junk.nii").write_bytes(b"not nifti")
    with pytest.raises(ValueError, match="selfsr_file"):
        selfsr_file(tmp_path / "junk.nii", tmp_path / "o.nii")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.float32), np.eye(4)),
             str(tmp_path / "four.nii"))
    with pytest.raises(ValueError, match="selfsr_file: expected a 3-D volume"):
        selfsr_file(tmp_path / "four.nii", tmp_path / "o.nii")
    with pytest.raises(ValueError, match="selfsr_file: output must end"):
        selfsr_file(tmp_path / "four.nii", tmp_path / "o.npz")
