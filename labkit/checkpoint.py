"""Training checkpoints: what a ``labkit train`` checkpoint holds and how it is read safely.

A checkpoint is a :class:`~labkit.network.Network` file (written atomically by
:meth:`Network.save <labkit.network.Network.save>`) with extra entries:

``__config__``       JSON: the run's settings (:func:`labkit.config.make_config`)
``__trainer__``      JSON: step, horizon, wall time, history, optimizer hyper-parameters
``__sampler__``      JSON: the patch sampler's random state (arrays as ``{"__ndarray__": ...}``)
``optimizer:<p>/<slot>``  the optimizer's moments, one array per parameter and slot

Everything is plain arrays and JSON, so reading never unpickles.  Every field is checked
before use (types, shapes, allowed dtypes, sizes): a checkpoint is input like any other file.
"""

from __future__ import annotations

import json

import numpy as np

from labkit.network import Network

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "MAX_STATE_ELEMENTS", "from_json",
           "load_checkpoint_info", "to_json"]

CHECKPOINT_FORMAT = "labkit-train"
CHECKPOINT_VERSION = 1

#: Elements an array stored in a JSON state may have (a sampler state has a handful).
MAX_STATE_ELEMENTS = 2 ** 20
#: dtypes an array in a JSON state may have.
_STATE_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float32", "float64")


def to_json(obj) -> str:
    """JSON text of a (nested) state that may hold ndarrays and numpy scalars."""
    def default(o):
        if isinstance(o, np.ndarray):
            return {"__ndarray__": o.tolist(), "dtype": str(o.dtype), "shape": list(o.shape)}
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"cannot store {type(o).__name__} in a checkpoint")
    return json.dumps(obj, default=default)


def _state_array(d: dict, where: str) -> np.ndarray:
    dtype, shape, data = d.get("dtype"), d.get("shape"), d["__ndarray__"]
    if dtype not in _STATE_DTYPES:
        raise ValueError(f"load_checkpoint_info: {where}: array dtype {dtype!r} is not one of "
                         f"{_STATE_DTYPES}")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise ValueError(f"load_checkpoint_info: {where}: array shape {shape!r} is not a list of "
                         f"sizes")
    n = int(np.prod(shape, dtype=object))
    if n > MAX_STATE_ELEMENTS:
        raise ValueError(f"load_checkpoint_info: {where}: array shape {shape} has {n:,} "
                         f"elements, more than the {MAX_STATE_ELEMENTS:,} a state may hold")
    try:
        arr = np.array(data, dtype=dtype)
        return arr.reshape(shape)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"load_checkpoint_info: {where}: array does not match its dtype "
                         f"{dtype} and shape {shape} ({exc})") from None


def from_json(text, where: str = "state"):
    """Inverse of :func:`to_json`; arrays are validated (:data:`_STATE_DTYPES`, at most
    :data:`MAX_STATE_ELEMENTS` elements) before they are built."""
    def hook(d):
        if "__ndarray__" in d:
            return _state_array(d, where)
        return d
    try:
        return json.loads(str(text), object_hook=hook)
    except json.JSONDecodeError as exc:
        raise ValueError(f"load_checkpoint_info: {where} is not valid JSON ({exc})") from None


def _json_dict(extra, key, path):
    value = from_json(extra[key], f"{path} entry {key}")
    if not isinstance(value, dict):
        raise ValueError(  # noqa: TRY004 - bad file content is a bad value
            f"load_checkpoint_info: {path} entry {key} is {type(value).__name__}, not a JSON "
            f"object")
    return value


def _check_trainer_state(state: dict, path) -> dict:
    def bad(field, value, want):
        raise ValueError(f"load_checkpoint_info: {path}: trainer {field} is {value!r}, "
                         f"expected {want}")
    for field in ("step", "steps"):
        v = state.get(field, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            bad(field, v, "an int >= 0")
    v = state.get("wall_time", 0.0)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        bad("wall_time", v, "a finite number >= 0")
    for field in ("history", "val_history", "window"):
        v = state.get(field, [])
        if not isinstance(v, list):
            bad(field, v, "a list")
    if not all(isinstance(r, dict) for r in state.get("history", []) + state.get("val_history", [])):
        bad("history", "...", "a list of records")
    for w in state.get("window", []):
        if (not isinstance(w, list) or len(w) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in w)):
            bad("window", w, "pairs of numbers")
    return state


def load_checkpoint_info(path) -> tuple[Network, dict]:
    """Read a checkpoint: the network and a dict with ``config`` (or None for a bare
    network file), ``trainer`` state, ``optimizer`` arrays and ``sampler`` state.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not a
    labkit network or whose training entries are malformed.  The config is returned as stored;
    :func:`labkit.config.make_config` validates it when a run is rebuilt.
    """
    net, extra = Network.load_with_extra(path)
    info = {"config": None, "trainer": None, "optimizer": {}, "sampler": None}
    if "__config__" in extra:
        info["config"] = _json_dict(extra, "__config__", path)
    if "__trainer__" in extra:
        info["trainer"] = _check_trainer_state(_json_dict(extra, "__trainer__", path), path)
    if "__sampler__" in extra:
        info["sampler"] = _json_dict(extra, "__sampler__", path)
    params = net.named_params()
    for k, v in extra.items():
        if not k.startswith("optimizer:"):
            continue
        key = k[len("optimizer:"):]
        name, _, slot = key.rpartition("/")
        if name not in params:
            raise ValueError(f"load_checkpoint_info: {path}: optimizer state {key!r} is for "
                             f"no parameter of the network")
        want = () if slot == "step" else params[name].shape
        if v.shape != want or v.dtype.kind not in "iuf" or not np.all(np.isfinite(v)):
            raise ValueError(f"load_checkpoint_info: {path}: optimizer state {key!r} has shape "
                             f"{v.shape} dtype {v.dtype}; expected finite numbers of shape "
                             f"{want}")
        info["optimizer"][key] = v
    return net, info
