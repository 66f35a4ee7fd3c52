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
import zipfile
import zlib
from pathlib import Path

import numpy as np

from labkit._validate import check_array
from labkit.atomic import atomic_savez, atomic_write
from labkit.layers import LAYER_TYPES, Layer
from labkit.layers.base import MergeLayer

FORMAT = "labkit-network"
FORMAT_VERSION = 1

#: Parameters an architecture may declare before :meth:`Network.load` builds it (2^27 = 134 M,
#: 512 MiB of float32; EDSR-baseline has 1.4 M, full EDSR 43 M).
MAX_PARAMS = 2 ** 27
#: Bytes of the JSON entries of a network file (architecture, configuration).
MAX_HEADER_BYTES = 16 * 2 ** 20


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
        """Absolute position of the second input of layer ``p`` (-1 = network input), None for
        one-input layers.  Every two-input layer is a :class:`~labkit.layers.base.MergeLayer`."""
        return layer.source_position(p) if isinstance(layer, MergeLayer) else None

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

    def astype(self, dtype) -> Network:
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # -- passes ----------------------------------------------------------------------------
    def forward(self, x, training: bool = True):
        """Run every layer; keeps each layer's cache for :meth:`backward`.

        Unlike :meth:`layer_outputs` it holds on to an intermediate output only while a later
        shortcut still needs it (the layers' caches keep what the backward pass needs), so a
        training step's peak memory is not raised by feature maps nobody reads again.
        """
        x = check_array(x, f"Network {self.name!r}", finite=True)
        last = self._run(x, training, keep_caches=True)
        self._last_training = training
        return last

    __call__ = forward

    def backward(self, dy):
        """Back-propagate ``dy`` (gradient of the loss w.r.t. the output); returns ``dx``.

        Every layer's ``grads`` are overwritten.  Gradients of outputs that feed more than one
        layer (a shortcut's source) are summed.  Each layer's cache is released as soon as its
        gradient is computed (the peak memory of a step is then the forward's), so a second
        backward needs a new forward.
        """
        if self._last_training is None:
            raise ValueError(f"Network {self.name!r}: backward called before forward (or "
                             f"twice after one forward)")
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
            layer.cache = None                      # and the layer's saved activations
            src = self._sources[p]
            if src is not None:
                add(src + 1, layer.d_other)
        self._last_training = None                  # the caches are gone
        return douts[0]

    def update(self, optimizer) -> None:
        for layer in self.layers:
            layer.update(optimizer)

    def predict(self, x, batch_size: int = 8):
        """Inference in batches with ``training=False``, freeing caches as it goes."""
        x = check_array(x, f"Network {self.name!r}.predict", ndim=4, finite=True)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"Network {self.name!r}.predict: batch_size must be an int >= 1, "
                             f"got {batch_size!r}")
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

    def _fused_relus(self, last_use) -> set:
        """Positions ``p`` of convolutions whose ReLU (layer ``p + 1``) runs inside them: the
        convolution's own output then never exists, so it must feed nothing but that ReLU."""
        from labkit.layers.activation import Activation
        from labkit.layers.conv import Conv2D
        return {p for p in range(len(self.layers) - 1)
                if isinstance(self.layers[p], Conv2D) and p not in last_use
                and type(self.layers[p + 1]) is Activation and self.layers[p + 1].name == "relu"}

    def _fused_shortcuts(self, last_use) -> set:
        """Positions ``p`` of convolutions that add the source of the unit-weight shortcut after
        them (layer ``p + 1``, ``y = conv + source``) in their own output pass; as for a ReLU,
        the convolution's output must feed nothing else."""
        from labkit.layers.conv import Conv2D
        from labkit.layers.shortcut import Shortcut
        return {p for p in range(len(self.layers) - 1)
                if isinstance(self.layers[p], Conv2D) and p not in last_use
                and type(self.layers[p + 1]) is Shortcut and self._sources[p + 1] != p
                and self.layers[p + 1].alpha == 1.0 and self.layers[p + 1].beta == 1.0}

    def fused_layers(self) -> dict[int, str]:
        """Layers whose forward runs inside the convolution before them (:meth:`forward`):
        ``{position: "relu" | "shortcut"}``.  Their backward passes run as usual."""
        last_use = {src: p for p, src in enumerate(self._sources) if src is not None}
        return ({p + 1: "relu" for p in self._fused_relus(last_use)}
                | {p + 1: "shortcut" for p in self._fused_shortcuts(last_use)})

    def _run(self, x, training: bool, keep_caches: bool):
        """Forward pass keeping only the outputs a later shortcut still needs (dropped after its
        last reader); without ``keep_caches`` every layer's cache is dropped at once.  A ReLU or
        a unit-weight shortcut right after a convolution is applied by the convolution
        (``Conv2D.forward(relu=True)`` / ``residual=``, in Winograd's output transform), which
        saves a pass over the feature map."""
        last_use = {}
        for p, src in enumerate(self._sources):
            if src is not None:
                last_use[src] = p
        fused = self._fused_relus(last_use)
        added = self._fused_shortcuts(last_use)
        outs = {-1: x} if -1 in last_use else {}
        last = x
        for p, layer in enumerate(self.layers):
            src = self._sources[p]
            if p in fused:
                last = layer.forward(last, training=training, relu=True)
            elif p in added:
                last = layer.forward(last, training=training, residual=outs[self._sources[p + 1]])
            elif p - 1 in fused:
                last = layer.adopt_output(last)
            elif p - 1 in added:
                last = layer.adopt_output(last)
                if last_use[src] == p:
                    del outs[src]
            elif src is None:
                last = layer.forward(last, training=training)
            else:
                last = layer.forward(last, training=training, other=outs[src])
                if last_use[src] == p:
                    del outs[src]
            if not keep_caches:
                layer.cache = None
            if p in last_use:
                outs[p] = last
        return last

    def _forward_free(self, x):
        # Inference: keep only the outputs a later shortcut still needs, drop caches at once.
        last = self._run(x, training=False, keep_caches=False)
        self._last_training = None
        return last

    # -- description -----------------------------------------------------------------------
    def output_shapes(self, input_shape) -> list[tuple]:
        shapes = [tuple(input_shape)]                # shapes[p + 1]: output of layer p
        for p, layer in enumerate(self.layers):
            src = self._sources[p]
            if src is None:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            else:
                shapes.append(tuple(layer.output_shape(shapes[-1], shapes[src + 1])))
        return shapes[1:]

    def summary(self, input_shape=(1, 48, 48, 1)) -> str:
        """A table of layers, output shapes and parameter counts (returned, not printed)."""
        shapes = self.output_shapes(input_shape)
        rows = [f"{self.name}: input {tuple(input_shape)}",
                f"{'#':>3}  {'layer':<44} {'output shape':<22} {'params':>10}",
                "-" * 82]
        for i, (layer, shape) in enumerate(zip(self.layers, shapes)):
            rows.append(f"{i:>3}  {repr(layer)[:44]:<44} {shape!s:<22} {layer.n_params:>10,}")
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

    def nonfinite_weights(self) -> list[str]:
        """Names (``"<position>.<name>"``) of the parameters and buffers holding NaN or inf."""
        return [k for k, v in self.state_arrays().items() if not np.all(np.isfinite(v))]

    def save(self, path, extra: dict | None = None) -> Path:
        """Write architecture and weights to ``path`` (``.npz``) atomically.

        ``extra`` arrays (optimizer state, training step) are stored alongside under their own
        names; keys must not contain a layer prefix.  The file is first written to a temporary
        file in the same folder and then renamed, so an interrupted save leaves the previous
        file intact.  Non-finite weights are refused (``ValueError``): :meth:`load` would
        refuse the file.
        """
        bad = self.nonfinite_weights()
        if bad:
            raise ValueError(f"Network.save: {self.name!r} has NaN or inf in {bad[:3]}; refusing "
                             f"to write {path} (a diverged network is not worth keeping)")
        arrays = {"__labkit__": np.array(json.dumps(self.architecture()))}
        arrays.update(self.state_arrays())
        for k, v in (extra or {}).items():
            if k in arrays:
                raise ValueError(f"Network.save: extra key {k!r} collides with a weight name")
            arrays[k] = np.asarray(v)
        return atomic_savez(path, arrays)

    @classmethod
    def from_architecture(cls, arch: dict, max_params: int = MAX_PARAMS) -> Network:
        """Build the network an :meth:`architecture` dict describes (fresh weights).

        The parameter count it declares is checked against ``max_params`` *before* any layer
        is built, so a small file cannot make this allocate gigabytes.
        """
        if not isinstance(arch, dict) or arch.get("format") != FORMAT:
            raise ValueError("Network.load: not a labkit network (missing architecture header)")
        specs = arch.get("layers")
        if not isinstance(specs, list):
            raise ValueError(  # noqa: TRY004 - bad file content is a bad value
                f"Network.load: the architecture has no list of 'layers' (got "
                f"{type(specs).__name__})")
        configs, declared = [], 0
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict):
                raise ValueError(f"Network.load: layer {i} is {spec!r}, not a dict")  # noqa: TRY004
            kind = spec.get("type")
            if not isinstance(kind, str) or kind not in LAYER_TYPES:
                raise ValueError(f"Network.load: layer {i} has unknown type {kind!r}")
            cfg = spec.get("config", {})
            if not isinstance(cfg, dict):
                raise ValueError(  # noqa: TRY004
                    f"Network.load: layer {i} ({kind}) config is not a dict: {cfg!r}")
            cfg = dict(cfg)
            for key in ("kernel_size", "stride", "size", "padding"):
                if isinstance(cfg.get(key), list):
                    cfg[key] = tuple(cfg[key])
            declared += _declared_params(kind, cfg)
            configs.append((kind, cfg))
        if declared > max_params:
            raise ValueError(f"Network.load: the architecture declares {declared:,} parameters, "
                             f"more than the bound max_params={max_params:,} (a corrupt or "
                             f"hostile file?); pass a larger max_params if it is genuine")
        layers = []
        for i, (kind, cfg) in enumerate(configs):
            try:
                layers.append(LAYER_TYPES[kind](**cfg))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Network.load: layer {i} ({kind}) has an invalid config "
                                 f"{cfg}: {exc}") from None
        name = arch.get("name", "network")
        return cls(layers, name=name if isinstance(name, str) else "network")

    @classmethod
    def load(cls, path, max_params: int = MAX_PARAMS) -> Network:
        """Read a file written by :meth:`save` (never unpickles).

        Refuses (``ValueError`` naming the file): anything but a labkit ``.npz``, corrupt or
        truncated archives, architectures declaring more than ``max_params`` parameters,
        entries whose size (uncompressed, or as their array header declares) exceeds what the
        architecture needs, and NaN / inf weights.
        """
        net, _ = cls.load_with_extra(path, max_params=max_params)
        return net

    @classmethod
    def load_with_extra(cls, path, max_params: int = MAX_PARAMS) -> tuple[Network, dict]:
        """Like :meth:`load`, also returning the arrays that are not weights (``extra``)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Network.load: no such file: {path}")
        if path.is_dir():
            raise ValueError(f"Network.load: {path} is a directory, not a network file")
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ValueError(f"Network.load: {path} is not a labkit network file (not an .npz "
                             f"archive: {exc})") from None
        with archive:
            members = {(i.filename.removesuffix(".npy")): i
                       for i in archive.infolist()}
            if "__labkit__" not in members:
                raise ValueError(f"Network.load: {path} is not a labkit network file "
                                 f"(no '__labkit__' architecture entry)")
            text = _read_member(archive, members["__labkit__"], path, "__labkit__",
                                MAX_HEADER_BYTES)
            try:
                arch = json.loads(str(text))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Network.load: {path} has a corrupt architecture entry "
                                 f"({exc})") from None
            net = cls.from_architecture(arch, max_params=max_params)
            expected = net.state_arrays()
            largest = max((v.size * 8 for v in expected.values()), default=0)
            for key, ref in expected.items():
                if key not in members:
                    raise ValueError(f"Network.load: {path} lacks weight {key!r}")
                arr = _read_member(archive, members[key], path, key, ref.size * 8,
                                   shape=ref.shape)
                if arr.dtype.kind not in "biuf":
                    raise ValueError(f"Network.load: weight {key!r} in {path} has dtype "
                                     f"{arr.dtype}, not a number")
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"Network.load: weight {key!r} in {path} contains NaN or "
                                     f"inf (a diverged run); refusing to use it")
                layer, name = net.layers[int(key.split(".")[0])], key.split(".", 1)[1]
                store = layer.params if name in layer.params else layer.buffers
                store[name] = arr.astype(ref.dtype if arr.dtype.kind != "f" else arr.dtype)
            # Other entries (optimizer moments, JSON states) are at most weight-sized.
            extra = {k: _read_member(archive, info, path, k, largest + MAX_HEADER_BYTES)
                     for k, info in members.items() if k != "__labkit__" and k not in expected}
        return net, extra


def _declared_params(kind: str, cfg: dict) -> int:
    """Parameter count a layer config declares, computed without building the layer (0 when
    the config is not made of ints: the constructor then says what is wrong)."""
    def n(key):
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        return abs(value)
    try:
        if kind == "Conv2D":
            k = cfg.get("kernel_size")
            kh, kw = (k, k) if isinstance(k, int) else tuple(k)
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (kh, kw)):
                return 0
            return abs(kh * kw) * n("in_channels") * n("out_channels") + n("out_channels")
        if kind == "Dense":
            return n("in_features") * n("out_features") + n("out_features")
        if kind == "BatchNorm":
            return 4 * n("channels")
    except (TypeError, ValueError):
        return 0
    return 0


def _read_member(archive, info, path, key: str, max_bytes: int, shape=None) -> np.ndarray:
    """One ``.npy`` entry of an open archive, after checking its sizes against ``max_bytes``:
    the uncompressed size the zip directory states and the array header's shape x dtype (both
    read before any data, so a zip bomb or a lying header is refused without allocating)."""
    slack = 4096                                   # the .npy header
    if info.file_size > max_bytes + slack:
        raise ValueError(f"Network.load: entry {key!r} of {path} unpacks to {info.file_size:,} "
                         f"bytes, more than the {max_bytes:,} it can need (a corrupt file or a "
                         f"zip bomb)")
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                declared, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                declared, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise ValueError(f"Network.load: {path} is corrupt: entry {key!r} cannot be read "
                         f"({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"Network.load: entry {key!r} of {path} holds Python objects (a "
                         f"pickle); labkit never unpickles")
    if shape is not None and tuple(declared) != tuple(shape):
        raise ValueError(f"Network.load: weight {key!r} in {path} has shape {tuple(declared)}, "
                         f"the architecture needs {tuple(shape)}")
    nbytes = int(np.prod(declared, dtype=object)) * dtype.itemsize
    if nbytes > max_bytes:
        raise ValueError(f"Network.load: entry {key!r} of {path} declares shape {declared} "
                         f"{dtype} ({nbytes:,} bytes), more than the {max_bytes:,} it can need")
    try:
        with archive.open(info) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise ValueError(f"Network.load: {path} is corrupt: entry {key!r} cannot be read "
                         f"({exc})") from None


# One atomic-file helper for the package (kept importable from here).
__all__ = ["Network", "atomic_savez", "atomic_write"]
