"""numba kernels for the memory-bound parts of convolution and pooling.

Every kernel here has a pure-numpy twin (in :mod:`labkit.ops.im2col`,
:mod:`labkit.ops.winograd` and :mod:`labkit.ops.pooling`) that the tests compare it with.
numpy is fast at the arithmetic-heavy part of a convolution (the GEMM, through BLAS) but slow
at shuffling windows around: ``np.pad`` copies the whole input, a reshaped window view copies it
again, and an einsum over 6x6 tiles walks the data several times.  The kernels below read the
input once and write their output once and handle zero padding by bounds checks instead of a
padded copy.

Parallelism is always over *disjoint* slices of the output, so no two threads write the same
element and results do not depend on the thread count: im2col, col2im and pooling use
``prange`` over output rows (col2im and the pooling backward are written as gathers for that);
the Winograd kernels are serial and ``nogil`` and work on a range of tiles, and
:mod:`labkit.ops.winograd` runs one range per worker thread (its "Threads" notes say why).

All kernels are compiled on first use and cached on disk (``cache=True``; set
``NUMBA_CACHE_DIR`` to move the cache).  They accept float32 and float64 arrays and compute in
the dtype of their inputs; outputs are allocated by the Python callers (numpy asks the kernel
for huge pages on large arrays, which saves most first-touch page faults).  No ``fastmath``:
the results would change with the compiler's reassociation, and the tests compare the numba
and numpy paths closely.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ============================================================================ im2col / col2im


@njit(parallel=True, cache=True)
def im2col_numba(x, kh, kw, sh, sw, pt, pl, ho, wo, cols):
    """Column matrix of an *unpadded* NHWC input with implicit zero padding.

    ``cols[(n, i, j), (u, v, c)] = x[n, i sh + u - pt, j sw + v - pl, c]`` (zero outside
    ``x``), written into ``cols`` ``(N * ho * wo, kh * kw * C)``.  Parallel over output rows
    ``(n, i)``; a window row ``u`` that lies inside ``x`` is ``kw * C`` contiguous values, copied
    in one loop.  (Outputs are allocated by the caller with numpy, which asks the kernel for huge
    pages on large arrays: first-touch page faults otherwise cost as much as the copy.)
    """
    n_, h, w, c = x.shape
    run = kw * c
    xr = x.reshape(n_, h, w * c)                     # image rows as flat runs of values
    for row in prange(n_ * ho):
        n = row // ho
        i = row % ho
        for j in range(wo):
            dst = cols[row * wo + j]
            q0 = j * sw - pl
            for u in range(kh):
                p = i * sh + u - pt
                base = u * run
                if p < 0 or p >= h:
                    for e in range(run):
                        dst[base + e] = 0
                elif q0 >= 0 and q0 + kw <= w:
                    src = xr[n, p]
                    start = q0 * c
                    for e in range(run):
                        dst[base + e] = src[start + e]
                else:
                    for v in range(kw):
                        q = q0 + v
                        if 0 <= q < w:
                            for cc in range(c):
                                dst[base + v * c + cc] = x[n, p, q, cc]
                        else:
                            for cc in range(c):
                                dst[base + v * c + cc] = 0


@njit(parallel=True, cache=True)
def col2im_numba(cols, kh, kw, sh, sw, pt, pl, ho, wo, out):
    """Adjoint of :func:`im2col_numba`: the unpadded ``(N, H, W, C)`` array whose pixel
    ``(p, q)`` is the sum of every column entry that was read from it.

    Written as a *gather* (each output pixel collects the taps that touched it) rather than a
    scatter, so the parallel loop over input rows ``(n, p)`` has no write conflicts.  ``out``
    ``(N, H, W, C)`` must be zeros on entry.
    """
    n_, h, w, c = out.shape
    for row in prange(n_ * h):
        n = row // h
        p = row % h
        for u in range(kh):
            # output row i read input row p through tap u when i * sh + u - pt == p
            ip = p + pt - u
            if ip < 0 or ip % sh != 0:
                continue
            i = ip // sh
            if i >= ho:
                continue
            for q in range(w):
                dst = out[n, p, q]
                for v in range(kw):
                    jq = q + pl - v
                    if jq < 0 or jq % sw != 0:
                        continue
                    j = jq // sw
                    if j >= wo:
                        continue
                    src = cols[(n * ho + i) * wo + j]
                    base = (u * kw + v) * c
                    for cc in range(c):
                        dst[cc] += src[base + cc]


# ============================================================================ Winograd
#
# The Winograd kernels work on a contiguous range of tiles ``[t0, t1)`` and are serial and
# ``nogil``: :mod:`labkit.ops.winograd` runs one range per worker thread, each followed by its
# own small BLAS GEMMs (see the "Threads" notes there), so they must not start a numba thread
# pool of their own.  Tile ``t`` is ``(n, ti, tj)`` with ``t = (n * tiles_h + ti) * tiles_w + tj``.
#
# Chunk layout: a chunk holds Winograd coordinate ``(i, j)`` of tile ``t`` at
# ``chunk[i, t - t0, j, :]`` (shape ``(a, tiles, a, C)``).  ``chunk[i, :, j, :]`` is then a
# ``(tiles x C)`` matrix with row stride ``a * C`` that BLAS reads in place, and the ``a``
# values ``chunk[i, t, :, :]`` that one transform stage produces together are contiguous.
# The F(4x4) kernels take the chunk with its last two axes merged, ``(a, tiles, a * C)``, so
# that a row is indexed directly (``arr.reshape`` inside a kernel calls a C helper each time,
# which per tile costs more than the arithmetic).
#
# Why the loops look the way they do: LLVM vectorises a loop over channels only after checking
# at run time that its input and output arrays do not overlap; with six outputs in one loop
# that check fails and the loop runs scalar.  So every loop below writes ONE output row and
# reads at most six input rows, and one of the two stages of each transform runs over ``a * C``
# contiguous values instead of ``C``.  Two flavours: generic kernels that take the transform
# matrix as an array (any variant), and F(4x4, 3x3) kernels with the matrix entries written into
# the code.


@njit(nogil=True, cache=True)
def winograd_tiles_generic(x, L, step, off_h, off_w, tiles_h, tiles_w, t0, t1, out):
    """``out[i, t - t0, j*C + c] = sum_{r, s} L[i, r] x[n, p0 + r, q0 + s, c] L[j, s]``.

    Tile ``t`` is the ``k x k`` window (``k = L.shape[1]``) with top-left pixel
    ``(p0, q0) = (ti * step - off_h, tj * step - off_w)``; pixels outside ``x`` are zeros.
    ``L = B^T`` gives the input transform ``B^T d B``; ``L = A`` maps output-gradient tiles
    to the Winograd domain (``A dY A^T``).  ``out`` is the merged chunk ``(a, t1 - t0, a C)``.
    """
    _, h, w, c = x.shape
    a = L.shape[0]
    k = L.shape[1]
    hz = np.zeros((k, a * c), dtype=out.dtype)       # hz[r, j*C + c] = sum_s L[j, s] x[r, s, c]
    per_image = tiles_h * tiles_w
    for t in range(t0, t1):
        n = t // per_image
        p0 = ((t % per_image) // tiles_w) * step - off_h
        q0 = (t % tiles_w) * step - off_w
        hz[:] = 0
        for r in range(k):
            if not 0 <= p0 + r < h:
                continue
            dst = hz[r]
            for j in range(a):
                for s in range(k):
                    coef = L[j, s]
                    # most coefficients are 0: skipping them halves the work
                    if coef != 0 and 0 <= q0 + s < w:
                        src = x[n, p0 + r, q0 + s]
                        for cc in range(c):
                            dst[j * c + cc] += coef * src[cc]
        for i in range(a):
            dst = out[i, t - t0]
            dst[:] = 0
            for r in range(k):
                coef = L[i, r]
                if coef != 0:
                    src = hz[r]
                    for e in range(a * c):
                        dst[e] += coef * src[e]


@njit(nogil=True, cache=True)
def winograd_output_generic(M, L, bias, tiles_h, tiles_w, t0, t1, y, relu, res, add_res):
    """Output transform ``Y_t = A^T M_t A + bias`` (``L = A^T``, shape ``(m, a)``) of the tiles
    ``[t0, t1)`` held in the merged chunk ``M`` ``(a, t1 - t0, a C)``, written into NHWC ``y``
    (tile ``(ti, tj)`` covers ``y[n, ti m : ti m + m, tj m : tj m + m]``, cropped at the
    bottom/right border); with ``add_res`` the residual ``res`` (shaped like ``y``) is added,
    and with ``relu`` the result is ``max(0, .)``, while it is in cache."""
    _, ho, wo, c = y.shape
    m = L.shape[0]
    a = L.shape[1]
    vt = np.empty((m, a * c), dtype=y.dtype)         # vt[i, s*C + c] = sum_r A^T[i, r] M[r, s, c]
    per_image = tiles_h * tiles_w
    for t in range(t0, t1):
        n = t // per_image
        p0 = ((t % per_image) // tiles_w) * m
        q0 = (t % tiles_w) * m
        for i in range(m):
            dst = vt[i]
            dst[:] = 0
            for r in range(a):
                coef = L[i, r]
                if coef != 0:
                    src = M[r, t - t0]
                    for e in range(a * c):
                        dst[e] += coef * src[e]
        for i in range(min(m, ho - p0)):
            src = vt[i]
            for j in range(min(m, wo - q0)):
                dst = y[n, p0 + i, q0 + j]
                dst[:] = bias
                for s in range(a):
                    coef = L[j, s]
                    if coef != 0:
                        for cc in range(c):
                            dst[cc] += coef * src[s * c + cc]
                if add_res:
                    r = res[n, p0 + i, q0 + j]
                    for cc in range(c):
                        dst[cc] += r[cc]
                if relu:
                    for cc in range(c):
                        if dst[cc] < 0:
                            dst[cc] = 0


@njit(nogil=True, cache=True)
def winograd_filter_transform(w, L, R, out):
    """``out[i * a + j] = sum_{u, v} L[i, u] w[u, v] R[j, v]`` over ``(C_in, C_out)`` pairs.

    With ``L = R = G`` (``(a, 3)``) this is the filter transform ``U = G g G^T`` (``w`` is
    ``(3, 3, C_in, C_out)``, ``out`` ``(a * a, C_in, C_out)``); with ``L = R = G^T`` and
    ``w = dU`` it is the weight-gradient transform ``dw = G^T dU G``.  The sums run in
    float64 (``L``, ``R`` are float64).  Written as a kernel rather than two ``np.matmul``
    because those are large enough for OpenBLAS to wake its thread pool (see winograd.py).
    """
    a = L.shape[0]
    b = R.shape[0]
    ku = L.shape[1]
    kv = R.shape[1]
    src = w.reshape(ku, kv, -1)
    size = src.shape[2]
    dst = out.reshape(a * b, -1)
    acc = np.empty(size, dtype=np.float64)
    for i in range(a):
        for j in range(b):
            acc[:] = 0
            for u in range(ku):
                for v in range(kv):
                    coef = L[i, u] * R[j, v]
                    if coef != 0:
                        row = src[u, v]
                        for e in range(size):
                            acc[e] += coef * row[e]
            d = dst[i * b + j]
            for e in range(size):
                d[e] = acc[e]


# ---- F(4x4, 3x3).  ``k`` holds the constants (2, 4, 5, 8) in the data's dtype, so float32 data
# is never promoted to float64 by an integer literal.  The 1-D transforms are written out loop
# by loop (one output row per loop) rather than called as helpers: every array passed to a
# jitted function costs two atomic reference-count updates, which inside a per-tile loop cost
# more than the arithmetic.
#
#   B^T rows: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0],
#             [0 2 -1 -2 1 0], [0 4 0 -5 0 1]
#   A^T rows: [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1]
#   A   rows: [1 0 0 0], [1 1 1 1], [1 -1 1 -1], [1 2 4 8], [1 -2 4 -8], [0 0 0 1]


@njit(nogil=True, cache=True)
def winograd_f4_input(x, k, off_h, off_w, tiles_h, tiles_w, t0, t1, out):
    """F(4x4, 3x3) input transform ``V_t = B^T d_t B`` of tiles ``[t0, t1)`` (6x6 windows at
    ``(4 ti - off_h, 4 tj - off_w)``, zeros outside ``x``) into ``out`` ``(6, t1 - t0, 6 C)``
    (the chunk ``(6, tiles, 6, C)`` with its last two axes merged).

    First ``B`` along each of the six window rows (``C`` channels per value), then ``B^T`` down
    the columns, where each output row ``out[i, t]`` is ``6 C`` contiguous values.
    """
    _, h, w, c = x.shape
    k2 = k[0]
    k4 = k[1]
    k5 = k[2]
    hz = np.empty((6, 6 * c), dtype=out.dtype)       # hz[r, j*C:(j+1)*C] = (d B)[r, j]
    buf = np.zeros((6, 6, c), dtype=x.dtype)         # border tiles are copied here first
    per_image = tiles_h * tiles_w
    for t in range(t0, t1):
        n = t // per_image
        p0 = ((t % per_image) // tiles_w) * 4 - off_h
        q0 = (t % tiles_w) * 4 - off_w
        interior = p0 >= 0 and q0 >= 0 and p0 + 6 <= h and q0 + 6 <= w
        if not interior:
            for r in range(6):
                for s in range(6):
                    if 0 <= p0 + r < h and 0 <= q0 + s < w:
                        buf[r, s] = x[n, p0 + r, q0 + s]
                    else:
                        buf[r, s] = 0
        for r in range(6):
            d = x[n, p0 + r, q0:q0 + 6] if interior else buf[r]
            d0 = d[0]
            d1 = d[1]
            d2 = d[2]
            d3 = d[3]
            d4 = d[4]
            d5 = d[5]
            o = hz[r]
            for e in range(c):
                o[e] = k4 * d0[e] - k5 * d2[e] + d4[e]
            for e in range(c):
                o[c + e] = d3[e] + d4[e] - k4 * (d1[e] + d2[e])
            for e in range(c):
                o[2 * c + e] = k4 * (d1[e] - d2[e]) + d4[e] - d3[e]
            for e in range(c):
                o[3 * c + e] = k2 * (d3[e] - d1[e]) + d4[e] - d2[e]
            for e in range(c):
                o[4 * c + e] = k2 * (d1[e] - d3[e]) + d4[e] - d2[e]
            for e in range(c):
                o[5 * c + e] = k4 * d1[e] - k5 * d3[e] + d5[e]
        tt = t - t0
        h0 = hz[0]
        h1 = hz[1]
        h2 = hz[2]
        h3 = hz[3]
        h4 = hz[4]
        h5 = hz[5]
        o = out[0, tt]
        for e in range(6 * c):
            o[e] = k4 * h0[e] - k5 * h2[e] + h4[e]
        o = out[1, tt]
        for e in range(6 * c):
            o[e] = h3[e] + h4[e] - k4 * (h1[e] + h2[e])
        o = out[2, tt]
        for e in range(6 * c):
            o[e] = k4 * (h1[e] - h2[e]) + h4[e] - h3[e]
        o = out[3, tt]
        for e in range(6 * c):
            o[e] = k2 * (h3[e] - h1[e]) + h4[e] - h2[e]
        o = out[4, tt]
        for e in range(6 * c):
            o[e] = k2 * (h1[e] - h3[e]) + h4[e] - h2[e]
        o = out[5, tt]
        for e in range(6 * c):
            o[e] = k4 * h1[e] - k5 * h3[e] + h5[e]


@njit(nogil=True, cache=True)
def winograd_f4_output(M, k, bias, tiles_h, tiles_w, t0, t1, y, relu, res, add_res):
    """F(4x4, 3x3) output transform ``Y_t = A^T M_t A + bias`` of tiles ``[t0, t1)`` (chunk
    ``M`` ``(6, t1 - t0, 6 C)``) into NHWC ``y``, cropping the border tiles.

    First ``A^T`` down the columns (rows of ``6 C`` contiguous values), then ``A`` along each
    of the four rows, with the bias added in the same pass.  With ``add_res`` the residual
    ``res`` (shaped like ``y``) is added too, and with ``relu`` each row is then clamped to
    ``max(0, .)``: a fused shortcut and activation, no extra pass over ``y``.
    """
    _, ho, wo, c = y.shape
    k2 = k[0]
    k4 = k[1]
    k8 = k[3]
    vt = np.empty((4, 6 * c), dtype=y.dtype)         # vt[i, s*C:(s+1)*C] = (A^T M)[i, s]
    buf = np.empty((4, 4, c), dtype=y.dtype)
    per_image = tiles_h * tiles_w
    for t in range(t0, t1):
        n = t // per_image
        p0 = ((t % per_image) // tiles_w) * 4
        q0 = (t % tiles_w) * 4
        tt = t - t0
        m0 = M[0, tt]
        m1 = M[1, tt]
        m2 = M[2, tt]
        m3 = M[3, tt]
        m4 = M[4, tt]
        m5 = M[5, tt]
        o = vt[0]
        for e in range(6 * c):
            o[e] = m0[e] + m1[e] + m2[e] + m3[e] + m4[e]
        o = vt[1]
        for e in range(6 * c):
            o[e] = m1[e] - m2[e] + k2 * (m3[e] - m4[e])
        o = vt[2]
        for e in range(6 * c):
            o[e] = m1[e] + m2[e] + k4 * (m3[e] + m4[e])
        o = vt[3]
        for e in range(6 * c):
            o[e] = m1[e] - m2[e] + k8 * (m3[e] - m4[e]) + m5[e]
        interior = p0 + 4 <= ho and q0 + 4 <= wo
        for i in range(4):
            v = vt[i]
            dst = y[n, p0 + i, q0:q0 + 4] if interior else buf[i]
            o = dst[0]
            for e in range(c):
                o[e] = bias[e] + v[e] + v[c + e] + v[2 * c + e] + v[3 * c + e] + v[4 * c + e]
            o = dst[1]
            for e in range(c):
                o[e] = bias[e] + v[c + e] - v[2 * c + e] + k2 * (v[3 * c + e] - v[4 * c + e])
            o = dst[2]
            for e in range(c):
                o[e] = bias[e] + v[c + e] + v[2 * c + e] + k4 * (v[3 * c + e] + v[4 * c + e])
            o = dst[3]
            for e in range(c):
                o[e] = (bias[e] + v[c + e] - v[2 * c + e] + k8 * (v[3 * c + e] - v[4 * c + e])
                        + v[5 * c + e])
            if add_res:
                if interior:
                    rr = res[n, p0 + i, q0:q0 + 4]
                    for q in range(4):
                        o = dst[q]
                        r = rr[q]
                        for e in range(c):
                            o[e] += r[e]
                else:
                    for q in range(min(4, wo - q0)):
                        if p0 + i < ho:
                            o = dst[q]
                            r = res[n, p0 + i, q0 + q]
                            for e in range(c):
                                o[e] += r[e]
            if relu:
                for q in range(4):
                    o = dst[q]
                    for e in range(c):
                        if o[e] < 0:
                            o[e] = 0
        if not interior:
            for i in range(min(4, ho - p0)):
                for j in range(min(4, wo - q0)):
                    y[n, p0 + i, q0 + j] = buf[i, j]


@njit(nogil=True, cache=True)
def winograd_f4_gradient(dy, k, tiles_h, tiles_w, t0, t1, out):
    """F(4x4, 3x3) output-gradient transform ``dM_t = A dY_t A^T`` (4x4 -> 6x6) of the tiles
    ``[t0, t1)`` of ``dy`` (zeros past the border) into ``out`` ``(6, t1 - t0, 6 C)``."""
    _, ho, wo, c = dy.shape
    k2 = k[0]
    k4 = k[1]
    k8 = k[3]
    hz = np.empty((4, 6 * c), dtype=out.dtype)       # hz[r, j*C:(j+1)*C] = (dY A^T)[r, j]
    buf = np.zeros((4, 4, c), dtype=dy.dtype)
    per_image = tiles_h * tiles_w
    for t in range(t0, t1):
        n = t // per_image
        p0 = ((t % per_image) // tiles_w) * 4
        q0 = (t % tiles_w) * 4
        interior = p0 + 4 <= ho and q0 + 4 <= wo
        if not interior:
            for r in range(4):
                for s in range(4):
                    if p0 + r < ho and q0 + s < wo:
                        buf[r, s] = dy[n, p0 + r, q0 + s]
                    else:
                        buf[r, s] = 0
        for r in range(4):
            d = dy[n, p0 + r, q0:q0 + 4] if interior else buf[r]
            d0 = d[0]
            d1 = d[1]
            d2 = d[2]
            d3 = d[3]
            o = hz[r]
            for e in range(c):
                o[e] = d0[e]
            for e in range(c):
                o[c + e] = d0[e] + d1[e] + d2[e] + d3[e]
            for e in range(c):
                o[2 * c + e] = d0[e] - d1[e] + d2[e] - d3[e]
            for e in range(c):
                o[3 * c + e] = d0[e] + k2 * d1[e] + k4 * d2[e] + k8 * d3[e]
            for e in range(c):
                o[4 * c + e] = d0[e] - k2 * d1[e] + k4 * d2[e] - k8 * d3[e]
            for e in range(c):
                o[5 * c + e] = d3[e]
        tt = t - t0
        h0 = hz[0]
        h1 = hz[1]
        h2 = hz[2]
        h3 = hz[3]
        o = out[0, tt]
        for e in range(6 * c):
            o[e] = h0[e]
        o = out[1, tt]
        for e in range(6 * c):
            o[e] = h0[e] + h1[e] + h2[e] + h3[e]
        o = out[2, tt]
        for e in range(6 * c):
            o[e] = h0[e] - h1[e] + h2[e] - h3[e]
        o = out[3, tt]
        for e in range(6 * c):
            o[e] = h0[e] + k2 * h1[e] + k4 * h2[e] + k8 * h3[e]
        o = out[4, tt]
        for e in range(6 * c):
            o[e] = h0[e] - k2 * h1[e] + k4 * h2[e] - k8 * h3[e]
        o = out[5, tt]
        for e in range(6 * c):
            o[e] = h3[e]


# ============================================================================ pooling


@njit(parallel=True, cache=True)
def maxpool_forward_numba(x, kh, kw, sh, sw, pt, pl, y, arg):
    """Max pooling with implicit -inf padding into ``y`` ``(N, ho, wo, C)``, and into ``arg``
    (int32, zeros on entry) the flat index ``u * kw + v`` of the first maximum of each window,
    as the numpy path does."""
    n_, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    for row in prange(n_ * ho):
        n = row // ho
        i = row % ho
        for j in range(wo):
            best = y[n, i, j]
            idx = arg[n, i, j]
            for cc in range(c):
                best[cc] = -np.inf
            for u in range(kh):
                p = i * sh + u - pt
                if p < 0 or p >= h:
                    continue
                for v in range(kw):
                    q = j * sw + v - pl
                    if q < 0 or q >= w:
                        continue
                    src = x[n, p, q]
                    tap = u * kw + v
                    for cc in range(c):
                        # strict '>' keeps the first maximum, like numpy's argmax; a NaN
                        # wins over any number and the first NaN stays (argmax does the same)
                        val = src[cc]
                        if val > best[cc] or (np.isnan(val) and not np.isnan(best[cc])):
                            best[cc] = val
                            idx[cc] = tap


@njit(parallel=True, cache=True)
def maxpool_backward_numba(dy, arg, kh, kw, sh, sw, pt, pl, dx):
    """Route each ``dy[n, i, j, c]`` to the input pixel that won window ``(i, j)``.

    Gather form (parallel over input rows, no write conflicts): input pixel ``(p, q)`` sums
    the ``dy`` of every window that contains it and whose winning tap is ``(p - i sh + pt,
    q - j sw + pl)``.  ``dx`` ``(N, H, W, C)`` must be zeros on entry.
    """
    _, ho, wo, c = dy.shape
    n_, h, w, _ = dx.shape
    for row in prange(n_ * h):
        n = row // h
        p = row % h
        for u in range(kh):
            ip = p + pt - u
            if ip < 0 or ip % sh != 0 or ip // sh >= ho:
                continue
            i = ip // sh
            for q in range(w):
                dst = dx[n, p, q]
                for v in range(kw):
                    jq = q + pl - v
                    if jq < 0 or jq % sw != 0 or jq // sw >= wo:
                        continue
                    j = jq // sw
                    tap = u * kw + v
                    g = dy[n, i, j]
                    a = arg[n, i, j]
                    for cc in range(c):
                        if a[cc] == tap:
                            dst[cc] += g[cc]


@njit(parallel=True, cache=True)
def avgpool_forward_numba(x, kh, kw, sh, sw, pt, pl, y, counts):
    """Average over the real (unpadded) pixels of each window (``count_include_pad=False``)
    into ``y`` ``(N, ho, wo, C)`` (zeros on entry); ``counts`` ``(ho, wo)`` receives the number
    of real pixels of each window."""
    n_, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    for i in range(ho):
        for j in range(wo):
            rows = min(i * sh - pt + kh, h) - max(i * sh - pt, 0)
            cols = min(j * sw - pl + kw, w) - max(j * sw - pl, 0)
            counts[i, j] = rows * cols
    for row in prange(n_ * ho):
        n = row // ho
        i = row % ho
        for j in range(wo):
            dst = y[n, i, j]
            for u in range(kh):
                p = i * sh + u - pt
                if p < 0 or p >= h:
                    continue
                for v in range(kw):
                    q = j * sw + v - pl
                    if q < 0 or q >= w:
                        continue
                    src = x[n, p, q]
                    for cc in range(c):
                        dst[cc] += src[cc]
            cnt = counts[i, j]
            for cc in range(c):
                dst[cc] /= cnt


@njit(parallel=True, cache=True)
def avgpool_backward_numba(dy, counts, kh, kw, sh, sw, pt, pl, dx):
    """Every real pixel of window ``(i, j)`` receives ``dy[i, j] / counts[i, j]`` (gather form,
    parallel over input rows); ``dx`` ``(N, H, W, C)`` must be zeros on entry."""
    _, ho, wo, c = dy.shape
    n_, h, w, _ = dx.shape
    for row in prange(n_ * h):
        n = row // h
        p = row % h
        for u in range(kh):
            ip = p + pt - u
            if ip < 0 or ip % sh != 0 or ip // sh >= ho:
                continue
            i = ip // sh
            for q in range(w):
                dst = dx[n, p, q]
                for v in range(kw):
                    jq = q + pl - v
                    if jq < 0 or jq % sw != 0 or jq // sw >= wo:
                        continue
                    j = jq // sw
                    cnt = counts[i, j]
                    g = dy[n, i, j]
                    for cc in range(c):
                        dst[cc] += g[cc] / cnt


# ============================================================================ pixel shuffle
# Serial ``nogil`` kernels over a range of output rows, run by labkit's worker threads
# (:func:`labkit.ops.workers.run_ranges`) rather than numba's OpenMP pool, whose spinning
# workers would slow the Winograd convolution that follows (see :mod:`labkit.ops.workers`).


@njit(nogil=True, cache=True)
def pixel_shuffle_rows(x, r, torch_order, out, lo, hi):
    """Depth to space, output rows ``[lo, hi)`` of ``out`` ``(N, H r, W r, C)`` (row index
    ``n * H r + oh``): ``out[n, h r + i, w r + j, c] = x[n, h, w, q]`` with ``q = c r^2 + i r + j``
    ("torch") or ``(i r + j) C + c`` ("tf")."""
    _, h, w, _ = x.shape
    c = out.shape[3]
    rows = h * r
    for row in range(lo, hi):
        n = row // rows
        oh = row % rows
        src_h = oh // r
        i = oh % r
        for q in range(w):
            src = x[n, src_h, q]
            for j in range(r):
                dst = out[n, oh, q * r + j]
                if torch_order:
                    base = i * r + j
                    for cc in range(c):
                        dst[cc] = src[cc * r * r + base]
                else:
                    base = (i * r + j) * c
                    for cc in range(c):
                        dst[cc] = src[base + cc]


@njit(nogil=True, cache=True)
def pixel_unshuffle_rows(y, r, torch_order, out, lo, hi):
    """Space to depth, output rows ``[lo, hi)`` of ``out`` ``(N, H, W, C r^2)`` (row index
    ``n * H + p``), the inverse permutation of :func:`pixel_shuffle_rows`."""
    h, w = out.shape[1], out.shape[2]
    c = y.shape[3]
    for row in range(lo, hi):
        n = row // h
        p = row % h
        for q in range(w):
            dst = out[n, p, q]
            for i in range(r):
                for j in range(r):
                    src = y[n, p * r + i, q * r + j]
                    if torch_order:
                        base = i * r + j
                        for cc in range(c):
                            dst[cc * r * r + base] = src[cc]
                    else:
                        base = (i * r + j) * c
                        for cc in range(c):
                            dst[base + cc] = src[cc]


# ============================================================================ direct convolution
# Stride-1 convolutions with few channels on one side (the head ``1 -> F`` and the tail
# ``F -> 1`` of an SR network).  There a GEMM has one tiny dimension, so im2col and Winograd
# move far more data than they compute with; these kernels read every input pixel in place and
# keep the long channel axis innermost (so it is what the compiler vectorises).  Serial and
# ``nogil`` over a range of output rows (row index ``n * Ho + i``), run by labkit's worker
# threads like the kernels above.  "bcast" kernels broadcast one value of the short channel
# axis against a vector of the long one.  With few *output* channels the forward is one GEMM
# ``t = x . W`` (every pixel times all taps, through BLAS) and a shift-add of ``t``; the weight
# gradient's "dot" kernel multiplies two vectors of the long axis lane by lane.


@njit(nogil=True, cache=True)
def direct_forward_bcast(x, w, bias, pt, pl, y, lo, hi):
    """``y[n, i, j, :] = bias + sum_{u, v, c} x[n, i + u - pt, j + v - pl, c] w[u, v, c, :]``
    (zeros outside ``x``) for output rows ``[lo, hi)``; the ``C_out`` axis is innermost."""
    _, h, wd, ci = x.shape
    kh, kw, _, co = w.shape
    _, ho, wo, _ = y.shape
    for row in range(lo, hi):
        n = row // ho
        i = row % ho
        yr = y[n, i]
        for j in range(wo):
            for f in range(co):
                yr[j, f] = bias[f]
        for u in range(kh):
            p = i + u - pt
            if p < 0 or p >= h:
                continue
            xr = x[n, p]
            for v in range(kw):
                j0 = max(0, pl - v)
                j1 = min(wo, wd + pl - v)
                for c in range(ci):
                    wv = w[u, v, c]
                    for j in range(j0, j1):
                        a = xr[j + v - pl, c]
                        yo = yr[j]
                        for f in range(co):
                            yo[f] += a * wv[f]


@njit(nogil=True, cache=True)
def direct_shift_add(t, bias, kh, kw, pt, pl, y, lo, hi):
    """Second half of the direct convolution for few output channels, output rows ``[lo, hi)``:
    ``y[n, i, j, f] = bias[f] + sum_{u, v} t[n, i + u - pt, j + v - pl, (u kw + v) C_out + f]``
    where ``t = x . W`` holds every input pixel's products with all ``kh kw`` taps (one GEMM,
    done by the caller).  ``t`` and ``y`` come with their last two axes merged,
    ``(N, H, W kh kw C_out)`` and ``(N, Ho, Wo C_out)``; one output channel (an SR network's
    tail) gets a loop of its own, a plain strided sum per tap."""
    h = t.shape[1]
    ho = y.shape[1]
    co = bias.shape[0]
    wo = y.shape[2] // co
    k = kh * kw * co                    # values per input pixel in t
    wd = t.shape[2] // k
    for row in range(lo, hi):
        n = row // ho
        i = row % ho
        yr = y[n, i]
        for j in range(wo):
            for f in range(co):
                yr[j * co + f] = bias[f]
        for u in range(kh):
            p = i + u - pt
            if p < 0 or p >= h:
                continue
            tr = t[n, p]
            for v in range(kw):
                j0 = max(0, pl - v)
                j1 = min(wo, wd + pl - v)
                base = (u * kw + v) * co + (v - pl) * k
                if co == 1:
                    for j in range(j0, j1):
                        yr[j] += tr[j * k + base]
                else:
                    for j in range(j0, j1):
                        s0 = j * k + base
                        d0 = j * co
                        for f in range(co):
                            yr[d0 + f] += tr[s0 + f]


@njit(nogil=True, cache=True)
def direct_weight_grad_bcast(x, dy, pt, pl, dw, lo, hi):
    """``dw[u, v, c, :] += sum_{n, i, j} x[n, i + u - pt, j + v - pl, c] dy[n, i, j, :]`` over
    output rows ``[lo, hi)`` (``dw`` ``(kh, kw, C_in, C_out)`` is added to, not cleared)."""
    _, h, wd, ci = x.shape
    kh, kw, _, co = dw.shape
    _, ho, wo, _ = dy.shape
    for row in range(lo, hi):
        n = row // ho
        i = row % ho
        gr = dy[n, i]
        for u in range(kh):
            p = i + u - pt
            if p < 0 or p >= h:
                continue
            xr = x[n, p]
            for v in range(kw):
                j0 = max(0, pl - v)
                j1 = min(wo, wd + pl - v)
                for c in range(ci):
                    acc = dw[u, v, c]
                    for j in range(j0, j1):
                        a = xr[j + v - pl, c]
                        g = gr[j]
                        for f in range(co):
                            acc[f] += a * g[f]


@njit(nogil=True, cache=True)
def direct_weight_grad_dot(x, dy, pt, pl, dwt, lo, hi):
    """The weight gradient of :func:`direct_weight_grad_bcast` with ``C_in`` innermost, into
    ``dwt`` ``(kh, kw, C_out, C_in)`` (added to, not cleared)."""
    _, h, wd, ci = x.shape
    kh, kw, co, _ = dwt.shape
    _, ho, wo, _ = dy.shape
    for row in range(lo, hi):
        n = row // ho
        i = row % ho
        for u in range(kh):
            p = i + u - pt
            if p < 0 or p >= h:
                continue
            xr = x[n, p]
            for v in range(kw):
                j0 = max(0, pl - v)
                j1 = min(wo, wd + pl - v)
                for j in range(j0, j1):
                    xv = xr[j + v - pl]
                    for f in range(co):
                        g = dy[n, i, j, f]
                        acc = dwt[u, v, f]
                        for c in range(ci):
                            acc[c] += g * xv[c]
