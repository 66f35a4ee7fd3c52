"""Time the patch sampler: milliseconds per batch of 16 HR patches of 96 (x2).

Speed is a benchmark, not a unit test (a loaded machine would fail a timed test).

    python benchmarks/bench_sampler.py [--batches 50]
"""

from __future__ import annotations

import argparse

import numpy as np

from labkit.bench import median_time
from labkit.data import PatchSampler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", type=int, default=50)
    args = ap.parse_args()
    hr = np.random.default_rng(0).random((20, 196, 232)).astype(np.float32)
    sampler = PatchSampler(hr, scale=2, patch=96, batch=16)
    sampler.sample()
    seconds = median_time(sampler.sample, repeats=args.batches)
    print(f"PatchSampler(scale=2, patch=96, batch=16): {seconds * 1e3:.2f} ms per batch "
          f"(median of {args.batches})")


if __name__ == "__main__":
    main()
