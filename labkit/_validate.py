"""Input checks shared by ops, layers, losses, metrics, data, widgets and the trainer's config.

Every check raises ``ValueError`` whose message starts with ``owner`` (the public function,
layer or option the user called) and states the bad value, so bad input fails early with a
message that says what to fix, never a traceback from deep inside numpy, numba or traitlets.

One rule everywhere: a ``bool`` is never a size or a number (``True`` is an ``int`` to Python,
but ``Conv2D(True, 2, 3)`` is a mistake, not one input channel).

The checks:

``check_int(value, name, owner, min=None, max=None)``         an integer (numpy ints too)
``check_float(value, name, owner, min=None, max=None, ...)``  a real number, finite by default
``check_choice(value, name, owner, choices)``                 one of a fixed set of strings
``check_bool(value, name, owner)``                            ``True`` or ``False``
``check_seed(value, name, owner)``                            ``None`` or an int in [0, 2**32)
``as_pair(value, name, owner, min=None)``                     an int or a pair of ints
``check_array(x, owner, ndim=None, channels=None, finite=False, ...)``  an array input
``check_same_shape(a, b, owner, names)``                      two arrays of one shape
``check_alloc(shape, owner, what, itemsize=8)``               a size to allocate is sane
"""

from __future__ import annotations

import math
import numbers

import numpy as np

#: The largest array any labkit function allocates on the user's behalf (bytes).  A size
#: derived from arguments that would need more is a mistake in the arguments (an image of
#: shape (1, 100000) asked of ``imresize`` once wanted 149 GiB), reported before allocating.
MAX_ALLOC_BYTES = 4 * 2**30

_SEED_MAX = 2**32


def _is_int(value) -> bool:
    if type(value) is int:      # the common case, answered without the (slow) ABC check
        return True
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def _bounds(value, name: str, owner: str, min, max, kind: str) -> None:
    if min is not None and value < min:
        raise ValueError(f"{owner}: {name} must be {kind} >= {min}, got {value!r}")
    if max is not None and value > max:
        raise ValueError(f"{owner}: {name} must be {kind} <= {max}, got {value!r}")


def check_int(value, name: str, owner: str, min: int | None = None,
              max: int | None = None) -> int:
    """Return ``value`` as a Python ``int``; it must be an integer (not a bool) in [min, max]."""
    if not _is_int(value):
        bound = f" >= {min}" if min is not None else ""
        raise ValueError(f"{owner}: {name} must be an int{bound}, got {value!r}"
                         f" ({type(value).__name__})")
    value = int(value)
    _bounds(value, name, owner, min, max, "an int")
    return value


def check_float(value, name: str, owner: str, min: float | None = None,
                max: float | None = None, finite: bool = True,
                min_open: bool = False, max_open: bool = False) -> float:
    """Return ``value`` as a Python ``float``; a real number (ints allowed, bools not).

    ``min``/``max`` are inclusive unless ``min_open``/``max_open`` (then the bound itself is
    refused too); ``finite`` refuses NaN and inf.
    """
    if not _is_real(value):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}"
                         f" ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if min is not None and (value < min or (min_open and value == min)):
        op = ">" if min_open else ">="
        raise ValueError(f"{owner}: {name} must be {op} {min}, got {value!r}")
    if max is not None and (value > max or (max_open and value == max)):
        op = "<" if max_open else "<="
        raise ValueError(f"{owner}: {name} must be {op} {max}, got {value!r}")
    return value


def _same_kind(a, b) -> bool:
    # 2 matches np.int64(2); True never matches 1; "2" never matches 2.
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_))
    if _is_int(a) and _is_int(b):
        return True
    return type(a) is type(b)


def check_choice(value, name: str, owner: str, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (compared exactly; strings are not lowered)."""
    choices = tuple(choices)
    if all(isinstance(c, str) for c in choices):
        ok = isinstance(value, str) and value in choices
    else:
        try:
            ok = not isinstance(value, np.ndarray) and any(
                _same_kind(value, c) and value == c for c in choices)
        except (TypeError, ValueError):  # incomparable
            ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: unknown {name} {value!r}; choose one of {listed}")
    return value


def check_bool(value, name: str, owner: str) -> bool:
    """Return ``value`` as ``bool``; only ``True``/``False`` (and numpy bools) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")  # noqa: TRY004
    return bool(value)


def check_seed(value, name: str = "seed", owner: str = "labkit"):
    """``None`` (fresh entropy), an int in ``[0, 2**32)`` or a ``numpy.random.Generator``
    (returned as is, for callers that thread one generator through)."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    if not _is_int(value) or not 0 <= int(value) < _SEED_MAX:
        raise ValueError(f"{owner}: {name} must be None or an int in [0, 2**32), got {value!r}")
    return int(value)


def as_pair(value, name: str, owner: str, min: int | None = None) -> tuple[int, int]:
    """Turn an int or a pair of ints into ``(a, b)``; raise ``ValueError`` naming ``owner``.

    With ``min``, both entries must be ``>= min`` (``min=1`` for sizes and strides).
    """
    if _is_int(value):
        pair = (int(value), int(value))
    else:
        if isinstance(value, (str, bytes)):
            raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
        try:
            a, b = value
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: {name} must be an int or a pair of ints, got {value!r}") from None
        if not (_is_int(a) and _is_int(b)):
            raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
        pair = (int(a), int(b))
    if min is not None and (pair[0] < min or pair[1] < min):
        raise ValueError(f"{owner}: {name} must be >= {min}, got {value!r}")
    return pair


def check_range(value, name: str, owner: str, min: float | None = None,
                min_open: bool = False) -> tuple[float, float]:
    """A pair of finite numbers ``(lo, hi)`` with ``lo <= hi`` (each checked as
    :func:`check_float` with ``min``), returned as a tuple of floats."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair (lo, hi) of numbers, got {value!r}")
    lo, hi = (check_float(v, name, owner, min=min, min_open=min_open) for v in value)
    if lo > hi:
        raise ValueError(f"{owner}: {name} must be (lo, hi) with lo <= hi, got {value!r}")
    return (lo, hi)


def check_array(x, owner: str, ndim: int | None = None, channels: int | None = None,
                finite: bool = False, name: str = "input", min_ndim: int | None = None,
                max_ndim: int | None = None, nonempty: bool = False,
                int_dtype=np.float32) -> np.ndarray:
    """Check rank, channel count (last axis), emptiness and dtype of an input array.

    Integer and bool inputs are converted to ``int_dtype`` (float32 unless asked; metrics ask
    for float64 so large integers stay exact); float16 is promoted to float32, so the
    arithmetic that follows is float arithmetic (``L1Loss()([0, 0], [0.7, 0.7])`` is 0.7, not
    an integer truncation).  Object, string and complex arrays are refused.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{owner}: {name} is not an array ({exc})") from None
    if ndim is not None and x.ndim != ndim:
        layout = {4: "(N, H, W, C)", 2: "(N, F)"}.get(ndim, f"rank {ndim}")
        raise ValueError(f"{owner}: expected a {ndim}-D {name} {layout}, got shape {x.shape}")
    if ((min_ndim is not None and x.ndim < min_ndim)
            or (max_ndim is not None and x.ndim > max_ndim)):
        lo = min_ndim if min_ndim is not None else 0
        hi = max_ndim if max_ndim is not None else "any"
        raise ValueError(f"{owner}: expected a {name} with {lo} to {hi} dimensions, "
                         f"got shape {x.shape}")
    if channels is not None and (x.ndim == 0 or x.shape[-1] != channels):
        raise ValueError(
            f"{owner}: expected {channels} channels on the last axis of the {name}, "
            f"got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind in "biu":
            x = x.astype(int_dtype)
        elif x.dtype.kind == "f":
            x = x.astype(np.float32)
        else:
            raise ValueError(f"{owner}: expected a float {name}, got dtype {x.dtype}")
    if nonempty and x.size == 0:
        raise ValueError(f"{owner}: {name} is empty (shape {x.shape})")
    if finite and not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: {name} of shape {x.shape} contains NaN or inf")
    return x


def check_same_shape(a: np.ndarray, b: np.ndarray, owner: str,
                     names: tuple[str, str] = ("prediction", "target")) -> None:
    """Refuse two arrays whose shapes differ (no silent broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"{owner}: {names[0]} {a.shape} and {names[1]} {b.shape} must have "
                         f"the same shape")


def check_alloc(shape, owner: str, what: str = "array", itemsize: int = 8,
                limit: int | None = None) -> None:
    """Refuse to allocate an array of ``shape`` bigger than ``limit`` bytes (default 4 GiB)."""
    limit = MAX_ALLOC_BYTES if limit is None else limit
    n = 1
    for s in shape:
        n *= int(s)
    if n * itemsize > limit:
        raise ValueError(f"{owner}: the {what} would have shape {tuple(int(s) for s in shape)} "
                         f"({n * itemsize / 2**30:.1f} GiB), more than the "
                         f"{limit / 2**30:.1f} GiB bound; check the sizes you passed")


def check_float_dtype(dtype, owner: str, name: str = "dtype") -> np.dtype:
    """A parameter dtype: float32 or float64 (anything else is refused)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)) or isinstance(dtype, str) and \
            dtype not in ("float32", "float64"):
        raise ValueError(f"{owner}: {name} must be float32 or float64, got {dtype!r}")
    return dt
