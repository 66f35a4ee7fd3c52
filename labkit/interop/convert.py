"""labkit :class:`~labkit.network.Network` <-> ``torch.nn.Module`` (weights copied both ways).

Layouts: labkit is NHWC with conv weights ``(kh, kw, C_in, C_out)`` and dense weights
``(in, out)``; PyTorch is NCHW with ``(C_out, C_in, kh, kw)`` and ``(out, in)``.  The module
returned by :func:`to_torch` is a :class:`LabkitGraph`, one submodule per labkit layer at the
same position (``layers.<p>``), so a state dict key names its labkit layer.

PyTorch is imported inside the functions: ``import labkit.interop`` works without it.
"""

from __future__ import annotations

import numpy as np

TORCH_HINT = "pip install torch==2.13.0"

#: labkit layer types :func:`to_torch` converts (every layer the labkit builders use).
SUPPORTED_LAYERS = ("Conv2D", "Activation", "PixelShuffle", "Shortcut", "Route", "BatchNorm",
                    "MaxPool2D", "AvgPool2D", "Dense")


def _torch(owner: str):
    """Import torch and the NCHW modules, or raise ImportError naming ``owner`` and the fix."""
    try:
        import torch

        from labkit.interop import _modules
    except ImportError as exc:
        raise ImportError(f"{owner} needs PyTorch: {TORCH_HINT} ({exc})") from None
    return torch, _modules


def _check_network(net, owner: str, label: str = "net"):
    from labkit.network import Network

    if not isinstance(net, Network):
        raise ValueError(f"{owner}: {label} must be a labkit Network, got {type(net).__name__}")
    bad = [(p, type(layer).__name__) for p, layer in enumerate(net.layers)
           if type(layer).__name__ not in SUPPORTED_LAYERS]
    if bad:
        listed = ", ".join(f"layer {p} ({kind})" for p, kind in bad[:5])
        raise ValueError(f"{owner}: {listed} of network {net.name!r} cannot be exported; "
                         f"supported layer types: {', '.join(SUPPORTED_LAYERS)}")
    return net


def _sources(net) -> list:
    """Absolute position of each layer's second input (``-1``: network input), or None."""
    out = []
    for p, layer in enumerate(net.layers):
        if hasattr(layer, "source_position"):
            out.append(layer.source_position(p))
        elif getattr(layer, "needs_other", False):
            out.append(p + layer.index if layer.index < 0 else layer.index)
        else:
            out.append(None)
    return out


# Per layer type: (labkit store, labkit name, torch state key, labkit->torch, torch->labkit).
# The converters act on numpy arrays; shapes are checked against the labkit layer afterwards.
def _conv_w(a):
    return a.transpose(3, 2, 0, 1)            # (kh, kw, Cin, Cout) -> (Cout, Cin, kh, kw)


def _conv_w_back(a):
    return a.transpose(2, 3, 1, 0)


def _mapping(layer) -> list[tuple]:
    kind = type(layer).__name__
    same = (lambda a: a, lambda a: a)
    if kind == "Conv2D":
        rows = []
        if layer.weight_norm:
            rows += [("params", "v", "conv.parametrizations.weight.original1", _conv_w,
                      _conv_w_back),
                     ("params", "g", "conv.parametrizations.weight.original0",
                      lambda a: a.reshape(-1, 1, 1, 1), lambda a: a.reshape(-1))]
        else:
            rows.append(("params", "w", "conv.weight", _conv_w, _conv_w_back))
        if layer.use_bias:
            rows.append(("params", "b", "conv.bias", *same))
        return rows
    if kind == "Dense":
        rows = [("params", "w", "weight", lambda a: a.T, lambda a: a.T)]
        if layer.use_bias:
            rows.append(("params", "b", "bias", *same))
        return rows
    if kind == "BatchNorm":
        return [("params", "gamma", "weight", *same), ("params", "beta", "bias", *same),
                ("buffers", "running_mean", "running_mean", *same),
                ("buffers", "running_var", "running_var", *same)]
    return []


def _module_for(layer, M):
    kind = type(layer).__name__
    if kind == "Conv2D":
        # The layer's own padding rule decides: "same" with stride 1, "valid" and explicit
        # paddings are the same for every input size; "same" with stride > 1 is not.
        dynamic = isinstance(layer.padding, str) and layer.padding == "same" \
            and tuple(layer.stride) != (1, 1)
        pads = "same" if dynamic else layer.pads_for(tuple(layer.kernel_size))
        return M.Conv2dLabkit(layer.in_channels, layer.out_channels, layer.kernel_size,
                              layer.stride, pads, layer.use_bias, layer.weight_norm)
    if kind == "Activation":
        return M.ActivationLabkit(layer.name, layer.kw.get("alpha"))
    if kind == "PixelShuffle":
        return M.PixelShuffleLabkit(layer.scale, layer.order)
    if kind == "Shortcut":
        return M.ShortcutLabkit(layer.alpha, layer.beta)
    if kind == "Route":
        return M.RouteLabkit()
    if kind == "BatchNorm":
        return M.BatchNormLabkit(layer.channels, eps=layer.eps, momentum=layer.momentum)
    if kind == "MaxPool2D":
        return M.MaxPool2dLabkit(layer.size, layer.stride, layer.padding)
    if kind == "AvgPool2D":
        return M.AvgPool2dLabkit(layer.size, layer.stride, layer.padding)
    if kind == "Dense":
        import torch
        return torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.use_bias)
    raise ValueError(f"to_torch: layer type {kind} cannot be exported")   # _check_network guards


def to_torch(net, dtype=None):
    """A ``torch.nn.Module`` computing ``net.forward(x, training=False)`` in NCHW.

    Parameters
    ----------
    net : labkit.network.Network
        Built from the layers in :data:`SUPPORTED_LAYERS` (edsr, wdsr_a, wdsr_b, srcnn, ...).
    dtype : numpy/torch float dtype, optional
        Of the module's parameters; default: the network's (float32 unless ``net.astype``).

    Returns
    -------
    LabkitGraph
        In ``eval()`` mode.  ``module(x)`` for ``x`` of shape ``(N, C, H, W)`` equals
        ``net.forward(x.permute(0, 2, 3, 1), training=False).permute(0, 3, 1, 2)`` within
        float rounding (1e-5 in float32).  ``module.layers[p]`` mirrors ``net.layers[p]``;
        ``.train()`` makes BatchNorm use and update batch statistics as labkit's training
        mode does.  The weights are copies: training the module leaves ``net`` unchanged
        (bring them back with :func:`from_torch`).

    Raises
    ------
    ImportError
        PyTorch is not installed.
    ValueError
        ``net`` is not a Network or has a layer type that cannot be exported.
    """
    torch, M = _torch("to_torch")
    _check_network(net, "to_torch")
    if dtype is None:
        dtypes = [a.dtype for layer in net.layers for a in layer.params.values()]
        dtype = np.result_type(*dtypes) if dtypes else np.float32
    floats = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
    tdtype = dtype if isinstance(dtype, torch.dtype) else floats.get(np.dtype(dtype))
    if tdtype is None:
        raise ValueError(f"to_torch: dtype must be float32 or float64, got {dtype!r}")

    modules = [_module_for(layer, M) for layer in net.layers]
    graph = M.LabkitGraph(modules, _sources(net), name=net.name).to(tdtype)
    state = graph.state_dict()
    with torch.no_grad():
        for p, layer in enumerate(net.layers):
            for store, name, key, fwd, _ in _mapping(layer):
                full = f"layers.{p}.{key}"
                arr = np.ascontiguousarray(fwd(getattr(layer, store)[name]))
                state[full].copy_(torch.from_numpy(arr).to(tdtype))
    return graph.eval()


def _state_of(module, owner: str) -> dict:
    """``{key: numpy array}`` from a module (DDP / compiled wrappers unwrapped) or a state dict."""
    if isinstance(module, dict):
        state = module
    else:
        for attr in ("module", "_orig_mod"):       # DistributedDataParallel, torch.compile
            inner = getattr(module, attr, None)
            if inner is not None and hasattr(inner, "state_dict"):
                module = inner
        if not hasattr(module, "state_dict"):
            raise ValueError(f"{owner}: expected a torch.nn.Module or a state dict, got "
                             f"{type(module).__name__}")
        state = module.state_dict()
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    out = {}
    for k, v in state.items():
        if hasattr(v, "detach"):                   # a torch tensor
            v = v.detach().cpu()
            if v.is_floating_point() and v.element_size() < 4:
                v = v.float()                        # half/bfloat16 have no exact numpy twin
            v = v.numpy()
        out[k] = np.asarray(v)
    return out


def _check_graph(module, like) -> None:
    """For a :class:`LabkitGraph` (or a wrapper of one), compare its layer count and links with
    ``like`` first: a clearer message than the first tensor that does not fit."""
    for attr in ("module", "_orig_mod"):
        inner = getattr(module, attr, None)
        if inner is not None and hasattr(inner, "state_dict"):
            module = inner
    if type(module).__name__ != "LabkitGraph":
        return
    if len(module.layers) != len(like.layers):
        raise ValueError(f"from_torch: the module has {len(module.layers)} layers, like="
                         f"{like.name!r} has {len(like.layers)}; not the same architecture")
    theirs, ours = list(module.sources), _sources(like)
    for p, (a, b) in enumerate(zip(theirs, ours)):
        if a != b:
            raise ValueError(f"from_torch: layer {p} of the module reads layer {a} but layer {p} "
                             f"{like.layers[p]!r} of like reads {b}; not the same architecture")


def from_torch(module, like):
    """A labkit Network with ``like``'s architecture and ``module``'s weights.

    Parameters
    ----------
    module : torch.nn.Module or dict
        A module made by :func:`to_torch` (possibly trained, wrapped in
        ``DistributedDataParallel`` or compiled) or its ``state_dict()``; keys
        ``layers.<p>.<torch name>``.
    like : labkit.network.Network
        The architecture to fill; it is not modified (a fresh copy is built).

    Returns
    -------
    Network
        Parameters and BatchNorm running statistics from ``module``, each cast to the dtype of
        the matching array in ``like`` and converted to labkit's layout (NHWC weights).

    Raises
    ------
    ValueError
        Naming ``from_torch`` and the layer/parameter: ``like`` is not a Network, a tensor is
        missing or has the wrong shape, a weight is not finite, or the module has weights
        ``like`` has no place for (a different architecture).
    """
    from labkit.network import Network

    _check_network(like, "from_torch", "like")
    _check_graph(module, like)
    state = _state_of(module, "from_torch")
    net = Network.from_architecture(like.architecture())
    used = set()
    for p, (layer, ref_layer) in enumerate(zip(net.layers, like.layers)):
        for store, name, key, _, back in _mapping(layer):
            full = f"layers.{p}.{key}"
            ref = getattr(ref_layer, store)[name]
            if full not in state:
                raise ValueError(f"from_torch: layer {p} {layer!r} needs tensor {full!r} for "
                                 f"{name!r}, which the module does not have (is it the same "
                                 f"architecture as like={like.name!r}?)")
            arr = np.asarray(back(state[full]))
            if arr.shape != ref.shape:
                raise ValueError(f"from_torch: layer {p} {layer!r} parameter {name!r}: tensor "
                                 f"{full!r} of shape {tuple(state[full].shape)} gives "
                                 f"{arr.shape} in labkit's layout, like needs {ref.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"from_torch: layer {p} {layer!r} parameter {name!r} "
                                 f"({full!r}) has non-finite values; refusing to copy them")
            getattr(layer, store)[name] = np.ascontiguousarray(arr, dtype=ref.dtype)
            used.add(full)
    extra = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if extra:
        raise ValueError(f"from_torch: the module has {len(extra)} tensor(s) that like="
                         f"{like.name!r} has no place for, e.g. {extra[:3]}; is it the same "
                         f"architecture?")
    return net
