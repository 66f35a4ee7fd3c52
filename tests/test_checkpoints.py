"""The shipped checkpoints keep the promises data/README.md makes for them: the specialists
beat bicubic on MNI-SR by several dB, and the blind x2 model beats bicubic inside the brain by
at least 0.5 dB in every cell of the generalisation matrix."""

from pathlib import Path

import pytest

from labkit.evaluation import GENERALIZATION_CELLS, evaluate_network, generalization_matrix
from labkit.data import mni_sr_split
from labkit.sr import load_sr_network

CHECKPOINTS = Path(__file__).resolve().parents[1] / "data" / "checkpoints"


@pytest.mark.parametrize("name, scale", [("edsr-x2.npz", 2), ("edsr-x4.npz", 4)])
def test_specialists_beat_bicubic_on_mni_sr(name, scale):
    net, config = load_sr_network(CHECKPOINTS / name)
    assert config["scale"] == scale and config["degradation"] == "bicubic"
    result = evaluate_network(net, mni_sr_split()["test"], scale, "bicubic")
    assert result["model"]["psnr"] > result["bicubic"]["psnr"] + 3.0
    assert result["model"]["ssim"] > result["bicubic"]["ssim"]


def test_blind_model_beats_bicubic_in_every_cell():
    net, config = load_sr_network(CHECKPOINTS / "edsr-x2-blind.npz")
    assert config["degradation"] == "mix" and config["scale"] == 2
    assert config["synthetic"] == 0.3
    rows = generalization_matrix(net)
    assert [(r["data"], r["degradation"], r["noise_snr"]) for r in rows] == list(
        GENERALIZATION_CELLS)
    worst = min(rows, key=lambda r: r["gain_db"])
    assert worst["gain_db"] >= 0.5, worst                  # the bar, in every cell
    assert sum(r["gain_db"] >= 1.0 for r in rows) >= 5      # and by 1 dB in all but one
