"""labkit's convolution against PyTorch's, float32 3x3 'same', batch 16, 48x48 (issue 3).

Prints, from one process, the ratios

* ``torch_time / labkit_time`` for the forward pass with 32 and 64 channels,
* ``torch_time / labkit_time`` for forward+backward with 32 (and 64) channels,
* ``im2col_time / winograd_time`` for labkit's forward with 64 channels,

each as the median of ``--runs`` paired runs (default 7) with its [min, max] spread.  In a run
the contenders of a ratio are timed back to back (median of ``--repeats`` calls each, after
warm-up; ``labkit.bench.paired_runs``), in an order that rotates from run to run, so that a
slow moment of a shared machine or a thread pool still spinning from the previous call hits
all sides alike.  The PyTorch side of each run is the faster of NCHW and channels_last.

What is timed:

* labkit: the ``Conv2D`` layer (``algorithm="auto"``) on NHWC float32 arrays: ``forward(x)``,
  and ``forward(x)`` + ``backward(dy)`` (which computes dx, dw and db).
* PyTorch: ``torch.nn.functional.conv2d`` on NCHW tensors in both memory formats (contiguous
  and channels_last), forward under ``no_grad``, and forward + ``backward(dy)`` with
  ``requires_grad`` on input, weight and bias.

No layout conversion is timed on either side.  This is a benchmark, not a test: run it by hand,
``python benchmarks/bench_conv.py`` (about a minute).

Measured 2026-12-02, session 5 (``--load``; 7 paired runs x 10 calls, 2 threads each; median
[min, max]; GFLOP/s in direct-convolution flops, then the flops labkit actually spends):

=============================  ===================  ===================  ===================
figure                         quiet                one core busy        labkit GFLOP/s
=============================  ===================  ===================  ===================
forward 32ch torch/labkit      1.01 [0.86, 1.06]    1.62 [1.19, 1.85]    158 (45 spent)
fwd+bwd 32ch torch/labkit      1.41 [1.14, 1.43]    1.80 [1.31, 2.38]    167 (48 spent)
forward 64ch torch/labkit      1.68 [1.59, 1.72]    2.55 [1.57, 2.78]    279 (75 spent)
fwd+bwd 64ch torch/labkit      2.00 [1.96, 2.10]    2.88 [2.79, 2.94]    282 (76 spent)
forward 64ch im2col/winograd   4.67 [3.82, 5.68]    4.55 [3.81, 4.67]
=============================  ===================  ===================  ===================

PyTorch's faster format at 32 channels (channels_last, 4.17 ms) runs at 163 GFLOP/s, 86 % of
the machine's float32 peak: the forward-32 target of issue 13 (1.3) is not reached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

from labkit.bench import (
    PEAK_GFLOPS,
    TORCH_FORMATS,
    conv_flops,
    cpu_load,
    labkit_conv_callables,
    make_conv_problem,
    paired_ratio,
    paired_runs,
    spent_flops,
    spread,
    torch_conv_callables,
)
from labkit.ops.conv_select import choose_algorithm

TARGETS = {  # figure -> (must reach, goal): issue 13
    "forward 32ch torch/labkit": (1.3, 2.0),
    "forward 64ch torch/labkit": (1.3, 2.0),
    "fwd+bwd 32ch torch/labkit": (1.3, 2.0),
    "fwd+bwd 64ch torch/labkit": (None, None),
    "forward 64ch im2col/winograd": (2.0, None),
}


def layer_callables(x, w, b):
    """Forward and forward+backward of a labkit ``Conv2D(algorithm="auto")`` holding w, b."""
    from labkit.layers import Conv2D
    c_in, c_out = w.shape[2], w.shape[3]
    layer = Conv2D(c_in, c_out, 3, padding="same", algorithm="auto", seed=0)
    layer.params["w"][...] = w
    layer.params["b"][...] = b
    dy = np.random.default_rng(1).standard_normal(layer.output_shape(x.shape)).astype(x.dtype)

    def forward():
        return layer.forward(x)

    def forward_backward():
        layer.forward(x)
        return layer.backward(dy)

    return forward, forward_backward


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=7, help="paired runs (median reported), >= 5")
    p.add_argument("--repeats", type=int, default=10, help="timed calls per measurement")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--threads", type=int, default=None,
                   help="threads for both sides (torch.set_num_threads and numba's); default: "
                        "each library's own default")
    p.add_argument("--load", action="store_true",
                   help="measure again while another process keeps one core busy")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    args = p.parse_args(argv)
    if args.runs < 1 or args.repeats < 1:
        p.error("--runs and --repeats must be >= 1")
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: only the im2col/winograd ratio is measured",
              file=sys.stderr)

    if args.threads is not None:
        import numba
        numba.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    n, s = args.batch, args.size
    problems = {c: make_conv_problem(n, s, s, c, c, 3, "float32", seed=c) for c in (32, 64)}
    figures = {}   # figure -> (contenders {name: fn}, numerator names, denominator name)
    best_torch = tuple(f"torch_{f}" for f in TORCH_FORMATS)
    for c in (32, 64):
        x, w, b = problems[c]
        lk_fwd, lk_fb = layer_callables(x, w, b)
        if torch is not None:
            fwd = {f"torch_{f}": torch_conv_callables(x, w, b, memory_format=f)[0]
                   for f in TORCH_FORMATS}
            fb = {f"torch_{f}": torch_conv_callables(x, w, b, memory_format=f)[1]
                  for f in TORCH_FORMATS}
            figures[f"forward {c}ch torch/labkit"] = ({**fwd, "labkit": lk_fwd}, best_torch,
                                                      "labkit")
            figures[f"fwd+bwd {c}ch torch/labkit"] = ({**fb, "labkit": lk_fb}, best_torch,
                                                      "labkit")
    x, w, b = problems[64]
    figures["forward 64ch im2col/winograd"] = (
        {"im2col": labkit_conv_callables("im2col", x, w, b)[0],
         "winograd": labkit_conv_callables("winograd", x, w, b)[0]}, ("im2col",), "winograd")

    print(f"float32 3x3 'same' conv, batch {n}, {s}x{s}; labkit Conv2D(algorithm='auto') picks "
          f"{choose_algorithm((n, s, s, 64), (3, 3, 64, 64), (1, 1), ((1, 1), (1, 1)))!r}; "
          f"{args.runs} paired runs x {args.repeats} calls; torch = the faster of "
          f"{' and '.join(TORCH_FORMATS)} in each run")
    if torch is not None:
        print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), ", end="")
    import numba
    print(f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} "
          f"threads), {os.cpu_count()} CPUs, load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    def flops_of(name):
        """(direct-equivalent, spent by labkit's auto choice) flops of a figure's call."""
        c = int(name.split()[1][:-2])
        passes = 3 if name.startswith("fwd+bwd") else 1
        algo = choose_algorithm((n, s, s, c), (3, 3, c, c), (1, 1), ((1, 1), (1, 1)))
        return (conv_flops(n, s, s, c, c, 3, 3) * passes,
                spent_flops(algo, n, s, s, c, c) * passes)

    def measure(label):
        print(f"\n{label}\n{'figure':<30}{'median':>7} {'[min, max]':>13} {'must':>5} "
              f"{'goal':>5}  median ms (direct-equivalent GFLOP/s, % of {PEAK_GFLOPS:.0f})")
        out = {}
        for name, (fns, num, den) in figures.items():
            times = paired_runs(fns, runs=args.runs, repeats=args.repeats, warmup=2)
            r = paired_ratio(times, num, den)
            must, goal = TARGETS[name]
            mark = "" if must is None else ("  ok" if r["median"] >= must else "  MISS")
            direct, spent = flops_of(name)
            parts = []
            for k, v in times.items():
                med = statistics.median(v)
                parts.append(f"{k} {med * 1e3:.2f} ({direct / med / 1e9:.0f}, "
                             f"{direct / med / 1e9 / PEAK_GFLOPS:.0%})")
            lab = statistics.median(times[den]) if den == "labkit" else None
            extra = ("" if lab is None else
                     f"; labkit spends {spent / lab / 1e9:.0f} GFLOP/s "
                     f"({spent / lab / 1e9 / PEAK_GFLOPS:.0%} of peak)")
            print(f"{name:<30}{r['median']:>7.2f} [{r['min']:.2f}, {r['max']:.2f}] "
                  f"{'' if must is None else must:>5} {'' if goal is None else goal:>5}  "
                  f"{'  '.join(parts)}{extra}{mark}", flush=True)
            out[name] = {"ratio": r, "seconds": {k: spread(v) for k, v in times.items()},
                         "direct_flops": direct, "labkit_spent_flops": spent,
                         "target": must, "goal": goal}
        return out

    result = {"quiet": measure("quiet machine")}
    if args.load:
        with cpu_load(1):
            result["loaded"] = measure("one core kept busy by another process")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        import json
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
