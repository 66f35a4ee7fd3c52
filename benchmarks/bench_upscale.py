"""``labkit upscale`` of the MNI template against PyTorch running the same network.

Three figures, on the shipped ``data/checkpoints/edsr-x2.npz`` and the MNI152 template
(197 x 233 x 189, axial slices, ``--batch-size`` slices per forward pass):

1. the command itself, end to end in a fresh process (start-up, imports, reading and writing
   the NIfTI): ``labkit upscale MNI -o OUT --checkpoint ... --batch B``;
2. in one process, paired runs (:func:`labkit.bench.paired_runs`): the network part of the
   command, :func:`labkit.sr.upscale_volume`, against the same network in PyTorch
   (:func:`labkit.interop.to_torch`, inference mode, same batches and threads) in NCHW and in
   channels_last; the ratio is torch's faster format over labkit, per run;
3. the largest difference between labkit's and torch's upscaled volumes (they compute the same
   function; float32 rounding only).

Measured 2026-12-02, session 5: the command 23.5 s end to end; the network part labkit
18.43 s [18.10, 21.29], torch NCHW 29.92 s, channels_last 26.10 s, ratio 1.36 [1.29, 1.44]
over 3 paired runs; max |labkit - torch| = 1.7e-5.

Usage::

    python benchmarks/bench_upscale.py [--runs 3] [--batch-size 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from labkit.bench import TORCH_FORMATS, environment, paired_ratio, paired_runs, spread
from labkit.data import load_volume, mni152_path
from labkit.network import Network
from labkit.sr import upscale_volume

CHECKPOINT = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "edsr-x2.npz"


def torch_upscale(net, volume, batch_size, memory_format, threads):
    """The same computation as :func:`upscale_volume` (axis 2), with the network in PyTorch."""
    import torch

    from labkit.interop import to_torch
    fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    torch.set_num_threads(threads)
    module = to_torch(net).eval().to(memory_format=fmt)
    peak = np.float32(volume.max())
    slices = np.moveaxis(volume, 2, 0) / peak                    # (Z, X, Y)

    def run():
        outs = []
        with torch.inference_mode():
            for s in range(0, len(slices), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(slices[s:s + batch_size, None]))
                outs.append(module(xb.contiguous(memory_format=fmt)).numpy()[:, 0])
        return np.moveaxis(np.concatenate(outs) * peak, 0, 2)

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import numba

    result = {"environment": environment(), "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mni_x2.nii.gz"
        cmd = [sys.executable, "-m", "labkit", "upscale", str(mni152_path()), "-o", str(out),
               "--checkpoint", str(CHECKPOINT), "--batch", str(args.batch_size)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
        result["command_s"] = time.perf_counter() - t0
    print(f"labkit upscale (whole command, fresh process): {result['command_s']:.1f} s")

    volume = load_volume("mni152").data
    net = Network.load(CHECKPOINT)
    threads = numba.get_num_threads()
    fns = {"labkit": lambda: upscale_volume(net, volume, axis=2, batch_size=args.batch_size)[0]}
    for fmt in TORCH_FORMATS:
        fns[f"torch_{fmt}"] = torch_upscale(net, volume, args.batch_size, fmt, threads)
    ours, theirs = fns["labkit"](), fns["torch_channels_last"]()
    result["max_abs_difference"] = float(np.max(np.abs(ours - theirs)))
    times = paired_runs(fns, runs=args.runs, repeats=1, warmup=0)
    result["seconds"] = {k: spread(v) for k, v in times.items()}
    result["ratio"] = paired_ratio(times, tuple(f"torch_{f}" for f in TORCH_FORMATS), "labkit")
    result["threads"] = threads
    for k, v in result["seconds"].items():
        print(f"  {k:<20} median {v['median']:.2f} s  [{v['min']:.2f}, {v['max']:.2f}]")
    q = result["ratio"]
    print(f"  torch at its best / labkit: median {q['median']:.2f} [{q['min']:.2f}, "
          f"{q['max']:.2f}] over {args.runs} paired runs, {threads} threads; "
          f"max |labkit - torch| = {result['max_abs_difference']:.2e}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
