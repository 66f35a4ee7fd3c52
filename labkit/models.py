"""Model builders: EDSR (Lim et al. 2017), WDSR (Yu et al. 2018) and small teaching nets.

Every builder returns a :class:`~labkit.network.Network` of NHWC layers whose input is the
low-resolution image ``(N, H, W, channels)`` and whose output is ``(N, H s, W s, channels)``.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import (
    check_alloc,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from labkit.layers import Activation, Conv2D, PixelShuffle, Route, Shortcut
from labkit.network import Network
from labkit.ops.activations import ACTIVATIONS
from labkit.ops.conv import ALGORITHMS


def _check_scale(scale, owner):
    scale = check_int(scale, "scale", owner)
    if scale not in (2, 3, 4):
        raise ValueError(f"{owner}: scale must be 2, 3 or 4, got {scale!r}")
    return scale


def _check_seed(seed, owner):
    seed = check_seed(seed, "seed", owner)
    if isinstance(seed, np.random.Generator):
        raise ValueError(  # noqa: TRY004 - the contract: bad arguments are ValueErrorf"{owner}: seed must be None or an int (each layer derives its own "
                         "seed from it), got a Generator")
    return seed


def _check_common(owner, scale, n_blocks, n_filters, res_scale, channels, seed, algorithm,
                  init, widest):
    """Validate the arguments the SR builders share; ``widest`` is the largest conv's output
    width in units of ``n_filters``, for the memory bound."""
    scale = _check_scale(scale, owner)
    n_blocks = check_int(n_blocks, "n_blocks", owner, min=0)
    n_filters = check_int(n_filters, "n_filters", owner, min=1)
    channels = check_int(channels, "channels", owner, min=1)
    res_scale = check_float(res_scale, "res_scale", owner, min=0.0, min_open=True)
    seed = _check_seed(seed, owner)
    check_choice(algorithm, "algorithm", owner, ALGORITHMS + ("auto",))
    check_choice(init, "init", owner, INITS)
    check_alloc((3, 3, n_filters, n_filters * widest), owner, "widest convolution weight", 4)
    return scale, n_blocks, n_filters, res_scale, channels, seed


def _seed(seed, k):
    # Layer k's seed; wraps so that it stays in numpy's range [0, 2**32).
    return None if seed is None else (seed + k) % 2**32


INITS = ("torch", "he")


def torch_default_init(net: Network, seed=None) -> Network:
    """Re-initialise every :class:`~labkit.layers.Conv2D` of ``net`` as PyTorch's ``nn.Conv2d``.

    PyTorch draws weights and biases from :math:`U(-1/\\sqrt{n}, 1/\\sqrt{n})` with
    :math:`n = k_h k_w C_{in}` (``kaiming_uniform_(a=sqrt(5))``), a standard deviation of
    :math:`1/\\sqrt{3n}`, about :math:`\\sqrt 6` times smaller than He-normal.  For a weight-
    normalised layer the direction ``v`` is drawn so and the gain set to ``g = ||v||`` (what
    ``weight_norm`` does when it wraps a layer).  In place; returns ``net``.

    Why the SR builders use it: with He-normal weights every residual block of EDSR (``res_scale
    = 1``) roughly doubles the variance of the features, so an 8-block network starts with
    outputs ~100 times too large and Adam spends its first thousand steps undoing that; with
    this initialisation (the one the EDSR and WDSR reference code trains with) the initial
    output is small and training starts at once.
    """
    if not isinstance(net, Network):
        raise ValueError(  # noqa: TRY004 - the contract: bad arguments are ValueError
            f"torch_default_init: expected a Network, got {type(net).__name__}")
    rng = np.random.default_rng(check_seed(seed, "seed", "torch_default_init"))
    for layer in net.layers:
        if not isinstance(layer, Conv2D):
            continue
        key = "v" if layer.weight_norm else "w"
        w = layer.params[key]
        bound = 1.0 / np.sqrt(np.prod(w.shape[:3]))
        layer.params[key] = rng.uniform(-bound, bound, w.shape).astype(w.dtype)
        if layer.weight_norm:
            v = layer.params["v"].astype(np.float64)
            layer.params["g"] = np.sqrt((v * v).sum(axis=(0, 1, 2))).astype(w.dtype)
        if layer.use_bias:
            b = layer.params["b"]
            layer.params["b"] = rng.uniform(-bound, bound, b.shape).astype(b.dtype)
    return net


def _initialise(net, init, seed, owner):
    check_choice(init, "init", owner, INITS)
    return torch_default_init(net, seed) if init == "torch" else net


def upsampler(scale: int, n_filters: int, seed=None, algorithm="auto") -> list:
    """EDSR's upsampler: conv to ``4F`` + ``PixelShuffle(2)`` once (x2) or twice (x4), or conv to
    ``9F`` + ``PixelShuffle(3)`` (x3)."""
    scale = _check_scale(scale, "upsampler")
    n_filters = check_int(n_filters, "n_filters", "upsampler", min=1)
    seed = _check_seed(seed, "upsampler")
    check_choice(algorithm, "algorithm", "upsampler", ALGORITHMS + ("auto",))
    steps = {2: [2], 3: [3], 4: [2, 2]}[scale]
    layers = []
    for k, r in enumerate(steps):
        layers += [Conv2D(n_filters, n_filters * r * r, 3, algorithm=algorithm, seed=_seed(seed, 1000 + k)),
                   PixelShuffle(r)]
    return layers


def edsr(scale, n_blocks=16, n_filters=64, res_scale=1.0, channels=1, seed=None,
         algorithm="auto", init="torch") -> Network:
    """EDSR (Lim et al. 2017, "Enhanced Deep Residual Networks for Single Image SR").

    head conv 3x3 -> ``n_blocks`` x [conv 3x3, ReLU, conv 3x3, Shortcut(alpha=res_scale)]
    -> conv 3x3 -> Shortcut to the head output -> upsampler -> conv 3x3 to ``channels``.
    No batch normalisation: EDSR's point is that removing it helps SR.  ``edsr(2, 16, 64)`` has
    1,367,553 parameters (one channel), the same as PyTorch's EDSR-baseline.

    ``seed`` seeds the weights; ``init="torch"`` (default) initialises them as PyTorch's
    ``nn.Conv2d`` does (:func:`torch_default_init`, what the EDSR reference code trains with),
    ``init="he"`` keeps :class:`~labkit.layers.Conv2D`'s He-normal weights (the outputs of a deep
    residual stack then start far too large: compare ``net.forward(x).std()``).
    """
    scale, n_blocks, n_filters, res_scale, channels, seed = _check_common(
        "edsr", scale, n_blocks, n_filters, res_scale, channels, seed, algorithm, init, 9)
    F = n_filters
    layers = [Conv2D(channels, F, 3, algorithm=algorithm, seed=_seed(seed, 0))]
    for b in range(n_blocks):
        layers += [Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 2 * b + 1)),
                   Activation("relu"),
                   Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 2 * b + 2)),
                   # y = res_scale * body(x) + x, x being the block input (4 layers back).
                   Shortcut(-4, alpha=res_scale)]
    layers += [Conv2D(F, F, 3, algorithm=algorithm, seed=_seed(seed, 999)),
               Shortcut(0)]                         # global residual: back to the head output
    layers += upsampler(scale, F, seed, algorithm)
    layers += [Conv2D(F, channels, 3, algorithm=algorithm, seed=_seed(seed, 2000))]
    return _initialise(Network(layers, name=f"edsr_x{scale}_{n_blocks}b_{F}f"), init, seed, "edsr")


# ----------------------------------------------------------------------------------- WDSR

def _check_sizes(owner, **sizes):
    return [check_int(v, k, owner, min=0 if k == "n_blocks" else 1) for k, v in sizes.items()]


def _wdsr(kind, scale, n_blocks, n_filters, block_layers, res_scale, channels, seed,
          algorithm, init) -> Network:
    """Shared WDSR skeleton (Yu et al. 2018, Fig. 2): a 5x5 skip branch from the input plus
    head -> residual body -> tail; both branches end in a pixel shuffle and are summed.

    Layer order (indices are what the Network sees)::

        0  Conv2D(C -> C s^2, 5x5, weight norm)     skip branch on the LR input
        1  PixelShuffle(s)                           -> (N, H s, W s, C)
        2  Route(-3)                                 back to the network input
        3  Conv2D(C -> F, 3x3, weight norm)          head
           ... n_blocks residual blocks ...
           Conv2D(F -> C s^2, 3x3, weight norm)      tail
           PixelShuffle(s)
           Shortcut(1)                               tail + skip branch
    """
    _check_scale(scale, kind)
    F = n_filters
    out = channels * scale * scale

    def conv(cin, cout, k, key):
        return Conv2D(cin, cout, k, algorithm=algorithm, weight_norm=True, seed=_seed(seed, key))

    layers = [conv(channels, out, 5, 0), PixelShuffle(scale),
              Route(-3),                           # position 2 - 3 = -1: the network input
              conv(channels, F, 3, 1)]
    for b in range(n_blocks):
        body = block_layers(conv, 10 * (b + 1))
        # y = res_scale * body(x) + x; the block input is len(body) + 1 layers back.
        layers += body + [Shortcut(-(len(body) + 1), alpha=res_scale)]
    layers += [conv(F, out, 3, 2), PixelShuffle(scale),
               Shortcut(1)]                        # absolute position 1: the skip branch output
    return _initialise(Network(layers, name=f"{kind}_x{scale}_{n_blocks}b_{F}f"), init, seed, kind)


def wdsr_a(scale, n_blocks=8, n_filters=32, expansion=4, res_scale=1.0, channels=1, seed=None,
           algorithm="auto", init="torch") -> Network:
    """WDSR-A (Yu et al. 2018, "Wide Activation for Efficient and Accurate Image SR").

    Parameters
    ----------
    scale : 2, 3 or 4
    n_blocks : int
        Number of residual blocks.
    n_filters : int
        ``F``, the width of the residual path (the features carried between blocks).
    expansion : int
        Wide activation: each block is ``conv3x3(F -> expansion F), ReLU,
        conv3x3(expansion F -> F)``, so the ReLU sees ``expansion`` times more channels than
        the identity path at the same cost as a narrower EDSR block.
    res_scale : float
        Residual scaling, ``y = res_scale * body(x) + x`` (EDSR/Inception's trick for stable
        training of wide nets; weight normalisation usually makes 1.0 work).
    channels : int
        Image channels (1 for MRI).
    seed : int or None
        Base seed for the weight initialisation.
    algorithm : str
        Convolution algorithm passed to every :class:`~labkit.layers.Conv2D`.
    init : "torch" or "he"
        Weight initialisation, see :func:`edsr` and :func:`torch_default_init`.

    Every convolution is weight-normalised (``w = g v / ||v||``, parameters ``v`` and ``g``),
    there is no upsampling convolution before the shuffle (the tail maps straight to
    ``channels s^2``) and a 5x5 convolution of the input plus pixel shuffle forms a second,
    shallow branch that is added at the end.  Input ``(N, H, W, C)``, output ``(N, H s, W s, C)``.
    """
    expansion = check_int(expansion, "expansion", "wdsr_a", min=1)
    scale, n_blocks, n_filters, res_scale, channels, seed = _check_common(
        "wdsr_a", scale, n_blocks, n_filters, res_scale, channels, seed, algorithm, init,
        max(expansion, 1))
    wide = expansion * n_filters

    def block(conv, key):
        return [conv(n_filters, wide, 3, key), Activation("relu"),
                conv(wide, n_filters, 3, key + 1)]

    return _wdsr("wdsr_a", scale, n_blocks, n_filters, block, res_scale, channels, seed,
                 algorithm, init)


def wdsr_b(scale, n_blocks=8, n_filters=32, expansion=6, low_rank=0.8, res_scale=1.0,
           channels=1, seed=None, algorithm="auto", init="torch") -> Network:
    """WDSR-B: wider activation at the same cost via 1x1 convolutions (Yu et al. 2018, Fig. 3).

    Each block is ``conv1x1(F -> expansion F), ReLU, conv1x1(expansion F -> int(low_rank F)),
    conv3x3(int(low_rank F) -> F)``: the 1x1 convolutions make the activation ``expansion``
    (default 6) times wider than the identity path, and the low-rank 1x1 bottleneck (0.8 F
    channels, "linear low-rank convolution") keeps the 3x3 convolution cheap.  Other
    arguments, the skip branch and the weight normalisation are as in :func:`wdsr_a`.
    """
    expansion = check_int(expansion, "expansion", "wdsr_b", min=1)
    scale, n_blocks, n_filters, res_scale, channels, seed = _check_common(
        "wdsr_b", scale, n_blocks, n_filters, res_scale, channels, seed, algorithm, init,
        max(expansion, 1))
    low_rank = check_float(low_rank, "low_rank", "wdsr_b", min=0.0, max=1.0, min_open=True)
    if int(low_rank * n_filters) < 1:
        raise ValueError(f"wdsr_b: low_rank must be in (0, 1] with int(low_rank * n_filters) >= 1, "
                         f"got low_rank={low_rank!r}, n_filters={n_filters}")
    wide, narrow = expansion * n_filters, int(low_rank * n_filters)

    def block(conv, key):
        return [conv(n_filters, wide, 1, key), Activation("relu"),
                conv(wide, narrow, 1, key + 1), conv(narrow, n_filters, 3, key + 2)]

    return _wdsr("wdsr_b", scale, n_blocks, n_filters, block, res_scale, channels, seed,
                 algorithm, init)


# ----------------------------------------------------------------------------------- teaching nets

def srcnn(channels=1, f1=64, f2=32, seed=None, algorithm="auto") -> Network:
    """SRCNN (Dong et al. 2014): the first CNN for SR, three convolutions on an image that was
    already upsampled (bicubic) to the target size.

    ``conv9x9(C -> f1), ReLU, conv1x1(f1 -> f2), ReLU, conv5x5(f2 -> C)`` with "same" padding,
    so input and output have the same shape ``(N, H, W, C)``: patch extraction, non-linear
    mapping, reconstruction.
    """
    channels, f1, f2 = _check_sizes("srcnn", channels=channels, f1=f1, f2=f2)
    seed = _check_seed(seed, "srcnn")
    check_choice(algorithm, "algorithm", "srcnn", ALGORITHMS + ("auto",))
    return Network([Conv2D(channels, f1, 9, algorithm=algorithm, seed=_seed(seed, 0)),
                    Activation("relu"),
                    Conv2D(f1, f2, 1, algorithm=algorithm, seed=_seed(seed, 1)),
                    Activation("relu"),
                    Conv2D(f2, channels, 5, algorithm=algorithm, seed=_seed(seed, 2))],
                   name=f"srcnn_{f1}_{f2}")


def plain_cnn(depth, n_filters=16, residual=False, channels=1, activation="relu", seed=None,
              algorithm="auto") -> Network:
    """A stack of 3x3 convolutions for the gradient-flow figure (vanishing gradients).

    ``conv(C -> F)``, then ``depth`` units of ``[conv3x3(F -> F), activation]``, then
    ``conv(F -> C)``; same-size input and output.  With ``residual=True`` each unit becomes
    ``x + activation(conv(x))`` (a :class:`~labkit.layers.Shortcut` back to the unit input), the
    identity path of He et al. 2015 that lets the gradient reach the first layers undamped.
    Comparing ``net.named_grads()`` norms per layer for both settings shows the effect.
    """
    depth, n_filters, channels = _check_sizes("plain_cnn", depth=depth, n_filters=n_filters,
                                              channels=channels)
    residual = check_bool(residual, "residual", "plain_cnn")
    check_choice(activation, "activation", "plain_cnn", sorted(ACTIVATIONS))
    seed = _check_seed(seed, "plain_cnn")
    check_choice(algorithm, "algorithm", "plain_cnn", ALGORITHMS + ("auto",))
    layers = [Conv2D(channels, n_filters, 3, algorithm=algorithm, seed=_seed(seed, 0))]
    for d in range(depth):
        layers += [Conv2D(n_filters, n_filters, 3, algorithm=algorithm, seed=_seed(seed, d + 1)),
                   Activation(activation)]
        if residual:
            layers.append(Shortcut(-3))            # back to the unit input
    layers.append(Conv2D(n_filters, channels, 3, algorithm=algorithm, seed=_seed(seed, 10_000)))
    kind = "residual" if residual else "plain"
    return Network(layers, name=f"{kind}_cnn_{depth}x{n_filters}")


#: Builders for the super-resolution models the trainer and the CLI know by name.
SR_MODELS = {"edsr": edsr, "wdsr_a": wdsr_a, "wdsr_b": wdsr_b}


def build_sr_model(name, scale, n_blocks=8, n_filters=32, res_scale=1.0, channels=1, seed=None,
                   algorithm="auto", init="torch") -> Network:
    """Build one of :data:`SR_MODELS` by name with the arguments they share."""
    check_choice(name, "model", "build_sr_model", sorted(SR_MODELS))
    _check_scale(scale, "build_sr_model")
    return SR_MODELS[name](scale, n_blocks=n_blocks, n_filters=n_filters, res_scale=res_scale,
                           channels=channels, seed=seed, algorithm=algorithm, init=init)
