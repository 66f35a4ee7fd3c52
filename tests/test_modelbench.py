"""labkit.modelbench: flop counts, the step profile and the paired network benchmark.

Only structure and arithmetic are asserted here; speed is shown by the benchmarks
(``benchmarks/bench_train_step.py``), never by a timed test.
"""

import numpy as np
import pytest

from labkit.bench import conv_flops, cpu_load
from labkit.modelbench import (
    benchmark_network,
    conv_flops_of,
    format_profile,
    labkit_train_step,
    profile_train_step,
)
from labkit.models import edsr


@pytest.fixture()
def problem():
    rng = np.random.default_rng(0)
    x = rng.random((2, 12, 12, 1), dtype=np.float32)
    y = rng.random((2, 24, 24, 1), dtype=np.float32)
    return x, y


def test_flops_count_three_passes_and_winograd_spends_fewer():
    net = edsr(2, 1, 16, seed=0)                         # head, 2 body, body end, up, tail
    shape = (4, 32, 32, 1)
    f = conv_flops_of(net, shape, training=False)
    t = conv_flops_of(net, shape, training=True)
    assert t["direct"] == 3 * f["direct"]
    expect = (conv_flops(4, 32, 32, 1, 16, 3, 3) + 3 * conv_flops(4, 32, 32, 16, 16, 3, 3)
              + conv_flops(4, 32, 32, 16, 64, 3, 3) + conv_flops(4, 64, 64, 16, 1, 3, 3))
    assert f["direct"] == expect
    by_algo = {r["algorithm"] for r in f["layers"]}
    assert by_algo == {"direct", "winograd"}       # auto: direct for the 1-channel head and tail
    for r in f["layers"]:
        if r["algorithm"] == "direct":
            assert r["actual"] == r["direct"]
        else:
            assert r["actual"] < r["direct"]
    assert f["actual"] < f["direct"]


def test_profile_covers_every_layer_and_leaves_the_network_as_it_was(problem):
    x, y = problem
    net, twin = edsr(2, 2, 8, seed=1), edsr(2, 2, 8, seed=1)
    prof = profile_train_step(net, x, y, steps=2, warmup=1)
    assert len(prof["rows"]) == len(net.layers)
    parts = sum(r["total_s"] for r in prof["rows"]) + prof["loss_s"] + prof["update_s"]
    assert 0 < parts <= prof["step_s"] * 1.0001
    assert all("forward" not in vars(layer) for layer in net.layers)   # wrappers removed
    assert sum(k["count"] for k in prof["by_kind"]) == len(net.layers)
    text = format_profile(prof)
    assert "Conv2D 3x3 8->8" in text and "optimizer update" in text
    # the profiled steps are ordinary steps: same weights as three plain ones
    step = labkit_train_step(twin, x, y)
    for _ in range(3):
        step()
    for (k, a), b in zip(net.named_params().items(), twin.named_params().values()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("kwargs,match", [
    ({"task": "training"}, "task must be 'train_step' or 'inference'"),
    ({"task": "train_step", "y": None}, "a training step needs the target batch y"),
])
def test_benchmark_network_bad_input(problem, kwargs, match):
    x, y = problem
    args = {"y": y} | kwargs
    with pytest.raises(ValueError, match="benchmark_network: " + match):
        benchmark_network(edsr(2, 1, 4), x, runs=1, repeats=1, warmup=0, **args)


def test_benchmark_network_against_torch(problem):
    pytest.importorskip("torch", reason="PyTorch is the reference; not installed")
    x, y = problem
    for task in ("train_step", "inference"):
        r = benchmark_network(edsr(2, 1, 8, seed=0), x, y, task, runs=3, repeats=1, warmup=1)
        assert set(r["seconds"]) == {"labkit", "torch_nchw", "torch_channels_last"}
        assert r["ratio"]["n"] == 3 and r["ratio"]["min"] > 0
        best = np.minimum(r["runs"]["torch_nchw"], r["runs"]["torch_channels_last"])
        np.testing.assert_allclose(sorted(r["ratio"]["runs"]),
                                   sorted(best / np.asarray(r["runs"]["labkit"])))
        assert r["faster_format"] in ("nchw", "channels_last")
        assert sum(r["format_wins"].values()) == 3
        assert r["gflops"]["labkit"]["actual"] <= r["gflops"]["labkit"]["direct"]   # im2col here


def test_cpu_load_starts_and_stops_its_process():
    import os
    with cpu_load(1) as load:
        pids = [c.pid for c in load._children]
        assert len(pids) == 1 and all(c.poll() is None for c in load._children)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(ValueError, match="cpu_load: processes must be an int >= 1"):
        cpu_load(0)
