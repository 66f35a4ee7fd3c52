"""The timing harness on a tiny configuration (fast; the real benchmarks are not tests)."""

import json

import numpy as np
import pytest

from labkit import bench

TINY = {"sizes": (8,), "channels": (4,), "batch": 1, "repeats": 1, "include_torch": False}


def test_benchmark_rows_have_the_documented_keys():
    rows = bench.benchmark_conv(algorithms=("naive", "im2col", "winograd", "winograd_f2x3"),
                                **TINY)
    assert len(rows) == 4 * len(bench.PASSES)
    keys = {"algorithm", "N", "H", "W", "C_in", "C_out", "k", "pass", "seconds", "gflops",
            "workspace_bytes"}
    for r in rows:
        assert keys <= set(r)
        assert r["seconds"] > 0 and r["gflops"] > 0
        assert r["pass"] in bench.PASSES
    im2col = next(r for r in rows if r["algorithm"] == "im2col")
    assert im2col["workspace_bytes"] == 1 * 8 * 8 * 9 * 4 * 4


def test_workspace_bytes():
    shape, w = (16, 48, 48, 64), (3, 3, 64, 64)
    cols = bench.workspace_bytes("im2col", shape, w)
    assert cols == 16 * 48 * 48 * 9 * 64 * 4
    assert bench.workspace_bytes("winograd", shape, w) < cols / 10
    assert bench.workspace_bytes("im2col", shape, (1, 1, 64, 64), pads=((0, 0), (0, 0))) == 0
    with pytest.raises(ValueError, match="unknown algorithm"):
        bench.workspace_bytes("fft", shape, w)


def test_time_conv_and_flops():
    t = bench.time_conv("winograd", (1, 8, 8, 2), (3, 3, 2, 2), repeats=1)
    assert set(t) == set(bench.PASSES) and all(v > 0 for v in t.values())
    assert bench.conv_flops(1, 8, 8, 2, 3, 3, 3) == 2 * 64 * 2 * 3 * 9
    with pytest.raises(ValueError, match="unknown algorithm"):
        bench.time_conv("fft", (1, 8, 8, 2), (3, 3, 2, 2), repeats=1)


def test_torch_rows_when_available():
    pytest.importorskip("torch", reason="PyTorch is optional")
    rows = bench.benchmark_conv(sizes=(8,), channels=(2,), batch=1, repeats=1,
                                algorithms=("im2col",), include_torch=True,
                                passes=("forward",))
    assert [r["algorithm"] for r in rows] == ["im2col", "torch_nchw", "torch_channels_last",
                                              "torch"]
    assert all(r["workspace_bytes"] is None for r in rows[1:])
    # "torch" is the faster of the two formats, measured in the same run.
    best = min(rows[1:3], key=lambda r: r["seconds"])
    assert rows[3]["seconds"] == best["seconds"]
    assert rows[3]["format"] == best["algorithm"][len("torch_"):]


def test_torch_formats_compute_the_same_convolution():
    pytest.importorskip("torch", reason="PyTorch is optional")
    x, w, b = bench.make_conv_problem(2, 9, 7, 3, 4)
    outs = []
    for fmt in bench.TORCH_FORMATS:
        fwd, fwd_bwd = bench.torch_conv_callables(x, w, b, memory_format=fmt)
        y = fwd().numpy()
        dx, dw, db = (g.numpy() for g in fwd_bwd())
        outs.append((y, dx, dw, db))
    lk = bench.labkit_conv_callables("im2col", x, w, b)[0]()
    np.testing.assert_allclose(outs[0][0].transpose(0, 2, 3, 1), lk, rtol=1e-4, atol=1e-5)
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="torch_conv_callables: unknown memory_format"):
        bench.torch_conv_callables(x, w, b, memory_format="nhwc")


def test_paired_runs_rotate_and_ratio_takes_the_best_reference():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = bench.paired_runs(fns, runs=3, repeats=1, warmup=0)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}
    fake = {"t1": [2.0, 4.0, 6.0], "t2": [3.0, 1.0, 9.0], "lk": [1.0, 1.0, 2.0]}
    r = bench.paired_ratio(fake, ("t1", "t2"), "lk")
    assert r["runs"] == [2.0, 1.0, 3.0] and r["median"] == 2.0
    assert (r["min"], r["max"], r["n"]) == (1.0, 3.0, 3)
    with pytest.raises(ValueError, match="paired_runs"):
        bench.paired_runs({}, runs=3)
    with pytest.raises(ValueError, match="spread: no values"):
        bench.spread([])


def test_main_bench_json_last_line(capsys):
    code = bench.main_bench(["--json", "--no-torch", "--sizes", "8", "--channels", "4",
                             "--batch", "1", "--repeats", "1"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    data = json.loads(lines[-1])
    assert {r["algorithm"] for r in data["rows"]} == {"im2col", "winograd"}
    assert data["config"]["sizes"] == [8]
    assert "algorithm" in lines[0]


def test_main_bench_rejects_bad_sizes():
    with pytest.raises(ValueError, match="--sizes"):
        bench.main_bench(["--no-torch", "--sizes", "0"])


def test_problem_is_he_initialised():
    x, w, _b = bench.make_conv_problem(2, 8, 8, 16, 16, dtype="float64")
    assert x.dtype == np.float64 and w.shape == (3, 3, 16, 16)
    assert abs(w.std() - np.sqrt(2 / (9 * 16))) < 0.02


@pytest.mark.parametrize("argv,match", [
    (["--batch", "0", "--repeats", "0"], "--batch and --repeats must be >= 1"),   # once ignored
    (["--repeats", "0"], "must be >= 1"),
    (["--batch", "abc"], "invalid int value"),
    (["--sizes", "100000"], "GiB of workspace"),
])
def test_main_bench_rejects_bad_options_in_one_line(argv, match):
    with pytest.raises(ValueError, match=match) as info:
        bench.main_bench(["--no-torch", *argv])
    assert str(info.value).startswith("labkit bench: ") and "\n" not in str(info.value)


def test_problem_sets_are_defined_once():
    import inspect

    defaults = inspect.signature(bench.benchmark_conv).parameters
    full = bench.BENCH_SETS["full"]
    assert defaults["sizes"].default == full["sizes"]
    assert defaults["channels"].default == full["channels"]
    assert defaults["batch"].default == full["batch"]


def test_spent_flops_counts_what_each_algorithm_does():
    from labkit.bench import conv_flops, spent_flops
    direct = conv_flops(2, 8, 8, 16, 16, 3, 3)
    assert spent_flops("im2col", 2, 8, 8, 16, 16) == direct
    assert spent_flops("naive", 2, 8, 8, 16, 16) == direct
    # F(4x4): 2 x 4 tiles of 6x6 per image, 36 products per tile and channel pair, + transforms
    f4 = spent_flops("winograd", 2, 8, 8, 16, 16)
    gemm = 2 * 36 * (2 * 2 * 2) * 16 * 16
    assert gemm < f4 < direct
    assert spent_flops("winograd_f2x3", 2, 8, 8, 16, 16) > f4     # 16 products per 4 outputs


def test_python_dash_m_labkit_runs_the_cli():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "labkit", "bench", "--frobnicate"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "labkit bench" in out.stderr
