"""labkit's one pool of worker threads, for the compiled kernels that release the GIL.

On a small machine two thread pools fight: after a multi-threaded call, OpenMP's workers (numba's
``prange`` runs on them) and OpenBLAS's keep spinning for a while, and work handed to a
*different* pool in that window finds its cores taken.  labkit therefore runs its compiled
kernels on its own Python worker threads, as many as numba is set to use
(``numba.get_num_threads()``, i.e. ``NUMBA_NUM_THREADS``): a kernel compiled with
``nogil=True`` works on one part of the output per thread.  Idle workers block on a queue, they
do not spin, so the pool costs nothing between calls.  The Winograd engine
(:mod:`labkit.ops.winograd`) and the pixel shuffle (:mod:`labkit.ops.pixel_shuffle`) use it.
(Element-wise operations stay in numpy: one pass of a single core already moves data as fast
as the memory delivers it, measured on the course machine.)
"""

from __future__ import annotations

import itertools
import os

import numpy as np

__all__ = ["num_threads", "run_parts", "run_ranges", "run_shared"]

_POOL = None        # (process id, ThreadPoolExecutor): a forked child must not reuse the pool


def num_threads() -> int:
    """How many threads labkit's kernels use: numba's setting (``NUMBA_NUM_THREADS``)."""
    import numba
    return max(1, int(numba.get_num_threads()))


def run_parts(fn, parts) -> list:
    """Run ``fn(part)`` for every part, the first on this thread, the rest on the pool."""
    global _POOL
    if len(parts) == 1:
        return [fn(parts[0])]
    if _POOL is None or _POOL[0] != os.getpid() or _POOL[1]._max_workers < len(parts) - 1:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=len(parts) - 1,
                                                 thread_name_prefix="labkit-worker"))
    futures = [_POOL[1].submit(fn, p) for p in parts[1:]]
    results = [fn(parts[0])]
    return results + [f.result() for f in futures]


def run_shared(fn, n_items: int, n_threads: int) -> None:
    """Call ``fn(item)`` for ``item = 0 .. n_items - 1``, the items handed out one at a time to
    ``n_threads`` threads (this one included): a thread that starts late or runs slow simply
    takes fewer items.  Only for work whose result does not depend on which thread does it."""
    counter = itertools.count()          # next() on it is atomic under the GIL

    def worker(_):
        for item in iter(counter.__next__, None):
            if item >= n_items:
                return
            fn(item)

    run_parts(worker, list(range(max(1, min(n_threads, n_items)))))


def run_ranges(kernel, n: int, *args, grain: int = 1 << 15) -> None:
    """``kernel(*args, lo, hi)`` over ``[0, n)`` cut into pieces of about ``grain`` items,
    handed out to the pool on demand; the kernel must write disjoint outputs per range (so the
    result does not depend on the thread count).  Small ``n`` runs on this thread alone."""
    pieces = max(1, -(-n // grain))
    threads = min(num_threads(), pieces)
    if threads == 1:
        kernel(*args, 0, n)
        return
    bounds = np.linspace(0, n, min(pieces, 4 * threads) + 1).astype(np.int64)

    def piece(k):
        kernel(*args, int(bounds[k]), int(bounds[k + 1]))

    run_shared(piece, len(bounds) - 1, threads)
