"""labkit: a small numpy/numba deep-learning engine and the course built on it.

Arrays are NHWC (``N, H, W, C``) and float32 unless you pass float64.
"""

__version__ = "0.1.0"
