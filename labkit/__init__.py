"""labkit: a small numpy/numba deep-learning engine and the course built on it.

Arrays are NHWC (``N, H, W, C``) and float32 unless you pass float64.
"""

__version__ = "0.1.0"

from labkit._memory import keep_freed_memory as _keep_freed_memory

_keep_freed_memory()        # freed activations are reused, not faulted in again (labkit._memory)
