"""labkit's convolution against PyTorch's, float32 3x3 'same', batch 16, 48x48 (issue 3).

Prints, from one process, the ratios

* ``torch_time / labkit_time`` for the forward pass with 32 and 64 channels,
* ``torch_time / labkit_time`` for forward+backward with 32 (and 64) channels,
* ``im2col_time / winograd_time`` for labkit's forward with 64 channels,

each as the median of ``--runs`` paired runs (default 7), with every run's value.  In a run the
two sides of a ratio are timed back to back (median of ``--repeats`` calls each, after warm-up),
and the side that goes first alternates from run to run, so that a slow moment of a shared
machine or a thread pool still spinning from the previous call hits both sides alike.

What is timed:

* labkit: the ``Conv2D`` layer (``algorithm="auto"``) on NHWC float32 arrays: ``forward(x)``,
  and ``forward(x)`` + ``backward(dy)`` (which computes dx, dw and db).
* PyTorch: ``torch.nn.functional.conv2d`` on NCHW tensors (its native layout), forward under
  ``no_grad``, and forward + ``backward(dy)`` with ``requires_grad`` on input, weight and bias.

No layout conversion is timed on either side.  This is a benchmark, not a test: run it by hand,
``python benchmarks/bench_conv.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

from labkit.bench import labkit_conv_callables, make_conv_problem, median_time, torch_conv_callables
from labkit.ops.conv_select import choose_algorithm

TARGETS = {  # figure -> (must reach, goal)
    "forward 32ch torch/labkit": (0.7, 1.0),
    "forward 64ch torch/labkit": (0.7, 1.0),
    "fwd+bwd 32ch torch/labkit": (0.7, 1.0),
    "fwd+bwd 64ch torch/labkit": (None, None),
    "forward 64ch im2col/winograd": (1.5, 2.0),
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
    pairs = {}   # figure -> (label_a, fn_a, label_b, fn_b): ratio = time_a / time_b
    for c in (32, 64):
        x, w, b = problems[c]
        lk_fwd, lk_fb = layer_callables(x, w, b)
        if torch is not None:
            t_fwd, t_fb = torch_conv_callables(x, w, b)
            pairs[f"forward {c}ch torch/labkit"] = ("torch", t_fwd, "labkit", lk_fwd)
            pairs[f"fwd+bwd {c}ch torch/labkit"] = ("torch", t_fb, "labkit", lk_fb)
    x, w, b = problems[64]
    im2col_fwd, _ = labkit_conv_callables("im2col", x, w, b)
    wino_fwd, _ = labkit_conv_callables("winograd", x, w, b)
    pairs["forward 64ch im2col/winograd"] = ("im2col", im2col_fwd, "winograd", wino_fwd)

    print(f"float32 3x3 'same' conv, batch {n}, {s}x{s}; labkit Conv2D(algorithm='auto') picks "
          f"{choose_algorithm((n, s, s, 64), (3, 3, 64, 64), (1, 1), ((1, 1), (1, 1)))!r}; "
          f"{args.runs} paired runs x {args.repeats} calls")
    if torch is not None:
        print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), ", end="")
    import numba
    print(f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} "
          f"threads), {os.cpu_count()} CPUs, load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    results = {name: [] for name in pairs}
    times = {name: [] for name in pairs}
    for run in range(args.runs):
        for name, (la, fa, lb, fb) in pairs.items():
            if run % 2 == 0:
                ta = median_time(fa, args.repeats, warmup=2)
                tb = median_time(fb, args.repeats, warmup=2)
            else:
                tb = median_time(fb, args.repeats, warmup=2)
                ta = median_time(fa, args.repeats, warmup=2)
            results[name].append(ta / tb)
            times[name].append((la, ta, lb, tb))
        print(f"run {run + 1}: " + "  ".join(f"{k.split(' ')[0]} {k.split(' ')[1]} "
                                               f"{v[-1]:.2f}" for k, v in results.items()),
              flush=True)

    print(f"\n{'figure':<32}{'median':>8}  {'must':>5} {'goal':>5}   per-run ratios "
          f"(median times ms)")
    for name, ratios in results.items():
        must, goal = TARGETS[name]
        la, _, lb, _ = times[name][0]
        ta = statistics.median(t[1] for t in times[name]) * 1e3
        tb = statistics.median(t[3] for t in times[name]) * 1e3
        mark = "" if must is None else ("  ok" if statistics.median(ratios) >= must else "  MISS")
        print(f"{name:<32}{statistics.median(ratios):>8.2f}  "
              f"{'' if must is None else must:>5} {'' if goal is None else goal:>5}   "
              f"{' '.join(f'{r:.2f}' for r in ratios)}  ({la} {ta:.2f}, {lb} {tb:.2f}){mark}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
