"""PatchSampler: alignment, augmentation, determinism, resume, speed and bad input."""

import json

import numpy as np
import pytest

from labkit.data import PatchSampler, degrade, load_volume


@pytest.fixture(scope="module")
def slices():
    vol = load_volume("phantom", seed=1, shape=(96, 112, 24)).data
    return np.moveaxis(vol, -1, 0)[8:16].copy()       # 8 axial slices, 96 x 112


def test_shapes_and_dtypes(slices):
    lr, hr = PatchSampler(slices, scale=2, patch=32, batch=5).sample()
    assert lr.shape == (5, 16, 16, 1) and hr.shape == (5, 32, 32, 1)
    assert lr.dtype == hr.dtype == np.float32


@pytest.mark.parametrize("augment", [False, True])
@pytest.mark.parametrize("scale,degradation", [(2, "bicubic"), (4, "bicubic"), (3, "gaussian")])
def test_lr_patch_is_the_degraded_hr_patch(slices, augment, scale, degradation):
    """Away from the patch border, degrading the HR patch gives the sampled LR patch."""
    sampler = PatchSampler(slices, scale=scale, patch=12 * scale, batch=8,
                           degradation=degradation, augment=augment, seed=3)
    for _ in range(3):
        lr, hr = sampler.sample()
        again = degrade(hr[..., 0], scale, degradation)
        m = 3                                             # the kernels reach < 3 LR pixels
        np.testing.assert_allclose(again[:, m:-m, m:-m], lr[:, m:-m, m:-m, 0], atol=1e-5)


def test_scale_three_crops_the_images(slices):
    sampler = PatchSampler(slices[:, :95, :110], scale=3, patch=24, batch=2)
    assert sampler.hr.shape == (8, 93, 108) and sampler.lr.shape == (8, 31, 36)


def test_augmentations_are_the_eight_symmetries():
    grids = []
    for t in (0, 1):
        for fr in (0, 1):
            for fc in (0, 1):
                rows, cols = PatchSampler._local_grids(
                    4, np.array([t], bool), np.array([fr], bool), np.array([fc], bool))
                grids.append(np.arange(16).reshape(4, 4)[rows[0], cols[0]])
    base = np.arange(16).reshape(4, 4)
    expected = [np.rot90(base, k) for k in range(4)] + [np.rot90(base.T, k) for k in range(4)]
    assert sorted(g.tobytes() for g in grids) == sorted(e.tobytes() for e in expected)


def test_determinism(slices):
    a = PatchSampler(slices, 2, 32, 4, seed=11)
    b = PatchSampler(slices, 2, 32, 4, seed=11)
    c = PatchSampler(slices, 2, 32, 4, seed=12)
    for _ in range(3):
        (la, ha), (lb, hb), (lc, _) = a.sample(), b.sample(), next(c)
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ha, hb)
    assert not np.array_equal(la, lc)


def test_resume_from_state(slices):
    a = PatchSampler(slices, 2, 32, 4, seed=5, min_foreground=0.3)
    for _ in range(2):
        a.sample()
    state = json.loads(json.dumps(a.state_dict()))       # survives a JSON round trip
    expected = [a.sample() for _ in range(3)]
    b = PatchSampler(slices, 2, 32, 4, seed=999, min_foreground=0.3)
    b.load_state_dict(state)
    for (le, he), (lb, hb) in zip(expected, (next(b) for _ in range(3))):
        np.testing.assert_array_equal(le, lb)
        np.testing.assert_array_equal(he, hb)


def test_min_foreground(slices):
    one = slices[3:4]                                     # one slice: its maximum is known
    def foreground(hr):
        return (hr[..., 0] > 0.1 * one.max()).mean(axis=(1, 2))

    plain = PatchSampler(one, 2, 32, 64, seed=0)
    assert foreground(plain.sample()[1]).min() < 0.9      # corners of the head are background
    picky = PatchSampler(one, 2, 32, 64, seed=0, min_foreground=0.9)
    for _ in range(3):
        assert foreground(picky.sample()[1]).min() >= 0.9


@pytest.mark.parametrize("kwargs,match", [
    ({"scale": 3, "patch": 32}, "not divisible"),
    ({"scale": 2, "patch": 200}, "larger"),
    ({"scale": 0, "patch": 32}, "scale"),
    ({"scale": 2, "patch": 32, "batch": 0}, "batch"),
    ({"scale": 2, "patch": 32, "degradation": "lanczos"}, "unknown degradation"),
    ({"scale": 2, "patch": 32, "min_foreground": 1.0}, "min_foreground"),
])
def test_bad_arguments(slices, kwargs, match):
    kwargs.setdefault("batch", 2)
    with pytest.raises(ValueError, match=match):
        PatchSampler(slices, **kwargs)


def test_bad_images_and_state(slices):
    with pytest.raises(ValueError, match=r"PatchSampler.*\(2, 3, 4, 5\)"):
        PatchSampler(np.zeros((2, 3, 4, 5)), 2, 2, 1)
    sampler = PatchSampler(slices, 2, 32, 2)
    with pytest.raises(ValueError, match="load_state_dict"):
        sampler.load_state_dict({"nope": 1})
