"""Winograd minimal filtering for 3x3 stride-1 convolution (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", CVPR 2016).

The 1-D idea (the thesis's ``F(2, 3)``): two outputs of a 3-tap filter over four inputs
``d0..d3`` need 6 multiplications done directly, but only 4 this way::

    m1 = (d0 - d2) g0              m2 = (d1 + d2) (g0 + g1 + g2) / 2
    m4 = (d1 - d3) g2              m3 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m1 + m2 + m3              y1 = m2 - m3 - m4

The filter factors ``(g0 ± g1 + g2) / 2`` are computed once per filter, so they are free.  The
data side costs 4 additions (``d0 - d2``, ``d1 + d2``, ``d2 - d1``, ``d1 - d3``) and the output
side 4 (2 in ``y0``, 2 in ``y1``): 8 where the direct method needs 4 (see
:func:`transform_additions`).  In matrix form ``y = A^T [(G g) ⊙ (B^T d)]``.  Nesting the 1-D algorithm with itself gives the 2-D
``F(m x m, 3 x 3)``: an output tile ``Y`` (``m x m``) from an input tile ``d``
(``a x a``, ``a = m + 2``) and a 3x3 filter ``g``:

.. math::

    Y = A^T \\left[ (G g G^T) \\odot (B^T d B) \\right] A

``F(2x2, 3x3)`` (points 0, 1, -1, ∞) spends 16 multiplications on 4 outputs instead of 36
(2.25x fewer); ``F(4x4, 3x3)`` (points 0, ±1, ±2, ∞) spends 36 on 16 outputs instead of 144 (4x
fewer).  The matrices, as in Lavin & Gray (:func:`winograd_matrices` builds them from the points)::

    F(2x2, 3x3)                          F(4x4, 3x3)
    B^T = [1  0 -1  0]                   B^T = [4  0 -5  0  1  0]
          [0  1  1  0]                         [0 -4 -4  1  1  0]
          [0 -1  1  0]                         [0  4 -4 -1  1  0]
          [0  1  0 -1]                         [0 -2 -1  2  1  0]
                                               [0  2 -1 -2  1  0]
    G   = [ 1    0    0 ]                      [0  4  0 -5  0  1]
          [1/2  1/2  1/2]
          [1/2 -1/2  1/2]                G   = [ 1/4     0     0 ]
          [ 0    0    1 ]                      [-1/6  -1/6  -1/6 ]
                                               [-1/6   1/6  -1/6 ]
    A^T = [1  1  1  0]                         [1/24  1/12   1/6 ]
          [0  1 -1 -1]                         [1/24 -1/12   1/6 ]
                                               [ 0     0     1   ]

                                         A^T = [1  1  1  1  1  0]
                                               [0  1 -1  2 -2  0]
                                               [0  1  1  4  4  0]
                                               [0  1 -1  8 -8  1]

A convolution layer sums over input channels ``c``, and the sum commutes with ``A^T .. A``, so
for each of the ``a * a`` Winograd coordinates ``(i, j)`` the element-wise products summed over
channels are one matrix product over all tiles:

.. math::

    M_{ij} = V_{ij} \\, U_{ij}, \\qquad V_{ij} \\in \\mathbb{R}^{T \\times C_{in}},\\;
    U_{ij} \\in \\mathbb{R}^{C_{in} \\times C_{out}}

(``T`` = number of tiles).  The forward pass is therefore: input transform (``V = B^T d B``
for every tile), ``a * a`` batched GEMMs through BLAS, output transform (``A^T M A``, bias
added, written to NHWC).  Tiles of ``m x m`` outputs cover odd sizes: the last row/column of
tiles reads zeros past the border and its extra outputs are dropped.

Backward: the input gradient is the convolution of ``dy`` with the kernel flipped in space and
with input/output channels swapped (``w[::-1, ::-1].transpose(0, 1, 3, 2)``), which is again a
3x3 stride-1 convolution, so it runs through the same Winograd code.  The weight gradient is a
GEMM in the Winograd domain: with ``dM = A dY A^T`` per output tile,
``dU_{ij} = V_{ij}^T dM_{ij}`` (summed over tiles) and ``dw = G^T dU G``: the same ``a * a``
GEMMs as the forward (for F(4x4) 4x fewer multiplications than im2col's ``cols^T dY``).  ``V`` is
recomputed chunk by chunk rather than kept from the forward pass (cheaper than writing all of
it to memory and reading it back, and it keeps the layer's cache to ``x``).

Accuracy.  In float64 both variants match the direct sum to ~1e-15 (relative).  In float32
the transforms amplify rounding error, F(4x4) much more than F(2x2) because its matrices have
larger entries (5 in ``B^T``, 8 in ``A^T``, 1/24 in ``G``).  Measured against float64 ``naive``
on EDSR-like data (N=4, 48x48, 64 -> 64 channels, He-normal weights, unit-variance input and
output gradient, bias 0.1 N(0, 1)), as ``max|e| / max|ref|`` and ``mean|e| / mean|ref|``:

==============  ==================  ==================  ==================
float32         y (max / mean)      dx (max / mean)     dw (max / mean)
==============  ==================  ==================  ==================
naive           2.1e-7 / 1.6e-7     2.2e-7 / 1.6e-7     3.4e-7 / 3.8e-7
im2col          5.3e-7 / 2.8e-7     2.2e-7 / 1.6e-7     3.4e-7 / 3.8e-7
F(2x2, 3x3)     3.4e-7 / 2.6e-7     3.7e-7 / 2.6e-7     2.8e-7 / 2.9e-7
F(4x4, 3x3)     8.4e-6 / 1.3e-6     8.5e-6 / 1.3e-6     3.1e-6 / 1.5e-6
==============  ==================  ==================  ==================

F(2x2) is as accurate as the direct sum; F(4x4) loses about 5 bits (max error ~30x larger),
still far below what training with float32 weights notices.
"""

from __future__ import annotations

import itertools
import threading
from fractions import Fraction

import numpy as np

from labkit._validate import check_array, check_choice, check_int
from labkit.ops.geometry import Pads, check_conv_args
from labkit.ops.workers import num_threads, run_parts, run_shared

# ----------------------------------------------------------------------------- matrices

F2_BT = np.array([[1, 0, -1, 0],
                  [0, 1, 1, 0],
                  [0, -1, 1, 0],
                  [0, 1, 0, -1]], dtype=np.float64)
F2_G = np.array([[1, 0, 0],
                 [1 / 2, 1 / 2, 1 / 2],
                 [1 / 2, -1 / 2, 1 / 2],
                 [0, 0, 1]], dtype=np.float64)
F2_AT = np.array([[1, 1, 1, 0],
                  [0, 1, -1, -1]], dtype=np.float64)

F4_BT = np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=np.float64)
F4_G = np.array([[1 / 4, 0, 0],
                 [-1 / 6, -1 / 6, -1 / 6],
                 [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6],
                 [1 / 24, -1 / 12, 1 / 6],
                 [0, 0, 1]], dtype=np.float64)
F4_AT = np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=np.float64)

#: ``variant -> (m, B^T, G, A^T)``: output tile size and the three transform matrices.
VARIANTS = {
    "f2x3": (2, F2_BT, F2_G, F2_AT),
    "f4x3": (4, F4_BT, F4_G, F4_AT),
}
BACKENDS = ("numba", "numpy")


def winograd_f2_3(d, g):
    """The 1-D ``F(2, 3)``: two outputs of the 3-tap correlation with 4 multiplications.

    Parameters
    ----------
    d : array_like, shape (4,)
        Input samples ``d0..d3``.
    g : array_like, shape (3,)
        Filter taps ``g0..g2``.

    Returns
    -------
    ndarray, shape (2,)
        ``[d0 g0 + d1 g1 + d2 g2,  d1 g0 + d2 g1 + d3 g2]``, computed as
        ``[m1 + m2 + m3, m2 - m3 - m4]`` (see the module docstring).
    """
    d = np.asarray(d, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if d.shape != (4,) or g.shape != (3,):
        raise ValueError(f"winograd_f2_3: expected d of shape (4,) and g of shape (3,), "
                         f"got {d.shape} and {g.shape}")
    d0, d1, d2, d3 = d
    g0, g1, g2 = g
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * ((g0 + g1 + g2) / 2)
    m3 = (d2 - d1) * ((g0 - g1 + g2) / 2)
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


def winograd_matrices(m: int, r: int, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transform matrices ``(A^T, G, B^T)`` of ``F(m, r)`` built from interpolation points.

    The Cook-Toom construction that Lavin & Gray (2016) use (Lavin's *wincnn* script does the
    same).  The linear convolution ``s = g * h`` of an ``r``-tap ``g`` with an ``m``-tap ``h``
    is a polynomial product of degree ``n - 1``, ``n = m + r - 1``: it is fixed by its values at
    ``n - 1`` finite points ``a_j`` and its leading coefficient (the "point at infinity").  So
    ``s = V^{-1} [(E_r g) * (E_m h)]``, where ``E_k`` evaluates a ``k``-coefficient polynomial
    at the points (rows ``[1, a_j, ..., a_j^(k-1)]`` and ``[0, ..., 0, 1]`` for infinity) and
    ``V = E_n``.  Correlation is the transpose of convolution, which gives
    ``y = E_m^T [(E_r g) * (V^{-T} d)]``:

    * ``A^T = E_m^T`` (``m x n``): column ``j`` is ``[1, a_j, ..., a_j^(m-1)]``, the last
      column ``[0, ..., 0, 1]``;
    * ``B^T = V^{-T}`` (``n x n``): by Lagrange interpolation, row ``j`` holds the coefficients
      of ``N_j(x) / f_j`` with ``N_j(x) = prod_{l != j} (x - a_l)`` and
      ``f_j = N_j(a_j)``, the last row those of ``M(x) = prod_l (x - a_l)``;
    * ``G = E_r`` (``n x r``).

    Finally each ``1 / f_j`` is moved from row ``j`` of ``B^T`` into row ``j`` of ``G``: the
    product ``(G g) * (B^T d)`` is unchanged, ``B^T`` has integer entries for integer points, and
    the fractions sit in ``G``, which is applied once per filter.  (Any other split of a
    diagonal scaling between the rows of ``B^T``, the rows of ``G`` and the columns of ``A^T``
    is equally valid; ``F2_*`` above differ from this function's F(2, 3) by such signs.)

    Parameters
    ----------
    m : int
        Outputs per tile (>= 1).
    r : int
        Filter taps (>= 1).
    points : sequence of ``m + r - 2`` distinct finite numbers
        The interpolation points; infinity is always used as the last one.  Computed exactly
        with :class:`fractions.Fraction` (ints, Fractions and floats are taken as the exact
        rationals they are; pass ``Fraction(1, 2)`` or ``0.5`` for a half).

    Returns
    -------
    AT : ndarray (m, n), G : ndarray (n, r), BT : ndarray (n, n)
        float64; ``A^T [(G g) * (B^T d)]`` is the valid correlation of ``d`` (``n`` samples)
        with ``g`` (``r`` taps), and ``A^T [(G g G^T) * (B^T d B)] A`` its 2-D version
        ``F(m x m, r x r)``.

    Examples
    --------
    >>> AT, G, BT = winograd_matrices(4, 3, [0, 1, -1, 2, -2])
    >>> bool(np.array_equal(AT, F4_AT) and np.allclose(G, F4_G) and np.array_equal(BT, F4_BT))
    True
    """
    owner = "winograd_matrices"
    m = check_int(m, "m", owner, min=1)
    r = check_int(r, "r", owner, min=1)
    n = m + r - 1
    try:
        pts = [Fraction(p) for p in points]
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{owner}: points must be finite numbers, got {points!r}") from exc
    if len(pts) != n - 1:
        raise ValueError(f"{owner}: F({m}, {r}) needs m + r - 2 = {n - 1} finite points "
                         f"(infinity is added), got {len(pts)}: {list(points)!r}")
    if len(set(pts)) != len(pts):
        raise ValueError(f"{owner}: the points must be distinct, got {list(points)!r}")

    def poly_from_roots(roots):                      # coefficients, lowest power first
        c = [Fraction(1)]
        for a in roots:
            c = [(c[k - 1] if k else 0) - a * (c[k] if k < len(c) else 0)
                 for k in range(len(c) + 1)]
        return c

    at = [[a ** i for a in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    g, bt = [], []
    for j, a in enumerate(pts):
        others = pts[:j] + pts[j + 1:]
        f = Fraction(1)
        for b in others:
            f *= a - b
        g.append([a ** k / f for k in range(r)])
        bt.append(poly_from_roots(others) + [Fraction(0)])   # degree n - 2, padded to n
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    bt.append(poly_from_roots(pts))                          # M(x), degree n - 1
    return tuple(np.array([[float(v) for v in row] for row in rows]) for rows in (at, g, bt))


def transform_additions(variant: str) -> dict:
    """Additions in the data and output transforms of ``F(m, 3)`` and ``F(m x m, 3 x 3)``.

    Counted as the matrices are written, one row at a time: a row with ``k`` non-zero entries
    costs ``k - 1`` additions (no sums shared between rows).  In 2-D a transform ``L X L^T``
    of an ``a x a`` (or ``a x m``) tile applies ``L`` to every column, then to every row of the
    result.  For ``F(2, 3)`` (entries 0 and ±1 only) these are all the operations; the
    entries 2, 4, 5, 8 of ``F(4, 3)`` also cost a multiplication by a constant each (or a
    shift), not counted here.  The filter transform (applied once per filter) is left out.

    Returns
    -------
    dict
        ``data_1d``, ``output_1d`` (additions per 1-D tile), ``data_2d``, ``output_2d`` (per
        2-D tile), and for reference ``direct_1d`` / ``direct_2d``, the additions of the
        direct method for the same outputs (``m (r - 1)`` and ``m^2 (r^2 - 1)``).
    """
    m, BT, _, AT = _variant(variant, "transform_additions")
    a = m + 2

    def adds(L):
        return int(sum(max(np.count_nonzero(row) - 1, 0) for row in L))

    return {"data_1d": adds(BT), "output_1d": adds(AT),
            "data_2d": 2 * a * adds(BT),              # B^T on a columns, then on a rows
            "output_2d": (a + m) * adds(AT),          # A^T on a columns, then on m rows
            "direct_1d": m * 2, "direct_2d": m * m * 8}


def multiplication_counts(variant: str) -> dict:
    """Multiplications per output pixel and channel pair: direct 9 vs ``a^2 / m^2``."""
    m = _variant(variant, "multiplication_counts")[0]
    a = m + 2
    return {"direct": 9.0, "winograd": a * a / (m * m), "saving": 9.0 * m * m / (a * a)}


# ----------------------------------------------------------------------------- checks

def _variant(variant: str, owner: str):
    if variant not in VARIANTS:
        raise ValueError(f"{owner}: unknown Winograd variant {variant!r}; "
                         f"choose one of {sorted(VARIANTS)}")
    return VARIANTS[variant]


def _check_backend(backend: str, owner: str) -> None:
    check_choice(backend, "backend", owner, BACKENDS)


def check_winograd_args(x, w, stride, pads: Pads, owner: str = "conv2d_winograd_forward"):
    """Raise ``ValueError`` unless ``w`` is 3x3 and the stride is 1; return ``(Ho, Wo)``."""
    if np.ndim(w) == 4 and (tuple(w.shape[:2]) != (3, 3) or tuple(stride) != (1, 1)):
        raise ValueError(f"{owner}: Winograd F(m x m, 3 x 3) needs a 3x3 kernel with stride 1; "
                         f"got weights of shape {tuple(w.shape)} (kernel "
                         f"{w.shape[0]}x{w.shape[1]}) and stride {tuple(stride)} for input "
                         f"{tuple(np.shape(x))}; use algorithm='im2col' instead")
    return check_conv_args(x, w, stride, pads, owner)


# ----------------------------------------------------------------------------- transforms

def filter_transform(w: np.ndarray, G: np.ndarray, dtype=None,
                     backend: str = "numpy") -> np.ndarray:
    """``U = G g G^T`` for every ``(c_in, c_out)`` pair: ``(a * a, C_in, C_out)``.

    Summed in float64 and rounded once to ``dtype`` (default ``w.dtype``).
    """
    a = G.shape[0]
    c_in, c_out = w.shape[2], w.shape[3]
    if backend == "numba":
        from labkit.ops._numba_kernels import winograd_filter_transform
        out = np.empty((a * a, c_in, c_out), dtype=dtype or w.dtype)
        winograd_filter_transform(np.ascontiguousarray(w), G, G, out)
        return out
    rows = G @ w.astype(np.float64, copy=False).reshape(3, -1)     # (a, 3 * C_in * C_out)
    u = np.matmul(G, rows.reshape(a, 3, -1))                       # (a, a, C_in * C_out)
    return u.reshape(a * a, c_in, c_out).astype(dtype or w.dtype)


def filter_gradient_transform(du: np.ndarray, G: np.ndarray, backend: str = "numpy") -> np.ndarray:
    """Adjoint of :func:`filter_transform`: ``dw = G^T dU G``, ``(3, 3, C_in, C_out)``."""
    a = G.shape[0]
    c_in, c_out = du.shape[1], du.shape[2]
    if backend == "numba":
        from labkit.ops._numba_kernels import winograd_filter_transform
        out = np.empty((3, 3, c_in, c_out), dtype=du.dtype)
        gt = np.ascontiguousarray(G.T)
        winograd_filter_transform(np.ascontiguousarray(du), gt, gt, out)
        return out
    g = G.astype(du.dtype)
    rows = g.T @ du.reshape(a, -1)                                 # (3, a * C_in * C_out)
    t = np.matmul(g.T, rows.reshape(3, a, -1))                     # (3, 3, C_in * C_out)
    return t.reshape(3, 3, c_in, c_out)


def _tile_windows(x, window: int, step: int, offset, tiles) -> np.ndarray:
    """``(N, tiles_h, tiles_w, window, window, C)`` view of the tiles of ``x``, where tile
    ``(ti, tj)`` starts at pixel ``(ti * step - off_h, tj * step - off_w)`` and pixels outside
    ``x`` are zeros (copied once into a zero buffer just large enough for every tile)."""
    n, h, w, c = x.shape
    th, tw = tiles
    oh, ow = offset
    hb = (th - 1) * step + window
    wb = (tw - 1) * step + window
    buf = np.zeros((n, hb, wb, c), dtype=x.dtype)
    # rows [r0, r1) of x land at rows [r0 + oh, r1 + oh) of the buffer
    r0, r1 = max(0, -oh), min(h, hb - oh)
    c0, c1 = max(0, -ow), min(w, wb - ow)
    if r1 > r0 and c1 > c0:
        buf[:, r0 + oh:r1 + oh, c0 + ow:c1 + ow] = x[:, r0:r1, c0:c1]
    s = buf.strides
    return np.lib.stride_tricks.as_strided(
        buf, shape=(n, th, tw, window, window, c),
        strides=(s[0], s[1] * step, s[2] * step, s[1], s[2], s[3]), writeable=False)


def tile_transform(x, L, step: int, offset, tiles) -> np.ndarray:
    """``L X_t L^T`` for every tile ``X_t`` of ``x`` (per channel), pure numpy: ``(a * a, T, C)``.

    ``L`` is ``(a, k)``: ``B^T`` for the input transform (``k = a``) or ``A`` for mapping
    output-gradient tiles into the Winograd domain (``k = m``).  Tile ``(ti, tj)`` is the
    ``k x k`` window at ``(ti * step - offset[0], tj * step - offset[1])``, zeros outside ``x``;
    ``T = N * tiles_h * tiles_w`` in ``(n, ti, tj)`` order.
    """
    n, _, _, c = x.shape
    th, tw = tiles
    a, k = L.shape
    Ld = L.astype(x.dtype)
    win = _tile_windows(x, k, step, offset, tiles)            # (N, th, tw, k, k, C)
    v = np.einsum("ir,nhwrsc,js->ijnhwc", Ld, win, Ld, optimize=True)
    return np.ascontiguousarray(v).reshape(a * a, n * th * tw, c)


def output_transform(M, AT, bias, tiles, out_shape) -> np.ndarray:
    """``Y_t = A^T M_t A`` (+ bias) for every tile, assembled into NHWC ``out_shape``; pure
    numpy.  ``M`` is ``(a * a, T, C)``; the tiles' overhang past ``out_shape`` is dropped."""
    n, ho, wo, c = out_shape
    th, tw = tiles
    m, a = AT.shape
    Ld = AT.astype(M.dtype)
    mt = M.reshape(a, a, n, th, tw, c)
    yt = np.einsum("ir,rsnhwc,js->nhiwjc", Ld, mt, Ld, optimize=True)  # (N, th, m, tw, m, C)
    y = yt.reshape(n, th * m, tw * m, c)[:, :ho, :wo]
    if bias is not None:
        y = y + bias.astype(M.dtype)
    return np.ascontiguousarray(y)


# ----------------------------------------------------------------------------- numba engine
#
# Threads.  On a small machine two thread pools fight: after every multi-threaded call
# OpenBLAS's workers keep spinning for ~0.1 s, and a numba ``prange`` kernel started in that
# window finds its cores taken (measured: the F(4x4) input transform goes from 1.7 ms to
# 7 ms right after one large ``np.matmul``).  So the numba path runs the whole pipeline on
# its own worker threads (as many as numba is set to use): the tiles are cut into chunks, and
# a thread takes a chunk through transform (serial ``nogil`` numba kernel), GEMMs
# (``np.matmul``, which releases the GIL) and output transform, then takes the next chunk.
# Each chunk's GEMMs are small enough (``chunk * C_in * C_out <= GEMM_SINGLE_THREAD_MNK``) that
# OpenBLAS runs them on the calling thread without waking its own pool, and a chunk's V and M
# stay in the core's cache instead of making round trips to memory.  The forward hands the
# chunks out on demand (each output tile is written by exactly one chunk); the weight
# gradient sums over tiles, so there each thread gets a fixed range and the partial sums are
# added in a fixed order, which keeps the result independent of timing.

#: OpenBLAS runs a GEMM with ``M * N * K`` at most this on the calling thread (its
#: ``GEMM_MULTITHREAD_THRESHOLD`` rule, 4 * 65536).
GEMM_SINGLE_THREAD_MNK = 4 * 65536
# The worker pool lives in labkit.ops.workers, shared with the other compiled kernels.
_num_threads = num_threads
_run_parts = run_parts
_run_shared = run_shared


def _plan(n_tiles: int, c_in: int, c_out: int):
    """Chunk size and one contiguous tile range per thread.  The number of chunks is a multiple
    of the thread count (the chunks made a little smaller if need be), so that no thread is
    left with one chunk more than the others: with 9 chunks on 2 threads one thread did 5."""
    largest = int(np.clip(GEMM_SINGLE_THREAD_MNK // max(1, c_in * c_out), 16, 256))
    threads = _num_threads()
    n_chunks = -(-n_tiles // largest)
    if n_chunks >= threads:
        n_chunks = -(-n_chunks // threads) * threads
    chunk = max(1, -(-n_tiles // max(1, n_chunks)))
    n_parts = max(1, min(threads, -(-n_tiles // chunk)))
    bounds = np.linspace(0, n_tiles, n_parts + 1).astype(int)
    return chunk, [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def _chunk_view(buf: np.ndarray, rows: int) -> np.ndarray:
    """First ``rows`` tiles of an ``(a, chunk, a, C)`` chunk buffer as a *contiguous*
    ``(a, rows, a, C)`` array (the kernels want it contiguous)."""
    a, _, _, c = buf.shape
    return buf.reshape(-1)[:a * rows * a * c].reshape(a, rows, a, c)


def _as_gemm(chunk: np.ndarray) -> np.ndarray:
    """``(a, tiles, a, C)`` chunk -> ``(a, a, tiles, C)`` view: one ``(tiles x C)`` matrix per
    Winograd coordinate, rows ``a * C`` apart (BLAS takes that stride as is, no copy)."""
    return chunk.transpose(0, 2, 1, 3)


def _kernels(variant: str, dtype):
    """Input, output and gradient tile transforms of ``variant`` for ``dtype`` data, as
    functions of ``(array, ..., t0, t1, merged_chunk)``; the specialised F(4x4) kernels when
    they apply.  (Built once per convolution: per chunk only the kernel call remains.)"""
    from labkit.ops import _numba_kernels as nk
    m, BT, _, AT = VARIANTS[variant]
    if variant == "f4x3":
        k = _consts(dtype)

        def transform_in(x, offset, tiles, t0, t1, out):
            nk.winograd_f4_input(x, k, offset[0], offset[1], tiles[0], tiles[1], t0, t1, out)

        def transform_out(M, bias, tiles, t0, t1, y, relu=False, res=None):
            nk.winograd_f4_output(M, k, bias, tiles[0], tiles[1], t0, t1, y, relu,
                                  _no_residual(y) if res is None else res, res is not None)

        def transform_grad(dy, tiles, t0, t1, out):
            nk.winograd_f4_gradient(dy, k, tiles[0], tiles[1], t0, t1, out)

        return transform_in, transform_out, transform_grad
    bt, at, a_ = BT.astype(dtype), AT.astype(dtype), np.ascontiguousarray(AT.T, dtype=dtype)

    def transform_in(x, offset, tiles, t0, t1, out):
        nk.winograd_tiles_generic(x, bt, m, offset[0], offset[1], tiles[0], tiles[1], t0, t1,
                                  out)

    def transform_out(M, bias, tiles, t0, t1, y, relu=False, res=None):
        nk.winograd_output_generic(M, at, bias, tiles[0], tiles[1], t0, t1, y, relu,
                                   _no_residual(y) if res is None else res, res is not None)

    def transform_grad(dy, tiles, t0, t1, out):
        nk.winograd_tiles_generic(dy, a_, m, 0, 0, tiles[0], tiles[1], t0, t1, out)

    return transform_in, transform_out, transform_grad


class _ChunkBuffers:
    """One thread's chunk arrays, with the views every call needs made once: the full
    ``(a, chunk, a, C)`` arrays, their merged ``(a, chunk, a C)`` views for the kernels and their
    ``(a, a, chunk, C)`` views for the GEMMs.  ``views(rows)`` gives the same for a shorter
    last chunk (contiguous: ``buf[:, :rows]`` would not be)."""

    def __init__(self, a, chunk, c_in, c_out, dtype):
        self.chunk = chunk
        self.V = np.empty((a, chunk, a, c_in), dtype=dtype)
        self.M = np.empty((a, chunk, a, c_out), dtype=dtype)
        self.full = self._views(self.V, self.M)

    @staticmethod
    def _views(v, mm):
        return _merged(v), _merged(mm), _as_gemm(v), _as_gemm(mm)

    def views(self, rows):
        if rows == self.chunk:
            return self.full
        return self._views(_chunk_view(self.V, rows), _chunk_view(self.M, rows))


def _merged(chunk: np.ndarray) -> np.ndarray:
    """``(a, tiles, a, C)`` chunk -> ``(a, tiles, a * C)`` view, the layout the kernels take."""
    a, rows, _, c = chunk.shape
    return chunk.reshape(a, rows, a * c)


def _consts(dtype) -> np.ndarray:
    return np.array([2, 4, 5, 8], dtype=dtype)


def _no_residual(y):
    """A stand-in for "no residual" of the type the kernels take (one compiled version)."""
    return np.zeros((1, 1, 1, y.shape[3]), dtype=y.dtype)


def _correlate_numba(x, U, bias, offset, out_shape, variant, relu=False, residual=None):
    """Chunked, threaded Winograd correlation (see "Threads" above); returns ``y``."""
    m = VARIANTS[variant][0]
    a = m + 2
    _, c_in, c_out = U.shape
    U4 = U.reshape(a, a, c_in, c_out)
    n, ho, wo, _ = out_shape
    tiles = (-(-ho // m), -(-wo // m))
    n_tiles = n * tiles[0] * tiles[1]
    y = np.empty(out_shape, dtype=x.dtype)
    bias = np.zeros(c_out, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    transform_in, transform_out, _ = _kernels(variant, x.dtype)
    chunk, parts = _plan(n_tiles, c_in, c_out)
    local = threading.local()            # each thread keeps its own chunk buffers

    def run(item):
        if not hasattr(local, "buffers"):
            local.buffers = _ChunkBuffers(a, chunk, c_in, c_out, x.dtype)
        t0 = item * chunk
        t1 = min(t0 + chunk, n_tiles)
        v, mm, v_gemm, mm_gemm = local.buffers.views(t1 - t0)
        transform_in(x, offset, tiles, t0, t1, v)
        np.matmul(v_gemm, U4, out=mm_gemm)        # a*a GEMMs (tiles x C_in) @ (C_in x C_out)
        transform_out(mm, bias, tiles, t0, t1, y, relu, residual)

    # every tile's output is computed the same way whichever thread takes it: share the chunks
    _run_shared(run, -(-n_tiles // chunk), len(parts))
    return y


def _weight_gradient_numba(x, dy, offset, variant):
    """``dU = sum_t V_t^T dM_t`` ``(a*a, C_in, C_out)`` and the bias gradient, chunked and
    threaded like the forward; each thread sums a fixed range of tiles and the partial sums are
    added in a fixed order, so the result does not depend on timing.  (Handing out smaller
    groups on demand, as the forward does, measured slower here: more partial sums.)

    The bias gradient comes for free: column 1 of ``A^T`` is all ones, so
    ``dM_t[1, 1] = e_1^T A dY_t A^T e_1 = sum(dY_t)`` and ``db = sum_t dM_t[1, 1]``.
    """
    m = VARIANTS[variant][0]
    a = m + 2
    c_in, c_out = x.shape[3], dy.shape[3]
    n, ho, wo, _ = dy.shape
    tiles = (-(-ho // m), -(-wo // m))
    transform_in, _, transform_grad = _kernels(variant, x.dtype)
    chunk, parts = _plan(n * tiles[0] * tiles[1], c_in, c_out)

    def run(part):
        buffers = _ChunkBuffers(a, chunk, c_in, c_out, x.dtype)   # M holds dM here
        dU = np.zeros((a, a, c_in, c_out), dtype=x.dtype)
        db = np.zeros(c_out, dtype=x.dtype)
        step = np.empty_like(dU)
        for t0 in range(part[0], part[1], chunk):
            t1 = min(t0 + chunk, part[1])
            v, d, v_gemm, d_gemm = buffers.views(t1 - t0)
            transform_in(x, offset, tiles, t0, t1, v)
            transform_grad(dy, tiles, t0, t1, d)
            np.matmul(v_gemm.transpose(0, 1, 3, 2), d_gemm, out=step)   # V_ij^T dM_ij
            dU += step
            db += d_gemm[1, 1].sum(axis=0)
        return dU, db

    partial = _run_parts(run, parts)
    dU, db = partial[0]
    for p_dU, p_db in partial[1:]:
        dU += p_dU
        db += p_db
    return dU.reshape(a * a, c_in, c_out), db


def _correlate(x, w, b, offset, out_hw, variant, backend, relu=False, residual=None):
    """``y[n, i, j] = b + sum_{u, v} x[n, i + u - off_h, j + v - off_w] w[u, v]`` for a 3x3
    ``w`` (zeros outside ``x``), output size ``out_hw``, by Winograd ``variant``; plus
    ``residual`` when given, then ``max(0, .)`` with ``relu``."""
    m, BT, G, AT = VARIANTS[variant]
    U = filter_transform(w, G, x.dtype, backend)              # (a*a, C_in, C_out)
    out_shape = (x.shape[0], out_hw[0], out_hw[1], w.shape[3])
    if backend == "numba":
        if residual is not None:
            residual = np.ascontiguousarray(residual, dtype=x.dtype)
        return _correlate_numba(np.ascontiguousarray(x), U, b, offset, out_shape, variant, relu,
                                residual)
    tiles = (-(-out_hw[0] // m), -(-out_hw[1] // m))
    V = tile_transform(x, BT, m, offset, tiles)               # (a*a, T, C_in)
    M = np.matmul(V, U)                                       # a*a GEMMs (T x C_in)(C_in x C_out)
    y = output_transform(M, AT, b, tiles, out_shape)
    if residual is not None:
        y += residual
    return np.maximum(y, 0, out=y) if relu else y


def _weight_gradient(x, dy, offset, variant, backend):
    """``dw = G^T dU G`` with ``dU_ij = sum_t V_t,ij^T (A dY_t A^T)_ij``, and ``db = sum dy``."""
    m, BT, G, AT = VARIANTS[variant]
    if backend == "numba":
        dU, db = _weight_gradient_numba(np.ascontiguousarray(x), dy, offset, variant)
    else:
        tiles = (-(-dy.shape[1] // m), -(-dy.shape[2] // m))
        V = tile_transform(x, BT, m, offset, tiles)           # (a*a, T, C_in)
        dM = tile_transform(dy, AT.T, m, (0, 0), tiles)       # (a*a, T, C_out)
        dU = np.matmul(V.transpose(0, 2, 1), dM)              # (a*a, C_in, C_out)
        db = np.einsum("ij->j", dy.reshape(-1, dy.shape[3]))  # one pass over dy
    return filter_gradient_transform(dU, G, backend).astype(x.dtype, copy=False), db


# ----------------------------------------------------------------------------- public API

def winograd_f2x3(x, w, b=None, pads: Pads = ((1, 1), (1, 1)), backend: str = "numba"):
    """3x3 stride-1 convolution of NHWC ``x`` with ``w`` ``(3, 3, C_in, C_out)`` by
    Winograd ``F(2x2, 3x3)``; ``pads = ((top, bottom), (left, right))`` (default 'same')."""
    return conv2d_winograd_forward(x, w, b, (1, 1), pads, "f2x3", backend,
                                   _owner="winograd_f2x3")[0]


def winograd_f4x3(x, w, b=None, pads: Pads = ((1, 1), (1, 1)), backend: str = "numba"):
    """3x3 stride-1 convolution of NHWC ``x`` with ``w`` ``(3, 3, C_in, C_out)`` by
    Winograd ``F(4x4, 3x3)``; ``pads = ((top, bottom), (left, right))`` (default 'same')."""
    return conv2d_winograd_forward(x, w, b, (1, 1), pads, "f4x3", backend,
                                   _owner="winograd_f4x3")[0]


def conv2d_winograd_forward(x, w, b=None, stride=(1, 1), pads: Pads = ((0, 0), (0, 0)),
                            variant: str = "f4x3", backend: str = "numba", relu: bool = False,
                            residual=None, _owner: str = "conv2d_winograd_forward"):
    """Winograd convolution forward (same signature as the other algorithms).

    Parameters
    ----------
    x : ndarray (N, H, W, C_in)
    w : ndarray (3, 3, C_in, C_out)
    b : ndarray (C_out,) or None
    stride : (1, 1)
        Anything else raises ``ValueError``.
    pads : ((top, bottom), (left, right))
    variant : "f4x3" (default, 4x fewer multiplications) or "f2x3" (2.25x, more accurate)
    backend : "numba" (compiled transforms) or "numpy" (einsum transforms)
    relu : bool
        Return ``max(0, y)``, applied in the output transform (a convolution followed by a
        ReLU, fused); the backward pass is that of the convolution alone.
    residual : ndarray (N, Ho, Wo, C_out) or None
        Added to ``y`` in the output transform (before the ReLU): a convolution followed by a
        residual addition, fused.

    Returns
    -------
    y : ndarray (N, Ho, Wo, C_out)
    cache : tuple for :func:`conv2d_winograd_backward`
    """
    owner = _owner
    _variant(variant, owner)
    _check_backend(backend, owner)
    x = check_array(x, owner, name="input")
    w = check_array(w, owner, name="weights")
    ho, wo = check_winograd_args(x, w, stride, pads, owner)
    dtype = np.result_type(x, w)
    x = x.astype(dtype, copy=False)
    if residual is not None and np.shape(residual) != (x.shape[0], ho, wo, w.shape[3]):
        raise ValueError(f"{owner}: residual must have the output's shape "
                         f"{(x.shape[0], ho, wo, w.shape[3])}, got {np.shape(residual)}")
    y = _correlate(x, w, b, (pads[0][0], pads[1][0]), (ho, wo), variant, backend, bool(relu),
                   residual)
    return y, (x, w, b is not None, pads, variant, backend)


def conv2d_winograd_backward(dy, cache):
    """Gradients of :func:`conv2d_winograd_forward`: ``(dx, dw, db)``.

    * ``dx``: Winograd convolution of ``dy`` with the flipped, channel-swapped kernel
      ``w[::-1, ::-1].transpose(0, 1, 3, 2)``; the forward read ``x[i + u - pt]`` so the
      adjoint reads ``dy[h - u' + pt]`` = a correlation with offset ``2 - pt``.
    * ``dw = G^T (sum_t V_t^T (A dY_t A^T)) G``: ``a * a`` GEMMs in the Winograd domain.
    * ``db = sum dy`` (None without bias); the numba path reads it off the Winograd-domain
      output gradient, see :func:`_weight_gradient_numba`.
    """
    x, w, has_bias, pads, variant, backend = cache
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    if dy.ndim != 4 or dy.shape[3] != w.shape[3]:
        raise ValueError(f"conv2d_winograd_backward: dy of shape {dy.shape} does not match "
                         f"weights {w.shape}")
    w_flip = w[::-1, ::-1].transpose(0, 1, 3, 2)
    dx = _correlate(dy, w_flip, None, (2 - pads[0][0], 2 - pads[1][0]), x.shape[1:3],
                    variant, backend)
    dw, db = _weight_gradient(x, dy, (pads[0][0], pads[1][0]), variant, backend)
    return dx, dw, (db if has_bias else None)
