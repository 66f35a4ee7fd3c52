"""Direct convolution: the defining sum compiled, for convolutions with few channels on one side.

.. math::

    y[n, i, j, f] = b[f] + \\sum_{u=0}^{k_h-1} \\sum_{v=0}^{k_w-1} \\sum_{c}
                    x[n, i + u - p_t, j + v - p_l, c] \\; w[u, v, c, f]

(stride 1, zeros outside ``x``).  An SR network starts with a ``1 -> F`` convolution of a grey
slice and ends with an ``F -> 1`` one.  As GEMMs these have one dimension of size 1: im2col
builds a column matrix ``k_h k_w C_in`` wide for it and Winograd transforms 36 values per tile
and channel to multiply them by one number, so both move many times more data than they compute
with.  Written out as the sum above, each input pixel is read in place and the long channel
axis is the innermost, vectorised loop; the short one is a scalar loop.  With few *output*
channels the forward is instead one GEMM and a shift-add: ``t[p, (u, v, f)] = x[p] . w[u, v,
:, f]`` for every input pixel ``p`` (``k_h k_w C_out`` columns, through BLAS), then
``y[i, j, f] = b[f] + sum_{u, v} t[i + u - p_t, j + v - p_l, (u, v, f)]``.

Backward, with the same kernels:

* ``dx`` is the convolution of ``dy`` with the flipped, channel-swapped kernel
  ``w'[u, v, f, c] = w[k_h-1-u, k_w-1-v, c, f]`` and padding ``(k_h-1-p_t, k_w-1-p_l)``;
* ``dw[u, v, c, f] = sum_{n, i, j} x[n, i + u - p_t, j + v - p_l, c] dy[n, i, j, f]``;
* ``db = sum dy``.

``backend="numba"`` (default) runs the kernels of :mod:`labkit.ops._numba_kernels` on labkit's
worker threads, one range of output rows per task; ``backend="numpy"`` is the naive reference
of :mod:`labkit.ops.conv_naive` (the same sum, tap by tap through BLAS).  The tests compare the
two.  Partial weight gradients are summed in a fixed order, so the result does not depend on
timing.
"""

from __future__ import annotations

import numpy as np

from labkit._validate import as_pair, check_array, check_choice
from labkit.ops.conv_naive import conv2d_naive_backward, conv2d_naive_forward
from labkit.ops.geometry import Pads, check_conv_args, check_pads
from labkit.ops.winograd import GEMM_SINGLE_THREAD_MNK

BACKENDS = ("numba", "numpy")

#: Work of one task handed to a worker thread, in multiply-adds (small enough to balance two
#: threads on the head and tail of a course network, large enough to hide the hand-off).
TASK_MULTIPLY_ADDS = 1 << 18


def check_direct_args(x, w, stride, pads, owner: str) -> tuple[int, int]:
    """Shapes as for every convolution, plus the direct algorithm's limit: stride 1."""
    stride = as_pair(stride, "stride", owner, min=1)
    if stride != (1, 1):
        raise ValueError(f"{owner}: the direct algorithm needs stride 1, got stride {stride} "
                         f"(use algorithm='im2col' for strided convolutions)")
    return check_conv_args(x, w, stride, pads, owner)


def _rows_per_task(wo: int, w_shape) -> int:
    kh, kw, ci, co = w_shape
    return max(1, TASK_MULTIPLY_ADDS // max(1, wo * kh * kw * ci * co))


def _products(x2, wm, t2, lo, hi):
    """``t2[lo:hi] = x2[lo:hi] @ wm`` in slices small enough for OpenBLAS to stay on the
    calling thread (see :data:`labkit.ops.winograd.GEMM_SINGLE_THREAD_MNK`)."""
    step = max(1, GEMM_SINGLE_THREAD_MNK // max(1, x2.shape[1] * wm.shape[1]))
    for a in range(lo, hi, step):
        b = min(hi, a + step)
        np.matmul(x2[a:b], wm, out=t2[a:b])


def _correlate_numba(x, w, b, pt, pl, out_hw):
    """``y = b + sum_{u,v,c} x[., i + u - pt, j + v - pl, c] w[u, v, c, :]``, output ``out_hw``;
    ``pt``/``pl`` may be negative (the input gradient's offsets)."""
    from labkit.ops import _numba_kernels as nk
    from labkit.ops.workers import run_ranges
    n, h, wd, _ = x.shape
    kh, kw, ci, co = w.shape
    y = np.empty((n, out_hw[0], out_hw[1], co), dtype=x.dtype)
    bias = np.zeros(co, x.dtype) if b is None else np.ascontiguousarray(b, x.dtype)
    grain = _rows_per_task(out_hw[1], w.shape)
    if co >= ci:
        run_ranges(nk.direct_forward_bcast, n * out_hw[0], x, np.ascontiguousarray(w), bias,
                   pt, pl, y, grain=grain)
        return y
    # few outputs: t[p, (u, v, f)] = x[p] . w[u, v, :, f] for every input pixel p, then shift-add
    wm = np.ascontiguousarray(w.transpose(2, 0, 1, 3).reshape(ci, kh * kw * co))
    t = np.empty((n, h, wd, kh * kw * co), dtype=x.dtype)
    run_ranges(_products, n * h * wd, x.reshape(-1, ci), wm, t.reshape(-1, kh * kw * co),
               grain=max(1, TASK_MULTIPLY_ADDS // (ci * kh * kw * co)))
    run_ranges(nk.direct_shift_add, n * out_hw[0], t.reshape(n, h, -1), bias, kh, kw, pt, pl,
               y.reshape(n, out_hw[0], -1),
               grain=max(1, TASK_MULTIPLY_ADDS // max(1, out_hw[1] * kh * kw * co)))
    return y


def _weight_gradient_numba(x, dy, pt, pl, w_shape):
    """``dw`` ``(kh, kw, C_in, C_out)``: one partial sum per worker over a fixed range of
    output rows, added in order."""
    from labkit.ops import _numba_kernels as nk
    from labkit.ops.workers import num_threads, run_parts
    kh, kw, ci, co = w_shape
    rows = dy.shape[0] * dy.shape[1]
    n_parts = max(1, min(num_threads(), rows // _rows_per_task(dy.shape[2], w_shape)))
    bounds = np.linspace(0, rows, n_parts + 1).astype(np.int64)
    parts = [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
    bcast = co >= ci

    def run(part):
        if bcast:
            acc = np.zeros((kh, kw, ci, co), dtype=x.dtype)
            nk.direct_weight_grad_bcast(x, dy, pt, pl, acc, part[0], part[1])
        else:
            acc = np.zeros((kh, kw, co, ci), dtype=x.dtype)
            nk.direct_weight_grad_dot(x, dy, pt, pl, acc, part[0], part[1])
        return acc

    partial = run_parts(run, parts)
    dw = partial[0]
    for p in partial[1:]:
        dw += p
    return dw if bcast else np.ascontiguousarray(dw.transpose(0, 1, 3, 2))


def conv2d_direct_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0)),
                          backend: str = "numba"):
    """Direct convolution forward (same signature as the other algorithms).

    Parameters
    ----------
    x : ndarray (N, H, W, C_in)
    w : ndarray (kh, kw, C_in, C_out), any kernel size
    b : ndarray (C_out,) or None
    stride : (1, 1); anything else raises ``ValueError``
    pads : ((top, bottom), (left, right))
    backend : "numba" (compiled sum) or "numpy" (the naive reference)

    Returns ``y`` ``(N, Ho, Wo, C_out)`` and the cache for :func:`conv2d_direct_backward`.
    """
    owner = "conv2d_direct_forward"
    check_choice(backend, "backend", owner, BACKENDS)
    x = check_array(x, owner, name="input")
    w = check_array(w, owner, name="weights")
    ho, wo = check_direct_args(x, w, stride, pads, owner)
    pads = check_pads(pads, owner)
    if backend == "numpy":
        y, _ = conv2d_naive_forward(x, w, b, (1, 1), pads)
    else:
        dtype = np.result_type(x, w)
        x = np.ascontiguousarray(x, dtype=dtype)
        y = _correlate_numba(x, w.astype(dtype, copy=False), b, pads[0][0], pads[1][0],
                             (ho, wo))
    return y, (x, w, b is not None, pads, backend)


def conv2d_direct_backward(dy, cache):
    """Gradients of :func:`conv2d_direct_forward`: ``(dx, dw, db)`` (``db`` None without bias),
    by the three sums in the module docstring."""
    x, w, has_bias, pads, backend = cache
    n, h, wd, _ = x.shape
    kh, kw, _, co = w.shape
    if getattr(dy, "ndim", None) != 4 or dy.shape[0] != n or dy.shape[3] != co:
        raise ValueError(f"conv2d_direct_backward: dy of shape {np.shape(dy)} does not match "
                         f"input {x.shape} and weights {w.shape}")
    if backend == "numpy":
        return conv2d_naive_backward(dy, (x, w, has_bias, (1, 1), pads))
    dtype = x.dtype
    dy = np.ascontiguousarray(dy, dtype=dtype)
    pt, pl = pads[0][0], pads[1][0]
    w_flip = w[::-1, ::-1].transpose(0, 1, 3, 2).astype(dtype)
    dx = _correlate_numba(dy, w_flip, None, kh - 1 - pt, kw - 1 - pl, (h, wd))
    dw = _weight_gradient_numba(x, dy, pt, pl, w.shape)
    db = np.einsum("ij->j", dy.reshape(-1, co)) if has_bias else None
    return dx, dw, db
