"""Every labkit convolution algorithm against ``torch.nn.functional.conv2d`` in float64:
forward output and the gradients of input, weights and bias, including strides, asymmetric
padding and non-square kernels.  Tolerance 1e-10 relative."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is only a test reference: "
                                             "pip install torch==2.13.0")
F = torch.nn.functional

from labkit.ops.conv import conv2d_backward, conv2d_forward, resolve_padding
from labkit.ops.winograd import (
    conv2d_winograd_backward,
    conv2d_winograd_forward,
)

TOL = 1e-10


def close(a, ref):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else ref
    assert a.shape == ref.shape, (a.shape, ref.shape)
    assert np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-300) < TOL


def torch_conv(x, w, b, stride, pads):
    """NHWC numpy in, NHWC numpy out; gradients for ``dy`` (NHWC) of x, w, b."""
    (pt, pb), (pl, pr) = pads
    xt = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(w.transpose(3, 2, 0, 1)), requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride=stride)

    def grads(dy):
        y.backward(torch.tensor(np.ascontiguousarray(dy.transpose(0, 3, 1, 2))))
        return (xt.grad.numpy().transpose(0, 2, 3, 1), wt.grad.numpy().transpose(2, 3, 1, 0),
                bt.grad.numpy())

    return y.detach().numpy().transpose(0, 2, 3, 1), grads


CASES = [
    # (x shape, kernel, stride, padding, C_out)
    ((2, 12, 12, 3), (3, 3), (1, 1), "same", 4),
    ((2, 13, 9, 3), (3, 3), (1, 1), "same", 5),          # odd sizes
    ((1, 10, 11, 2), (3, 3), (1, 1), ((2, 0), (1, 3)), 3),  # asymmetric padding
    ((1, 9, 9, 2), (3, 3), (1, 1), "valid", 2),
    ((2, 11, 10, 3), (3, 3), (2, 2), "same", 4),          # stride 2
    ((1, 12, 9, 2), (2, 5), (1, 2), "same", 3),           # non-square kernel, mixed stride
    ((2, 8, 8, 4), (1, 1), (1, 1), "valid", 6),           # pointwise
    ((1, 9, 7, 2), (4, 3), (3, 1), 1, 2),
]


def variants(kernel, stride):
    yield "naive", lambda *a: conv2d_forward(*a, "naive"), conv2d_backward
    yield "im2col", lambda *a: conv2d_forward(*a, "im2col"), conv2d_backward
    if stride == (1, 1):
        yield "direct", lambda *a: conv2d_forward(*a, "direct"), conv2d_backward
    if kernel == (3, 3) and stride == (1, 1):
        for v in ("f2x3", "f4x3"):
            for be in ("numba", "numpy"):
                yield (f"winograd-{v}-{be}",
                       lambda *a, v=v, be=be: conv2d_winograd_forward(*a, variant=v, backend=be),
                       conv2d_winograd_backward)


@pytest.mark.parametrize("x_shape,kernel,stride,padding,c_out", CASES)
def test_conv_matches_torch(x_shape, kernel, stride, padding, c_out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((*kernel, x_shape[3], c_out))
    b = rng.standard_normal(c_out)
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):
        pads = padding
    else:
        pads = resolve_padding(padding, kernel, stride, x_shape[1:3])
    y_ref, grads = torch_conv(x, w, b, stride, pads)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref, dw_ref, db_ref = grads(dy)
    for name, fwd, bwd in variants(kernel, stride):
        y, cache = fwd(x, w, b, stride, pads)
        close(y, y_ref)
        dx, dw, db = bwd(dy, cache)
        close(dx, dx_ref)
        close(dw, dw_ref)
        close(db, db_ref)
