"""Bad-input cases for the Python API (see harness.py).  Owned by the API-validation work.

Every public layer constructor and function in ops/, layers/, losses, metrics, optimizers,
models, data (degradations, sampler, split), widgets and viz gets calls with wrong ranks,
channel counts, bools where ints belong, zero/negative sizes, strides < 1, kernels larger than
the padded input, NaN/inf, empty arrays, integer / object / string dtypes, huge sizes, bad
enum names and bad seeds.  Calls that must succeed (integer inputs, borderline sizes) carry a
``check`` comparing with a plain numpy formula.

Imports happen inside the calls, so one broken module shows up as unclear cases, not as an
import error of the whole sweep.
"""

from __future__ import annotations

import math

import numpy as np

from .harness import Case

RNG = np.random.default_rng(0)
IMG = RNG.random((12, 14)).astype(np.float32)          # a small 2-D image
IMG2 = RNG.random((12, 14)).astype(np.float32)
X4 = RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)   # NHWC batch, 3 channels
W33 = RNG.standard_normal((3, 3, 3, 2)).astype(np.float32)  # (kh, kw, C_in, C_out)

# Values that are not a positive size: bools, zero, negatives, floats, strings, None, NaN.
NOT_SIZES = [("true", True), ("false", False), ("zero", 0), ("neg", -1), ("float", 1.5),
             ("str", "3"), ("none", None), ("nan", float("nan")), ("list3", [1, 2, 3])]
# Values that are not a usable float hyper-parameter.
NOT_FLOATS = [("true", True), ("str", "a"), ("none", None), ("nan", float("nan")),
              ("inf", float("inf")), ("list", [0.1])]
BAD_SEEDS = [("neg", -1), ("float", 1.5), ("str", "a"), ("bool", True), ("huge", 2**40)]
BAD_ARRAYS = [("str", np.array([["a", "b"], ["c", "d"]])),
              ("object", np.array([[object(), 1], [2, 3]], dtype=object)),
              ("complex", np.ones((4, 4), dtype=complex))]

_cases: list = []


def bad(id: str, owner: str, call, errors=(ValueError,)) -> None:
    _cases.append(Case(id, call, owner, None, errors))


def good(id: str, owner: str, call, check) -> None:
    _cases.append(Case(id, call, owner, check))


def close(expected, tol=1e-5):
    def check(result):
        result = np.asarray(result, dtype=np.float64)
        exp = np.asarray(expected, dtype=np.float64)
        return result.shape == exp.shape and np.allclose(result, exp, rtol=tol, atol=tol)
    return check


# ============================================================================ layers

def _layers():
    from labkit import layers as L
    return L


def conv_layer_cases():
    O = "Conv2D"
    for arg in ("in_channels", "out_channels"):
        for tag, v in NOT_SIZES:
            kw = {"in_channels": 2, "out_channels": 2, "kernel_size": 3}
            kw[arg] = v
            bad(f"Conv2D-{arg}-{tag}", O, lambda kw=kw: _layers().Conv2D(**kw))
    for arg in ("kernel_size", "stride"):
        for tag, v in NOT_SIZES + [("pair0", (0, 1)), ("pairbool", (1, True)),
                                   ("pair3", (1, 2, 3)), ("pairneg", (3, -1))]:
            kw = {"in_channels": 2, "out_channels": 2, "kernel_size": 3}
            kw[arg] = v
            bad(f"Conv2D-{arg}-{tag}", O, lambda kw=kw: _layers().Conv2D(**kw))
    for tag, v in [("full", "full"), ("neg", -1), ("bool", True), ("float", 1.5), ("none", None),
                   ("pair3", (1, 1, 1)), ("pairneg", (1, -1)), ("SAME", "SAME")]:
        bad(f"Conv2D-padding-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, padding=v))
    for tag, v in [("fast", "fast"), ("none", None), ("int", 3), ("Naive", "Naive")]:
        bad(f"Conv2D-algorithm-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, algorithm=v))
    bad("Conv2D-winograd-5x5", O, lambda: _layers().Conv2D(2, 2, 5, algorithm="winograd"))
    bad("Conv2D-winograd-stride2", O,
        lambda: _layers().Conv2D(2, 2, 3, stride=2, algorithm="winograd"))
    for tag, v in BAD_SEEDS:
        bad(f"Conv2D-seed-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, seed=v))
    for tag, v in [("str", "yes"), ("none", None), ("int2", 2)]:
        bad(f"Conv2D-bias-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, bias=v))
        bad(f"Conv2D-weight_norm-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, weight_norm=v))
    for tag, v in [("int32", np.int32), ("str", "float"), ("complex", np.complex64)]:
        bad(f"Conv2D-dtype-{tag}", O, lambda v=v: _layers().Conv2D(2, 2, 3, dtype=v))
    bad("Conv2D-huge", O, lambda: _layers().Conv2D(100000, 100000, 3))

    def fwd(shape, layer_kw=None, dtype=np.float32, training=True):
        def call():
            layer = _layers().Conv2D(**{"in_channels": 3, "out_channels": 2, "kernel_size": 3,
                                               "seed": 0, **(layer_kw or {})})
            return layer.forward(np.zeros(shape, dtype=dtype), training=training)
        return call

    bad("Conv2D-fwd-rank3", O, fwd((6, 6, 3)))
    bad("Conv2D-fwd-rank5", O, fwd((1, 2, 6, 6, 3)))
    bad("Conv2D-fwd-rank0", O, lambda: _layers().Conv2D(3, 2, 3).forward(np.float32(1)))
    bad("Conv2D-fwd-channels", O, fwd((1, 6, 6, 4)))
    bad("Conv2D-fwd-channels-first", O, fwd((1, 3, 6, 6)))
    bad("Conv2D-fwd-kernel-larger-valid", O, fwd((1, 2, 2, 3), {"padding": "valid"}))
    bad("Conv2D-fwd-kernel-larger-pad", O, fwd((1, 1, 1, 3), {"kernel_size": 5, "padding": 1}))
    bad("Conv2D-fwd-empty-hw", O, fwd((1, 0, 6, 3), {"padding": "valid"}))
    bad("Conv2D-fwd-empty-h-same", O, fwd((1, 0, 6, 3)))
    for tag, arr in BAD_ARRAYS:
        bad(f"Conv2D-fwd-dtype-{tag}", O,
            lambda arr=arr: _layers().Conv2D(3, 2, 3).forward(
                np.broadcast_to(arr[:1, :1], (1, 4, 4, 3)).copy()))
    bad("Conv2D-fwd-list-ragged", O,
        lambda: _layers().Conv2D(3, 2, 3).forward([[1, 2], [3]]))
    bad("Conv2D-backward-before-forward", O,
        lambda: _layers().Conv2D(3, 2, 3).backward(np.zeros((1, 4, 4, 2), np.float32)))

    def bwd_wrong():
        layer = _layers().Conv2D(3, 2, 3, seed=0)
        layer.forward(X4)
        return layer.backward(np.zeros((2, 6, 6, 3), np.float32))
    bad("Conv2D-backward-shape", O, bwd_wrong)
    for algo in ("naive", "im2col", "winograd"):
        def int_input(algo=algo):
            layer = _layers().Conv2D(3, 2, 3, seed=0, algorithm=algo)
            xi = np.arange(2 * 6 * 6 * 3).reshape(2, 6, 6, 3) % 5
            return layer.forward(xi), layer.forward(xi.astype(np.float32))
        good(f"Conv2D-fwd-int-input-{algo}", O, int_input,
             lambda r: r[0].dtype.kind == "f" and np.allclose(r[0], r[1], atol=1e-4))
    for s in (1, 2, 3):
        good(f"Conv2D-same-stride{s}-shape", O,
             lambda s=s: _layers().Conv2D(3, 2, 3, stride=s).forward(
                 np.zeros((1, 7, 5, 3), np.float32)).shape,
             lambda r, s=s: r == (1, -(-7 // s), -(-5 // s), 2))
    good("Conv2D-valid-exact-fit", O,
         lambda: _layers().Conv2D(3, 2, 3, padding="valid").forward(
             np.zeros((1, 3, 3, 3), np.float32)).shape, lambda r: r == (1, 1, 1, 2))
    good("Conv2D-numpy-int-sizes", O,
         lambda: _layers().Conv2D(np.int64(3), np.int32(2), np.int64(3)).forward(X4).shape,
         lambda r: r == (2, 6, 6, 2))


def dense_cases():
    O = "Dense"
    for arg in ("in_features", "out_features"):
        for tag, v in NOT_SIZES:
            kw = {"in_features": 3, "out_features": 2}
            kw[arg] = v
            bad(f"Dense-{arg}-{tag}", O, lambda kw=kw: _layers().Dense(**kw))
    for tag, v in BAD_SEEDS:
        bad(f"Dense-seed-{tag}", O, lambda v=v: _layers().Dense(3, 2, seed=v))
    for tag, v in [("str", "yes"), ("none", None)]:
        bad(f"Dense-bias-{tag}", O, lambda v=v: _layers().Dense(3, 2, bias=v))
    bad("Dense-dtype-int", O, lambda: _layers().Dense(3, 2, dtype=np.int64))
    bad("Dense-huge", O, lambda: _layers().Dense(10**6, 10**6))
    bad("Dense-fwd-rank4", O, lambda: _layers().Dense(3, 2).forward(np.zeros((1, 1, 1, 3))))
    bad("Dense-fwd-rank1", O, lambda: _layers().Dense(3, 2).forward(np.zeros(3)))
    bad("Dense-fwd-features", O, lambda: _layers().Dense(3, 2).forward(np.zeros((4, 5))))
    bad("Dense-fwd-str", O, lambda: _layers().Dense(2, 2).forward(np.array([["a", "b"]])))
    bad("Dense-backward-before", O, lambda: _layers().Dense(3, 2).backward(np.zeros((1, 2))))

    def dense_int():
        layer = _layers().Dense(3, 2, seed=0)
        xi = np.array([[1, 2, 3], [4, 5, 6]])
        return layer.forward(xi), xi.astype(np.float64) @ layer.params["w"] + layer.params["b"]
    good("Dense-int-input", O, dense_int, lambda r: np.allclose(r[0], r[1], atol=1e-5))


def batchnorm_cases():
    O = "BatchNorm"
    for tag, v in NOT_SIZES:
        bad(f"BatchNorm-channels-{tag}", O, lambda v=v: _layers().BatchNorm(v))
    for tag, v in NOT_FLOATS + [("neg", -0.1), ("big", 1.5)]:
        bad(f"BatchNorm-momentum-{tag}", O, lambda v=v: _layers().BatchNorm(2, momentum=v))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -1e-5)]:
        bad(f"BatchNorm-eps-{tag}", O, lambda v=v: _layers().BatchNorm(2, eps=v))
    bad("BatchNorm-fwd-channels", O, lambda: _layers().BatchNorm(2).forward(np.zeros((4, 3))))
    bad("BatchNorm-fwd-rank1", O, lambda: _layers().BatchNorm(2).forward(np.zeros(2)))
    bad("BatchNorm-fwd-one-value", O, lambda: _layers().BatchNorm(2).forward(np.zeros((1, 2))))
    bad("BatchNorm-fwd-empty", O, lambda: _layers().BatchNorm(2).forward(np.zeros((0, 2))))
    for tag, val in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        def nonfinite(val=val):
            bn = _layers().BatchNorm(2)
            x = np.ones((4, 3, 3, 2), np.float32)
            x[0, 0, 0, 0] = val
            try:
                return bn.forward(x, training=True)
            finally:
                # the stats must stay clean whatever happened
                assert np.all(np.isfinite(bn.buffers["running_mean"]))
        bad(f"BatchNorm-train-{tag}", O, nonfinite)

    def eval_after_good():
        bn = _layers().BatchNorm(2)
        x = RNG.standard_normal((8, 2)).astype(np.float64)
        bn.forward(x, training=True)
        m = x.mean(0)
        return bn.buffers["running_mean"], 0.1 * m
    good("BatchNorm-running-mean", O, eval_after_good,
         lambda r: np.allclose(r[0], r[1], atol=1e-6))

    def int_input():
        bn = _layers().BatchNorm(1)
        x = np.array([[0], [1], [2], [3]])
        return bn.forward(x)
    xs = np.array([0.0, 1, 2, 3])
    expect = ((xs - xs.mean()) / np.sqrt(xs.var() + 1e-5)).reshape(4, 1)
    good("BatchNorm-int-input", O, int_input, close(expect, 1e-4))


def pool_cases():
    for cls in ("MaxPool2D", "AvgPool2D"):
        def make(*a, cls=cls, **kw):
            return lambda: getattr(_layers(), cls)(*a, **kw)
        for tag, v in NOT_SIZES + [("pair0", (0, 2)), ("pairbool", (2, False))]:
            bad(f"{cls}-size-{tag}", cls, make(v))
            if v is not None:
                bad(f"{cls}-stride-{tag}", cls, make(2, stride=v))
        for tag, v in [("neg", -1), ("eq-size", 2), ("bool", True), ("str", "same"),
                       ("float", 0.5)]:
            bad(f"{cls}-padding-{tag}", cls, make(2, padding=v))
        for tag, v in [("torch", "torch"), ("none", None)]:
            bad(f"{cls}-backend-{tag}", cls, make(2, backend=v))
        for backend in ("numba", "numpy"):
            def fwd(shape, backend=backend, cls=cls, **kw):
                return lambda: getattr(_layers(), cls)(**{"size": 2, **kw}, backend=backend) \
                    .forward(np.zeros(shape, np.float32))
            bad(f"{cls}-{backend}-rank3", cls, fwd((4, 4, 1)))
            bad(f"{cls}-{backend}-window-larger", cls, fwd((1, 2, 2, 1), size=3))
            bad(f"{cls}-{backend}-empty", cls, fwd((1, 0, 4, 1)))
            bad(f"{cls}-{backend}-str", cls,
                lambda backend=backend, cls=cls: getattr(_layers(), cls)(2, backend=backend)
                .forward(np.full((1, 2, 2, 1), "a")))

            def int_in(backend=backend, cls=cls):
                xi = np.arange(16).reshape(1, 4, 4, 1)
                return getattr(_layers(), cls)(2, backend=backend).forward(xi)
            blocks = np.arange(16.0).reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
            exp = (blocks.max(-1) if cls == "MaxPool2D" else blocks.mean(-1)).reshape(1, 2, 2, 1)
            good(f"{cls}-{backend}-int-input", cls, int_in, close(exp))

    # NaN windows: the numpy path propagates NaN, so must the numba one (and both agree).
    for backend in ("numba", "numpy"):
        def nan_window(backend=backend):
            x = np.array([1, np.nan, 2, 3], np.float32).reshape(1, 2, 2, 1)
            return _layers().MaxPool2D(2, backend=backend).forward(x)
        good(f"MaxPool2D-{backend}-nan-window", "MaxPool2D", nan_window,
             lambda r: r.shape == (1, 1, 1, 1) and np.isnan(r).all())

        def nan_mixed(backend=backend):
            x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
            x[0, 0, 1, 0] = np.nan
            return _layers().MaxPool2D(2, backend=backend).forward(x)
        good(f"MaxPool2D-{backend}-nan-one-window", "MaxPool2D", nan_mixed,
             lambda r: np.isnan(r[0, 0, 0, 0]) and np.allclose(
                 r[0, :, :, 0].ravel()[1:], [7, 13, 15]))


def shuffle_cases():
    O = "PixelShuffle"
    for tag, v in NOT_SIZES:
        bad(f"PixelShuffle-scale-{tag}", O, lambda v=v: _layers().PixelShuffle(v))
    for tag, v in [("TF", "TF"), ("none", None), ("int", 1), ("nchw", "nchw")]:
        bad(f"PixelShuffle-order-{tag}", O, lambda v=v: _layers().PixelShuffle(2, order=v))
    bad("PixelShuffle-channels", O,
        lambda: _layers().PixelShuffle(2).forward(np.zeros((1, 2, 2, 3), np.float32)))
    bad("PixelShuffle-rank3", O,
        lambda: _layers().PixelShuffle(2).forward(np.zeros((2, 2, 4), np.float32)))
    bad("PixelShuffle-str", O,
        lambda: _layers().PixelShuffle(2).forward(np.full((1, 1, 1, 4), "a")))
    good("PixelShuffle-int-input", O,
         lambda: _layers().PixelShuffle(2).forward(np.arange(4).reshape(1, 1, 1, 4)),
         close(np.array([[0, 1], [2, 3]]).reshape(1, 2, 2, 1)))


def activation_cases():
    O = "Activation"
    for tag, v in [("unknown", "gelu"), ("upper", "ReLU"), ("none", None), ("int", 1),
                   ("list", ["relu"]), ("empty", "")]:
        bad(f"Activation-name-{tag}", O, lambda v=v: _layers().Activation(v))
    bad("Activation-kw-unknown", O, lambda: _layers().Activation("relu", alpha=0.1))
    for tag, v in NOT_FLOATS:
        bad(f"Activation-leaky-alpha-{tag}", O,
            lambda v=v: _layers().Activation("leaky", alpha=v))
        bad(f"Activation-elu-alpha-{tag}", O, lambda v=v: _layers().Activation("elu", alpha=v))
    bad("Activation-fwd-str", O, lambda: _layers().Activation("relu").forward(np.array(["a"])))
    bad("Activation-backward-before", O,
        lambda: _layers().Activation("relu").backward(np.zeros(3)))
    good("Activation-relu-int", O,
         lambda: _layers().Activation("relu").forward(np.array([[-2, 3]])),
         close([[0.0, 3.0]]))
    good("Activation-logistic-int", O,
         lambda: _layers().Activation("logistic").forward(np.array([[0, 1]])),
         close([[0.5, 1 / (1 + math.exp(-1))]]))
    good("Activation-tanh-int", O,
         lambda: _layers().Activation("tanh").forward(np.array([[1, -1]])),
         close([[math.tanh(1), -math.tanh(1)]]))
    good("Activation-softplus-large", O,
         lambda: _layers().Activation("softplus").forward(np.array([[1000.0, -1000.0]])),
         close([[1000.0, 0.0]]))
    good("Activation-logistic-extreme", O,
         lambda: _layers().Activation("logistic").forward(np.array([[-1000.0, 1000.0]])),
         close([[0.0, 1.0]]))


# ============================================================================ ops

def conv_op_cases():
    from labkit.ops import conv as C  # noqa: F401 - imported in calls

    def conv(**kw):
        def call():
            from labkit.ops.conv import conv2d
            args = {"x": X4, "w": W33, "b": None, "stride": 1, "padding": "same", "algorithm": "im2col"}
            args.update(kw)
            return conv2d(**args)
        return call
    O = "conv2d"
    bad("conv2d-x-rank3", O, conv(x=X4[0]))
    bad("conv2d-w-rank3", O, conv(w=W33[..., 0]))
    bad("conv2d-channels", O, conv(w=np.zeros((3, 3, 4, 2), np.float32)))
    for tag, v in [("zero", 0), ("neg", -1), ("bool", True), ("float", 1.5), ("pair0", (1, 0)),
                   ("str", "1"), ("triple", (1, 1, 1))]:
        bad(f"conv2d-stride-{tag}", O, conv(stride=v))
    for tag, v in [("full", "full"), ("neg", -2), ("bool", False), ("float", 0.5)]:
        bad(f"conv2d-padding-{tag}", O, conv(padding=v))
    for tag, v in [("fast", "fast"), ("auto", "auto"), ("none", None), ("list", ["naive"])]:
        bad(f"conv2d-algorithm-{tag}", O, conv(algorithm=v))
    bad("conv2d-kernel-larger", O, conv(x=X4[:, :2, :2], padding="valid"))
    bad("conv2d-bias-shape", O, conv(b=np.zeros(3, np.float32)))
    bad("conv2d-x-str", O, conv(x=np.full((1, 4, 4, 3), "a")))
    bad("conv2d-w-str", O, conv(w=np.full((3, 3, 3, 2), "a")))
    bad("conv2d-winograd-5x5", O,
        conv(w=np.zeros((5, 5, 3, 2), np.float32), algorithm="winograd"))
    bad("conv2d-winograd-stride2", O, conv(stride=2, algorithm="winograd"))
    ref = None

    def naive_ref():
        xp = np.pad(X4.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
        out = np.zeros((2, 6, 6, 2))
        for u in range(3):
            for v in range(3):
                out += xp[:, u:u + 6, v:v + 6, :] @ W33[u, v].astype(np.float64)
        return out
    ref = naive_ref()
    for algo in ("naive", "im2col", "winograd"):
        good(f"conv2d-{algo}-matches-formula", O, conv(algorithm=algo), close(ref, 1e-4))
        good(f"conv2d-{algo}-int-input", O,
             conv(x=(np.arange(2 * 6 * 6 * 3).reshape(2, 6, 6, 3) % 3), algorithm=algo),
             lambda r: r.dtype.kind == "f" and r.shape == (2, 6, 6, 2))
        good(f"conv2d-{algo}-nan-propagates", O,
             conv(x=np.where(np.arange(X4.size).reshape(X4.shape) == 0, np.nan, X4),
                  algorithm=algo),
             lambda r: np.isnan(r[0, 0, 0]).all() and np.isfinite(r[1]).all())

    def fwd(**kw):
        def call():
            from labkit.ops.conv import conv2d_forward
            args = {"x": X4, "w": W33, "b": None, "stride": (1, 1), "pads": ((1, 1), (1, 1)),
                        "algorithm": "naive"}
            args.update(kw)
            return conv2d_forward(**args)
        return call
    O = "conv2d"
    for tag, v in [("neg", ((-1, 0), (0, 0))), ("short", ((1, 1),)), ("str", "same"),
                   ("int", 1)]:
        bad(f"conv2d_forward-pads-{tag}", O, fwd(pads=v))
    bad("conv2d_forward-stride-0", O, fwd(stride=(0, 1)))
    bad("conv2d_forward-algorithm", O, fwd(algorithm="fft"))
    bad("conv2d_backward-bad-cache", O, lambda: __import__(
        "labkit.ops.conv", fromlist=["x"]).conv2d_backward(np.zeros((1, 2, 2, 2)), None))

    # im2col / col2im
    O = "im2col"
    bad("im2col-rank3", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"]).im2col(
        np.zeros((4, 4, 1)), (2, 2)))
    bad("im2col-kernel-larger", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .im2col(np.zeros((1, 2, 2, 1)), (3, 3)))
    bad("im2col-stride0", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"]).im2col(
        np.zeros((1, 4, 4, 1)), (2, 2), (0, 1)))
    bad("im2col-kernel-bool", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .im2col(np.zeros((1, 4, 4, 1)), True))
    bad("im2col-kernel-zero", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .im2col(np.zeros((1, 4, 4, 1)), (0, 2)))
    good("im2col-int-input", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"]).im2col(
        np.arange(9).reshape(1, 3, 3, 1), (2, 2)),
        close([[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]))
    O = "col2im"
    bad("col2im-shape", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"]).col2im(
        np.zeros((5, 4)), (1, 3, 3, 1), (2, 2)))
    bad("col2im-kernel-larger", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .col2im(np.zeros((1, 9)), (1, 2, 2, 1), (3, 3)))
    bad("col2im-xshape-rank", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .col2im(np.zeros((4, 4)), (3, 3, 1), (2, 2)))
    bad("col2im-stride0", O, lambda: __import__("labkit.ops.im2col", fromlist=["x"])
        .col2im(np.zeros((4, 4)), (1, 3, 3, 1), (2, 2), (0, 0)))
    def i2c(name, *a, **kw):
        return lambda: getattr(__import__("labkit.ops.im2col", fromlist=["x"]), name)(*a, **kw)
    O = "conv2d_im2col_forward"
    P1 = ((1, 1), (1, 1))
    for backend in ("numba", "numpy"):
        bad(f"{O}-{backend}-rank3", O, i2c(O, X4[0], W33, None, (1, 1), P1, backend))
        bad(f"{O}-{backend}-channels", O,
            i2c(O, X4, np.zeros((3, 3, 2, 2), np.float32), None, (1, 1), P1, backend))
        bad(f"{O}-{backend}-stride0", O, i2c(O, X4, W33, None, (0, 1), P1, backend))
        bad(f"{O}-{backend}-stride-bool", O, i2c(O, X4, W33, None, (True, 1), P1, backend))
        bad(f"{O}-{backend}-pads-neg", O, i2c(O, X4, W33, None, (1, 1), ((-1, 0), (0, 0)),
                                              backend))
        bad(f"{O}-{backend}-pads-bool", O, i2c(O, X4, W33, None, (1, 1), ((True, 0), (0, 0)),
                                               backend))
        bad(f"{O}-{backend}-kernel-larger", O,
            i2c(O, X4[:, :1, :1], W33, None, (1, 1), ((0, 0), (0, 0)), backend))
        bad(f"{O}-{backend}-str", O, i2c(O, np.full((1, 4, 4, 3), "a"), W33, None, (1, 1), P1,
                                         backend))
        good(f"{O}-{backend}-int", O,
             i2c(O, np.ones((1, 3, 3, 3), dtype=int), np.ones((3, 3, 3, 1)), None, (1, 1),
                 ((0, 0), (0, 0)), backend),
             lambda r: np.allclose(r[0], 27.0) and r[0].shape == (1, 1, 1, 1))
    bad(f"{O}-backend", O, i2c(O, X4, W33, None, (1, 1), P1, "cuda"))
    O = "im2col_numba"
    bad(f"{O}-rank3", O, i2c(O, np.zeros((4, 4, 1)), (2, 2)))
    bad(f"{O}-kernel-larger", O, i2c(O, np.zeros((1, 2, 2, 1)), (3, 3)))
    bad(f"{O}-stride0", O, i2c(O, np.zeros((1, 4, 4, 1)), (2, 2), (0, 1)))
    bad(f"{O}-kernel-bool", O, i2c(O, np.zeros((1, 4, 4, 1)), (True, 2)))
    bad(f"{O}-pads-neg", O, i2c(O, np.zeros((1, 4, 4, 1)), (2, 2), (1, 1), ((-1, 0), (0, 0))))
    good(f"{O}-equals-numpy", O,
         lambda: (i2c("im2col_numba", X4, (3, 3), (2, 1), ((1, 0), (1, 1)))(),
                  i2c("im2col", np.pad(X4, ((0, 0), (1, 0), (1, 1), (0, 0))), (3, 3),
                      (2, 1))()),
         lambda r: np.allclose(r[0], r[1]))
    O = "col2im_numba"
    bad(f"{O}-shape", O, i2c(O, np.zeros((5, 4)), (1, 3, 3, 1), (2, 2)))
    bad(f"{O}-xshape-rank", O, i2c(O, np.zeros((4, 4)), (3, 3, 1), (2, 2)))
    bad(f"{O}-stride0", O, i2c(O, np.zeros((4, 4)), (1, 3, 3, 1), (2, 2), (0, 1)))
    O = "choose_algorithm"
    bad(f"{O}-stride0", O, lambda: __import__("labkit.ops.conv_select", fromlist=["x"])
        .choose_algorithm((1, 4, 4, 1), (3, 3, 1, 1), (0, 1), ((1, 1), (1, 1))))
    good(f"{O}-winograd-only-3x3", O, lambda: __import__("labkit.ops.conv_select", fromlist=["x"])
         .choose_algorithm((1, 8, 8, 4), (5, 5, 4, 4), (1, 1), ((2, 2), (2, 2))),
         lambda r: r == "im2col")
    good(f"{O}-direct-one-output-channel", O,
         lambda: __import__("labkit.ops.conv_select", fromlist=["x"])
         .choose_algorithm((1, 8, 8, 4), (5, 5, 4, 1), (1, 1), ((2, 2), (2, 2))),
         lambda r: r == "direct")
    O = "im2col_workspace_bytes"
    good("im2col_workspace_bytes-formula", O,
         lambda: __import__("labkit.ops.im2col", fromlist=["x"]).im2col_workspace_bytes(
             (2, 8, 8, 3), (3, 3), (1, 1), ((1, 1), (1, 1))),
         lambda r: r == 2 * 8 * 8 * 9 * 3 * 4)


def geometry_cases():
    def g():
        from labkit.ops import conv  # the geometry names are re-exported there
        return conv
    for tag, v in [("full", "full"), ("neg", -1), ("bool", True), ("pair3", (1, 2, 3))]:
        bad(f"resolve_padding-{tag}", "conv2d",
            lambda v=v: g().resolve_padding(v, (3, 3), (1, 1), (8, 8)))
    for n in (1, 5, 8, 13):
        for s in (1, 2, 3):
            for k in (1, 3, 5):
                def out(n=n, s=s, k=k):
                    (t, b), (l, r) = g().resolve_padding("same", (k, k), (s, s), (n, n))
                    return (g().conv_output_size(n, k, s, t + b),
                            g().conv_output_size(n, k, s, l + r))
                good(f"resolve_padding-same-n{n}-s{s}-k{k}", "conv2d", out,
                     lambda r, n=n, s=s: r == (math.ceil(n / s), math.ceil(n / s)))


def pool_op_cases():
    for mod in ("pooling", "pooling_numba"):
        for kind in ("max", "avg"):
            def f(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0)), mod=mod, kind=kind):
                def call():
                    m = __import__(f"labkit.ops.{mod}", fromlist=["x"])
                    return getattr(m, f"{kind}pool_forward")(x, size, stride, pads)
                return call
            O = f"{kind}pool_forward"
            tag = f"{mod}-{kind}pool_forward"
            bad(f"{tag}-rank3", O, f(np.zeros((4, 4, 1))))
            bad(f"{tag}-stride0", O, f(np.zeros((1, 4, 4, 1)), stride=(0, 2)))
            bad(f"{tag}-size0", O, f(np.zeros((1, 4, 4, 1)), size=(0, 2)))
            bad(f"{tag}-window-larger", O, f(np.zeros((1, 2, 2, 1)), size=(3, 3)))
            bad(f"{tag}-pad-ge-size", O, f(np.zeros((1, 4, 4, 1)), pads=((2, 2), (0, 0))))
            bad(f"{tag}-pad-neg", O, f(np.zeros((1, 4, 4, 1)), pads=((-1, 0), (0, 0))))
            bad(f"{tag}-str", O, f(np.full((1, 4, 4, 1), "a")))
            good(f"{tag}-int", O, f(np.arange(16).reshape(1, 4, 4, 1)),
                 lambda r: np.asarray(r[0]).dtype.kind == "f")
            if kind == "max":
                good(f"{tag}-nan", O, f(np.array([1, np.nan, 2, 3]).reshape(1, 2, 2, 1)),
                     lambda r: np.isnan(r[0]).all())
                good(f"{tag}-nan-first", O,
                     f(np.array([np.nan, 1, 2, 3]).reshape(1, 2, 2, 1)),
                     lambda r: np.isnan(r[0]).all())
                good(f"{tag}-inf", O, f(np.array([1, np.inf, 2, 3]).reshape(1, 2, 2, 1)),
                     lambda r: np.isinf(r[0]).all())


def shuffle_op_cases():
    def ps(name, *a, **kw):
        return lambda: getattr(__import__("labkit.ops.pixel_shuffle", fromlist=["x"]),
                               name)(*a, **kw)
    for name in ("pixel_shuffle", "pixel_unshuffle"):
        x = np.zeros((1, 4, 4, 4), np.float32)
        for tag, v in NOT_SIZES:
            bad(f"{name}-scale-{tag}", name, ps(name, x, v))
        for tag, v in [("TF", "TF"), ("none", None)]:
            bad(f"{name}-order-{tag}", name, ps(name, x, 2, v))
        bad(f"{name}-rank3", name, ps(name, x[0], 2))
        bad(f"{name}-str", name, ps(name, np.full((1, 2, 2, 4), "a"), 2))
    bad("pixel_shuffle-channels", "pixel_shuffle", ps("pixel_shuffle", np.zeros((1, 2, 2, 3)), 2))
    bad("pixel_unshuffle-size", "pixel_unshuffle",
        ps("pixel_unshuffle", np.zeros((1, 3, 4, 1)), 2))
    for order in ("torch", "tf"):
        x = RNG.standard_normal((2, 3, 2, 8))
        good(f"pixel_shuffle-roundtrip-{order}", "pixel_shuffle",
             lambda x=x, order=order: __import__("labkit.ops.pixel_shuffle", fromlist=["x"])
             .pixel_unshuffle(__import__("labkit.ops.pixel_shuffle", fromlist=["x"])
                              .pixel_shuffle(x, 2, order), 2, order), close(x))


def activation_op_cases():
    from labkit.ops import activations as A  # noqa: F401
    names = ["linear", "relu", "leaky", "elu", "selu", "logistic", "tanh", "softplus"]
    formulas = {
        "linear": lambda x: x, "relu": lambda x: np.maximum(x, 0),
        "leaky": lambda x: np.where(x > 0, x, 0.1 * x),
        "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
        "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        "logistic": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh,
        "softplus": lambda x: np.log1p(np.exp(x)),
    }
    xi = np.array([-3, -1, 0, 2, 5])
    for n in names:
        good(f"ops.{n}-int", n,
             lambda n=n: getattr(__import__("labkit.ops.activations", fromlist=["x"]), n)(xi),
             close(formulas[n](xi.astype(np.float64)), 1e-5))
        bad(f"ops.{n}-str", n,
            lambda n=n: getattr(__import__("labkit.ops.activations", fromlist=["x"]), n)(
                np.array(["a", "b"])))


def batchnorm_op_cases():
    def bn():
        from labkit.ops import batchnorm
        return batchnorm
    O = "batchnorm_forward_train"
    bad(f"{O}-gamma-shape", O,
        lambda: bn().batchnorm_forward_train(np.zeros((4, 3)), np.ones(2), np.zeros(3)))
    bad(f"{O}-nan", O, lambda: bn().batchnorm_forward_train(
        np.array([[np.nan], [1.0]]), np.ones(1), np.zeros(1)))
    bad(f"{O}-eps0", O, lambda: bn().batchnorm_forward_train(
        np.zeros((4, 1)), np.ones(1), np.zeros(1), eps=0.0))
    O = "batchnorm_forward_eval"
    bad(f"{O}-var-shape", O, lambda: bn().batchnorm_forward_eval(
        np.zeros((4, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(2)))
    bad(f"{O}-neg-var", O, lambda: bn().batchnorm_forward_eval(
        np.zeros((4, 3)), np.ones(3), np.zeros(3), np.zeros(3), -np.ones(3)))


def resize_cases():
    def rs(*a, **kw):
        return lambda: __import__("labkit.ops.resize", fromlist=["x"]).imresize(*a, **kw)
    O = "imresize"
    for tag, v in [("zero", 0), ("neg", -2), ("nan", float("nan")), ("inf", float("inf")),
                   ("str", "2"), ("bool", True), ("triple", (1, 2, 3)), ("none-pair", (None, 2)),
                   ("tiny", 1e-9), ("pairbool", (2, True))]:
        bad(f"imresize-scale-{tag}", O, rs(IMG, scale=v))
    for tag, v in [("zero", (0, 4)), ("neg", (-1, 4)), ("float", (2.5, 4)), ("one", (4,)),
                   ("str", "44"), ("bool", (True, 4)), ("int", 4), ("huge", (10**6, 10**6))]:
        bad(f"imresize-output_shape-{tag}", O, rs(IMG, output_shape=v))
    bad("imresize-both", O, rs(IMG, scale=2, output_shape=(4, 4)))
    bad("imresize-neither", O, rs(IMG))
    for tag, v in [("cubic", "cubic"), ("none", None), ("upper", "Bicubic"), ("int", 3)]:
        bad(f"imresize-method-{tag}", O, rs(IMG, 2, method=v))
    for tag, v in [("str", "yes"), ("none", None)]:
        bad(f"imresize-antialias-{tag}", O, rs(IMG, 0.5, antialias=v))
    bad("imresize-rank1", O, rs(np.zeros(5), 2))
    bad("imresize-rank5", O, rs(np.zeros((1, 1, 4, 4, 1)), 2))
    bad("imresize-empty", O, rs(np.zeros((0, 4)), 2))
    bad("imresize-empty-batch-hw", O, rs(np.zeros((2, 4, 0)), 2))
    # A long axis must not need a quadratic (100000 x 200000) matrix: taps are applied directly.
    good("imresize-long-row", O, rs(np.full((1, 100000), 2.0, np.float32), 2),
         lambda r: r.shape == (2, 200000) and np.allclose(r, 2.0, atol=1e-5))
    good("imresize-long-row-shrink", O, rs(np.arange(100000.0)[None], output_shape=(1, 50000)),
         lambda r: r.shape == (1, 50000) and abs(r[0, 1000] - 2000.5) < 1e-6)
    bad("imresize-huge-scale", O, rs(IMG, 10**5))
    for tag, arr in BAD_ARRAYS:
        bad(f"imresize-dtype-{tag}", O, rs(arr, 2))
    bad("imresize-nan", O, rs(np.where(IMG > 0.5, np.nan, IMG), 2))
    good("imresize-int", O, lambda: (rs(np.arange(16).reshape(4, 4), 0.5)(),
                                     rs(np.arange(16.0).reshape(4, 4), 0.5)()),
         lambda r: r[0].dtype.kind == "f" and np.allclose(r[0], r[1], atol=1e-5))
    good("imresize-identity", O, rs(IMG.astype(np.float64), 1), close(IMG, 1e-6))
    good("imresize-nearest-x2", O, rs(np.array([[1.0, 2.0]]), 2, method="nearest"),
         close([[1, 1, 2, 2], [1, 1, 2, 2]]))
    good("imresize-constant", O, rs(np.full((7, 9), 3.0), output_shape=(5, 4)),
         close(np.full((5, 4), 3.0), 1e-6))
    good("imresize-one-pixel", O, rs(np.full((1, 1), 2.0), 3), close(np.full((3, 3), 2.0)))
    good("imresize-bilinear-mean", O,
         rs(np.array([[0.0, 1.0], [2.0, 3.0]]), output_shape=(1, 1), method="bilinear"),
         close([[1.5]]))

    O = "interpolation_matrix"

    def im(*a, **kw):
        def call():
            m = __import__("labkit.ops.resize", fromlist=["x"])
            return m.interpolation_matrix(*a, **kw)
        return call
    cub = lambda x: __import__("labkit.ops.resize", fromlist=["x"]).cubic_kernel(x)
    for tag, (n_in, n_out, s) in [("in0", (0, 4, 2.0)), ("out0", (4, 0, 0.5)),
                                   ("scale0", (4, 4, 0.0)), ("scale-nan", (4, 4, float("nan"))),
                                   ("bool", (True, 4, 4.0)), ("float-len", (4.5, 9, 2.0)),
                                   ("huge", (10**6, 10**6, 1.0))]:
        bad(f"interpolation_matrix-{tag}", O, im(n_in, n_out, s, cub, 4.0))
    bad("interpolation_matrix-width0", O, im(4, 8, 2.0, cub, 0.0))
    good("interpolation_matrix-rows-sum-1", O, im(7, 3, 3 / 7, cub, 4.0),
         lambda r: np.allclose(np.asarray(r).sum(1), 1.0))
    for kname in ("cubic_kernel", "triangle_kernel", "box_kernel"):
        bad(f"{kname}-str", kname, lambda kname=kname: getattr(
            __import__("labkit.ops.resize", fromlist=["x"]), kname)(np.array(["a"])))
    good("cubic_kernel-int", "cubic_kernel",
         lambda: __import__("labkit.ops.resize", fromlist=["x"]).cubic_kernel(np.array([0, 1, 2])),
         close([1.0, 0.0, 0.0]))


def kspace_cases():
    def ks(name, *a, **kw):
        return lambda: getattr(__import__("labkit.ops.kspace", fromlist=["x"]), name)(*a, **kw)
    for name in ("kspace_truncate", "kspace_downsample", "zero_fill_upsample"):
        for tag, v in NOT_SIZES:
            bad(f"{name}-scale-{tag}", name, ks(name, np.zeros((8, 8)), v))
        bad(f"{name}-rank1", name, ks(name, np.zeros(8), 2))
        bad(f"{name}-empty", name, ks(name, np.zeros((0, 8)), 2))
        for tag, arr in BAD_ARRAYS[:2]:
            bad(f"{name}-dtype-{tag}", name, ks(name, arr, 2))
        bad(f"{name}-nan", name, ks(name, np.full((8, 8), np.nan), 2))
        bad(f"{name}-huge-scale", name, ks(name, np.zeros((8, 8)), 10**6))
    for name in ("kspace_truncate", "kspace_downsample"):
        bad(f"{name}-not-divisible", name, ks(name, np.zeros((9, 8)), 2))
        good(f"{name}-int-constant", name, ks(name, np.full((8, 8), 3), 2),
             lambda r: np.allclose(np.real(r), 3.0, atol=1e-5))
    good("zero_fill_upsample-constant", "zero_fill_upsample",
         ks("zero_fill_upsample", np.full((4, 4), 2.0), 2),
         lambda r: r.shape == (8, 8) and np.allclose(np.real(r), 2.0, atol=1e-6))
    for tag, v in [("str", "yes"), ("none", None)]:
        bad(f"zero_fill_upsample-aligned-{tag}", "zero_fill_upsample",
            ks("zero_fill_upsample", np.zeros((4, 4)), 2, aligned=v))
    for name in ("fft2c", "ifft2c"):
        bad(f"{name}-rank1", name, ks(name, np.zeros(8)))
        bad(f"{name}-str", name, ks(name, np.array([["a", "b"]])))
        bad(f"{name}-empty", name, ks(name, np.zeros((0, 4))))
    good("fft2c-roundtrip-int", "fft2c",
         lambda: __import__("labkit.ops.kspace", fromlist=["x"]).ifft2c(
             __import__("labkit.ops.kspace", fromlist=["x"]).fft2c(np.arange(16).reshape(4, 4))),
         lambda r: np.allclose(np.real(r), np.arange(16).reshape(4, 4)))
    O = "kspace_mask"
    bad("kspace_mask-too-big", O, ks("kspace_mask", (8, 8), (9, 4)))
    bad("kspace_mask-neg", O, ks("kspace_mask", (8, 8), (-1, 4)))
    bad("kspace_mask-bool", O, ks("kspace_mask", (8, True), (2, 1)))
    bad("kspace_mask-short", O, ks("kspace_mask", (8,), (2, 2)))
    bad("kspace_mask-huge", O, ks("kspace_mask", (10**6, 10**6), (2, 2)))
    good("kspace_mask-count", O, ks("kspace_mask", (8, 8), (4, 2)),
         lambda r: np.asarray(r).sum() == 8)
    O = "grid_offset"
    for tag, (n, s) in [("scale0", (8, 0)), ("bool", (8, True)), ("size0", (0, 2)),
                        ("float", (8, 1.5))]:
        bad(f"grid_offset-{tag}", O, ks("grid_offset", n, s))


def icnr_filters_cases():
    def mod(name):
        return __import__(f"labkit.ops.{name}", fromlist=["x"])
    O = "icnr"
    for tag, v in NOT_SIZES[:6]:
        bad(f"icnr-scale-{tag}", O, lambda v=v: mod("icnr").icnr(3, 2, 8, v))
        bad(f"icnr-in-{tag}", O, lambda v=v: mod("icnr").icnr(3, v, 8, 2))
    bad("icnr-dtype", O, lambda: mod("icnr").icnr(3, 2, 6, 2, dtype=np.int32))
    bad("icnr-order", O, lambda: mod("icnr").icnr(3, 2, 8, 2, order="nchw"))
    bad("icnr-seed", O, lambda: mod("icnr").icnr(3, 2, 8, 2, seed=-1))
    bad("icnr-kernel0", O, lambda: mod("icnr").icnr(0, 2, 8, 2))
    O = "subpixel_pattern"
    bad("subpixel_pattern-scale0", O, lambda: mod("icnr").subpixel_pattern(IMG, 0))
    bad("subpixel_pattern-rank1", O, lambda: mod("icnr").subpixel_pattern(np.zeros(4), 2))
    O = "filter2d"
    bad("filter2d-rank3", O, lambda: mod("filters").filter2d(np.zeros((2, 4, 4)), np.ones((3, 3))))
    bad("filter2d-kernel-rank1", O, lambda: mod("filters").filter2d(IMG, np.ones(3)))
    bad("filter2d-stride0", O, lambda: mod("filters").filter2d(IMG, np.ones((3, 3)), stride=0))
    bad("filter2d-padding", O,
        lambda: mod("filters").filter2d(IMG, np.ones((3, 3)), padding="full"))
    bad("filter2d-kernel-larger", O,
        lambda: mod("filters").filter2d(IMG[:2, :2], np.ones((3, 3)), padding="valid"))
    bad("filter2d-str", O, lambda: mod("filters").filter2d(np.full((4, 4), "a"), np.ones((3, 3))))
    good("filter2d-int-box", O,
         lambda: mod("filters").filter2d(np.ones((4, 4), dtype=int), np.ones((3, 3)),
                                         padding="valid"), close(np.full((2, 2), 9.0)))
    O = "gaussian_kernel"
    for tag, v in NOT_SIZES[:5]:
        bad(f"gaussian_kernel-size-{tag}", O, lambda v=v: mod("filters").gaussian_kernel(v))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -1.0)]:
        bad(f"gaussian_kernel-sigma-{tag}", O,
            lambda v=v: mod("filters").gaussian_kernel(5, v))
    good("gaussian_kernel-sum", O, lambda: mod("filters").gaussian_kernel(5, 1.0),
         lambda r: abs(np.sum(r) - 1) < 1e-6)
    O = "classic_kernel"
    for tag, v in [("unknown", "prewitt_z"), ("none", None), ("int", 3)]:
        bad(f"classic_kernel-{tag}", O, lambda v=v: mod("filters").classic_kernel(v))


def distortion_cases():
    def d():
        return __import__("labkit.ops.distortions", fromlist=["x"])
    O = "add_gaussian_noise"
    for tag, v in NOT_FLOATS + [("neg", -0.1)]:
        bad(f"{O}-sigma-{tag}", O, lambda v=v: d().add_gaussian_noise(IMG, v))
    for tag, v in BAD_SEEDS[:4]:
        bad(f"{O}-seed-{tag}", O, lambda v=v: d().add_gaussian_noise(IMG, 0.1, seed=v))
    O = "gaussian_blur"
    for tag, v in NOT_FLOATS + [("neg", -1.0)]:
        bad(f"{O}-sigma-{tag}", O, lambda v=v: d().gaussian_blur(IMG, v))
    bad(f"{O}-rank1", O, lambda: d().gaussian_blur(np.zeros(5), 1.0))
    bad(f"{O}-huge-sigma", O, lambda: d().gaussian_blur(IMG, 1e9))
    O = "adjust_contrast"
    for tag, v in NOT_FLOATS:
        bad(f"{O}-gain-{tag}", O, lambda v=v: d().adjust_contrast(IMG, v))
    good(f"{O}-int", O, lambda: d().adjust_contrast(np.array([[1, 2]]), 2.0, 0.5),
         lambda r: np.asarray(r).dtype.kind == "f")
    O = "jpeg_like"
    for tag, v in [("zero", 0), ("big", 101), ("nan", float("nan")), ("str", "50"),
                   ("bool", True)]:
        bad(f"{O}-quality-{tag}", O, lambda v=v: d().jpeg_like(IMG, v))
    for tag, v in [("zero", 0.0), ("neg", -1.0), ("nan", float("nan"))]:
        bad(f"{O}-data_range-{tag}", O, lambda v=v: d().jpeg_like(IMG, 50, v))
    O = "shift"
    for tag, v in [("float", 1.5), ("bool", True), ("str", "1"), ("huge", 10**6)]:
        bad(f"{O}-dy-{tag}", O, lambda v=v: d().shift(IMG, v, 0))
    O = "dct_matrix"
    for tag, v in NOT_SIZES[:6]:
        bad(f"{O}-{tag}", O, lambda v=v: d().dct_matrix(v))
    bad(f"{O}-huge", O, lambda: d().dct_matrix(10**6))
    good(f"{O}-orthonormal", O, lambda: d().dct_matrix(8),
         lambda r: np.allclose(r @ r.T, np.eye(8), atol=1e-10))


def misc_op_cases():
    def m(name):
        return __import__(f"labkit.ops.{name}", fromlist=["x"])
    O = "gradient_descent"
    grad = lambda w: 2 * w
    for tag, v in NOT_FLOATS + [("neg", -0.1)]:
        bad(f"{O}-lr-{tag}", O, lambda v=v: m("descent").gradient_descent(grad, [1.0, 1.0], v, 5))
    for tag, v in [t for t in NOT_SIZES[:5] if t[0] != "zero"]:   # 0 steps: just w0
        bad(f"{O}-steps-{tag}", O,
            lambda v=v: m("descent").gradient_descent(grad, [1.0, 1.0], 0.1, v))
    for tag, v in [("one", 1.0), ("neg", -0.5), ("nan", float("nan"))]:
        bad(f"{O}-momentum-{tag}", O,
            lambda v=v: m("descent").gradient_descent(grad, [1.0, 1.0], 0.1, 5, v))
    bad(f"{O}-w0-str", O, lambda: m("descent").gradient_descent(grad, ["a"], 0.1, 5))
    bad(f"{O}-huge-steps", O, lambda: m("descent").gradient_descent(grad, [1.0], 0.1, 10**10))
    good(f"{O}-formula", O, lambda: m("descent").gradient_descent(grad, [1.0], 0.25, 2),
         lambda r: np.allclose(np.asarray(r)[-1], [0.25]))
    O = "evaluate_grid"
    for tag, v in NOT_SIZES[:5] + [("one", 1), ("huge", 10**6)]:
        bad(f"{O}-n-{tag}", O, lambda v=v: m("descent").evaluate_grid(
            lambda a, b: a + b, (-1, 1), (-1, 1), v))
    bad(f"{O}-range", O, lambda: m("descent").evaluate_grid(lambda a, b: a, (1,), (-1, 1), 5))
    O = "perceptron_fit"
    X = np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]])
    t = np.array([0, 1, 1, 1])
    for tag, v in NOT_FLOATS + [("neg", -1.0)]:
        bad(f"{O}-lr-{tag}", O, lambda v=v: m("perceptron").perceptron_fit(X, t, lr=v))
    for tag, v in NOT_SIZES[:5]:
        bad(f"{O}-epochs-{tag}", O, lambda v=v: m("perceptron").perceptron_fit(X, t, epochs=v))
    bad(f"{O}-shape", O, lambda: m("perceptron").perceptron_fit(X, t[:3]))
    bad(f"{O}-rank", O, lambda: m("perceptron").perceptron_fit(X[:, 0], t))
    bad(f"{O}-labels", O, lambda: m("perceptron").perceptron_fit(X, np.array([0, 1, 2, 1])))
    bad(f"{O}-seed", O, lambda: m("perceptron").perceptron_fit(X, t, seed=-1))
    bad(f"{O}-empty", O, lambda: m("perceptron").perceptron_fit(X[:0], t[:0]))
    O = "perceptron_predict"
    bad(f"{O}-w-shape", O, lambda: m("perceptron").perceptron_predict(X, np.ones(3), 0.0))
    O = "receptive_field_sizes"
    for tag, v in [("zero", [3, 0]), ("bool", [True, 3]), ("float", [1.5]), ("str", "33")]:
        bad(f"{O}-{tag}", O, lambda v=v: m("receptive_field").receptive_field_sizes(v))
    bad(f"{O}-strides-len", O,
        lambda: m("receptive_field").receptive_field_sizes([3, 3], strides=[1]))
    good(f"{O}-formula", O, lambda: m("receptive_field").receptive_field_sizes([3, 3, 3]),
         lambda r: 7 in (next(iter(r.values())) if isinstance(r, dict) else r) or
         any(np.atleast_1d(v)[-1] == 7 for v in r.values()))
    O = "receptive_field_maps"
    bad(f"{O}-shape", O, lambda: m("receptive_field").receptive_field_maps((0, 8), [3]))
    bad(f"{O}-kernels", O, lambda: m("receptive_field").receptive_field_maps((8, 8), [0]))
    O = "gradient_norms"
    for tag, kw in [("depth0", {"depth": 0}), ("width-bool", {"width": True}),
                    ("activation", {"activation": "swish"}), ("n0", {"n": 0}),
                    ("scale-nan", {"weight_scale": float("nan")}),
                    ("shortcut-str", {"shortcut": "yes"}), ("huge", {"width": 10**6})]:
        bad(f"{O}-{tag}", O, lambda kw=kw: m("gradient_flow").gradient_norms(**kw))
    O = "choose_algorithm"
    bad(f"{O}-rank", O, lambda: m("conv_select").choose_algorithm(
        (4, 4, 1), (3, 3, 1, 1), (1, 1), ((1, 1), (1, 1))))
    def direct(*a, **kw):
        return lambda: __import__("labkit.ops.conv_direct", fromlist=["x"]) \
            .conv2d_direct_forward(*a, **kw)
    O = "conv2d_direct_forward"
    P1 = ((1, 1), (1, 1))
    for backend in ("numba", "numpy"):
        bad(f"{O}-{backend}-rank3", O, direct(X4[0], W33, None, (1, 1), P1, backend))
        bad(f"{O}-{backend}-channels", O,
            direct(X4, np.zeros((3, 3, 2, 2), np.float32), None, (1, 1), P1, backend))
        bad(f"{O}-{backend}-stride2", O, direct(X4, W33, None, (2, 2), P1, backend))
        bad(f"{O}-{backend}-stride0", O, direct(X4, W33, None, (0, 1), P1, backend))
        bad(f"{O}-{backend}-pads-neg", O, direct(X4, W33, None, (1, 1), ((-1, 0), (0, 0)),
                                                 backend))
        bad(f"{O}-{backend}-kernel-larger", O,
            direct(X4[:, :1, :1], W33, None, (1, 1), ((0, 0), (0, 0)), backend))
        bad(f"{O}-{backend}-str", O, direct(np.full((1, 4, 4, 3), "a"), W33, None, (1, 1), P1,
                                            backend))
        good(f"{O}-{backend}-int", O,
             direct(np.ones((1, 3, 3, 3), dtype=int), np.ones((3, 3, 3, 1)), None, (1, 1),
                    ((0, 0), (0, 0)), backend),
             lambda r: np.allclose(r[0], 27.0) and r[0].shape == (1, 1, 1, 1))
    bad(f"{O}-backend", O, direct(X4, W33, None, (1, 1), P1, "cuda"))
    O = "winograd_f2_3"
    bad(f"{O}-shape", O, lambda: m("winograd").winograd_f2_3(np.ones(3), np.ones(3)))
    good(f"{O}-formula", O, lambda: m("winograd").winograd_f2_3(np.arange(4.0), np.ones(3)),
         close([3.0, 6.0]))
    O = "multiplication_counts"
    bad(f"{O}-variant", O, lambda: m("winograd").multiplication_counts("f6x3"))
    O = "conv2d_winograd_forward"
    for tag, kw in [("variant", {"variant": "f6x3"}), ("backend", {"backend": "cuda"}),
                    ("stride", {"stride": (2, 2)}),
                    ("kernel", {"w": np.zeros((5, 5, 3, 2), np.float32)})]:
        def call(kw=kw):
            args = {"x": X4, "w": W33, "b": None, "stride": (1, 1), "pads": ((1, 1), (1, 1))}
            args.update(kw)
            return m("winograd").conv2d_winograd_forward(**args)
        bad(f"{O}-{tag}", O, call)
    O = "winograd_f4x3"
    bad(f"{O}-backend", O, lambda: m("winograd").winograd_f4x3(X4, W33, backend="gpu"))
    bad(f"{O}-kernel", O, lambda: m("winograd").winograd_f4x3(X4, W33[:2]))


# ============================================================================ losses / optim

def loss_cases():
    from labkit import losses  # noqa: F401

    def L(name, *a):
        return getattr(__import__("labkit.losses", fromlist=["x"]), name)(*a)
    yi = np.array([0, 0])
    t = np.array([0.7, 0.7])
    expected = {"L1Loss": 0.7, "MSELoss": 0.49, "CharbonnierLoss": math.sqrt(0.49 + 1e-6)}
    for name in ("L1Loss", "MSELoss", "CharbonnierLoss"):
        good(f"{name}-int-prediction", name, lambda name=name: L(name)(yi, t),
             lambda r, e=expected[name]: abs(r - e) < 1e-6)
        good(f"{name}-int-both", name, lambda name=name: L(name)(np.array([1, 2]),
                                                                 np.array([2, 4])),
             lambda r, name=name: abs(r - {"L1Loss": 1.5, "MSELoss": 2.5,
                                           "CharbonnierLoss": (math.sqrt(1 + 1e-6)
                                                               + math.sqrt(4 + 1e-6)) / 2}[name])
             < 1e-6)

        def grad_int(name=name):
            loss = L(name)
            loss(yi, t)
            return loss.backward()
        good(f"{name}-int-backward", name, grad_int,
             lambda r: np.asarray(r).dtype.kind == "f" and np.all(np.asarray(r) < 0))
        good(f"{name}-float32-stays", name,
             lambda name=name: (L(name), L(name)(np.zeros(3, np.float32), np.ones(3)))[1],
             lambda r, name=name: abs(r - {"L1Loss": 1, "MSELoss": 1}.get(
                 name, math.sqrt(1 + 1e-6))) < 1e-6)
        bad(f"{name}-shape", name, lambda name=name: L(name)(np.zeros(3), np.zeros(4)))
        bad(f"{name}-broadcast", name, lambda name=name: L(name)(np.zeros((2, 1)), np.zeros((2, 2))))
        bad(f"{name}-empty", name, lambda name=name: L(name)(np.zeros(0), np.zeros(0)))
        bad(f"{name}-target-nan", name, lambda name=name: L(name)(np.zeros(2), np.array([0, np.nan])))
        bad(f"{name}-pred-str", name, lambda name=name: L(name)(np.array(["a", "b"]), np.zeros(2)))
        bad(f"{name}-target-str", name,
            lambda name=name: L(name)(np.zeros(2), np.array(["a", "b"])))
        bad(f"{name}-pred-object", name,
            lambda name=name: L(name)(np.array([None, 1], dtype=object), np.zeros(2)))
        bad(f"{name}-pred-complex", name,
            lambda name=name: L(name)(np.ones(2, complex), np.zeros(2)))
        bad(f"{name}-backward-before", name, lambda name=name: L(name).backward())
        bad(f"{name}-ragged", name, lambda name=name: L(name)([[1, 2], [3]], [[1, 2], [3]]))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -1.0)]:
        bad(f"CharbonnierLoss-eps-{tag}", "CharbonnierLoss", lambda v=v: L("CharbonnierLoss", v))


def optimizer_cases():
    def O(name, *a, **kw):
        return lambda: getattr(__import__("labkit.optimizers", fromlist=["x"]), name)(*a, **kw)
    for name in ("SGD", "Adam"):
        for tag, v in NOT_FLOATS + [("neg", -1e-3)]:
            bad(f"{name}-lr-{tag}", name, O(name, v))
    for tag, v in NOT_FLOATS + [("one", 1.0), ("neg", -0.1), ("big", 2.0)]:
        bad(f"SGD-momentum-{tag}", "SGD", O("SGD", 0.1, momentum=v))
    for b in ("beta1", "beta2"):
        for tag, v in NOT_FLOATS + [("one", 1.0), ("neg", -0.1)]:
            bad(f"Adam-{b}-{tag}", "Adam", O("Adam", **{b: v}))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -1e-8)]:
        bad(f"Adam-eps-{tag}", "Adam", O("Adam", eps=v))
    for name in ("SGD", "Adam"):
        def upd_missing(name=name):
            opt = O(name, 0.1)()
            return opt.update({"w": np.zeros(2)}, {})
        bad(f"{name}-update-missing-grad", name, upd_missing)

        def upd_shape(name=name):
            opt = O(name, 0.1)()
            return opt.update({"w": np.zeros(2)}, {"w": np.zeros(3)})
        bad(f"{name}-update-shape", name, upd_shape)

        def upd_str(name=name):
            opt = O(name, 0.1)()
            return opt.update({"w": np.zeros(2)}, {"w": np.array(["a", "b"])})
        bad(f"{name}-update-str-grad", name, upd_str)

        def upd_int_param(name=name):
            opt = O(name, 0.1)()
            return opt.update({"w": np.zeros(2, dtype=int)}, {"w": np.ones(2)})
        bad(f"{name}-update-int-param", name, upd_int_param)

        def upd_nan(name=name):
            opt = O(name, 0.1)()
            p = np.zeros(2)
            opt.update({"w": p}, {"w": np.array([np.nan, 1.0])})
            return p
        bad(f"{name}-update-nan-grad", name, upd_nan)

    def sgd_step():
        p = np.array([1.0, 2.0])
        O("SGD", 0.5, momentum=0.9)().update({"w": p}, {"w": np.array([1, 1])})
        return p
    good("SGD-int-grad", "SGD", sgd_step, close([0.5, 1.5]))

    def adam_step():
        p = np.array([1.0, -1.0])
        O("Adam", 0.1)().update({"w": p}, {"w": np.array([2, -3])})
        return p
    good("Adam-first-step", "Adam", adam_step, close([0.9, -0.9], 1e-6))


# ============================================================================ metrics

def metric_cases():
    def M(name, *a, **kw):
        return lambda: getattr(__import__("labkit.metrics", fromlist=["x"]), name)(*a, **kw)
    a = RNG.random((16, 16))
    b = np.clip(a + 0.05 * RNG.standard_normal((16, 16)), 0, 1)
    for name in ("psnr", "ssim"):
        bad(f"{name}-empty-batch", name, M(name, np.zeros((0, 16, 16)), np.zeros((0, 16, 16))))
        bad(f"{name}-empty-image", name, M(name, np.zeros((0, 16)), np.zeros((0, 16))))
        bad(f"{name}-shape", name, M(name, a, a[:15]))
        bad(f"{name}-rank1", name, M(name, a[0], a[0]))
        bad(f"{name}-rank5", name, M(name, np.zeros((1, 1, 16, 16, 1)), np.zeros((1, 1, 16, 16, 1))))
        bad(f"{name}-channels3", name, M(name, np.zeros((1, 16, 16, 3)), np.zeros((1, 16, 16, 3))))
        for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -1.0)]:
            bad(f"{name}-data_range-{tag}", name, M(name, a, b, data_range=v))
        for tag, v in [("neg", -1), ("bool", True), ("float", 1.5), ("too-big", 8),
                       ("str", "2")]:
            bad(f"{name}-crop-{tag}", name, M(name, a, b, crop=v))
        bad(f"{name}-nan", name, M(name, np.where(a > 0.5, np.nan, a), b))
        bad(f"{name}-inf-ref", name, M(name, a, np.where(b > 0.5, np.inf, b)))
        for tag, arr in BAD_ARRAYS:
            bad(f"{name}-dtype-{tag}", name, M(name, arr, arr))
        bad(f"{name}-mask-shape", name, M(name, a, b, mask=np.ones((4, 4), bool)))
        bad(f"{name}-mask-float", name, M(name, a, b, mask=np.ones((16, 16))))
        bad(f"{name}-mask-empty", name, M(name, a, b, mask=np.zeros((16, 16), bool)))
        for tag, v in [("str", "yes"), ("none", None)]:
            bad(f"{name}-reduce-{tag}", name, M(name, a, b, reduce=v))
        good(f"{name}-long-row", name, M(name, np.zeros((11, 100000), np.float32),
                                         np.zeros((11, 100000), np.float32)),
             lambda r, name=name: r == (float("inf") if name == "psnr" else 1.0))
    bad("ssim-too-small", "ssim", M("ssim", a[:8, :8], b[:8, :8]))
    bad("ssim_map-too-small", "ssim_map", M("ssim_map", a[:8, :8], b[:8, :8]))
    bad("ssim_map-shape", "ssim_map", M("ssim_map", a, b[:12]))
    bad("ssim_map-huge", "ssim_map", M("ssim_map", np.zeros((1, 100000), np.float32),
                                       np.zeros((1, 100000), np.float32)))
    mse = np.mean((a - b) ** 2)
    good("psnr-formula", "psnr", M("psnr", a, b), lambda r: abs(r - 10 * np.log10(1 / mse)) < 1e-6)
    good("psnr-identical-inf", "psnr", M("psnr", a, a), lambda r: r == float("inf"))
    ai = (a * 255).astype(np.uint8)
    bi = (b * 255).astype(np.uint8)
    msei = np.mean((ai.astype(float) - bi.astype(float)) ** 2)
    good("psnr-uint8", "psnr", M("psnr", ai, bi, data_range=255),
         lambda r: abs(r - 10 * np.log10(255 ** 2 / msei)) < 1e-4)
    good("psnr-int64-diff", "psnr", M("psnr", np.array([[0, 10]]), np.array([[10, 0]]),
                                      data_range=10), lambda r: abs(r) < 1e-9)
    good("psnr-batch-mean", "psnr", M("psnr", np.stack([a, a]), np.stack([b, b])),
         lambda r: abs(r - 10 * np.log10(1 / mse)) < 1e-6)
    good("ssim-identical-1", "ssim", M("ssim", a, a), lambda r: abs(r - 1) < 1e-9)
    good("ssim-uint8-equals-float", "ssim",
         lambda: (M("ssim", ai, bi, data_range=255)(),
                  M("ssim", ai / 255.0, bi / 255.0, data_range=1.0)()),
         lambda r: abs(r[0] - r[1]) < 1e-5)
    good("ssim-exact-11", "ssim", M("ssim", a[:11, :11], a[:11, :11]),
         lambda r: abs(r - 1) < 1e-9)
    O = "brain_mask"
    for tag, v in NOT_FLOATS + [("neg", -0.1), ("one", 1.0)]:
        bad(f"{O}-threshold-{tag}", O, M(O, a, v))
    bad(f"{O}-rank1", O, M(O, a[0]))
    bad(f"{O}-empty", O, M(O, np.zeros((0, 4))))
    bad(f"{O}-str", O, M(O, np.array([["a"]])))
    good(f"{O}-int", O, M(O, np.array([[0, 5], [10, 1]])),
         lambda r: np.array_equal(r, [[False, True], [True, False]]))
    O = "gaussian_window"
    for tag, v in NOT_FLOATS + [("zero", 0.0)]:
        bad(f"{O}-sigma-{tag}", O, M(O, v))
    for tag, v in NOT_SIZES[:5]:
        bad(f"{O}-radius-{tag}", O, M(O, 1.5, v if tag != "zero" else -1))


# ============================================================================ models

def model_cases():
    def m(name, *a, **kw):
        return lambda: getattr(__import__("labkit.models", fromlist=["x"]), name)(*a, **kw)
    for name in ("edsr", "wdsr_a", "wdsr_b"):
        for tag, v in [("five", 5), ("one", 1), ("zero", 0), ("bool", True), ("float", 2.0),
                       ("str", "2"), ("none", None), ("eight", 8)]:
            bad(f"{name}-scale-{tag}", name, m(name, v, 1, 4))
        for tag, v in [("neg", -1), ("bool", True), ("float", 2.5), ("str", "2")]:
            bad(f"{name}-n_blocks-{tag}", name, m(name, 2, v, 4))
        for tag, v in NOT_SIZES:
            bad(f"{name}-n_filters-{tag}", name, m(name, 2, 1, v))
            bad(f"{name}-channels-{tag}", name, m(name, 2, 1, 4, channels=v))
        for tag, v in NOT_FLOATS + [("zero", 0.0)]:
            bad(f"{name}-res_scale-{tag}", name, m(name, 2, 1, 4, res_scale=v))
        for tag, v in BAD_SEEDS:
            bad(f"{name}-seed-{tag}", name, m(name, 2, 1, 4, seed=v))
        bad(f"{name}-algorithm", name, m(name, 2, 1, 4, algorithm="fft"))
        bad(f"{name}-init", name, m(name, 2, 1, 4, init="xavier"))
        bad(f"{name}-huge", name, m(name, 2, 1, 10**6))
    for tag, v in NOT_SIZES:
        bad(f"wdsr_a-expansion-{tag}", "wdsr_a", m("wdsr_a", 2, 1, 4, expansion=v))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("big", 1.5), ("neg", -0.5)]:
        bad(f"wdsr_b-low_rank-{tag}", "wdsr_b", m("wdsr_b", 2, 1, 4, low_rank=v))
    good("edsr-param-count", "edsr", lambda: m("edsr", 2, 8, 32)().n_params,
         lambda r: r == 194817)
    good("edsr-zero-blocks", "edsr", lambda: m("edsr", 2, 0, 4)().forward(
        np.zeros((1, 4, 4, 1), np.float32)).shape, lambda r: r == (1, 8, 8, 1))
    good("edsr-x3-shape", "edsr", lambda: m("edsr", 3, 1, 4)().forward(
        np.zeros((1, 3, 5, 1), np.float32)).shape, lambda r: r == (1, 9, 15, 1))
    good("edsr-numpy-int-scale", "edsr", lambda: m("edsr", np.int64(2), 1, 4)().n_params,
         lambda r: r > 0)
    O = "build_sr_model"
    for tag, v in [("unknown", "rcan"), ("none", None), ("upper", "EDSR")]:
        bad(f"{O}-name-{tag}", O, m(O, v, 2))
    bad(f"{O}-scale", O, m(O, "edsr", 5))
    O = "plain_cnn"
    for tag, v in NOT_SIZES[:6]:
        bad(f"{O}-depth-{tag}", O, m(O, v))
    bad(f"{O}-activation", O, m(O, 3, activation="swish"))
    bad(f"{O}-residual-str", O, m(O, 3, residual="yes"))
    O = "srcnn"
    for tag, v in NOT_SIZES[:6]:
        bad(f"{O}-f1-{tag}", O, m(O, f1=v))
    bad(f"{O}-channels0", O, m(O, channels=0))
    O = "upsampler"
    for tag, v in [("five", 5), ("bool", True), ("zero", 0)]:
        bad(f"{O}-scale-{tag}", O, m(O, v, 4))
    bad(f"{O}-filters0", O, m(O, 2, 0))
    O = "torch_default_init"
    bad(f"{O}-not-network", O, m(O, "net"))


# ============================================================================ data

def data_cases():
    def D(name, *a, **kw):
        return lambda: getattr(__import__("labkit.data", fromlist=["x"]), name)(*a, **kw)
    hr = RNG.random((2, 12, 12)).astype(np.float32)
    O = "degrade"
    for tag, v in NOT_SIZES + [("huge", 100)]:
        bad(f"degrade-scale-{tag}", O, D(O, hr, v))
    for meth in ("bicubic", "kspace", "gaussian"):
        bad(f"degrade-{meth}-not-divisible", O, D(O, hr[:, :11], 2, meth))
        bad(f"degrade-{meth}-rank1", O, D(O, hr[0, 0], 2, meth))
        bad(f"degrade-{meth}-rank4", O, D(O, hr[None], 2, meth))
        bad(f"degrade-{meth}-empty", O, D(O, hr[:0], 2, meth))
        bad(f"degrade-{meth}-empty-hw", O, D(O, np.zeros((0, 12)), 2, meth))
        bad(f"degrade-{meth}-nan", O, D(O, np.where(hr > 0.5, np.nan, hr), 2, meth))
        for tag, arr in BAD_ARRAYS:
            bad(f"degrade-{meth}-dtype-{tag}", O, D(O, arr, 2, meth))
        for tag, v in [("neg", -1.0), ("zero", 0.0), ("nan", float("nan")), ("str", "10"),
                       ("bool", True)]:
            bad(f"degrade-{meth}-snr-{tag}", O, D(O, hr, 2, meth, noise_snr=v))
        good(f"degrade-{meth}-int-constant", O, D(O, np.full((12, 12), 3), 2, meth),
             lambda r: r.shape == (6, 6) and r.dtype.kind == "f" and np.allclose(r, 3, atol=1e-4))
        if meth != "gaussian":   # the Gaussian PSF (FWHM 1 pixel) blurs even at scale 1
            good(f"degrade-{meth}-scale1", O, D(O, hr, 1, meth),
                 lambda r: r.shape == hr.shape and np.allclose(r, hr, atol=1e-5))
    for tag, v in [("unknown", "nearest"), ("none", None), ("upper", "Bicubic")]:
        bad(f"degrade-method-{tag}", O, D(O, hr, 2, v))
    for tag, v in BAD_SEEDS[:4]:
        bad(f"degrade-seed-{tag}", O, D(O, hr, 2, noise_snr=10.0, seed=v))
    O = "crop_to_multiple"
    for tag, v in NOT_SIZES[:6]:
        bad(f"{O}-scale-{tag}", O, D(O, hr, v))
    bad(f"{O}-too-small", O, D(O, hr, 20))
    bad(f"{O}-rank1", O, D(O, hr[0, 0], 2))
    good(f"{O}-shape", O, D(O, np.zeros((13, 14)), 3), lambda r: r.shape == (12, 12))
    O = "gaussian_sigma"
    for tag, v in NOT_SIZES[:6]:
        bad(f"{O}-{tag}", O, D(O, v))
    good(f"{O}-formula", O, D(O, 2), lambda r: abs(r - 2 / (2 * math.sqrt(2 * math.log(2)))) < 1e-12)
    O = "add_rician_noise"
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("neg", -5.0)]:
        bad(f"{O}-snr-{tag}", O, D(O, hr, v))
    for tag, v in BAD_SEEDS[:4]:
        bad(f"{O}-seed-{tag}", O, D(O, hr, 10.0, seed=v))
    bad(f"{O}-blank", O, D(O, np.zeros((4, 4)), 10.0))
    bad(f"{O}-rank1", O, D(O, np.ones(4), 10.0))
    O = "lr_hr_pairs"
    bad(f"{O}-scale0", O, D(O, hr, 0))
    bad(f"{O}-degradation", O, D(O, hr, 2, "nearest"))
    good(f"{O}-crop", O, D(O, np.zeros((13, 13)), 2), lambda r: r[0].shape == (6, 6)
         and r[1].shape == (12, 12))
    O = "split_volume"
    vol = RNG.random((4, 4, 60)).astype(np.float32)
    for tag, v in NOT_SIZES[:5]:
        if tag != "zero":                 # guard 0 is allowed
            bad(f"{O}-guard-{tag}", O, D(O, vol, guard=v))
        bad(f"{O}-n_slabs-{tag}", O, D(O, vol, n_slabs=v))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("one", 1.0), ("neg", -0.2)]:
        bad(f"{O}-fraction-{tag}", O, D(O, vol, test_fraction=v))
    for tag, v in BAD_SEEDS:
        bad(f"{O}-seed-{tag}", O, D(O, vol, seed=v))
    for tag, v in [("3", 3), ("neg", -1), ("bool", True), ("str", "z")]:
        bad(f"{O}-axis-{tag}", O, D(O, vol, axis=v))
    bad(f"{O}-rank2", O, D(O, vol[0]))
    bad(f"{O}-nan", O, D(O, np.where(vol > 0.5, np.nan, vol)))
    bad(f"{O}-too-thin", O, D(O, vol[:, :, :8]))
    good(f"{O}-guarded", O, D(O, vol, guard=3),
         lambda r: np.min(np.abs(r["train_z"][:, None] - r["test_z"][None, :])) > 3
         and len(r["train_z"]) + len(r["test_z"]) <= 60)
    O = "bicubic_baseline"
    for tag, v in [("zero", 0), ("bool", True), ("str", "2"), ("float", 2.5)]:
        bad(f"{O}-scale-{tag}", O, D(O, v, split={"test": hr}))
    bad(f"{O}-degradation", O, D(O, 2, "nearest", split={"test": hr}))
    bad(f"{O}-split-no-test", O, D(O, 2, split={"train": hr}))
    bad(f"{O}-split-not-dict", O, D(O, 2, split=hr))
    O = "PatchSampler"
    imgs = RNG.random((2, 16, 16)).astype(np.float32)
    for arg in ("scale", "patch", "batch"):
        for tag, v in NOT_SIZES:
            kw = {"scale": 2, "patch": 8, "batch": 2}
            kw[arg] = v
            bad(f"{O}-{arg}-{tag}", O, lambda kw=kw: D("PatchSampler", imgs, **kw)())
    bad(f"{O}-not-divisible", O, D(O, imgs, 3, 8, 2))
    bad(f"{O}-patch-too-big", O, D(O, imgs, 2, 32, 2))
    bad(f"{O}-rank1", O, D(O, imgs[0, 0], 2, 8, 2))
    bad(f"{O}-rank4", O, D(O, imgs[None], 2, 8, 2))
    bad(f"{O}-empty", O, D(O, imgs[:0], 2, 8, 2))
    bad(f"{O}-nan", O, D(O, np.where(imgs > 0.5, np.nan, imgs), 2, 8, 2))
    bad(f"{O}-str", O, D(O, np.full((1, 16, 16), "a"), 2, 8, 2))
    bad(f"{O}-degradation", O, D(O, imgs, 2, 8, 2, degradation="nearest"))
    for tag, v in BAD_SEEDS:
        bad(f"{O}-seed-{tag}", O, D(O, imgs, 2, 8, 2, seed=v))
    for tag, v in [("str", "yes"), ("none", None)]:
        bad(f"{O}-augment-{tag}", O, D(O, imgs, 2, 8, 2, augment=v))
    for tag, v in NOT_FLOATS + [("neg", -0.1), ("one", 1.0)]:
        bad(f"{O}-min_foreground-{tag}", O, D(O, imgs, 2, 8, 2, min_foreground=v))
    for tag, v in NOT_SIZES[:6]:
        if tag != "zero":   # zero redraws is allowed: take the first draw
            bad(f"{O}-max_redraws-{tag}", O,
                D(O, imgs, 2, 8, 2, min_foreground=0.1, max_redraws=v))
    bad(f"{O}-huge-batch", O, lambda: D(O, imgs, 2, 8, 10**9)().sample())

    def sampler_state():
        s = D(O, imgs, 2, 8, 2)()
        s.load_state_dict({"rng": "nonsense"})
    bad(f"{O}-load-state", O, sampler_state)
    good(f"{O}-int-images", O, lambda: D(O, (imgs * 100).astype(np.int64), 2, 8, 2)().sample(),
         lambda r: r[0].shape == (2, 4, 4, 1) and r[1].shape == (2, 8, 8, 1)
         and r[0].dtype == np.float32)
    good(f"{O}-patch-equals-image", O, lambda: D(O, imgs, 2, 16, 1)().sample()[1],
         lambda r: r.shape == (1, 16, 16, 1))
    for tag, v in [("scalar", 20), ("str", "10 20"), ("reversed", (30, 10)), ("zero", (0, 10)),
                   ("neg", (-5, 10)), ("nan", (float("nan"), 10)), ("inf", (10, float("inf"))),
                   ("three", (1, 2, 3)), ("bool", (True, 10)), ("dict", {"lo": 1, "hi": 2})]:
        bad(f"{O}-noise_snr-{tag}", O, D(O, imgs, 2, 8, 2, noise_snr=v))
        bad(f"{O}-intensity_scale-{tag}", O, D(O, imgs, 2, 8, 2, intensity_scale=v))
    for tag, v in NOT_FLOATS + [("neg", -0.1), ("big", 1.5)]:
        bad(f"{O}-noise_fraction-{tag}", O, D(O, imgs, 2, 8, 2, noise_fraction=v))
        bad(f"{O}-synthetic-{tag}", O, D(O, imgs, 2, 8, 2, synthetic=v))
    good(f"{O}-mix", O, lambda: D(O, imgs, 2, 8, 2, degradation="mix", noise_snr=(10, 20),
                                  intensity_scale=(0.5, 2), synthetic=0.5)().sample()[0],
         lambda r: r.shape == (2, 4, 4, 1) and r.dtype == np.float32 and np.all(np.isfinite(r)))


def own_data_cases():
    """labkit.data.collection and the scoring options of evaluate_network."""
    def D(name, *a, **kw):
        return lambda: getattr(__import__("labkit.data", fromlist=["x"]), name)(*a, **kw)
    O = "normalize_volume"
    vol3 = RNG.random((6, 6, 6)).astype(np.float32)
    for tag, v in [("unknown", "zscore"), ("none", None), ("int", 1)]:
        bad(f"{O}-method-{tag}", O, D(O, vol3, v))
    for tag, v in NOT_FLOATS + [("zero", 0), ("big", 101)]:
        bad(f"{O}-percentile-{tag}", O, D(O, vol3, "percentile", v))
    bad(f"{O}-zeros", O, D(O, np.zeros((4, 4, 4))))
    bad(f"{O}-negative", O, D(O, -vol3))
    bad(f"{O}-empty", O, D(O, np.zeros((0, 4, 4))))
    bad(f"{O}-nan", O, D(O, np.where(vol3 > 0.5, np.nan, vol3)))
    for tag, arr in BAD_ARRAYS:
        bad(f"{O}-{tag}", O, D(O, arr))
    good(f"{O}-int", O, D(O, (vol3 * 100).astype(np.int64) + 1, "max"),
         lambda r: r.dtype == np.float32 and abs(float(r.max()) - 1.0) < 1e-6)
    O = "slice_axis"
    for tag, v in [("two", (1, 1)), ("zero", (1, 0, 1)), ("neg", (1, -1, 1)),
                   ("nan", (1, float("nan"), 1)), ("str", "111"), ("none", None),
                   ("scalar", 1.0), ("text", ("a", 1, 1))]:
        bad(f"{O}-{tag}", O, D(O, v))
    good(f"{O}-thick", O, D(O, (1, 1, 4)), lambda r: r == 2)
    O = "split_files"
    bad(f"{O}-one", O, D(O, ["a.nii"]))
    bad(f"{O}-none", O, D(O, []))
    for tag, v in NOT_FLOATS + [("zero", 0.0), ("one", 1.0)]:
        bad(f"{O}-test_fraction-{tag}", O, D(O, ["a.nii", "b.nii"], v))
    for tag, v in BAD_SEEDS:
        bad(f"{O}-seed-{tag}", O, D(O, ["a.nii", "b.nii"], 0.2, v))
    good(f"{O}-two", O, D(O, ["b.nii", "a.nii"]),
         lambda r: len(r["train"]) == 1 and len(r["test"]) == 1 and r["val"] == [])
    O = "nifti_files"
    bad(f"{O}-missing", O, D(O, "/nonexistent/folder"))
    bad(f"{O}-empty", O, lambda: D("nifti_files", __import__("tempfile").mkdtemp())())
    O = "evaluate_network"

    def ev(**kw):
        def call():
            from labkit.evaluation import evaluate_network
            from labkit.models import edsr
            hr = np.pad(RNG.random((1, 20, 20)).astype(np.float32) + 0.5, ((0, 0), (2, 2), (2, 2)))
            return evaluate_network(edsr(2, 1, 2, seed=0), hr, 2, **kw)
        return call
    for tag, v in [("head", "head"), ("bool", True), ("none-str", "none")]:
        bad(f"{O}-mask-{tag}", O, ev(mask=v))
    for tag, v in NOT_FLOATS[:5] + [("zero", 0), ("neg", -1)]:
        if tag != "none":
            bad(f"{O}-noise_snr-{tag}", O, ev(noise_snr=v))
    good(f"{O}-brain-noisy", O, ev(mask="brain", noise_snr=20),
         lambda r: r["mask"] == "brain" and np.isfinite(r["bicubic"]["psnr"]))
    O = "pad_stack"
    bad(f"{O}-empty", O, D(O, []))
    bad(f"{O}-rank1", O, D(O, [np.ones(3)]))
    bad(f"{O}-rank4", O, D(O, [np.ones((1, 2, 3, 4))]))


# ============================================================================ widgets / viz

def widget_cases():
    def W(name, *a, **kw):
        return lambda: getattr(__import__("labkit.widgets", fromlist=["x"]), name)(*a, **kw)
    imgs = RNG.random((2, 16, 16)).astype(np.float32)
    for fac in ("convolution_explorer", "conv_explorer"):
        O = "convolution_explorer"   # conv_explorer is an alias: messages name the function
        for tag, v in [("unknown", "nope"), ("none", None), ("int", 3)]:
            bad(f"{fac}-kernel-{tag}", O, W(fac, imgs, kernel=v))
        for tag, v in [("zero", 0), ("neg", -1), ("bool", True), ("big", 9), ("str", "1"),
                       ("float", 1.5)]:
            bad(f"{fac}-stride-{tag}", O, W(fac, imgs, stride=v))
        for tag, v in [("full", "full"), ("neg", -1), ("bool", True), ("none", None)]:
            bad(f"{fac}-padding-{tag}", O, W(fac, imgs, padding=v))
        for tag, v in [("zero", 0), ("bool", True)]:
            bad(f"{fac}-max_stride-{tag}", O, W(fac, imgs, max_stride=v))
        bad(f"{fac}-images-rank1", O, W(fac, np.zeros(5)))
        bad(f"{fac}-images-nan", O, W(fac, np.full((8, 8), np.nan)))
        bad(f"{fac}-images-str", O, W(fac, np.full((8, 8), "a")))
        bad(f"{fac}-kernels-bad", O, W(fac, imgs, kernels={"x": np.ones(3)}, kernel="x"))
    O = "im2col_explorer"
    for arg in ("size", "kernel", "stride"):
        for tag, v in [("zero", 0), ("bool", True), ("str", "2"), ("big", 50), ("float", 2.5)]:
            bad(f"{O}-{arg}-{tag}", O, W(O, **{arg: v}))
    for tag, v in [("neg", -1), ("bool", True), ("big", 50)]:
        bad(f"{O}-padding-{tag}", O, W(O, padding=v))
    for tag, v in [("zero", 0), ("bool", True)]:
        bad(f"{O}-max_size-{tag}", O, W(O, max_size=v))
    O = "pooling_explorer"
    for tag, v in [("median", "median"), ("none", None), ("upper", "MAX")]:
        bad(f"{O}-kind-{tag}", O, W(O, imgs, kind=v))
    for arg in ("size", "stride"):
        for tag, v in [("zero", 0), ("bool", True), ("big", 50), ("str", "2")]:
            bad(f"{O}-{arg}-{tag}", O, W(O, imgs, **{arg: v}))
    for tag, v in [("neg", -1), ("big", 50), ("bool", True)]:
        bad(f"{O}-padding-{tag}", O, W(O, imgs, padding=v))
    bad(f"{O}-images-rank4", O, W(O, np.zeros((1, 1, 8, 8))))
    O = "degradation_explorer"
    for tag, v in [("unknown", "nearest"), ("none", None)]:
        bad(f"{O}-method-{tag}", O, W(O, imgs, method=v))
    for tag, v in [("zero", 0), ("bool", True), ("big", 50), ("str", "2")]:
        bad(f"{O}-scale-{tag}", O, W(O, imgs, scale=v))
    for tag, v in [("neg", -1.0), ("nan", float("nan")), ("str", "a"), ("big", 1e9)]:
        bad(f"{O}-noise-{tag}", O, W(O, imgs, noise=v))
    for tag, v in BAD_SEEDS[:4]:
        bad(f"{O}-seed-{tag}", O, W(O, imgs, seed=v))
    bad(f"{O}-images-rank1", O, W(O, np.zeros(5)))
    bad(f"{O}-zoom-bad", O, W(O, imgs, zoom="abc"))
    O = "volume_viewer"
    vol = RNG.random((6, 7, 8)).astype(np.float32)
    for tag, v in [("three", 3), ("neg", -1), ("bool", True), ("str", "z"), ("float", 1.0)]:
        bad(f"{O}-axis-{tag}", O, W(O, vol, axis=v))
    for tag, v in [("big", 100), ("neg", -1), ("bool", True), ("float", 1.5)]:
        bad(f"{O}-index-{tag}", O, W(O, vol, index=v))
    bad(f"{O}-rank2", O, W(O, vol[0]))
    bad(f"{O}-voxel-size", O, W(O, vol, voxel_size=(1, 1)))
    bad(f"{O}-voxel-neg", O, W(O, vol, voxel_size=(1, -1, 1)))
    bad(f"{O}-str", O, W(O, np.full((2, 2, 2), "a")))
    O = "sr_viewer"
    hr = RNG.random((2, 16, 16)).astype(np.float32)
    bad(f"{O}-outputs-empty", O, W(O, hr, {}))
    bad(f"{O}-outputs-shape", O, W(O, hr, {"a": hr[:, :8]}))
    bad(f"{O}-outputs-not-dict", O, W(O, hr, [hr]))
    for tag, v in [("zero", 0), ("bool", True), ("float", 4.5), ("str", "4")]:
        bad(f"{O}-zoom_size-{tag}", O, W(O, hr, {"a": hr}, zoom_size=v))
    for tag, v in [("zero", 0), ("bool", True), ("str", "2")]:
        bad(f"{O}-scale-{tag}", O, W(O, hr, {"a": hr}, scale=v))
    bad(f"{O}-hr-rank1", O, W(O, np.zeros(5), {"a": np.zeros(5)}))
    O = "Explorer"
    bad(f"{O}-columns", O, W(O, "t", {}, lambda v: None, columns=0))


def viz_cases():
    def V(name, *a, **kw):
        return lambda: getattr(__import__("labkit.viz", fromlist=["x"]), name)(*a, **kw)
    img = RNG.random((8, 8)).astype(np.float32)
    O = "pooling_figure"
    for tag, v in [("median", "median"), ("none", None)]:
        bad(f"{O}-kind-{tag}", O, V(O, img, kind=v))
    for tag, v in [("zero", 0), ("bool", True), ("big", 20)]:
        bad(f"{O}-size-{tag}", O, V(O, img, size=v))
    bad(f"{O}-rank1", O, V(O, img[0]))
    O = "kspace_figure"
    for tag, v in [("zero", 0), ("bool", True), ("float", 1.5)]:
        bad(f"{O}-scale-{tag}", O, V(O, img, scale=v))
    bad(f"{O}-rank1", O, V(O, img[0]))
    O = "slice_figure"
    vol = RNG.random((4, 5, 6))
    for tag, v in [("three", 3), ("bool", True), ("str", "z")]:
        bad(f"{O}-axis-{tag}", O, V(O, vol, axis=v))
    bad(f"{O}-index", O, V(O, vol, index=100))
    O = "slice_image"
    bad(f"{O}-axis", O, V(O, vol, 3, 0))
    bad(f"{O}-index", O, V(O, vol, 0, 4))
    bad(f"{O}-index-bool", O, V(O, vol, 0, True))
    bad(f"{O}-rank2", O, V(O, vol[0], 0, 0))
    O = "conv_figure"
    bad(f"{O}-kernel-rank1", O, V(O, img, np.ones(3)))
    bad(f"{O}-stride0", O, V(O, img, np.ones((3, 3)), stride=0))
    bad(f"{O}-padding", O, V(O, img, np.ones((3, 3)), padding="full"))
    O = "im2col_figure"
    bad(f"{O}-kernel-larger", O, V(O, img[:2, :2], kernel=3))
    bad(f"{O}-stride0", O, V(O, img, stride=0))
    O = "winograd_tiles_figure"
    bad(f"{O}-variant", O, V(O, img, np.ones((3, 3)), variant="f6x3"))
    O = "winograd_transform_figure"
    bad(f"{O}-variant", O, V(O, np.ones(4), np.ones(3), variant="f6x3"))
    O = "pixel_shuffle_figure"
    bad(f"{O}-scale0", O, V(O, scale=0))
    bad(f"{O}-order", O, V(O, order="nchw"))
    O = "pixel_shuffle_sources"
    bad(f"{O}-scale-bool", O, V(O, scale=True))
    bad(f"{O}-channels0", O, V(O, channels=0))
    O = "sr_comparison"
    bad(f"{O}-shape", O, V(O, img, {"a": img[:4]}))
    O = "figure_to_png"
    bad(f"{O}-not-figure", O, V(O, "fig"))
    bad(f"{O}-dpi0", O, V(O, None, dpi=0))


def cases() -> list:
    if not _cases:
        for build in (conv_layer_cases, dense_cases, batchnorm_cases, pool_cases,
                      shuffle_cases, activation_cases, conv_op_cases, geometry_cases,
                      pool_op_cases, shuffle_op_cases, activation_op_cases,
                      batchnorm_op_cases, resize_cases, kspace_cases, icnr_filters_cases,
                      distortion_cases, misc_op_cases, loss_cases, optimizer_cases,
                      metric_cases, model_cases, data_cases, own_data_cases, widget_cases,
                      viz_cases):
            build()
        ids = [c.id for c in _cases]
        dup = {i for i in ids if ids.count(i) > 1}
        assert not dup, f"duplicate case ids: {sorted(dup)}"
    return list(_cases)
