"""How the process's allocator treats labkit's large arrays: freed blocks are kept for reuse.

A training step allocates the same few dozen activation arrays of a few MiB in every step and
frees them at the end of its backward pass.  glibc's ``malloc`` serves such blocks with
``mmap`` and hands them back to the kernel on ``free``, so the next step gets *fresh* pages:
every 4 KiB page of every activation faults on first touch and is zeroed by the kernel.
Measured on the course machine (2-core VM), that costs about 1 ms per 4.7 MiB array, which is
a fifth of a 32-channel Winograd convolution in a network.  :func:`keep_freed_memory` raises
glibc's ``mmap`` and trim thresholds so that freed blocks stay in the heap and the next step
reuses pages that are already mapped; the peak of a step is unchanged (it is what is alive at
once), only its memory is not returned to the system between steps.

It is applied when labkit is imported, on Linux with glibc only; ``LABKIT_MALLOC=system``
leaves the allocator as it was.  It is process-wide: a PyTorch model in the same process
profits exactly as much, so a benchmark comparing the two stays fair.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: Blocks up to this size come from the heap and are kept after ``free`` (glibc's own ceiling
#: for the threshold is far above what a course network allocates).
KEEP_BELOW_BYTES = 1 << 30

_M_TRIM_THRESHOLD = -1       # glibc mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3

_applied = None


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed blocks below :data:`KEEP_BELOW_BYTES` for reuse; ``True`` when
    the setting took effect (``False`` off glibc or with ``LABKIT_MALLOC=system``)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("LABKIT_MALLOC", "").strip().lower() == "system":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):        # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, KEEP_BELOW_BYTES)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, KEEP_BELOW_BYTES))
    return _applied
