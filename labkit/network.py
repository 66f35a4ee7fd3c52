"""Network: an ordered list of layers with index-based shortcuts, and its save format.

Layer ``p`` normally reads the output of layer ``p - 1``.  A :class:`~labkit.layers.Shortcut`
at position ``p`` also reads the output of layer ``index`` (``p + index`` when negative;
``p + index == -1`` means the network input).  In the backward pass an output that feeds
several layers receives the sum of their gradients: the multivariate chain rule.

Files are ``.npz`` archives holding a JSON description of the architecture (``__labkit__``)
and one array per parameter/buffer (``"<layer>.<name>"``); they load with
``allow_pickle=False``, so a file cannot execute code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from labkit._validate import check_array
from labkit.layers import LAYER_TYPES, Layer, Shortcut

FORMAT = "labkit-network"
FORMAT_VERSION = 1


class Network:
    """An ordered list of layers.

    Parameters
    ----------
    layers : list of Layer
    name : str, optional
        Shown by :meth:`summary`.
    """

    def __init__(self, layers, name: str = "network"):
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Network: item {i} is {type(layer).__name__}, not a labkit Layer")
        self.layers = layers
        self.name = name
        self._sources = [self._source(p, layer) for p, layer in enumerate(layers)]
        self._last_training = None

    # -- structure -------------------------------------------------------------------------
    @staticmethod
    def _source(p: int, layer: Layer) -> int | None:
        """Absolute position of the second input of layer ``p`` (-1 = network input)."""
        if not layer.needs_other:
            return None
        a = p + layer.index if layer.index < 0 else layer.index
        if not -1 <= a < p:
            raise ValueError(f"Network: {layer!r} at position {p} points to layer {a}, but it can "
                             f"only read an earlier output (positions -1 .. {p - 1}; -1 is the "
                             f"network input)")
        return a

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    def named_params(self) -> dict[str, np.ndarray]:
        """``{"<position>.<name>": array}`` for every parameter, in layer order."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def named_grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def astype(self, dtype) -> "Network":
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # -- passes ----------------------------------------------------------------------------
    def forward(self, x, training: bool = True):
        """Run every layer; keeps each layer's cache for :meth:`backward`."""
        return self.layer_outputs(x, training=training)[-1]

    __call__ = forward

    def backward(self, dy):
        """Back-propagate ``dy`` (gradient of the loss w.r.t. the output); returns ``dx``.

        Every layer's ``grads`` are overwritten.  Gradients of outputs that feed more than one
        layer (a shortcut's source) are summed.
        """
        if self._last_training is None:
            raise ValueError(f"Network {self.name!r}: backward called before forward")
        n = len(self.layers)
        douts: list = [None] * (n + 1)
        douts[n] = dy

        def add(k, g):
            douts[k] = g if douts[k] is None else douts[k] + g

        for p in range(n - 1, -1, -1):
            layer = self.layers[p]
            g = douts[p + 1]
            if g is None:
                # This output feeds nothing downstream (possible with shortcuts): zero gradient.
                g = np.zeros(layer._out_shape, dtype=dy.dtype)
            add(p, layer.backward(g))
            douts[p + 1] = None                     # free memory as soon as it is consumed
            src = self._sources[p]
            if src is not None:
                add(src + 1, layer.d_other)
        return douts[0]

    def update(self, optimizer) -> None:
        for layer in self.layers:
            layer.update(optimizer)

    def predict(self, x, batch_size: int = 8):
        """Inference in batches with ``training=False``, freeing caches as it goes."""
        x = check_array(x, f"Network {self.name!r}.predict", ndim=4, finite=True)
        outs = []
        for start in range(0, x.shape[0], batch_size):
            outs.append(self._forward_free(x[start:start + batch_size]))
        return np.concatenate(outs, axis=0)

    def layer_outputs(self, x, training: bool = True) -> list[np.ndarray]:
        """Output of every layer for input ``x`` (``[out_0, ..., out_last]``), e.g. feature maps
        for figures.  Each layer keeps its cache for :meth:`backward`."""
        x = check_array(x, f"Network {self.name!r}", finite=True)
        outs = [x]                                   # outs[p + 1] is the output of layer p
        for p, layer in enumerate(self.layers):
            src = self._sources[p]
            kwargs = {} if src is None else {"other": outs[src + 1]}
            outs.append(layer.forward(outs[-1], training=training, **kwargs))
        self._last_training = training
        return outs[1:]

    def _forward_free(self, x):
        # Keep only the outputs a later shortcut still needs, and drop layer caches at once.
        needed = {s for s in self._sources if s is not None}
        outs = {-1: x}
        last = x
        for p, layer in enumerate(self.layers):
            src = self._sources[p]
            if src is None:
                last = layer.forward(last, training=False)
            else:
                last = layer.forward(last, training=False, other=outs[src])
            layer.cache = None
            if p in needed:
                outs[p] = last
        self._last_training = None
        return last

    # -- description -----------------------------------------------------------------------
    def output_shapes(self, input_shape) -> list[tuple]:
        shapes = [tuple(input_shape)]                # shapes[p + 1]: output of layer p
        for p, layer in enumerate(self.layers):
            src = self._sources[p]
            if src is not None and not isinstance(layer, Shortcut):
                shapes.append(shapes[src + 1])        # a Route passes the earlier output on
            else:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
        return shapes[1:]

    def summary(self, input_shape=(1, 48, 48, 1)) -> str:
        """A table of layers, output shapes and parameter counts (returned, not printed)."""
        shapes = self.output_shapes(input_shape)
        rows = [f"{self.name}: input {tuple(input_shape)}",
                f"{'#':>3}  {'layer':<44} {'output shape':<22} {'params':>10}",
                "-" * 82]
        for i, (layer, shape) in enumerate(zip(self.layers, shapes)):
            rows.append(f"{i:>3}  {repr(layer)[:44]:<44} {str(shape):<22} {layer.n_params:>10,}")
        rows += ["-" * 82, f"total parameters: {self.n_params:,}"]
        return "\n".join(rows)

    def __repr__(self):
        return f"Network({self.name!r}, {len(self.layers)} layers, {self.n_params:,} params)"

    # -- persistence -----------------------------------------------------------------------
    def architecture(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
                "layers": [{"type": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for i, layer in enumerate(self.layers):
            for k, v in {**layer.params, **layer.buffers}.items():
                out[f"{i}.{k}"] = v
        return out

    def save(self, path, extra: dict | None = None) -> Path:
        """Write architecture and weights to ``path`` (``.npz``) atomically.

        ``extra`` arrays (optimizer state, training step) are stored alongside under their own
        names; keys must not contain a layer prefix.  The file is first written to a temporary
        file in the same folder and then renamed, so an interrupted save leaves the previous
        file intact.
        """
        arrays = {"__labkit__": np.array(json.dumps(self.architecture()))}
        arrays.update(self.state_arrays())
        for k, v in (extra or {}).items():
            if k in arrays:
                raise ValueError(f"Network.save: extra key {k!r} collides with a weight name")
            arrays[k] = np.asarray(v)
        return atomic_savez(path, arrays)

    @classmethod
    def from_architecture(cls, arch: dict) -> "Network":
        if not isinstance(arch, dict) or arch.get("format") != FORMAT:
            raise ValueError("Network.load: not a labkit network (missing architecture header)")
        layers = []
        for i, spec in enumerate(arch["layers"]):
            kind = spec.get("type")
            if kind not in LAYER_TYPES:
                raise ValueError(f"Network.load: layer {i} has unknown type {kind!r}")
            cfg = dict(spec.get("config", {}))
            for key in ("kernel_size", "stride", "size", "padding"):
                if isinstance(cfg.get(key), list):
                    cfg[key] = tuple(cfg[key])
            layers.append(LAYER_TYPES[kind](**cfg))
        return cls(layers, name=arch.get("name", "network"))

    @classmethod
    def load(cls, path) -> "Network":
        """Read a file written by :meth:`save` (never unpickles)."""
        net, _ = cls.load_with_extra(path)
        return net

    @classmethod
    def load_with_extra(cls, path) -> tuple["Network", dict]:
        """Like :meth:`load`, also returning the arrays that are not weights (``extra``)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Network.load: no such file: {path}")
        try:
            archive = np.load(path, allow_pickle=False)
            files = set(archive.files)
        except Exception as exc:  # zip, pickle or format errors all mean "not ours"
            raise ValueError(f"Network.load: {path} is not a labkit network file ({exc})") from None
        with archive:
            if "__labkit__" not in files:
                raise ValueError(f"Network.load: {path} is not a labkit network file "
                                 f"(no '__labkit__' architecture entry)")
            try:
                arch = json.loads(str(archive["__labkit__"]))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Network.load: {path} has a corrupt architecture entry ({exc})") from None
            net = cls.from_architecture(arch)
            expected = net.state_arrays()
            for key, ref in expected.items():
                if key not in files:
                    raise ValueError(f"Network.load: {path} lacks weight {key!r}")
                arr = archive[key]
                if arr.shape != ref.shape:
                    raise ValueError(f"Network.load: weight {key!r} in {path} has shape "
                                     f"{arr.shape}, the architecture needs {ref.shape}")
                layer, name = net.layers[int(key.split(".")[0])], key.split(".", 1)[1]
                store = layer.params if name in layer.params else layer.buffers
                store[name] = arr.astype(ref.dtype if arr.dtype.kind != "f" else arr.dtype)
            extra = {k: archive[k] for k in files if k != "__labkit__" and k not in expected}
        return net, extra


def atomic_write(path, write, binary: bool = True) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, rename it over ``path``.

    A crash or an exception at any point leaves the previous ``path`` intact (the rename is
    atomic on POSIX file systems) and no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_savez(path, arrays: dict) -> Path:
    """``np.savez`` written atomically (see :func:`atomic_write`); adds ``.npz`` if missing."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))
