"""Build notebooks/09_timing.ipynb: timing the convolution algorithms (naive, im2col, Winograd
F(2x2) and F(4x4), PyTorch when installed) with labkit.bench; scaling with image size and
channels; im2col's workspace; GEMM-bound vs memory-bound; what Conv2D(algorithm="auto") picks.

Run ``python tools/notebooks/build_09_timing.py``, then execute the notebook (full sweep, under a
minute on 2 cores)::

    jupyter nbconvert --to notebook --execute --inplace notebooks/09_timing.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "09_timing.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 09 · Timing the convolution

Chapter 05 derived four ways to compute the same convolution: the direct sum ("naive"), im2col
plus one GEMM, and Winograd's $F(2\times2, 3\times3)$ and $F(4\times4, 3\times3)$. Here we time
them on this machine, next to PyTorch when it is installed, and learn to read the numbers. You
will learn:

* how to time code honestly on a shared, noisy machine (warm-up, medians, what is and is not
  inside the timer);
* how the time grows with the **image size** and with the **number of channels**, and which
  algorithm wins where;
* what im2col costs in **memory** (its column matrix, the *workspace*);
* what "GEMM-bound" and "memory-bound" mean, and why Winograd can beat a perfectly tuned GEMM by
  doing *fewer* flops rather than doing them faster;
* which algorithm `Conv2D(algorithm="auto")` picks for each convolution of EDSR.

**Time:** about 25 minutes of reading. Running: about half a minute for the full sweep on the
2-core machine that stored these outputs (the median-of-repeats timings are short), somewhat
less in FAST mode (a tiny sweep). **All timings in this notebook are measurements on the
machine that ran it**; the stored outputs come from a 2-core machine that other jobs were using
at the same time, so expect your numbers, and perhaps some orderings, to differ. Re-run it.

**Prerequisites:** [05 The convolutional layer](05_convolutional_layer.ipynb).
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # tiny sweep in CI

import timeit
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

from labkit import bench
from labkit.layers import Conv2D, PixelShuffle
from labkit.models import edsr
from labkit.ops import winograd as wg
from labkit.ops.conv import conv2d_forward, resolve_padding
from labkit.ops.conv_select import MIN_TILES, WINOGRAD_MIN_CHANNELS, choose_algorithm
from labkit.ops.im2col import conv2d_im2col_forward, im2col_numba
from labkit.viz.course_plots import curve_panels, grouped_bars
from labkit.viz.timing import timing_bars, timing_scaling

ALGORITHMS = ("naive", "im2col", "winograd_f2x3", "winograd")   # "winograd" is F(4x4, 3x3)
env = bench.environment()
for key, value in env.items():
    print(f"{key:>14}: {value}")
if env.get("loadavg") and env["loadavg"][0] > (env["cpus"] or 1):
    print(f"NOTE: this machine is busy (1-minute load {env['loadavg'][0]} on {env['cpus']} cores): "
          "the timings below are noisy and some orderings may flip; re-run on a quiet machine.")
if not bench.torch_available():
    print("PyTorch is not installed: the comparisons below show labkit's algorithms only "
          "(pip install torch to add it).")
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. Timing honestly

A single stopwatch reading of a function that runs in milliseconds says little: the first call
compiles numba kernels and fills caches, the operating system interrupts, other programs share
the cores (look at `loadavg` above: the number of processes that wanted a CPU, averaged over
1, 5 and 15 minutes; above the core count, everybody waits). `labkit.bench` therefore

* builds the data once (`make_conv_problem`: unit-variance input, He-normal weights, the same
  for every algorithm) and keeps its creation outside the timer;
* makes one untimed **warm-up** call, then times `repeats` calls with `time.perf_counter` and
  reports the **median**, which ignores the occasional call that was interrupted;
* times each algorithm in its native layout: labkit on NHWC arrays, PyTorch
  (`torch.nn.functional.conv2d`) on NCHW tensors; converting between them is not counted on
  either side;
* times two **passes**: the forward alone, and forward + backward (the three products a
  training step needs: $y$, $\partial L/\partial x$ and $\partial L/\partial w$);
* reports throughput in **direct-convolution flops**, $2\,N H_o W_o C_{\text{in}} C_{\text{out}}
  k^2$ per convolution (three of them for forward + backward), for every algorithm. That is the
  work the direct method does; an algorithm that spends fewer multiplications (Winograd) can
  therefore show more "GFLOP/s" than the machine can actually multiply.

All convolutions are 3×3, stride 1, `"same"` padding, float32, $C_{\text{in}} = C_{\text{out}}$.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Algorithm against algorithm, at EDSR's shapes

First the configuration that matters for this course: a training batch of EDSR ×2, 16 LR patches
of 48 × 48 (HR 96 × 96), with 32 feature channels (the model chapter 11 trains) and 64 (EDSR's
baseline width). In FAST mode the batch and the patches are smaller.
""")

code(r"""
if FAST:
    edsr_rows = bench.benchmark_conv(sizes=(24,), channels=(16, 32), algorithms=ALGORITHMS,
                                     repeats=3, batch=4)
else:
    edsr_rows = bench.benchmark_conv(sizes=(48,), channels=(32, 64), algorithms=ALGORITHMS,
                                     repeats=5, batch=16)
print(bench.format_rows(edsr_rows))
""")

code(r"""
fig = timing_bars(edsr_rows, title="3x3 'same' convolution at EDSR's training shapes")
fig
""")

md(r"""
Read the bars on a log scale: equal differences in height are equal *ratios*. Three things to
look for, on any machine:

* the backward pass costs two to four times the forward for every algorithm: two more products
  of the same size, plus the scatter of the input gradient (col2im, or the taps of the direct
  sum);
* Winograd $F(4\times4)$ against $F(2\times2)$: the same three stages, but 2.25 instead of 4
  multiplications per output, so with enough channels (when the GEMMs dominate) $F(4\times4)$
  wins by up to $4/2.25 \approx 1.8\times$;
* labkit's "naive" is not the textbook four nested loops: it already does one GEMM per kernel
  tap (chapter 05), reading the input nine times but never copying it. On a machine with a good
  BLAS it can keep up with im2col, which first pays for building a column matrix nine times the
  size of its input.

This run's ranking, fastest first, and the ratios that motivate chapter 05's Winograd section
(PyTorch's time as the reference when it is installed):
""")

code(r"""
def median_time(rows, algorithm, passname, **shape):
    # The timing of one (algorithm, pass, shape) among benchmark rows, or None.
    for r in rows:
        if r["algorithm"] == algorithm and r["pass"] == passname and all(r[k] == v for k, v in shape.items()):
            return r["seconds"]
    return None

c_big = max(r["C_in"] for r in edsr_rows)
for p in bench.PASSES:
    ranked = sorted((r["seconds"], r["algorithm"]) for r in edsr_rows if r["pass"] == p and r["C_in"] == c_big)
    print(f"{p:>17}, {c_big} channels, fastest first: " + ", ".join(f"{a} {t * 1e3:.1f} ms" for t, a in ranked))
for p in bench.PASSES:
    t = {a: median_time(edsr_rows, a, p, C_in=c_big) for a in ALGORITHMS + ("torch",)}
    line = f"{p:>17}, {c_big} channels: im2col / F(4x4) = {t['im2col'] / t['winograd']:.1f}x, " \
           f"F(2x2) / F(4x4) = {t['winograd_f2x3'] / t['winograd']:.1f}x"
    if t["torch"] is not None:
        line += f", torch / labkit-auto = {t['torch'] / min(t['im2col'], t['winograd']):.2f}"
    print(line)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 3. Time against image size

Every algorithm does work proportional to the number of output pixels, so on log-log axes the
lines should be parallel with slope 2 against the image side $H$ (dashed reference). Deviations
are informative: at small sizes fixed costs dominate (Python overhead, waking up threads, the
Winograd filter transform, which does not depend on $H$), at large sizes the working set falls
out of the caches.
""")

code(r"""
if FAST:
    size_rows = bench.benchmark_conv(sizes=(12, 24), channels=(16,), algorithms=ALGORITHMS,
                                     repeats=3, batch=2)
else:
    size_rows = bench.benchmark_conv(sizes=(16, 24, 32, 48, 64, 96), channels=(32,),
                                     algorithms=ALGORITHMS, repeats=3, batch=8)
fig = timing_scaling(size_rows, x="H", reference_slope=2,
                     title=f"Time vs image side, {size_rows[0]['N']} images, {size_rows[0]['C_in']} channels")
fig
""")

md(r"""
If a line stays flat at a few milliseconds on the left of the plot, as im2col's did on the
machine that stored these outputs, it is not arithmetic: the algorithm hands its work to two
different **thread pools** in a row, numba's (building the column matrix) and OpenBLAS's (the
GEMM). A pool's threads keep spinning for a moment after their work is done, hoping for more,
and on two cores the spinning threads of one pool steal the CPU from the other. Small problems
pay this toll in full; large ones hide it. Exercise 2 shows how to see it disappear.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. Time against the number of channels

With $C_{\text{in}} = C_{\text{out}} = C$ the flops grow as $C^2$ (slope 2 again), but the
algorithms' overheads grow differently. im2col's column matrix and Winograd's input and output
transforms grow only as $C$; the GEMMs as $C^2$. So with few channels the transforms dominate
and Winograd's saving on multiplications buys little; with many channels the GEMMs dominate and
Winograd's 4× fewer multiplications show. That crossing is exactly the rule behind `"auto"`
(section 7).
""")

code(r"""
if FAST:
    channel_rows = bench.benchmark_conv(sizes=(16,), channels=(4, 16), algorithms=ALGORITHMS,
                                        repeats=3, batch=2)
else:
    channel_rows = bench.benchmark_conv(sizes=(32,), channels=(4, 8, 16, 32, 64, 128),
                                        algorithms=ALGORITHMS, repeats=3, batch=8)
fig = timing_scaling(channel_rows, x="channels", reference_slope=2,
                     title=f"Time vs channels, {channel_rows[0]['N']} images of "
                           f"{channel_rows[0]['H']}x{channel_rows[0]['W']}")
fig
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 5. im2col's memory workspace

Speed is not the only cost. Each algorithm allocates memory besides the input, the weights and
the output; `bench.workspace_bytes` computes it from the shapes:

* **im2col**: the column matrix, $N H_o W_o \cdot 9 C_{\text{in}}$ values, nine times the input
  for a 3×3 convolution, and kept until the backward pass;
* **Winograd**: the transformed filters ($a^2 C_{\text{in}} C_{\text{out}}$) plus one chunk of
  transformed tiles per worker thread: labkit transforms and multiplies the tiles in chunks, so
  this does not grow with the image;
* **naive**: one product of the output's size, reused for every tap.
""")

code(r"""
sizes = [24, 48, 96, 196]
c = 64
shapes = [(16, s, s, c) if s < 196 else (1, 196, 232, c) for s in sizes]
labels = [f"{n}x{h}x{w}x{c}" for n, h, w, c in shapes]
workspace = {a: np.array([bench.workspace_bytes(a, s, (3, 3, c, c)) / 2**20 for s in shapes])
             for a in ("naive", "im2col", "winograd_f2x3", "winograd")}
workspace["input itself"] = np.array([np.prod(s) * 4 / 2**20 for s in shapes])
fig = grouped_bars(labels, workspace, ylabel="MiB (float32)", fmt="{:.0f}",
                   title="Extra memory of one 64 -> 64 convolution, forward pass")
fig.axes[0].set_yscale("log")
fig
""")

md(r"""
For one training batch of 64-channel EDSR features the column matrix is a few hundred MiB, and a
network keeps one per convolution for the backward pass. Winograd's workspace stays small and
nearly constant. On a laptop, memory is as real a limit as time.

## 6. What the numbers mean: GEMM-bound, memory-bound, fewer flops

Two kinds of limits decide how fast a kernel runs.

* **Compute-bound** (here: *GEMM-bound*): the processor's arithmetic units are busy all the
  time. A large matrix product is the textbook case: it performs $2MNK$ flops on only
  $MK + KN + MN$ numbers, so each number fetched from memory is reused many times, and BLAS
  arranges the work so the data stay in the caches. Its throughput is close to the machine's
  peak.
* **Memory-bound**: the arithmetic units wait for data. Copying, padding, building the column
  matrix, the Winograd transforms and `col2im` all do a handful of operations per number they
  read, so their speed is set by the memory bandwidth, not by the flops.

We can measure both on this machine. First the GEMM at the heart of im2col, alone; then the
construction of its column matrix, alone; then the whole im2col convolution:
""")

code(r"""
n, h, c = (4, 24, 32) if FAST else (16, 48, 64)
x, w, b = bench.make_conv_problem(n, h, h, c, c)
pads = resolve_padding("same", (3, 3), (1, 1), (h, h))
cols = im2col_numba(x, (3, 3), (1, 1), pads)
wmat = w.reshape(-1, c)

def best_of(fn, repeats=5):
    return float(np.median(timeit.repeat(fn, number=1, repeat=repeats)))

t_gemm = best_of(lambda: cols @ wmat)
t_cols = best_of(lambda: im2col_numba(x, (3, 3), (1, 1), pads))
t_conv = best_of(lambda: conv2d_im2col_forward(x, w, b, (1, 1), pads))
t_f4 = best_of(lambda: wg.conv2d_winograd_forward(x, w, b, (1, 1), pads, "f4x3"))
flops = bench.conv_flops(n, h, h, c, c, 3, 3)
print(f"problem: x {x.shape}, w {w.shape}; direct-convolution work {flops / 1e9:.2f} GFLOP")
print(f"GEMM alone ({cols.shape[0]}x{cols.shape[1]} @ {wmat.shape[0]}x{wmat.shape[1]}): "
      f"{t_gemm * 1e3:7.2f} ms = {flops / t_gemm / 1e9:6.1f} GFLOP/s   <- the machine's BLAS")
print(f"building the column matrix: {t_cols * 1e3:7.2f} ms "
      f"({cols.nbytes / 2**20:.0f} MiB written, {cols.nbytes / t_cols / 2**30:.1f} GiB/s)")
print(f"whole im2col convolution:   {t_conv * 1e3:7.2f} ms = {flops / t_conv / 1e9:6.1f} GFLOP/s")
print(f"Winograd F(4x4, 3x3):       {t_f4 * 1e3:7.2f} ms = {flops / t_f4 / 1e9:6.1f} "
      f"'GFLOP/s' (direct-convolution flops)")
""")

md(r"""
The GEMM alone runs at the machine's BLAS speed; building the column matrix is pure data
movement whose speed is a memory bandwidth; the im2col convolution is the sum of the two, so the
larger the share of the copy, the further it falls below the GEMM's throughput. That is the
sense in which im2col is *GEMM-bound for many channels* (the $9 C^2$-wide product dominates) and
*memory-bound for few channels* (the copy dominates).

Winograd $F(4\times4, 3\times3)$ reports more "GFLOP/s" than the GEMM alone whenever it beats
im2col's GEMM time: not because it multiplies faster (its own 36 GEMMs run on the same BLAS),
but because it needs 4× fewer multiplications for the same result (chapter 05,
`multiplication_counts`). Its transforms are memory-bound, which is why labkit compiles them with
numba; they cost little as long as the channel count is large. The throughput of every
configuration in the sweep of sections 3-4, in the same units:
""")

code(r"""
rows = [r for r in channel_rows if r["pass"] == "forward"]
chans = sorted({r["C_in"] for r in rows})
algs = [a for a in ALGORITHMS + ("torch",) if any(r["algorithm"] == a for r in rows)]
gflops = {a: np.array([next((r["gflops"] for r in rows if r["algorithm"] == a and r["C_in"] == ch), np.nan)
                       for ch in chans]) for a in algs}
from labkit.viz.style import ALGORITHM_COLOURS
fig = curve_panels(np.array(chans), [("forward throughput (direct-convolution flops)", gflops)],
                   xlabel="channels (C_in = C_out)", ylabel="GFLOP/s", markers=True)
ax = fig.axes[0]
for line in ax.get_lines():                     # the same colour per algorithm as the timing plots
    line.set_color(ALGORITHM_COLOURS.get(line.get_label(), line.get_color()))
ax.legend(fontsize=8)
ax.set_xscale("log", base=2)
ax.axhline(flops / t_gemm / 1e9, color="#777777", ls="--", lw=1)
ax.annotate("BLAS GEMM alone (above)", (chans[0], flops / t_gemm / 1e9), xytext=(0, 4),
            textcoords="offset points", fontsize=8, color="#555555")
fig
""")

md(r"""
### numba inside the algorithms

labkit's im2col and Winograd both exist twice: with their memory-bound parts (column matrix,
`col2im`, tile transforms) written in plain numpy, and compiled with numba, which reads the input
once, handles the padding with bounds checks instead of a padded copy, and runs on all cores.
The numpy versions are there to be read (and to check the numba ones against); here is what
compiling buys on the same problem:
""")

code(r"""
backends = {}
for backend in ("numpy", "numba"):
    backends[f"im2col ({backend})"] = best_of(lambda: conv2d_im2col_forward(x, w, b, (1, 1), pads, backend=backend))
    backends[f"F(4x4) ({backend})"] = best_of(
        lambda: wg.conv2d_winograd_forward(x, w, b, (1, 1), pads, "f4x3", backend=backend))
for name, t in backends.items():
    print(f"{name:<16} {t * 1e3:8.2f} ms")
""")

md(r"""
Compiling pays off most for Winograd's transforms: many tiny operations per 6 × 6 tile, which
numpy can only express as several passes over the data. im2col's copy is simple enough that
numpy's strided view does it well; there the numba version mainly saves the padded copy of the
input, and it can lose time to the thread-pool contention described in section 3.
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 7. What `Conv2D(algorithm="auto")` picks

A `Conv2D` built with `algorithm="auto"` (the default) chooses an algorithm for each input
shape with a fixed, documented rule (`labkit.ops.conv_select`), derived from sweeps like the ones
above rather than by timing every call (which would make runs irreproducible and slow to
start):

* Winograd needs a 3×3 kernel and stride 1; anything else runs im2col;
* with fewer than `WINOGRAD_MIN_CHANNELS` *input* channels, the input transform costs more
  than the multiplications it saves: im2col (a single output channel is fine: measured, the
  final $64 \to 1$ convolution of an SR network runs about 6× faster with Winograd, because
  im2col would copy its whole high-resolution input nine times);
* on tiny inputs (fewer than `MIN_TILES` 4×4 output tiles in the batch): im2col;
* otherwise Winograd $F(4\times4, 3\times3)$. The direct sum is never chosen.

For every convolution of EDSR ×2 (16 blocks, 64 filters) on a training batch of 16 LR patches
of 48 × 48:
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print(f"rule: Winograd when 3x3, stride 1, C_in >= {WINOGRAD_MIN_CHANNELS} "
      f"and at least {MIN_TILES} output tiles")
net = edsr(2, n_blocks=16, n_filters=64)
shape = (16, 48, 48, 1)
picks = []
for layer, out_shape in zip(net.layers, net.output_shapes(shape)):
    if isinstance(layer, Conv2D):
        pads = layer.pads_for(shape[1:3])
        picks.append((repr(layer), shape, layer.algorithm_for(shape, pads, np.float32)))
    shape = out_shape
groups = {}
for name, in_shape, algo in picks:
    groups.setdefault((name, in_shape, algo), 0)
    groups[(name, in_shape, algo)] += 1
for (name, in_shape, algo), count in groups.items():
    print(f"{count:>3} x {name:<34} input {str(in_shape):<18} -> {algo}")
""")

md(r"""
The 33 convolutions of the body, the upsampling convolution and the final convolution
($64 \to 1$, at high resolution) run Winograd; only the head ($1 \to 64$) runs im2col, as its
single input channel leaves the input transform nothing to amortise. A convolution's choice depends only on its shapes, so it is the
same in every step of a run.

One last check: all the algorithms timed here compute the same convolution (in float32, within
the accuracy measured in chapter 05).
""")

code(r"""
# NBVAL_CHECK_OUTPUT
xs, ws, bs = bench.make_conv_problem(2, 20, 20, 16, 16)
same = resolve_padding("same", (3, 3), (1, 1), (20, 20))
ref, _ = conv2d_forward(xs.astype(np.float64), ws.astype(np.float64), bs.astype(np.float64),
                        (1, 1), same, "naive")
agree = {}
for a in ALGORITHMS:
    y = bench.labkit_conv_callables(a, xs, ws, bs)[0]()
    agree[a] = float(np.abs(y - ref).max() / np.abs(ref).max()) < 1e-5
print("every algorithm matches the float64 direct sum to 1e-5:", agree)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **Your machine.** Run `labkit bench --quick` in a terminal, then the full `labkit bench`.
   Compare with the tables above. Which ratios are stable between runs, and which are not?
2. **Threads.** Restart the kernel with `NUMBA_THREADING_LAYER=workqueue` (numba's own thread
   pool, which does not spin) or `OMP_WAIT_POLICY=passive` in the environment and re-run
   sections 2 and 3. What happens to im2col's time at small sizes? Then try
   `NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`: which algorithm loses most from a single core?
3. **float64.** Time im2col and Winograd with `dtype="float64"` in `bench.benchmark_conv`.
   By how much does each slow down, and does the ranking change?
4. **The crossing point.** Refine the channel sweep of section 4 around the point where Winograd
   overtakes im2col on this machine. Is `WINOGRAD_MIN_CHANNELS` right for it?
5. **Memory.** With the workspace formula, estimate the total im2col workspace a training step of
   `edsr(2, 16, 64)` on a batch of 16 patches of 48 × 48 keeps alive until the backward pass.
   Compare with the size of the network's activations.
""")

code(r"""
# Key results of the chapter (checked in CI; timings are not checked, they vary by machine).
assert {r["algorithm"] for r in edsr_rows} >= set(ALGORITHMS)
assert all(r["seconds"] > 0 for r in edsr_rows + size_rows + channel_rows)
assert all(agree.values())
assert workspace["im2col"][0] == 9 * workspace["input itself"][0]          # 3x3 'same': 9x
assert {a for _, _, a in picks} == {"im2col", "winograd"}
assert sum(a == "winograd" for _, _, a in picks) == 35
print("all checks passed")
""")

write(NAME, id_prefix="nb09")
