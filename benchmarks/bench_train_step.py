"""Training-step speed of labkit against PyTorch, in one process, and labkit's peak memory.

The step is the one of the issue's target table: ``edsr(2, 8, 32)`` (EDSR-baseline shape, one
channel), batch 16, LR patches 48 x 48 (HR 96 x 96), L1 loss, Adam.  A PyTorch module of the
identical shape is built here (weights copied from the labkit network, NHWC -> NCHW).

Procedure
---------
1. labkit alone (torch not yet imported): ``--warmup`` steps (numba compilation, algorithm
   selection), then ``--steps`` timed steps.  The peak resident memory of the process at that
   point (``resource.getrusage``) is labkit's training peak.
2. torch imported, ``torch.set_num_threads`` = the CPUs numba uses, then ``--steps`` *paired*
   steps: one torch step, one labkit step, so that both see the same machine load; the ratio
   ``t_torch / t_labkit`` of each pair is recorded and the median reported (> 1: labkit faster).

Usage::

    python benchmarks/bench_train_step.py [--steps 7] [--warmup 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np

from labkit.losses import L1Loss
from labkit.models import edsr
from labkit.optimizers import Adam


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def labkit_step(net, loss, opt, x, y) -> float:
    t = time.perf_counter()
    out = net.forward(x, training=True)
    loss.forward(out, y)
    net.backward(loss.backward())
    net.update(opt)
    return time.perf_counter() - t


def torch_edsr(net, scale, n_blocks, n_filters):
    """A PyTorch EDSR-baseline of the same shape as the labkit ``net``, with its weights."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(n_filters, n_filters, 3, padding=1)
            self.c2 = nn.Conv2d(n_filters, n_filters, 3, padding=1)

        def forward(self, x):
            return self.c2(torch.relu(self.c1(x))) + x

    class EDSR(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Conv2d(1, n_filters, 3, padding=1)
            self.body = nn.Sequential(*[Block() for _ in range(n_blocks)],
                                      nn.Conv2d(n_filters, n_filters, 3, padding=1))
            up = []
            for r in {2: [2], 3: [3], 4: [2, 2]}[scale]:
                up += [nn.Conv2d(n_filters, n_filters * r * r, 3, padding=1), nn.PixelShuffle(r)]
            self.up = nn.Sequential(*up)
            self.tail = nn.Conv2d(n_filters, 1, 3, padding=1)

        def forward(self, x):
            h = self.head(x)
            return self.tail(self.up(self.body(h) + h))

    model = EDSR()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    params = [layer.params for layer in net.layers if "w" in layer.params]
    with torch.no_grad():
        for conv, p in zip(convs, params, strict=True):
            conv.weight.copy_(torch.from_numpy(p["w"].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(p["b"]))
    return model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=7, help="timed (paired) steps, >= 5")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr-size", type=int, default=48)
    ap.add_argument("--algorithm", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import numba

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.lr_size, args.lr_size, 1), dtype=np.float32)
    y = rng.random((args.batch, 2 * args.lr_size, 2 * args.lr_size, 1), dtype=np.float32)
    net = edsr(2, 8, 32, seed=0, algorithm=args.algorithm)
    loss, opt = L1Loss(), Adam(lr=1e-4)
    rss_start = peak_rss_mb()

    # Phase 1: labkit alone.
    for _ in range(args.warmup):
        labkit_step(net, loss, opt, x, y)
    alone = [labkit_step(net, loss, opt, x, y) for _ in range(args.steps)]
    rss_labkit = peak_rss_mb()

    # Phase 2: paired with torch.
    import torch

    torch.set_num_threads(numba.get_num_threads())
    model = torch_edsr(net, 2, 8, 32)
    topt = torch.optim.Adam(model.parameters(), lr=1e-4)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    ty = torch.from_numpy(y.transpose(0, 3, 1, 2).copy())

    def torch_step():
        t = time.perf_counter()
        topt.zero_grad(set_to_none=True)
        out = model(tx)
        torch.nn.functional.l1_loss(out, ty).backward()
        topt.step()
        return time.perf_counter() - t

    for _ in range(args.warmup):
        torch_step()
    t_torch, t_labkit = [], []
    for _ in range(args.steps):
        t_torch.append(torch_step())
        t_labkit.append(labkit_step(net, loss, opt, x, y))
    ratios = [a / b for a, b in zip(t_torch, t_labkit)]
    result = {
        "model": "edsr(2, 8, 32)", "batch": args.batch, "lr_patch": args.lr_size,
        "threads": numba.get_num_threads(), "algorithm": args.algorithm,
        "labkit_alone_s": statistics.median(alone),
        "labkit_s": statistics.median(t_labkit), "torch_s": statistics.median(t_torch),
        "ratio_torch_over_labkit": statistics.median(ratios),
        "ratios": ratios,
        "peak_rss_labkit_mb": rss_labkit, "rss_before_training_mb": rss_start,
        "peak_rss_total_mb": peak_rss_mb(),
    }
    print(f"labkit step {result['labkit_s']:.3f} s (alone {result['labkit_alone_s']:.3f} s), "
          f"torch step {result['torch_s']:.3f} s, median ratio torch/labkit "
          f"{result['ratio_torch_over_labkit']:.2f} over {args.steps} paired steps, "
          f"{result['threads']} threads")
    print(f"peak RSS: labkit training {rss_labkit:.0f} MiB, process incl. torch "
          f"{result['peak_rss_total_mb']:.0f} MiB")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
