"""Input checks shared by ops and layers, so bad input fails early with a clear message."""

from __future__ import annotations

import numpy as np


def as_pair(value, name: str, owner: str) -> tuple[int, int]:
    """Turn an int or a pair of ints into ``(a, b)``; raise ``ValueError`` naming ``owner``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b)):
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    return int(a), int(b)


def check_array(x, owner: str, ndim: int | None = None, channels: int | None = None,
                finite: bool = False) -> np.ndarray:
    """Check rank, channel count (last axis) and dtype of an input array.

    Integer and bool inputs are converted to float32; float16 is promoted to float32.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        layout = {4: "(N, H, W, C)", 2: "(N, F)"}.get(ndim, f"rank {ndim}")
        raise ValueError(f"{owner}: expected a {ndim}-D input {layout}, got shape {x.shape}")
    if channels is not None and x.shape[-1] != channels:
        raise ValueError(
            f"{owner}: expected {channels} channels on the last axis, got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind in "biuf":
            x = x.astype(np.float32)
        else:
            raise ValueError(f"{owner}: expected a float array, got dtype {x.dtype}")
    if finite and not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: input of shape {x.shape} contains NaN or inf")
    return x
