"""labkit.sr: super-resolving slices and volumes, grids and affines, evaluation."""

import nibabel as nib
import numpy as np
import pytest

from labkit.data import load_volume
from labkit.metrics import psnr
from labkit.models import edsr, wdsr_b
from labkit.ops.resize import imresize
from labkit.sr import (
    evaluate_network,
    make_pairs,
    network_scale,
    super_resolve,
    upscale_file,
    upscale_volume,
    upscaled_affine,
)


@pytest.fixture(scope="module")
def phantom_piece():
    vol = load_volume("phantom")
    return vol.data[40:72, 50:90, 78:81].copy(), vol.affine


def test_network_scale():
    assert network_scale(edsr(3, 1, 4)) == 3
    assert network_scale(wdsr_b(4, 1, 4)) == 4


def test_super_resolve_layouts_and_clip(rng):
    net = edsr(2, 1, 4, seed=0)
    lr = rng.random((3, 5, 6), dtype=np.float32)
    out = super_resolve(net, lr)
    assert out.shape == (3, 10, 12) and out.min() >= 0 and out.max() <= 1
    assert super_resolve(net, lr[0]).shape == (10, 12)
    assert super_resolve(net, lr[..., None]).shape == (3, 10, 12, 1)
    # Alone or in a batch of 3: GEMM blocking depends on the batch size and the CPU, so the
    # same slice agrees to float32 rounding, not bit for bit.
    np.testing.assert_allclose(super_resolve(net, lr[1]), out[1], rtol=1e-5, atol=1e-6)
    raw = super_resolve(net, lr, clip=False)
    assert raw.min() < 0 or raw.max() > 1                      # an untrained net overshoots
    with pytest.raises(ValueError, match="super_resolve"):
        super_resolve(net, np.zeros((1, 2, 3, 4, 5)))


def test_upscaled_affine_keeps_field_of_view():
    affine = np.array([[0.0, -1.2, 0.0, 30.0],
                       [1.5, 0.0, 0.0, -20.0],
                       [0.0, 0.0, 3.0, 5.0],
                       [0.0, 0.0, 0.0, 1.0]])
    new = upscaled_affine(affine, 2)
    # voxel sizes along the upscaled axes halve, the slice axis keeps its size
    np.testing.assert_allclose(np.linalg.norm(new[:3, :3], axis=0), [0.75, 0.6, 3.0])
    # LR voxel i is centred between HR voxels 2i and 2i+1 (edges coincide)
    for i, j, k in [(0, 0, 0), (3, 5, 2)]:
        lr_world = affine @ [i, j, k, 1]
        hr_world = new @ [2 * i + 0.5, 2 * j + 0.5, k, 1]
        np.testing.assert_allclose(hr_world, lr_world)
    # the outer edge of the first voxel is the same point on both grids
    np.testing.assert_allclose(affine @ [-0.5, -0.5, 0, 1], new @ [-0.5, -0.5, 0, 1])


def test_upscale_volume_axes_and_intensity(rng, phantom_piece):
    vol, affine = phantom_piece
    net = edsr(2, 1, 4, seed=0)
    out, new_affine = upscale_volume(net, vol * 300.0, affine, axis=2)
    assert out.shape == (64, 80, 3) and out.dtype == np.float32
    # the network saw the slices in [0, 1]: the same as super_resolve, rescaled
    ref = super_resolve(net, np.moveaxis(vol / vol.max(), 2, 0), clip=False)
    np.testing.assert_allclose(out[:, :, 1], ref[1] * vol.max() * 300.0, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(new_affine, upscaled_affine(affine, 2, (0, 1)))
    out0, a0 = upscale_volume(net, vol, affine, axis=0)
    assert out0.shape == (32, 80, 6)
    np.testing.assert_allclose(a0, upscaled_affine(affine, 2, (1, 2)))
    with pytest.raises(ValueError, match="axis"):
        upscale_volume(net, vol, axis=3)


def test_upscale_file_roundtrip(tmp_path, phantom_piece):
    vol, _ = phantom_piece
    affine = np.diag([0.9, 1.1, 2.5, 1.0])
    affine[:3, 3] = [-10.0, 20.0, 30.0]
    src = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image((vol * 1000).astype(np.int16), affine), str(src))
    ck = edsr(2, 1, 4, seed=0).save(tmp_path / "net.npz")
    # 0.9 x 1.1 x 2.5 mm is a thick-slice scan: in-plane SR is refused unless forced.
    with pytest.raises(ValueError, match="upscale_file: the voxels are 0.9 x 1.1 x 2.5 mm"):
        upscale_file(src, tmp_path / "out.nii.gz", ck)
    info = upscale_file(src, tmp_path / "out.nii.gz", ck, force=True)
    out = nib.load(str(tmp_path / "out.nii.gz"))
    assert out.shape == (64, 80, 3) and info["output_shape"] == [64, 80, 3]
    np.testing.assert_allclose(out.header.get_zooms(), (0.45, 0.55, 2.5), rtol=1e-6)
    np.testing.assert_allclose(out.affine, upscaled_affine(affine, 2), atol=1e-6)
    np.testing.assert_allclose(out.get_sform(), out.affine, atol=1e-6)
    with pytest.raises(FileNotFoundError):
        upscale_file(tmp_path / "nope.nii.gz", tmp_path / "o.nii.gz", ck)
    with pytest.raises(ValueError, match=r"\.nii"):
        upscale_file(src, tmp_path / "o.png", ck)


def test_evaluate_network_matches_direct_computation(phantom_piece):
    vol, _ = phantom_piece
    hr = np.moveaxis(vol, 2, 0)[:, :31, :]                      # 31 rows: cropped to 30 at x3
    net = edsr(3, 1, 4, seed=0)
    result = evaluate_network(net, hr, degradation="bicubic")
    assert result["scale"] == 3 and result["n_slices"] == 3
    lr, hr_c = make_pairs(hr, 3, "bicubic")
    assert hr_c.shape == (3, 30, 39) and lr.shape == (3, 10, 13)
    bic = psnr(imresize(lr, output_shape=hr_c.shape[1:]), hr_c, crop=3, reduce=False)
    np.testing.assert_allclose(result["bicubic"]["psnr_per_slice"], bic)
    assert result["bicubic"]["psnr"] == pytest.approx(float(np.mean(bic)))
    model = psnr(super_resolve(net, lr), hr_c, crop=3, reduce=False)
    np.testing.assert_allclose(result["model"]["psnr_per_slice"], model)
    assert 0 < result["model"]["ssim"] <= 1 and len(result["model"]["ssim_per_slice"]) == 3
