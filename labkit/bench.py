"""Timing harness: labkit's convolution algorithms side by side, and PyTorch's as a reference.

Every figure of the Timing chapter comes from :func:`benchmark_conv`: one row per
(algorithm, shape, pass) with the median time, the throughput and the extra memory the
algorithm needs.  Throughput is counted in *direct-convolution* flops,
``2 N Ho Wo C_in C_out kh kw``, for every algorithm, so a Winograd "GFLOP/s" above the
machine's GEMM peak means it spends fewer multiplications, not that it multiplies faster.

PyTorch is optional: it is imported only when asked for and skipped (with a note) when it is
not installed.  It is the reference at its best: timed in both of its memory formats, NCHW
(``"torch_nchw"`` rows) and channels_last (``"torch_channels_last"``, the NHWC strides its
oneDNN kernels prefer on CPUs), and the ``"torch"`` row of each problem is the faster of the
two, measured in the same run.  labkit runs on NHWC arrays, its own layout; no layout conversion
is counted on either side.

Timing on a shared machine is noisy: each figure is the median of ``repeats`` calls after
warm-up calls (which also compile the numba kernels), and comparisons with PyTorch are made
from *paired runs* in one process (:func:`paired_runs`): every run times each contender back to
back, in an order that rotates from run to run, and a ratio is the median over runs of the
per-run ratios, reported with its spread (:func:`spread`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

#: Algorithm names understood by :func:`time_conv` (``winograd`` is ``F(4x4, 3x3)``).
BENCH_ALGORITHMS = ("naive", "im2col", "winograd", "winograd_f2x3", "direct")
PASSES = ("forward", "forward+backward")

#: Which problems ``labkit bench`` times, defined once (``benchmark_conv``'s defaults are the
#: full set): image sizes ``H = W``, channel counts ``C_in = C_out``, batch and repeats.
BENCH_SETS = {
    "full": {"sizes": (24, 48, 96), "channels": (16, 32, 64), "batch": 16, "repeats": 7},
    "quick": {"sizes": (16, 32), "channels": (8, 16), "batch": 4, "repeats": 3},
}


def conv_flops(n, ho, wo, c_in, c_out, kh, kw) -> int:
    """Flops of the direct convolution: one multiply and one add per weight and output."""
    return 2 * n * ho * wo * c_in * c_out * kh * kw


def spent_flops(algorithm: str, n, ho, wo, c_in, c_out, kh=3, kw=3) -> int:
    """Flops one pass of the convolution actually spends with ``algorithm``: the direct count
    for ``naive``, ``im2col`` and ``direct`` (which all do the direct sum), and for Winograd ``F(m, 3)``
    its GEMMs, ``2 a^2 T C_in C_out`` over ``T`` tiles of ``a x a`` (``a = m + 2``), plus the
    additions of its input and output transforms (:func:`labkit.ops.winograd.transform_additions`;
    the filter transform, once per call, is left out)."""
    if not algorithm.startswith("winograd"):
        return conv_flops(n, ho, wo, c_in, c_out, kh, kw)
    from labkit.ops import winograd
    variant = "f2x3" if algorithm.endswith("f2x3") else "f4x3"
    m = winograd.VARIANTS[variant][0]
    a = m + 2
    tiles = n * -(-ho // m) * -(-wo // m)
    adds = winograd.transform_additions(variant)
    return (2 * a * a * tiles * c_in * c_out
            + tiles * (adds["data_2d"] * c_in + adds["output_2d"] * c_out))


def workspace_bytes(algorithm, x_shape, w_shape, stride=(1, 1), pads=((1, 1), (1, 1)),
                    itemsize=4) -> int:
    """Extra memory an algorithm allocates besides ``x``, ``w`` and ``y`` (forward pass).

    * ``im2col``: the column matrix, ``N Ho Wo kh kw C_in`` values (kept for the backward).
    * ``winograd``: the transformed filters ``a^2 C_in C_out`` plus, per worker thread, one
      chunk of transformed input and GEMM output ``a^2 chunk (C_in + C_out)``.
    * ``naive``: one ``(N, Ho, Wo, C_out)`` product per tap, reused.
    * ``direct``: nothing with ``C_out >= C_in``; otherwise the products of every input pixel
      with all taps, ``N H W kh kw C_out`` values.
    * ``torch``: not measured (None is returned by :func:`benchmark_conv`).
    """
    from labkit.ops.geometry import output_hw
    from labkit.ops.im2col import im2col_workspace_bytes
    n, h, w, c_in = x_shape
    kh, kw, _, c_out = w_shape
    ho, wo = output_hw((h, w), (kh, kw), stride, pads)
    if algorithm == "im2col":
        if (kh, kw) == (1, 1) and tuple(stride) == (1, 1) and not any(sum(pads, ())):
            return 0
        return im2col_workspace_bytes(x_shape, (kh, kw), stride, pads, itemsize)
    if algorithm.startswith("winograd"):
        from labkit.ops import winograd
        variant = "f2x3" if algorithm.endswith("f2x3") else "f4x3"
        m = winograd.VARIANTS[variant][0]
        a = m + 2
        tiles = n * -(-ho // m) * -(-wo // m)
        chunk, parts = winograd._plan(tiles, c_in, c_out)
        return (a * a * c_in * c_out + len(parts) * a * a * chunk * (c_in + c_out)) * itemsize
    if algorithm == "naive":
        return n * ho * wo * c_out * itemsize
    if algorithm == "direct":
        return 0 if c_out >= c_in else n * h * w * kh * kw * c_out * itemsize
    raise ValueError(f"workspace_bytes: unknown algorithm {algorithm!r}")


class cpu_load:
    """Context manager: keep ``processes`` cores busy with other processes (Python busy loops)
    while the block runs, as a shared machine would.  The children are killed on exit.

    >>> with cpu_load(1):          # doctest: +SKIP
    ...     times = paired_runs(fns)
    """

    def __init__(self, processes: int = 1):
        if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
            raise ValueError(f"cpu_load: processes must be an int >= 1, got {processes!r}")
        self.processes = processes
        self._children = []

    def __enter__(self):
        import subprocess
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self._children = [subprocess.Popen([sys.executable, "-c", "while True: pass"], env=env)
                          for _ in range(self.processes)]
        time.sleep(0.2)                 # let the loops start before anything is timed
        return self

    def __exit__(self, *exc):
        for child in self._children:
            child.kill()
        for child in self._children:
            child.wait()
        self._children = []
        return False


def median_time(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``repeats`` calls of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def spread(values) -> dict:
    """Median and spread of repeated measurements: ``median``, ``min``, ``max``, the quartiles
    ``q1``/``q3`` and ``n``.  Report the median with its ``[min, max]`` range: on a shared
    machine a single figure hides how much the next run may differ."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise ValueError("spread: no values")
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "min": float(v.min()), "max": float(v.max()),
            "q1": float(q1), "q3": float(q3), "n": int(v.size)}


def paired_runs(fns: dict, runs: int = 7, repeats: int = 10, warmup: int = 2) -> dict:
    """Time several contenders in ``runs`` paired runs: ``{name: [seconds per run]}``.

    In each run every callable of ``fns`` is timed (median of ``repeats`` calls after
    ``warmup``) back to back; the order rotates by one from run to run, so that no contender
    always follows another's cache or thread-pool state and a slow moment of a shared machine
    hits all of them alike.  Ratios should be formed per run, then summarised
    (:func:`paired_ratio`).
    """
    names = list(fns)
    if not names or runs < 1:
        raise ValueError(f"paired_runs: need at least one callable and one run, got "
                         f"{len(names)} and {runs}")
    out = {name: [] for name in names}
    for run in range(runs):
        k = run % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(median_time(fns[name], repeats, warmup))
    return out


def paired_ratio(times: dict, numerator, denominator: str) -> dict:
    """Per-run ratio ``numerator / denominator`` of :func:`paired_runs` times, summarised by
    :func:`spread` (plus ``"runs"``, the per-run values).  ``numerator`` may be a tuple of
    names: then each run uses the fastest of them, e.g. ``("torch_nchw",
    "torch_channels_last")`` for PyTorch at its best."""
    names = (numerator,) if isinstance(numerator, str) else tuple(numerator)
    top = np.min([times[n] for n in names], axis=0)
    ratios = top / np.asarray(times[denominator])
    return {**spread(ratios), "runs": [float(r) for r in ratios]}


def make_conv_problem(n, h, w, c_in, c_out, k=3, dtype="float32", seed=0):
    """Unit-variance input ``(n, h, w, c_in)``, He-normal weights ``(k, k, c_in, c_out)``,
    small bias and a unit-variance output gradient: the data every benchmark uses."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    x = rng.standard_normal((n, h, w, c_in)).astype(dtype)
    wt = (rng.standard_normal((k, k, c_in, c_out)) * np.sqrt(2.0 / (k * k * c_in))).astype(dtype)
    b = (0.1 * rng.standard_normal(c_out)).astype(dtype)
    return x, wt, b


def labkit_conv_callables(algorithm, x, w, b, stride=(1, 1), padding="same"):
    """``(forward, forward_backward)`` closures running one labkit algorithm on fixed data."""
    from labkit.ops.conv import conv2d_backward, conv2d_forward, resolve_padding
    from labkit.ops.winograd import conv2d_winograd_backward, conv2d_winograd_forward
    stride = tuple(stride)
    pads = resolve_padding(padding, w.shape[:2], stride, x.shape[1:3], "time_conv")
    if algorithm not in BENCH_ALGORITHMS:
        raise ValueError(f"time_conv: unknown algorithm {algorithm!r}; "
                         f"choose one of {BENCH_ALGORITHMS}")
    if algorithm == "winograd_f2x3":
        def fwd():
            return conv2d_winograd_forward(x, w, b, stride, pads, variant="f2x3")

        def bwd(dy, cache):
            return conv2d_winograd_backward(dy, cache)
    else:
        def fwd():
            return conv2d_forward(x, w, b, stride, pads, algorithm)

        def bwd(dy, cache):
            return conv2d_backward(dy, cache)
    y, _ = fwd()
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)

    def forward():
        return fwd()[0]

    def forward_backward():
        _, cache = fwd()
        return bwd(dy, cache)

    return forward, forward_backward


#: PyTorch's two memory formats for 4-D tensors; a benchmark times both and keeps the faster.
TORCH_FORMATS = ("nchw", "channels_last")


def torch_conv_callables(x, w, b, stride=(1, 1), padding="same", memory_format="nchw"):
    """``(forward, forward_backward)`` of the same convolution in PyTorch, or None when torch
    is missing.  ``memory_format``: ``"nchw"`` (contiguous NCHW tensors) or ``"channels_last"``
    (the same logical NCHW tensors with NHWC strides, input, weight and gradient alike)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    from labkit._validate import check_choice
    from labkit.ops.conv import resolve_padding
    check_choice(memory_format, "memory_format", "torch_conv_callables", TORCH_FORMATS)
    fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    stride = tuple(stride)
    (pt, pb), (pl, pr) = resolve_padding(padding, w.shape[:2], stride, x.shape[1:3], "torch")
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).contiguous(
        memory_format=fmt)
    wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).contiguous(
        memory_format=fmt)
    bt = torch.from_numpy(np.ascontiguousarray(b))
    symmetric = pt == pb and pl == pr

    def conv(inp, weight, bias):
        if symmetric:
            return F.conv2d(inp, weight, bias, stride=stride, padding=(pt, pl))
        return F.conv2d(F.pad(inp, (pl, pr, pt, pb)), weight, bias, stride=stride)

    with torch.no_grad():
        y = conv(xt, wt, bt)
    dy = torch.from_numpy(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(
        x.dtype)).contiguous(memory_format=fmt)
    xr = xt.clone(memory_format=torch.preserve_format).requires_grad_(True)
    wr = wt.clone(memory_format=torch.preserve_format).requires_grad_(True)
    br = bt.clone().requires_grad_(True)

    def forward():
        with torch.no_grad():
            return conv(xt, wt, bt)

    def forward_backward():
        xr.grad = wr.grad = br.grad = None
        conv(xr, wr, br).backward(dy)
        return xr.grad, wr.grad, br.grad

    return forward, forward_backward


def time_conv(algorithm, x_shape, w_shape, stride=(1, 1), padding="same", dtype="float32",
              passes=PASSES, repeats=5, seed=0) -> dict:
    """Median seconds of one convolution for each pass: ``{"forward": s, ...}``.

    ``algorithm`` is one of :data:`BENCH_ALGORITHMS`, ``"torch_nchw"`` or
    ``"torch_channels_last"`` (``"torch"`` is NCHW); None per pass if torch is missing.
    """
    n, h, w, c_in = x_shape
    k = w_shape[0]
    if tuple(w_shape[:2]) != (k, k) or w_shape[2] != c_in:
        raise ValueError(f"time_conv: expected square weights (k, k, {c_in}, C_out) for input "
                         f"{tuple(x_shape)}, got {tuple(w_shape)}")
    x, wt, b = make_conv_problem(n, h, w, c_in, w_shape[3], k, dtype, seed)
    if algorithm.startswith("torch"):
        fmt = "nchw" if algorithm == "torch" else algorithm[len("torch_"):]
        fns = torch_conv_callables(x, wt, b, stride, padding, fmt)
        if fns is None:
            return {p: None for p in passes}
    else:
        fns = labkit_conv_callables(algorithm, x, wt, b, stride, padding)
    table = dict(zip(PASSES, fns))
    return {p: median_time(table[p], repeats) for p in passes}


def benchmark_conv(sizes=BENCH_SETS["full"]["sizes"], channels=BENCH_SETS["full"]["channels"],
                   algorithms=("im2col", "winograd"), include_torch=True,
                   repeats=BENCH_SETS["full"]["repeats"], batch=BENCH_SETS["full"]["batch"], kernel=3, passes=PASSES,
                   dtype="float32", progress=None) -> list[dict]:
    """Time every algorithm over image sizes and channel counts (``C_in = C_out``).

    Returns one dict per (algorithm, size, channels, pass) with keys ``algorithm, N, H, W,
    C_in, C_out, k`` (also as ``kernel``), ``stride, dtype, pass, seconds, gflops``
    (direct-convolution GFLOP/s; a forward+backward counts three convolutions' flops: ``y``,
    ``dx`` and ``dw``), ``peak_fraction`` (that throughput over :data:`PEAK_GFLOPS`) and
    ``workspace_bytes``; the rows are what the Timing notebook plots (time vs image size, vs
    channels, algorithm vs algorithm).  When ``include_torch`` and PyTorch is installed, each
    problem gets ``torch_nchw`` and ``torch_channels_last`` rows and a ``torch`` row, the faster
    of the two (its ``format`` key says which): the reference at its best.
    """
    from labkit.ops.conv_select import winograd_applicable
    algos = [a for a in algorithms if not a.startswith("torch")]
    if include_torch and torch_available():
        algos += [f"torch_{f}" for f in TORCH_FORMATS]
    rows = []
    itemsize = np.dtype(dtype).itemsize
    for size in sizes:
        for c in channels:
            x_shape = (batch, size, size, c)
            w_shape = (kernel, kernel, c, c)
            for algo in algos:
                if algo.startswith("winograd") and not winograd_applicable(w_shape, (1, 1)):
                    continue
                times = time_conv(algo, x_shape, w_shape, (1, 1), "same", dtype, passes, repeats)
                flops = conv_flops(batch, size, size, c, c, kernel, kernel)
                ws = None if algo.startswith("torch") else workspace_bytes(
                    algo, x_shape, w_shape, (1, 1), ((kernel // 2,) * 2,) * 2, itemsize)
                for p in passes:
                    sec = times[p]
                    if sec is None:
                        continue
                    f = flops * (3 if p == "forward+backward" else 1)
                    rows.append(dict(algorithm=algo, N=batch, H=size, W=size, C_in=c, C_out=c,
                                     k=kernel, kernel=kernel, stride=1,
                                     dtype=str(np.dtype(dtype)), **{"pass": p},
                                     seconds=sec, gflops=f / sec / 1e9,
                                     peak_fraction=f / sec / 1e9 / PEAK_GFLOPS,
                                     workspace_bytes=ws))
                if progress is not None:
                    progress(rows[-len(passes):])
            for p in passes:            # the reference at its best, per problem and pass
                both = [r for r in rows if r["pass"] == p and r["C_in"] == c
                        and r["H"] == size and r["algorithm"].startswith("torch_")]
                if both:
                    best = min(both, key=lambda r: r["seconds"])
                    rows.append({**best, "algorithm": "torch",
                                 "format": best["algorithm"][len("torch_"):]})
    return rows


#: Float32 peak of the course machine: 2 cores x 2 AVX2 FMA units x 8 lanes x 2 flops x about
#: 3 GHz = 192 GFLOP/s.  A rough ceiling for the "fraction of peak" columns, not a measurement.
PEAK_GFLOPS = 190.0


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def environment() -> dict:
    """What the numbers were measured on."""
    import numba
    env = {"python": platform.python_version(), "numpy": np.__version__,
           "numba": numba.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
           "numba_threads": numba.get_num_threads(), "loadavg": None, "torch": None}
    if hasattr(os, "getloadavg"):
        env["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    if torch_available():
        import torch
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    return env


def format_rows(rows) -> str:
    """A fixed-width table of :func:`benchmark_conv` rows (``torch`` is the faster format)."""
    head = (f"{'algorithm':<21}{'N':>4}{'HxW':>9}{'C':>6}{'pass':>18}{'ms':>10}"
            f"{'GFLOP/s':>10}{'% peak':>8}{'workspace':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ws = "-" if r["workspace_bytes"] is None else f"{r['workspace_bytes'] / 2**20:.1f} MiB"
        name = r["algorithm"] + (f" ({r['format']})" if r["algorithm"] == "torch" else "")
        peak = r.get("peak_fraction", r["gflops"] / PEAK_GFLOPS) * 100
        lines.append(f"{name:<21}{r['N']:>4}{r['H']:>5}x{r['W']:<3}{r['C_in']:>6}"
                     f"{r['pass']:>18}{r['seconds'] * 1e3:>10.2f}{r['gflops']:>10.1f}"
                     f"{peak:>7.0f}%{ws:>12}")
    return "\n".join(lines)


class _BenchParser(argparse.ArgumentParser):
    """argparse that raises ``ValueError`` (one line) instead of printing usage and exiting."""

    def error(self, message):
        raise ValueError(f"{self.prog}: error: {message}")


#: Largest im2col workspace the benchmark may ask for (bytes): N H W 9 C of float64.
MAX_BENCH_BYTES = 2 * 2 ** 30
MAX_REPEATS = 1000


def main_bench(argv=None) -> int:
    """``labkit bench [--quick] [--json] ...``: print a table (and one JSON object last).

    Bad options raise ``ValueError`` naming ``labkit bench`` (sizes, channels, batch and repeats
    must be >= 1; the largest problem's im2col workspace at most :data:`MAX_BENCH_BYTES`).
    """
    p = _BenchParser(prog="labkit bench",
                                description="Time labkit's convolution algorithms (and PyTorch's "
                                            "when installed) on 3x3 'same' convolutions.")
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (seconds)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--sizes", type=int, nargs="+", help="image sizes H = W (24 48 96)")
    p.add_argument("--channels", type=int, nargs="+", help="C_in = C_out (16 32 64)")
    p.add_argument("--algorithms", nargs="+", choices=BENCH_ALGORITHMS,
                   help="labkit algorithms (im2col winograd)")
    p.add_argument("--batch", type=int, help="batch size N (16; 4 with --quick)")
    p.add_argument("--repeats", type=int, help="timed calls per figure (5; 3 with --quick)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    args = p.parse_args(argv)
    cfg = dict(BENCH_SETS["quick" if args.quick else "full"])
    for key in ("sizes", "channels", "batch", "repeats"):
        if getattr(args, key) is not None:          # 0 is a bad value, not "not given"
            cfg[key] = getattr(args, key)
    algos = tuple(args.algorithms or ("im2col", "winograd"))
    for name, values in (("sizes", cfg["sizes"]), ("channels", cfg["channels"])):
        if min(values) < 1:
            raise ValueError(f"labkit bench: --{name} must be positive, got {values}")
    if cfg["batch"] < 1 or cfg["repeats"] < 1:
        raise ValueError(f"labkit bench: --batch and --repeats must be >= 1, got "
                         f"{cfg['batch']} and {cfg['repeats']}")
    if cfg["repeats"] > MAX_REPEATS:
        raise ValueError(f"labkit bench: --repeats must be <= {MAX_REPEATS}, got {cfg['repeats']}")
    need = cfg["batch"] * max(cfg["sizes"]) ** 2 * 9 * max(cfg["channels"]) * 8
    if need > MAX_BENCH_BYTES:
        raise ValueError(f"labkit bench: the largest problem (batch {cfg['batch']}, size "
                         f"{max(cfg['sizes'])}, channels {max(cfg['channels'])}) needs "
                         f"{need / 2**30:.1f} GiB of workspace, more than the "
                         f"{MAX_BENCH_BYTES / 2**30:.0f} GiB bound")
    include_torch = not args.no_torch
    if include_torch and not torch_available():
        print("note: PyTorch is not installed; timing labkit only", file=sys.stderr)
    rows = benchmark_conv(sizes=tuple(cfg["sizes"]), channels=tuple(cfg["channels"]),
                          algorithms=algos, include_torch=include_torch,
                          repeats=cfg["repeats"], batch=cfg["batch"], dtype=args.dtype)
    print(format_rows(rows))
    if args.json:
        config = dict(cfg, algorithms=list(algos), dtype=args.dtype, kernel=3)
        print(json.dumps({"rows": rows, "config": config, "environment": environment()}))
    return 0
