"""Training step and inference of EDSR(2, 8, 32) in labkit against PyTorch at its best.

What it measures (issue 13's table), all in one process with paired runs
(:func:`labkit.modelbench.benchmark_network`: labkit, torch NCHW and torch channels_last timed
back to back in rotating order, ``--runs`` runs, each the median of ``--repeats`` calls after
warm-up; the ratio is torch's faster format over labkit, per run, then median and spread):

* the training step: batch 16, LR patches 48 x 48 (HR 96 x 96), L1 loss, Adam;
* inference on the MNI-SR test batch shape (8, 98, 116, 1);
* GFLOP/s of each, direct-equivalent and as actually spent by labkit, and the fraction of the
  machine's float32 peak (:data:`labkit.bench.PEAK_GFLOPS`);
* where labkit's training step goes (:func:`labkit.modelbench.profile_train_step`);
* the peak memory of the training step, labkit against each torch format, each measured in a
  fresh child process (growth of the peak resident set over the state after setup, so the
  libraries' own footprint is not counted against either).

``--load`` repeats the timings while one core is kept busy by another process (a Python busy
loop, :func:`labkit.bench.cpu_load`), as on a shared machine.

Measured 2026-12-02, session 5 (``--runs 7 --repeats 3 --load``; 2 threads each; quiet
2-core machine except for the "1 core busy" rows):

==========================  =========  ===========  =============  =========================
figure                      labkit     torch NCHW   torch ch_last  torch best / labkit
==========================  =========  ===========  =============  =========================
training step               273 ms     436 ms       424 ms         1.52 [1.44, 1.61]
inference (8, 98, 116, 1)   201 ms     269 ms       268 ms         1.33 [1.28, 1.35]
training step, 1 core busy  536 ms     1348 ms      1316 ms        2.39 [2.17, 2.87]
inference, 1 core busy      373 ms     784 ms       788 ms         2.03 [1.96, 2.11]
==========================  =========  ===========  =============  =========================

Peak memory of the step (growth over the baseline): labkit 162 MiB, torch 168 / 218 MiB.
(Session 4, before the direct head and tail, the fused ReLU and shortcut and the allocator
setting of :mod:`labkit._memory`: training step 1.24 [0.68, 1.32], inference 1.07.)

Usage::

    python benchmarks/bench_train_step.py [--runs 7] [--repeats 3] [--load] [--json]
    python benchmarks/bench_train_step.py --memory-child labkit     # internal
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import numpy as np

from labkit.bench import cpu_load, environment
from labkit.modelbench import (
    benchmark_network,
    format_profile,
    labkit_train_step,
    profile_train_step,
    torch_train_step,
)
from labkit.models import edsr

TRAIN_SHAPE = (16, 48, 48, 1)
INFERENCE_SHAPE = (8, 98, 116, 1)


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random(TRAIN_SHAPE, dtype=np.float32)
    y = rng.random((TRAIN_SHAPE[0], 2 * TRAIN_SHAPE[1], 2 * TRAIN_SHAPE[2], 1), dtype=np.float32)
    xi = rng.random(INFERENCE_SHAPE, dtype=np.float32)
    return x, y, xi


def peak_rss_mb() -> float:
    """High-water mark of this process's resident set (``VmHWM``), in MiB.  Not ``ru_maxrss``:
    Linux carries that over ``exec`` from the parent, so a child started by a large benchmark
    process would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident set size now (Linux ``/proc/self/statm``), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20


def memory_child(contender: str, steps: int = 3) -> dict:
    """Peak-RSS growth of training steps of one contender, in this (fresh) process.

    A warm-up step on a one-image batch of the same patch size first loads and compiles
    everything (numba kernels, oneDNN primitives) with the same algorithms as the real batch but
    a 16x smaller high-water mark; the resident size after it is the baseline, and the peak of
    the following full-batch steps minus that baseline is the step's own memory.
    """
    x, y, _ = problem()

    def make(xb, yb):
        net = edsr(2, 8, 32, seed=0)
        if contender == "labkit":
            return labkit_train_step(net, xb, yb)
        return torch_train_step(net, xb, yb, contender[len("torch_"):], threads=None)

    make(x[:1], y[:1])()
    import gc
    gc.collect()
    step = make(x, y)
    base = current_rss_mb()
    for _ in range(steps):
        step()
    return {"contender": contender, "rss_baseline_mb": base, "peak_rss_mb": peak_rss_mb(),
            "step_growth_mb": peak_rss_mb() - base}


def measure_memory() -> dict:
    out = {}
    for contender in ("labkit", "torch_nchw", "torch_channels_last"):
        proc = subprocess.run([sys.executable, __file__, "--memory-child", contender],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"memory child {contender} failed: {proc.stderr[-2000:]}")
        out[contender] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def describe(name: str, r: dict) -> str:
    s = r["seconds"]
    lines = [f"{name}: input {tuple(r['input_shape'])}, {r['threads']} threads, "
             f"{len(r['runs']['labkit'])} paired runs"]
    for k, v in s.items():
        g = r["gflops"][k]
        extra = (f", actual {g['actual']:.1f} GFLOP/s ({g['peak_fraction']['actual']:.0%} of peak)"
                 if "actual" in g else "")
        lines.append(f"  {k:<20} median {v['median'] * 1e3:8.1f} ms  [{v['min'] * 1e3:.1f}, "
                     f"{v['max'] * 1e3:.1f}]  direct-equivalent {g['direct']:.1f} GFLOP/s "
                     f"({g['peak_fraction']['direct']:.0%} of peak){extra}")
    if "ratio" in r:
        q = r["ratio"]
        lines.append(f"  torch at its best / labkit: median {q['median']:.2f}  "
                     f"[{q['min']:.2f}, {q['max']:.2f}]  (faster torch format: "
                     f"{r['faster_format']}, wins {r['format_wins']})")
        for k, v in r["ratio_by_format"].items():
            lines.append(f"    {k} / labkit: median {v['median']:.2f} "
                         f"[{v['min']:.2f}, {v['max']:.2f}]")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="paired runs (>= 7 for the issue)")
    ap.add_argument("--repeats", type=int, default=3, help="calls per contender per run")
    ap.add_argument("--load", action="store_true", help="also measure with one core kept busy")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    ap.add_argument("--json", action="store_true", help="print one JSON object last")
    ap.add_argument("--memory-child", choices=("labkit", "torch_nchw", "torch_channels_last"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child)))
        return 0
    if args.runs < 1 or args.repeats < 1:
        raise SystemExit("bench_train_step: --runs and --repeats must be >= 1")

    x, y, xi = problem()
    result = {"environment": environment()}
    net = edsr(2, 8, 32, seed=0)
    result["train_step"] = benchmark_network(net, x, y, "train_step", runs=args.runs,
                                             repeats=args.repeats)
    print(describe("EDSR(2, 8, 32) training step", result["train_step"]))
    result["inference"] = benchmark_network(edsr(2, 8, 32, seed=0), xi, task="inference",
                                            runs=args.runs, repeats=args.repeats)
    print(describe("EDSR(2, 8, 32) inference", result["inference"]))
    prof = profile_train_step(edsr(2, 8, 32, seed=0), x, y, steps=5)
    result["profile"] = prof
    print("\nwhere labkit's training step goes:")
    print(format_profile(prof))
    if args.load:
        with cpu_load(1):
            result["train_step_loaded"] = benchmark_network(
                edsr(2, 8, 32, seed=0), x, y, "train_step", runs=args.runs, repeats=args.repeats)
            result["inference_loaded"] = benchmark_network(
                edsr(2, 8, 32, seed=0), xi, task="inference", runs=args.runs,
                repeats=args.repeats)
        print("\nwith one core kept busy by another process:")
        print(describe("training step (loaded)", result["train_step_loaded"]))
        print(describe("inference (loaded)", result["inference_loaded"]))
    if not args.no_memory:
        mem = measure_memory()
        result["memory"] = mem
        print("\npeak memory of the training step (growth over the state after setup):")
        for k, v in mem.items():
            print(f"  {k:<20} {v['step_growth_mb']:7.0f} MiB  (peak RSS {v['peak_rss_mb']:.0f} MiB)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
