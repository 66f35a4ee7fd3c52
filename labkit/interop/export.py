"""ONNX export of a labkit network: what ``labkit export CHECKPOINT OUT.onnx`` writes.

The network goes through :func:`~labkit.interop.convert.to_torch` and PyTorch's TorchScript-based
exporter (``torch.onnx.export(..., dynamo=False)``): with torch 2.13 it needs torch and the
``onnx`` package, whereas the default dynamo exporter would also need ``onnxscript``.  The graph
has one input ``"input"`` of shape ``(N, C, H, W)`` float32 and one output ``"output"``, both
with dynamic ``N``, ``H`` and ``W`` (the "same" padding of strided convolutions is computed from
the actual input size inside the graph).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from labkit.interop.convert import _check_network, _torch, to_torch

#: Lowest opset written (the Export contract); the TorchScript exporter of torch 2.13 goes up to 20.
MIN_OPSET = 17
MAX_OPSET = 20
EXPORTER = "torch.onnx.export (TorchScript exporter, dynamo=False)"


def _check_out_path(path, owner: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{owner}: the output path must be a str or Path, got "
                         f"{type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(f"{owner}: the output file must end in .onnx, got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{owner}: the output path {str(path)!r} is a directory")
    return path


def input_spec(net, owner: str = "export_onnx") -> tuple:
    """``("image", C)`` for networks on ``(N, H, W, C)`` images or ``("features", F)`` for
    networks starting with Dense, read from the first layer that fixes a channel count."""
    for layer in net.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            return "features", layer.in_features
        if kind == "Conv2D":
            return "image", layer.in_channels
        if kind == "BatchNorm":
            return "image", layer.channels
        if kind in ("Shortcut", "Route"):
            break                  # a second input before any conv: cannot tell the width here
    raise ValueError(f"{owner}: cannot tell the number of input channels of network "
                     f"{net.name!r} from its layers; pass channels=")


def export_onnx(net, path, *, opset: int = MIN_OPSET, example_hw=(24, 24), channels=None) -> Path:
    """Write ``net`` as an ONNX model to ``path`` (atomically) and return the path.

    Parameters
    ----------
    net : labkit.network.Network
        Layers from :data:`~labkit.interop.SUPPORTED_LAYERS`, finite weights.
    path : str or Path
        Ends in ``.onnx``.  Written to a temporary file in the same folder, then renamed over
        ``path`` (``os.replace``): an interrupted export leaves any previous file intact.
    opset : int
        ONNX opset, 17 to 20.
    example_hw : (int, int)
        Height and width of the example input the exporter traces with; the exported graph
        accepts any size the network accepts (``N``, ``H``, ``W`` are dynamic).
    channels : int, optional
        Input channels, when the first layers do not tell (normally read from the first conv).

    The model's input ``"input"`` is NCHW float32 ``(N, C, H, W)`` and its output ``"output"``
    equals ``net.forward(x_nhwc, training=False)`` transposed to NCHW (within 1e-4; the tests
    measure ~1e-6).  Networks starting with Dense take ``(N, F)``.

    Raises
    ------
    ValueError
        Naming ``export_onnx``: not a Network, a layer that cannot be exported, non-finite
        weights, a path not ending in .onnx, an opset outside 17-20.
    ImportError
        PyTorch (``pip install torch==2.13.0``) or onnx (``pip install onnx``) is missing.
    """
    owner = "export_onnx"
    path = _check_out_path(path, owner)
    _check_network(net, owner)
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) \
            or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"{owner}: opset must be an int from {MIN_OPSET} to {MAX_OPSET}, "
                         f"got {opset!r}")
    for p, layer in enumerate(net.layers):
        for store in (layer.params, layer.buffers):
            for name, arr in store.items():
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"{owner}: layer {p} {layer!r} has non-finite values in "
                                     f"{name!r}; refusing to export")
    kind, c = ("image", channels) if channels is not None else input_spec(net, owner)
    torch, _ = _torch(owner)
    try:
        import onnx  # noqa: F401  (torch's TorchScript exporter serialises through it)
    except ImportError:
        raise ImportError(f"{owner} needs the onnx package: pip install onnx "
                          f'(or pip install "labkit[export]")') from None

    module = to_torch(net, dtype=np.float32)
    if kind == "features":
        example = torch.zeros(1, c)
        axes = {"input": {0: "N"}, "output": {0: "N"}}
    else:
        h, w = example_hw
        example = torch.rand(1, c, int(h), int(w), generator=torch.Generator().manual_seed(0))
        axes = {"input": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 2: "H_out", 3: "W_out"}}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated in favour of dynamo (which needs
        # onnxscript) and that traced shape arithmetic is symbolic: both expected here.
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(module, (example,), buf, opset_version=int(opset), dynamo=False,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes=axes, do_constant_folding=True)
    data = _with_metadata(buf.getvalue(), net)

    from labkit.network import atomic_write

    return atomic_write(path, lambda fh: fh.write(data))


def _with_metadata(data: bytes, net) -> bytes:
    """Add the labkit architecture as ONNX metadata and check the model."""
    import onnx

    model = onnx.load_from_string(data)
    model.producer_name = "labkit"
    model.doc_string = f"labkit network {net.name!r} ({net.n_params:,} parameters), NCHW input"
    entry = model.metadata_props.add()
    entry.key, entry.value = "labkit_architecture", json.dumps(net.architecture())
    onnx.checker.check_model(model)
    return model.SerializeToString()


def onnx_max_error(path, net, shapes=((1, 24, 24), (2, 17, 30))) -> float:
    """Largest ``|onnxruntime(x) - net.forward(x, training=False)|`` over random inputs of
    ``shapes`` ``(N, H, W)`` (values in [0, 1), the network's input channels).

    Needs onnxruntime (``pip install onnxruntime``).  Runs labkit in float32.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("onnx_max_error needs onnxruntime: pip install onnxruntime") from None
    kind, c = input_spec(net, "onnx_max_error")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for shape in shapes:
        if kind == "features":
            x = rng.random((shape[0], c), dtype=np.float32)
            ref = net.forward(x, training=False)
        else:
            n, h, w = shape
            x = rng.random((n, h, w, c), dtype=np.float32)
            ref = net.forward(x, training=False).transpose(0, 3, 1, 2)
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        (y,) = session.run(["output"], {"input": x})
        if y.shape != ref.shape:
            raise ValueError(f"onnx_max_error: ONNX output {y.shape} differs in shape from "
                             f"labkit's {ref.shape} for input {x.shape}")
        worst = max(worst, float(np.max(np.abs(y - ref))))
    return worst


def export_checkpoint(checkpoint_path, out_path, *, opset: int = MIN_OPSET,
                      verify: bool = True) -> dict:
    """Export a saved labkit network (``Network.save`` file) to ONNX: ``labkit export``.

    Parameters
    ----------
    checkpoint_path : str or Path
        A ``.npz`` written by ``Network.save`` / ``labkit train``.
    out_path : str or Path
        The ``.onnx`` file to write (atomically); must differ from the checkpoint.
    opset : int
        17 to 20.
    verify : bool
        If onnxruntime is installed, run the written model on two random inputs and report the
        largest difference from ``Network.forward(x, training=False)``.

    Returns
    -------
    dict
        ``checkpoint``, ``output`` (str paths), ``network`` (name), ``n_params``, ``opset``,
        ``input`` (``{"name": "input", "shape": ["N", C, "H", "W"], "dtype": "float32"}``),
        ``output_name``, ``exporter``, ``bytes`` (file size), ``max_abs_error`` (float, or
        None when not verified), ``verified`` (bool): JSON-serialisable, for ``--json``.

    Raises
    ------
    ValueError
        Naming ``export_checkpoint``: missing or unreadable checkpoint, ``out_path`` equal to
        the checkpoint or not ending in .onnx, a network that cannot be exported, or a verified
        error above 1e-4.
    ImportError
        PyTorch or onnx is missing (onnxruntime is optional: without it ``verified`` is False).
    """
    owner = "export_checkpoint"
    if not isinstance(checkpoint_path, (str, os.PathLike)):
        raise ValueError(f"{owner}: the checkpoint must be a str or Path, got "
                         f"{type(checkpoint_path).__name__}")
    src = Path(checkpoint_path)
    if not src.is_file():
        raise ValueError(f"{owner}: no such checkpoint file: {str(src)!r}")
    out = _check_out_path(out_path, owner)
    if out.resolve() == src.resolve():
        raise ValueError(f"{owner}: the output {str(out)!r} is the checkpoint itself; "
                         f"choose another file name")
    from labkit.network import Network

    try:
        net = Network.load(src)
    except (ValueError, FileNotFoundError, OSError, KeyError, TypeError) as exc:
        raise ValueError(f"{owner}: cannot read checkpoint {str(src)!r}: {exc}") from None
    try:
        export_onnx(net, out, opset=opset)
    except ValueError as exc:
        raise ValueError(f"{owner}: {exc}") from None
    kind, c = input_spec(net, owner)
    error = None
    if verify:
        try:
            error = onnx_max_error(out, net)
        except ImportError:
            error = None
        if error is not None and not error <= 1e-4:
            raise ValueError(f"{owner}: the exported model differs from the labkit network by "
                             f"{error:.3g} (> 1e-4); please report this")
    return {"checkpoint": str(src), "output": str(out), "network": net.name,
            "n_params": int(net.n_params), "opset": int(opset),
            "input": {"name": "input", "dtype": "float32",
                      "shape": ["N", c] if kind == "features" else ["N", c, "H", "W"]},
            "output_name": "output", "exporter": EXPORTER, "bytes": out.stat().st_size,
            "max_abs_error": error, "verified": error is not None}
