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


# ----------------------------------------------------------------------------- blind degradations

def _which_method(sampler, lr, hr, scale):
    """For each sample, the degradations whose LR of the HR patch matches it inside the patch
    (borders differ: the patch was cut from a degraded slice, not degraded itself)."""
    from labkit.data import DEGRADATIONS

    m = 3
    found = []
    for n in range(lr.shape[0]):
        hits = []
        for method in DEGRADATIONS:
            ref = degrade(hr[n, :, :, 0], scale, method=method)
            if method == "kspace":        # global: compare loosely, inner region only
                ok = np.abs(ref[m:-m, m:-m] - lr[n, m:-m, m:-m, 0]).mean() < 0.02
            else:
                ok = np.allclose(ref[m:-m, m:-m], lr[n, m:-m, m:-m, 0], atol=2e-3)
            hits.append(ok)
        found.append(hits)
    return np.array(found)


def test_mix_draws_every_degradation(slices):
    sampler = PatchSampler(slices, 2, 32, 48, degradation="mix", augment=False, seed=0)
    assert sampler.lr.shape == (3,) + (8, 48, 56)
    lr, hr = sampler.sample()
    hits = _which_method(sampler, lr, hr, 2)
    # bicubic and gaussian are told apart exactly; every patch matches some degradation, and
    # each of the three shows up in a batch of 48.
    assert hits.any(axis=1).all()
    method = np.argmax(hits[:, [0, 2]], axis=1)
    assert hits[:, 0].any() and hits[:, 2].any() and (~hits[:, 0] & ~hits[:, 2]).any()
    assert method.size == 48


def test_noise_on_a_fraction_of_patches_at_the_asked_snr(slices):
    clean = PatchSampler(slices, 2, 32, 400, augment=False, seed=4, min_foreground=0.5)
    noisy = PatchSampler(slices, 2, 32, 400, augment=False, seed=4, min_foreground=0.5,
                         noise_snr=(20.0, 20.0), noise_fraction=0.5)
    lr0, hr0 = clean.sample()
    lr1, hr1 = noisy.sample()
    np.testing.assert_array_equal(hr0, hr1)            # same positions: noise is drawn after
    diff = (lr1 - lr0).reshape(400, -1)
    touched = np.abs(diff).max(axis=1) > 0
    assert 0.4 < touched.mean() < 0.6                  # about half the patches
    # Rician noise of sigma = mean_fg / 20 on bright pixels is about Gaussian with that sigma.
    from labkit.data.degrade import foreground_mean
    sigma = float(np.mean(foreground_mean(noisy.lr))) / 20
    bright = (lr0.reshape(400, -1) > 0.3) & touched[:, None]
    measured = np.std(diff[bright])
    assert 0.8 * sigma < measured < 1.2 * sigma


def test_intensity_scale_multiplies_lr_and_hr_alike(slices):
    plain = PatchSampler(slices, 2, 32, 64, augment=False, seed=2)
    scaled = PatchSampler(slices, 2, 32, 64, augment=False, seed=2, intensity_scale=(0.5, 2.0))
    lr0, hr0 = plain.sample()
    lr1, hr1 = scaled.sample()
    c_hr = hr1.max(axis=(1, 2, 3)) / hr0.max(axis=(1, 2, 3))
    c_lr = lr1.max(axis=(1, 2, 3)) / lr0.max(axis=(1, 2, 3))
    np.testing.assert_allclose(c_hr, c_lr, rtol=1e-5)
    assert c_hr.min() >= 0.5 - 1e-6 and c_hr.max() <= 2.0 + 1e-6
    assert c_hr.min() < 0.7 and c_hr.max() > 1.4       # the range is used
    np.testing.assert_allclose(lr1, lr0 * c_hr[:, None, None, None], rtol=1e-5, atol=1e-7)


def test_blind_sampler_is_seeded_and_resumes(slices):
    kw = dict(degradation="mix", noise_snr=(10, 60), intensity_scale=(0.5, 2), seed=9)
    a = PatchSampler(slices, 2, 32, 4, **kw)
    a.sample()
    state = json.loads(json.dumps(a.state_dict()))
    nxt = [a.sample() for _ in range(3)]
    b = PatchSampler(slices, 2, 32, 4, **kw)
    b.load_state_dict(state)
    for (la, ha), (lb, hb) in zip(nxt, [b.sample() for _ in range(3)]):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ha, hb)


@pytest.mark.parametrize("kwargs,match", [
    ({"noise_snr": (20, 10)}, "noise_snr must be .lo, hi. with lo <= hi"),
    ({"noise_snr": (0, 10)}, "noise_snr must be > 0"),
    ({"noise_snr": 20}, "noise_snr must be a pair"),
    ({"noise_snr": "20"}, "noise_snr must be a pair"),
    ({"noise_fraction": 2}, "noise_fraction must be <= 1"),
    ({"noise_fraction": True}, "noise_fraction must be a number"),
    ({"intensity_scale": (1, float("inf"))}, "intensity_scale must be a finite number"),
    ({"intensity_scale": (0, 1)}, "intensity_scale must be > 0"),
    ({"synthetic": 1.5}, "synthetic must be <= 1"),
    ({"synthetic": "half"}, "synthetic must be a number"),
])
def test_bad_blind_arguments(slices, kwargs, match):
    with pytest.raises(ValueError, match="PatchSampler: " + match):
        PatchSampler(slices, 2, 32, 2, **kwargs)


def test_synthetic_patches_come_from_sharp_copies_at_the_same_place(slices):
    """With synthetic=f about a fraction f of the patches are cut from the piecewise-constant
    copy of their slice, at the same place; the rest are the plain patches, bit for bit."""
    from labkit.data.synth import synthetic_contrast
    plain = PatchSampler(slices, 2, 32, 400, augment=False, seed=4)
    mixed = PatchSampler(slices, 2, 32, 400, augment=False, seed=4, synthetic=0.3)
    assert mixed.hr.shape[0] == 2 * slices.shape[0]
    np.testing.assert_array_equal(mixed.hr[len(slices):], synthetic_contrast(
        mixed.hr[:len(slices)], seed=4))
    k, i, j = PatchSampler(slices, 2, 32, 400, augment=False, seed=4)._positions()
    _, hr0 = plain.sample()
    _, hr1 = mixed.sample()
    same = np.all(hr0 == hr1, axis=(1, 2, 3))
    assert 0.2 < 1 - same.mean() < 0.4                        # about 30 % replaced
    # a replaced patch has few distinct grey levels away from its (blurred) boundaries
    synth = mixed.hr[len(slices):]
    crop = synth[k[~same][0], 2 * i[~same][0]:2 * i[~same][0] + 32,
                 2 * j[~same][0]:2 * j[~same][0] + 32]
    np.testing.assert_array_equal(hr1[~same][0, ..., 0], crop)


def test_synthetic_off_keeps_the_random_stream(slices):
    a = PatchSampler(slices, 2, 32, 4, seed=5)
    b = PatchSampler(slices, 2, 32, 4, seed=5, synthetic=0.0)
    for _ in range(2):
        for u, v in zip(a.sample(), b.sample()):
            np.testing.assert_array_equal(u, v)
