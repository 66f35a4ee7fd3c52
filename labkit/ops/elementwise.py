"""Element-wise operations on large arrays, in parallel when it pays.

``add(a, b)`` is ``a + b``.  For float arrays of one shape and dtype with at least
:data:`NUMBA_MIN_SIZE` values it runs a compiled kernel on labkit's worker threads
(:func:`labkit.ops._numba_kernels.add_range` via :func:`labkit.ops.workers.run_ranges`; the
same result bit for bit: one addition per element); otherwise numpy's ``+`` with its
broadcasting and type promotion.  (Not numba's ``prange``: its OpenMP workers spin after each
call and slow the convolution that follows, see :mod:`labkit.ops.workers`.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["NUMBA_MIN_SIZE", "add", "use_numba"]

#: Arrays at least this large go through the parallel numba kernels (smaller ones: numpy,
#: whose single pass is then cheaper than waking the thread pool).
NUMBA_MIN_SIZE = 1 << 16


def use_numba(backend: str, owner: str, *arrays) -> bool:
    """Whether an element-wise op on ``arrays`` runs its numba kernel: never for "numpy";
    for "numba" and "auto" only when all arrays share one shape and float dtype, and for "auto"
    only from :data:`NUMBA_MIN_SIZE` values on."""
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"{owner}: unknown backend {backend!r}; choose auto, numba or numpy")
    if backend == "numpy":
        return False
    same = all(a.dtype == arrays[0].dtype and a.shape == arrays[0].shape for a in arrays)
    ok = same and arrays[0].dtype in (np.float32, np.float64)
    return ok and (backend == "numba" or arrays[0].size >= NUMBA_MIN_SIZE)


def add(a, b, backend: str = "auto") -> np.ndarray:
    """``a + b``; ``backend`` "auto", "numba" (equal shapes and float dtypes only) or "numpy"."""
    a, b = np.asarray(a), np.asarray(b)
    if not use_numba(backend, "add", a, b):
        return a + b
    from labkit.ops._numba_kernels import add_range
    from labkit.ops.workers import run_ranges
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.empty_like(a)
    run_ranges(add_range, a.size, a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out
