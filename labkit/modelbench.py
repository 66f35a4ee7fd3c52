"""Whole-network timing: a training step and inference against PyTorch, and where a step goes.

:mod:`labkit.bench` times single convolutions; this module times a whole network the way a user
meets it.  The PyTorch contender is the same network (:func:`labkit.interop.to_torch`, weights
copied), run with as many threads as numba uses, in each of its memory formats, NCHW and
channels_last; the reference is the faster of the two in every run.  Comparisons are paired
runs in one process (:func:`labkit.bench.paired_runs`): the contenders alternate, in an order
that rotates, so a slow moment of the machine hits all of them.

Throughput is reported twice (:func:`conv_flops_of`):

* *direct-equivalent* flops, ``2 N Ho Wo C_in C_out kh kw`` per convolution, what a direct
  convolution would spend: the same count for every contender, so GFLOP/s compare like speed;
* *actual* flops, what labkit's chosen algorithm spends (Winograd ``F(4x4, 3x3)``: its GEMMs,
  ``2 a^2 T C_in C_out`` for ``T`` tiles of ``a x a = 6 x 6``, plus the transforms' additions):
  over :data:`labkit.bench.PEAK_GFLOPS` this says how close the code runs to the machine.

A training step counts three convolutions per layer (``y``, ``dx``, ``dw``), inference one.
Only convolutions are counted; elementwise layers cost time but (almost) no flops.
"""

from __future__ import annotations

import time

import numpy as np

from labkit.bench import PEAK_GFLOPS, TORCH_FORMATS, paired_ratio, paired_runs, spread

__all__ = ["benchmark_network", "conv_flops_of", "format_profile", "labkit_inference",
           "labkit_train_step", "memory_bandwidth", "profile_train_step", "roofline_points",
           "torch_inference", "torch_train_step"]


def _conv_layers(net, input_shape):
    """``(position, layer, input shape, output shape)`` of every Conv2D of ``net``."""
    from labkit.layers.conv import Conv2D
    shapes = [tuple(input_shape)] + net.output_shapes(input_shape)
    return [(p, layer, shapes[p], shapes[p + 1]) for p, layer in enumerate(net.layers)
            if isinstance(layer, Conv2D)]


def conv_flops_of(net, input_shape, training: bool = True) -> dict:
    """Direct-equivalent and actual flops of ``net``'s convolutions for one input batch.

    Returns
    -------
    dict
        ``direct``, ``actual`` (totals) and ``layers``: one ``{position, algorithm, direct,
        actual}`` per Conv2D; a training step (``training=True``) counts forward, input
        gradient and weight gradient.
    """
    from labkit.bench import conv_flops, spent_flops
    passes = 3 if training else 1
    layers = []
    for p, layer, x_shape, y_shape in _conv_layers(net, input_shape):
        n, h, w, c_in = x_shape
        _, ho, wo, c_out = y_shape
        kh, kw = layer.weight.shape[:2]
        direct = conv_flops(n, ho, wo, c_in, c_out, kh, kw) * passes
        algo = layer.algorithm_for(x_shape, layer.pads_for((h, w)), np.float32)
        actual = spent_flops(algo, n, ho, wo, c_in, c_out, kh, kw) * passes
        layers.append({"position": p, "algorithm": algo, "direct": int(direct),
                       "actual": int(actual)})
    return {"direct": sum(r["direct"] for r in layers), "actual": sum(r["actual"] for r in layers),
            "layers": layers}


# ----------------------------------------------------------------------------- contenders

def labkit_train_step(net, x, y, loss=None, optimizer=None):
    """A callable doing one training step of ``net`` on NHWC ``(x, y)`` (L1 loss and Adam
    unless given): forward, loss, backward, update."""
    from labkit.losses import L1Loss
    from labkit.optimizers import Adam
    loss = L1Loss() if loss is None else loss
    optimizer = Adam(lr=1e-4) if optimizer is None else optimizer

    def step():
        out = net.forward(x, training=True)
        value = loss.forward(out, y)
        net.backward(loss.backward())
        net.update(optimizer)
        return value

    return step


def labkit_inference(net, x):
    """A callable running ``net.forward(x, training=False)`` on the whole NHWC batch."""
    def run():
        return net.forward(x, training=False)
    return run


def _torch_setup(net, memory_format, threads):
    import torch

    from labkit.interop import to_torch
    check = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
    if memory_format not in check:
        raise ValueError(f"modelbench: unknown memory_format {memory_format!r}; choose one of "
                         f"{list(TORCH_FORMATS)}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    module = to_torch(net).to(memory_format=check[memory_format])
    return torch, module, check[memory_format]


def _nchw(torch, a, fmt):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).contiguous(
        memory_format=fmt)


def torch_train_step(net, x, y, memory_format="nchw", threads=None):
    """The same training step in PyTorch (L1 loss, Adam, zero_grad(set_to_none=True)) on a copy
    of ``net``, tensors in ``memory_format`` ("nchw" or "channels_last")."""
    torch, module, fmt = _torch_setup(net, memory_format, threads)
    module.train()
    opt = torch.optim.Adam(module.parameters(), lr=1e-4)
    tx, ty = _nchw(torch, x, fmt), _nchw(torch, y, fmt)

    def step():
        opt.zero_grad(set_to_none=True)
        value = torch.nn.functional.l1_loss(module(tx), ty)
        value.backward()
        opt.step()
        return value

    return step


def torch_inference(net, x, memory_format="nchw", threads=None):
    """``module(x)`` under ``torch.inference_mode()`` for a copy of ``net`` in ``memory_format``."""
    torch, module, fmt = _torch_setup(net, memory_format, threads)
    module.eval()
    tx = _nchw(torch, x, fmt)

    def run():
        with torch.inference_mode():
            return module(tx)

    return run


def benchmark_network(net, x, y=None, task: str = "train_step", include_torch: bool = True,
                      runs: int = 7, repeats: int = 3, warmup: int = 2) -> dict:
    """labkit against PyTorch at its best on one network, in paired runs.

    Parameters
    ----------
    net : labkit.network.Network
    x : ndarray (N, H, W, C)
        Input batch; ``y`` the target batch (training step only).
    task : "train_step" or "inference"
    runs, repeats, warmup
        :func:`labkit.bench.paired_runs` settings: ``runs`` paired runs, each contender's time of
        a run the median of ``repeats`` calls after ``warmup``.

    Returns
    -------
    dict
        ``seconds``: ``{contender: spread}`` (``labkit``, ``torch_nchw``,
        ``torch_channels_last``); ``ratio``: torch at its best over labkit per run, summarised
        (> 1: labkit faster); ``faster_format``: which torch format won more runs;
        ``gflops``: ``{contender: {"direct", "actual"}}`` at the median time (actual for labkit
        only), with ``peak_fraction`` of :data:`labkit.bench.PEAK_GFLOPS`; ``runs``: raw times.
    """
    import numba

    from labkit.bench import torch_available
    if task not in ("train_step", "inference"):
        raise ValueError(f"benchmark_network: task must be 'train_step' or 'inference', "
                         f"got {task!r}")
    if task == "train_step" and y is None:
        raise ValueError("benchmark_network: a training step needs the target batch y")
    training = task == "train_step"
    fns = {"labkit": labkit_train_step(net, x, y) if training else labkit_inference(net, x)}
    if include_torch and torch_available():
        threads = numba.get_num_threads()
        for fmt in TORCH_FORMATS:
            fns[f"torch_{fmt}"] = (torch_train_step(net, x, y, fmt, threads) if training
                                   else torch_inference(net, x, fmt, threads))
    times = paired_runs(fns, runs=runs, repeats=repeats, warmup=warmup)
    flops = conv_flops_of(net, x.shape, training=training)
    out = {"task": task, "input_shape": list(x.shape), "threads": numba.get_num_threads(),
           "seconds": {k: spread(v) for k, v in times.items()}, "runs": times,
           "flops": {"direct": flops["direct"], "actual": flops["actual"]}}
    gf = {}
    for name, s in out["seconds"].items():
        g = {"direct": flops["direct"] / s["median"] / 1e9}
        if name == "labkit":
            g["actual"] = flops["actual"] / s["median"] / 1e9
        g["peak_fraction"] = {k: v / PEAK_GFLOPS for k, v in g.items()}
        gf[name] = g
    out["gflops"] = gf
    torch_names = [f"torch_{f}" for f in TORCH_FORMATS if f"torch_{f}" in times]
    if torch_names:
        out["ratio"] = paired_ratio(times, tuple(torch_names), "labkit")
        out["ratio_by_format"] = {n: paired_ratio(times, n, "labkit") for n in torch_names}
        wins = np.argmin([times[n] for n in torch_names], axis=0)
        counts = np.bincount(wins, minlength=len(torch_names))
        out["faster_format"] = torch_names[int(np.argmax(counts))][len("torch_"):]
        out["format_wins"] = {n: int(c) for n, c in zip(torch_names, counts)}
    return out


# ----------------------------------------------------------------------------- profile

def profile_train_step(net, x, y, loss=None, optimizer=None, steps: int = 5,
                       warmup: int = 2) -> dict:
    """Where a training step's time goes: per layer forward and backward seconds.

    Each layer's ``forward`` and ``backward`` are timed (wall clock, mean over ``steps`` steps
    after ``warmup``) by wrapping them for the duration of the call; the loss and the optimizer
    update are timed apart.  The sum of the parts is a little below the step time (the network's
    own bookkeeping, gradient summation at shortcuts).

    Returns
    -------
    dict
        ``rows``: ``{position, layer, forward_s, backward_s, total_s, share}`` per layer;
        ``by_kind``: the same summed per layer description (e.g. ``"Conv2D 32->32"``);
        ``loss_s``, ``update_s``, ``step_s`` (mean step wall time).
    """
    from labkit.losses import L1Loss
    from labkit.optimizers import Adam
    loss = L1Loss() if loss is None else loss
    optimizer = Adam(lr=1e-4) if optimizer is None else optimizer
    layers = list(net.layers)
    fwd = np.zeros(len(layers))
    bwd = np.zeros(len(layers))
    t_loss = t_update = 0.0

    def timed(fn, acc, p):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            result = fn(*args, **kwargs)
            acc[p] += time.perf_counter() - t0
            return result
        return wrapper

    for p, layer in enumerate(layers):
        layer.forward = timed(layer.forward, fwd, p)
        layer.backward = timed(layer.backward, bwd, p)
    try:
        total = 0.0
        for i in range(warmup + steps):
            if i == warmup:
                fwd[:] = 0
                bwd[:] = 0
                t_loss = t_update = total = 0.0
            t0 = time.perf_counter()
            out = net.forward(x, training=True)
            t1 = time.perf_counter()
            loss.forward(out, y)
            dy = loss.backward()
            t2 = time.perf_counter()
            net.backward(dy)
            t3 = time.perf_counter()
            net.update(optimizer)
            t4 = time.perf_counter()
            t_loss += t2 - t1
            t_update += t4 - t3
            total += t4 - t0
    finally:
        for layer in layers:             # drop the instance attributes: the class methods return
            del layer.forward, layer.backward
    step = total / steps
    rows = []
    for p, layer in enumerate(layers):
        f, b = fwd[p] / steps, bwd[p] / steps
        rows.append({"position": p, "layer": _describe(layer), "forward_s": f, "backward_s": b,
                     "total_s": f + b, "share": (f + b) / step})
    kinds: dict = {}
    for r in rows:
        k = kinds.setdefault(r["layer"], {"layer": r["layer"], "count": 0, "forward_s": 0.0,
                                          "backward_s": 0.0})
        k["count"] += 1
        k["forward_s"] += r["forward_s"]
        k["backward_s"] += r["backward_s"]
    by_kind = sorted(kinds.values(), key=lambda k: -(k["forward_s"] + k["backward_s"]))
    for k in by_kind:
        k["total_s"] = k["forward_s"] + k["backward_s"]
        k["share"] = k["total_s"] / step
    return {"rows": rows, "by_kind": by_kind, "loss_s": t_loss / steps,
            "update_s": t_update / steps, "step_s": step}


def _describe(layer) -> str:
    from labkit.layers.conv import Conv2D
    name = type(layer).__name__
    if isinstance(layer, Conv2D):
        kh, kw, c_in, c_out = layer.weight.shape
        return f"{name} {kh}x{kw} {c_in}->{c_out}"
    return name


def format_profile(profile: dict) -> str:
    """A table of :func:`profile_train_step`'s ``by_kind`` rows plus loss and update."""
    head = f"{'layer':<24}{'count':>6}{'forward ms':>12}{'backward ms':>13}{'share':>8}"
    lines = [head, "-" * len(head)]
    for k in profile["by_kind"]:
        lines.append(f"{k['layer']:<24}{k['count']:>6}{k['forward_s'] * 1e3:>12.1f}"
                     f"{k['backward_s'] * 1e3:>13.1f}{k['share'] * 100:>7.1f}%")
    step = profile["step_s"]
    for name, key in (("loss (L1)", "loss_s"), ("optimizer update", "update_s")):
        lines.append(f"{name:<24}{'':>6}{profile[key] * 1e3:>12.1f}{'':>13}"
                     f"{profile[key] / step * 100:>7.1f}%")
    lines.append(f"{'step (wall)':<24}{'':>6}{step * 1e3:>12.1f}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- roofline

def memory_bandwidth(mib: int = 256, repeats: int = 5) -> float:
    """Copy bandwidth of this machine in GB/s (bytes read plus bytes written per second, median
    of ``repeats`` copies of a ``mib`` MiB float32 array into a preallocated one): the slope of
    the roofline's memory-bound side."""
    from labkit.bench import median_time
    src = np.ones(mib * 2 ** 18, dtype=np.float32)
    dst = np.empty_like(src)
    t = median_time(lambda: np.copyto(dst, src), repeats=repeats, warmup=1)
    return 2 * src.nbytes / t / 1e9


def roofline_points(net, input_shape, profile: dict) -> list[dict]:
    """One roofline point per layer description of :func:`profile_train_step` (forward plus
    backward of all layers of that kind, over one step).

    ``flops`` are the flops actually spent (:func:`conv_flops_of`'s ``actual``; one operation
    per element for element-wise layers, none for a permutation); ``bytes`` the compulsory
    traffic, every array a pass reads or writes counted once at 4 bytes per value (a
    convolution's forward reads ``x`` and writes ``y``, its backward reads ``dy`` and ``x`` and
    writes ``dx``; the weights are negligible).  Real kernels move more (Winograd's transformed
    tiles, im2col's column matrix), so a point's intensity ``flops / bytes`` is an upper bound
    and its distance below the roof is partly that extra traffic.  A ReLU or shortcut whose
    forward runs inside the convolution before it (:meth:`labkit.network.Network.fused_layers`)
    counts only its backward; its forward's work is the convolution's.

    Returns
    -------
    list of dict: ``layer``, ``flops``, ``bytes``, ``seconds``, ``intensity`` (flop/byte),
    ``gflops`` (achieved, flops / seconds).
    """
    shapes = [tuple(input_shape)] + net.output_shapes(input_shape)
    actual = {r["position"]: r["actual"] for r in conv_flops_of(net, input_shape)["layers"]}
    fused = net.fused_layers()
    acc: dict = {}
    for row in profile["rows"]:
        p = row["position"]
        n_in, n_out = int(np.prod(shapes[p])), int(np.prod(shapes[p + 1]))
        if p in actual:
            flops, values = actual[p], (n_in + n_out) + (n_out + 2 * n_in)
            kind = fused.get(p + 1)            # the next layer's forward runs in this one
            if kind is not None:
                flops += n_out
                values += n_out if kind == "shortcut" else 0         # the residual it reads
        elif row["layer"] == "PixelShuffle":
            flops, values = 0, 2 * (n_in + n_out)
        elif p in fused:
            # forward done by the convolution before; backward: a ReLU reads dy and y and
            # writes dx, a unit shortcut hands dy on untouched
            flops, values = (n_out, 3 * n_out) if fused[p] == "relu" else (0, 0)
        else:                                  # element-wise: one op per output value
            extra = n_out if row["layer"] == "Shortcut" else 0      # the second input
            flops, values = 2 * n_out, (n_in + n_out + extra) + (n_out + n_in)
        a = acc.setdefault(row["layer"], {"layer": row["layer"], "flops": 0, "bytes": 0,
                                          "seconds": 0.0})
        a["flops"] += flops
        a["bytes"] += 4 * values
        a["seconds"] += row["total_s"]
    out = []
    for a in acc.values():
        if a["flops"] == 0 and a["bytes"] == 0:
            continue                           # nothing left to place (a fused unit shortcut)
        a["intensity"] = a["flops"] / a["bytes"]
        a["gflops"] = a["flops"] / a["seconds"] / 1e9 if a["seconds"] > 0 else 0.0
        out.append(a)
    return sorted(out, key=lambda a: -a["seconds"])
