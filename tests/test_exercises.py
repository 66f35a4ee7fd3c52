"""labkit.exercises: the contract (list_exercises, check, ExerciseResult), every grader passes
its reference and an independent correct implementation, and realistic wrong implementations
fail with the hint that names their mistake."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pytest

from labkit import exercises as E
from labkit.exercises import _core, check, list_exercises

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def hint_of(exercise_id: str, mistake: str) -> str:
    for m in E.EXERCISES[exercise_id].mistakes:
        if m.name == mistake:
            return m.hint
    raise KeyError(f"{exercise_id} has no mistake {mistake!r}")


# ============================================================================ student code
# ---------------------------------------------------------------- chapter 1

def sp_strict(x, w, b):
    x = np.asarray(x, float)
    return (x @ np.asarray(w, float) + b > 0).astype(float)


def sp_no_bias(x, w, b):
    x = np.asarray(x, float)
    return (x @ np.asarray(w, float) >= 0).astype(float)


def sp_sign(x, w, b):
    return np.sign(np.asarray(x, float) @ np.asarray(w, float) + b)


def sp_column(x, w, b):
    w = np.asarray(w, float).reshape(-1, 1)
    return (np.asarray(x, float) @ w + b >= 0).astype(float)


def sp_correct(x, w, b):
    z = np.asarray(x, float) @ np.asarray(w, float) + b
    return np.where(z >= 0, 1.0, 0.0)


def student_fit(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0, *,
                strict=False, stop=True, fresh_rng=False, learn_bias=True):
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    w = np.zeros(x.shape[1]) if w0 is None else np.array(w0, float)
    b = float(b0)
    rng = np.random.default_rng(seed)
    mistakes = []
    converged = False
    for epoch in range(epochs):
        if fresh_rng:
            rng = np.random.default_rng(seed)
        order = rng.permutation(len(x)) if shuffle else range(len(x))
        errors = 0
        for i in order:
            z = w @ x[i] + b
            y = 1.0 if (z > 0 if strict else z >= 0) else 0.0
            if y != t[i]:
                w = w + lr * (t[i] - y) * x[i]
                if learn_bias:
                    b = b + lr * (t[i] - y)
                errors += 1
        mistakes.append(errors)
        if errors == 0:
            converged = True
            if stop:
                break
    return {"w": w, "b": b, "mistakes": mistakes, "epochs": len(mistakes),
            "converged": converged}


def sf_correct(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    return student_fit(x, t, lr, epochs, w0, b0, shuffle, seed)


def sf_strict(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    return student_fit(x, t, lr, epochs, w0, b0, shuffle, seed, strict=True)


def sf_no_stop(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    return student_fit(x, t, lr, epochs, w0, b0, shuffle, seed, stop=False)


def sf_fresh_rng(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    return student_fit(x, t, lr, epochs, w0, b0, shuffle, seed, fresh_rng=True)


def sf_no_bias(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    return student_fit(x, t, lr, epochs, w0, b0, shuffle, seed, learn_bias=False)


def student_gd(grad_fn, w0, lr, steps, momentum=0.0, *, ema=False, guard=True, keep_start=True,
               use_momentum=True):
    w = np.array(w0, float)
    path = [w.copy()] if keep_start else []
    v = np.zeros_like(w)
    for _ in range(steps):
        g = grad_fn(w)
        mu = momentum if use_momentum else 0.0
        v = mu * v + ((1 - mu) * g if ema else g)
        new = w - lr * v
        if guard and (not np.all(np.isfinite(new)) or np.abs(new).max() > 1e12):
            new = w
            v = np.zeros_like(v)
            path += [w.copy()] * (steps + 1 - len(path))
            break
        w = new
        path.append(w.copy())
    return np.array(path).reshape(-1, w.size)


def sgd_correct(grad_fn, w0, lr, steps, momentum=0.0):
    return student_gd(grad_fn, w0, lr, steps, momentum)


def sgd_no_start(grad_fn, w0, lr, steps, momentum=0.0):
    return student_gd(grad_fn, w0, lr, steps, momentum, keep_start=False)


def sgd_ema(grad_fn, w0, lr, steps, momentum=0.0):
    return student_gd(grad_fn, w0, lr, steps, momentum, ema=True)


def sgd_no_guard(grad_fn, w0, lr, steps, momentum=0.0):
    return student_gd(grad_fn, w0, lr, steps, momentum, guard=False)


def sgd_no_momentum(grad_fn, w0, lr, steps, momentum=0.0):
    return student_gd(grad_fn, w0, lr, steps, momentum, use_momentum=False)


# ---------------------------------------------------------------- chapter 2

def student_psnr(x, ref, data_range=1.0, crop=0, mask=None, reduce=True, *, pooled=False,
                 factor=10, to_float=True, one_side=False, use_mask=True):
    x, ref = np.asarray(x), np.asarray(ref)
    if to_float:
        x, ref = x.astype(np.float64), ref.astype(np.float64)
    if x.ndim == 4:
        x, ref = x[..., 0], ref[..., 0]
    single = x.ndim == 2
    if single:
        x, ref = x[None], ref[None]
    m = None
    if mask is not None and use_mask:
        m = np.broadcast_to(np.asarray(mask), x.shape)
    if crop:
        if one_side:
            x, ref = x[:, crop:, crop:], ref[:, crop:, crop:]
            m = None if m is None else m[:, crop:, crop:]
        else:
            x, ref = x[:, crop:-crop, crop:-crop], ref[:, crop:-crop, crop:-crop]
            m = None if m is None else m[:, crop:-crop, crop:-crop]
    err = ((x - ref) ** 2).astype(np.float64)
    if m is None:
        mse = err.mean(axis=(1, 2))
    else:
        mse = (err * m).sum(axis=(1, 2)) / m.sum(axis=(1, 2))
    if pooled:
        mse = np.full_like(mse, err.mean())
    with np.errstate(divide="ignore"):
        values = factor * np.log10(data_range ** 2 / mse)
    if single:
        return float(values[0])
    return float(values.mean()) if reduce else values


def spsnr_correct(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce)


def spsnr_pooled(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce, pooled=True)


def spsnr_20(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce, factor=20)


def spsnr_uint8(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce, to_float=False)


def spsnr_one_side(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce, one_side=True)


def spsnr_no_mask(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_psnr(x, ref, data_range, crop, mask, reduce, use_mask=False)


def _filter_valid(a, g):
    k = len(g)
    h, w = a.shape[-2:]
    rows = sum(g[i] * a[..., i:h - k + 1 + i, :] for i in range(k))
    return sum(g[j] * rows[..., j:w - k + 1 + j] for j in range(k))


def student_ssim(x, ref, data_range=1.0, crop=0, mask=None, reduce=True, *, box=False,
                 squared=True, whole_image=False):
    x = np.asarray(x, np.float64)
    ref = np.asarray(ref, np.float64)
    if x.ndim == 4:
        x, ref = x[..., 0], ref[..., 0]
    single = x.ndim == 2
    if single:
        x, ref = x[None], ref[None]
    m = None if mask is None else np.broadcast_to(mask, x.shape)
    if crop:
        x, ref = x[:, crop:-crop, crop:-crop], ref[:, crop:-crop, crop:-crop]
        m = None if m is None else m[:, crop:-crop, crop:-crop]
    c1 = (0.01 * data_range) ** 2 if squared else 0.01 * data_range
    c2 = (0.03 * data_range) ** 2 if squared else 0.03 * data_range
    if whole_image:
        mx, mr = x.mean(axis=(1, 2)), ref.mean(axis=(1, 2))
        vx, vr = x.var(axis=(1, 2)), ref.var(axis=(1, 2))
        cxr = (x * ref).mean(axis=(1, 2)) - mx * mr
        vals = ((2 * mx * mr + c1) * (2 * cxr + c2)) / ((mx ** 2 + mr ** 2 + c1) * (vx + vr + c2))
    else:
        k = np.arange(-5, 6)
        g = np.ones(11) / 11 if box else np.exp(-k ** 2 / (2 * 1.5 ** 2))
        g = g / g.sum()
        mx, mr = _filter_valid(x, g), _filter_valid(ref, g)
        vx = _filter_valid(x * x, g) - mx ** 2
        vr = _filter_valid(ref * ref, g) - mr ** 2
        cxr = _filter_valid(x * ref, g) - mx * mr
        smap = ((2 * mx * mr + c1) * (2 * cxr + c2)) / ((mx ** 2 + mr ** 2 + c1) * (vx + vr + c2))
        if m is None:
            vals = smap.mean(axis=(1, 2))
        else:
            mm = m[:, 5:-5, 5:-5]
            vals = (smap * mm).sum(axis=(1, 2)) / mm.sum(axis=(1, 2))
    if single:
        return float(vals[0])
    return float(vals.mean()) if reduce else vals


def sssim_correct(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_ssim(x, ref, data_range, crop, mask, reduce)


def sssim_box(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_ssim(x, ref, data_range, crop, mask, reduce, box=True)


def sssim_linear_c(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_ssim(x, ref, data_range, crop, mask, reduce, squared=False)


def sssim_global(x, ref, data_range=1.0, crop=0, mask=None, reduce=True):
    return student_ssim(x, ref, data_range, crop, mask, reduce, whole_image=True)


def scubic_correct(x, a=-0.5):
    t = np.abs(x)
    return np.where(t <= 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    np.where(t <= 2, a * (t ** 3 - 5 * t ** 2 + 8 * t - 4), 0.0)).astype(
                        np.asarray(x).dtype)


def scubic_matlab(x, a=-0.5):
    t = np.abs(x)
    return np.where(t <= 1, 1.5 * t ** 3 - 2.5 * t ** 2 + 1,
                    np.where(t <= 2, -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2, 0.0)).astype(
                        np.asarray(x).dtype)


def scubic_no_abs(x, a=-0.5):
    return np.where(np.abs(x) <= 1, (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1,
                    np.where(np.abs(x) <= 2, a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a,
                             0.0)).astype(np.asarray(x).dtype)


def scubic_unbounded(x, a=-0.5):
    t = np.abs(x)
    return np.where(t <= 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a).astype(np.asarray(x).dtype)


# ---------------------------------------------------------------- chapter 3

def sfft_correct(x):
    ax = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=ax), norm="ortho"), axes=ax)


def sfft_plain(x):
    return np.fft.fft2(x, norm="ortho")


def sfft_all_axes(x):
    return np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(x), norm="ortho"))


def sfft_unnormalised(x):
    ax = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=ax)), axes=ax)


def sfft_shift_twice(x):
    ax = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.fftshift(x, axes=ax), norm="ortho"), axes=ax)


def student_downsample(img, scale, *, ramp=True, rescale=True, magnitude=False):
    from labkit.ops.kspace import grid_offset
    x = np.asarray(img)
    sh, sw = (scale, scale) if np.isscalar(scale) else scale
    H, W = x.shape[-2:]
    h, w = H // sh, W // sw
    k = sfft_correct(x)
    if ramp:
        ky = np.arange(H) - H // 2
        kx = np.arange(W) - W // 2
        k = k * np.exp(2j * np.pi * ky * grid_offset(H, sh) / H)[:, None]
        k = k * np.exp(2j * np.pi * kx * grid_offset(W, sw) / W)[None, :]
    r0, c0 = H // 2 - h // 2, W // 2 - w // 2
    small = k[..., r0:r0 + h, c0:c0 + w]
    ax = (-2, -1)
    y = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(small, axes=ax), norm="ortho"), axes=ax)
    y = np.abs(y) if magnitude else y.real
    if rescale:
        y = y * np.sqrt(h * w / (H * W))
    return y.astype(x.dtype)


def sds_correct(img, scale):
    return student_downsample(img, scale)


def sds_no_ramp(img, scale):
    return student_downsample(img, scale, ramp=False)


def sds_no_rescale(img, scale):
    return student_downsample(img, scale, rescale=False)


def sds_magnitude(img, scale):
    return student_downsample(img, scale, magnitude=True)


def sds_subsample(img, scale):
    sh, sw = (scale, scale) if np.isscalar(scale) else scale
    return np.asarray(img)[..., ::sh, ::sw]


# ---------------------------------------------------------------- chapter 4

def student_conv(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), *, flip=False,
                 bias=True, one_side=False, swap_stride=False):
    (t, bo), (l, r) = pads
    if one_side:
        t, bo, l, r = t + bo, 0, l + r, 0
    sh, sw = stride[::-1] if swap_stride else stride
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    kh, kw, _cin, cout = w.shape
    if flip:
        w = w[::-1, ::-1]
    n = x.shape[0]
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((n, ho, wo, cout), dtype=np.result_type(x, w))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    if b is not None and bias:
        y += b
    return y, None


def sconv_correct(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return student_conv(x, w, b, stride, pads)


def sconv_flip(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return student_conv(x, w, b, stride, pads, flip=True)


def sconv_no_bias(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return student_conv(x, w, b, stride, pads, bias=False)


def sconv_one_side(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return student_conv(x, w, b, stride, pads, one_side=True)


def sconv_swap_stride(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0))):
    return student_conv(x, w, b, stride, pads, swap_stride=True)


def student_conv_back(dy, cache, *, overwrite=False, crop=True, db_mean=False, db_always=False):
    x, w, has_bias, (sh, sw), ((t, b), (l, r)) = cache
    kh, kw, _cin, _cout = w.shape
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    _, ho, wo, _ = dy.shape
    for i in range(ho):
        for j in range(wo):
            sl = (slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
            contribution = np.einsum("nf,uvcf->nuvc", dy[:, i, j], w)
            if overwrite:
                dxp[sl] = contribution
            else:
                dxp[sl] += contribution
            dw += np.einsum("nuvc,nf->uvcf", xp[sl], dy[:, i, j])
    db = None
    if has_bias or db_always:
        db = dy.mean(axis=(0, 1, 2)) if db_mean else dy.sum(axis=(0, 1, 2))
    dx = dxp[:, t:t + x.shape[1], l:l + x.shape[2]] if crop else dxp
    return dx, dw, db


def scb_correct(dy, cache):
    return student_conv_back(dy, cache)


def scb_overwrite(dy, cache):
    return student_conv_back(dy, cache, overwrite=True)


def scb_uncropped(dy, cache):
    return student_conv_back(dy, cache, crop=False)


def scb_db_mean(dy, cache):
    return student_conv_back(dy, cache, db_mean=True)


def scb_db_always(dy, cache):
    return student_conv_back(dy, cache, db_always=True)


def student_rf(kernels, strides=None, dilations=None, *, own_jump=False, dilate=True,
               add_k=False, with_input=True):
    n = len(kernels)
    strides = [1] * n if strides is None else ([strides] * n if isinstance(strides, int) else strides)
    dilations = [1] * n if dilations is None else (
        [dilations] * n if isinstance(dilations, int) else dilations)
    r, j = 1, 1
    sizes, jumps = ([1], [1]) if with_input else ([], [])
    for k, s, d in zip(kernels, strides, dilations):
        if own_jump:
            j *= s
        r += (d if dilate else 1) * (k if add_k else k - 1) * j
        if not own_jump:
            j *= s
        sizes.append(r)
        jumps.append(j)
    return {"depth": np.arange(len(sizes)) + (0 if with_input else 1), "size": np.array(sizes),
            "jump": np.array(jumps)}


def srf_correct(kernels, strides=None, dilations=None):
    return student_rf(kernels, strides, dilations)


def srf_own_jump(kernels, strides=None, dilations=None):
    return student_rf(kernels, strides, dilations, own_jump=True)


def srf_no_dilation(kernels, strides=None, dilations=None):
    return student_rf(kernels, strides, dilations, dilate=False)


def srf_add_k(kernels, strides=None, dilations=None):
    return student_rf(kernels, strides, dilations, add_k=True)


def srf_no_input(kernels, strides=None, dilations=None):
    return student_rf(kernels, strides, dilations, with_input=False)


def student_pad(padding, kernel, stride, in_hw, owner="conv2d", *, extra_first=False,
                ignore_stride=False, clamp=True, use_floor=False):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if not isinstance(padding, str):
        ph, pw = padding
        return ((ph, ph), (pw, pw))
    pads = []
    for n, k, s in zip(in_hw, kernel, stride):
        if ignore_stride:
            total = k - 1
        else:
            out = n // s if use_floor else -(-n // s)
            total = (out - 1) * s + k - n
            if clamp:
                total = max(total, 0)
        small, big = total // 2, total - total // 2
        pads.append((big, small) if extra_first else (small, big))
    return tuple(pads)


def spad_correct(padding, kernel, stride, in_hw, owner="conv2d"):
    return student_pad(padding, kernel, stride, in_hw, owner)


def spad_extra_first(padding, kernel, stride, in_hw, owner="conv2d"):
    return student_pad(padding, kernel, stride, in_hw, owner, extra_first=True)


def spad_ignore_stride(padding, kernel, stride, in_hw, owner="conv2d"):
    return student_pad(padding, kernel, stride, in_hw, owner, ignore_stride=True)


def spad_no_clamp(padding, kernel, stride, in_hw, owner="conv2d"):
    return student_pad(padding, kernel, stride, in_hw, owner, clamp=False)


def spad_floor(padding, kernel, stride, in_hw, owner="conv2d"):
    return student_pad(padding, kernel, stride, in_hw, owner, use_floor=True)


# ---------------------------------------------------------------- chapter 5

def student_im2col(x, kernel, stride=(1, 1), *, channels_first=False, transpose=False,
                   column_major=False):
    n, h, w, _c = x.shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for b in range(n):
        grid = [(j, i) for j in range(wo) for i in range(ho)] if column_major else \
               [(j, i) for i in range(ho) for j in range(wo)]
        for j, i in grid:
            patch = x[b, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            rows.append(patch.transpose(2, 0, 1).ravel() if channels_first else patch.ravel())
    cols = np.array(rows)
    return cols.T if transpose else cols


def si2c_correct(x, kernel, stride=(1, 1)):
    return student_im2col(x, kernel, stride)


def si2c_cfirst(x, kernel, stride=(1, 1)):
    return student_im2col(x, kernel, stride, channels_first=True)


def si2c_transposed(x, kernel, stride=(1, 1)):
    return student_im2col(x, kernel, stride, transpose=True)


def si2c_colmajor(x, kernel, stride=(1, 1)):
    return student_im2col(x, kernel, stride, column_major=True)


def student_col2im(cols, x_shape, kernel, stride=(1, 1), *, overwrite=False, average=False,
                   dtype=None):
    n, h, w, c = x_shape
    kh, kw = kernel
    sh, sw = stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(x_shape, dtype=cols.dtype if dtype is None else dtype)
    count = np.zeros(x_shape)
    r = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                block = cols[r].reshape(kh, kw, c)
                sl = (b, slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
                if overwrite:
                    out[sl] = block
                else:
                    out[sl] += block
                count[sl] += 1
                r += 1
    if average:
        out = (out / np.maximum(count, 1)).astype(cols.dtype)
    return out


def sc2i_correct(cols, x_shape, kernel, stride=(1, 1)):
    return student_col2im(cols, x_shape, kernel, stride)


def sc2i_overwrite(cols, x_shape, kernel, stride=(1, 1)):
    return student_col2im(cols, x_shape, kernel, stride, overwrite=True)


def sc2i_average(cols, x_shape, kernel, stride=(1, 1)):
    return student_col2im(cols, x_shape, kernel, stride, average=True)


def sc2i_float64(cols, x_shape, kernel, stride=(1, 1)):
    return student_col2im(cols, x_shape, kernel, stride, dtype=np.float64)


def swino_direct(d, g):
    d0, d1, d2, d3 = d
    g0, g1, g2 = g
    return np.array([d0 * g0 + d1 * g1 + d2 * g2, d1 * g0 + d2 * g1 + d3 * g2], dtype=float)


def swino_correct(d, g):
    d0, d1, d2, d3 = np.asarray(d, float)
    g0, g1, g2 = np.asarray(g, float)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * (g0 + g1 + g2) / 2
    m3 = (d2 - d1) * (g0 - g1 + g2) / 2
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


def swino_flipped(d, g):
    return swino_direct(d, list(g)[::-1])


def swino_no_half(d, g):
    d0, d1, d2, d3 = np.asarray(d, float)
    g0, g1, g2 = np.asarray(g, float)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * (g0 + g1 + g2)
    m3 = (d2 - d1) * (g0 - g1 + g2)
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


def swino_sign(d, g):
    d0, d1, d2, d3 = np.asarray(d, float)
    g0, g1, g2 = np.asarray(g, float)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * (g0 + g1 + g2) / 2
    m3 = (d2 - d1) * (g0 - g1 + g2) / 2
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 + m4])


# ---------------------------------------------------------------- chapter 6

def student_pool(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0)), *, kind="max",
                 fill=-np.inf, one_side=False, step=None, include_pad=False):
    (t, b), (l, r) = pads
    if one_side:
        t, b, l, r = t + b, 0, l + r, 0
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill if kind == "max" else 0)
    ones = np.pad(np.ones(x.shape[1:3]), ((t, b), (l, r)))
    kh, kw = size
    sh, sw = step or stride
    ho, wo = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            win = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            if kind == "max":
                y[:, i, j] = win.max(axis=(1, 2))
            else:
                count = kh * kw if include_pad else ones[i * sh:i * sh + kh, j * sw:j * sw + kw].sum()
                y[:, i, j] = win.sum(axis=(1, 2)) / count
    return y, None


def smax_correct(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads)


def smax_zero_pad(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, fill=0.0)


def smax_one_side(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, one_side=True)


def smax_step_size(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, step=size)


def savg_correct(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, kind="avg")


def savg_include_pad(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, kind="avg", include_pad=True)


def savg_one_side(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, kind="avg", one_side=True)


def savg_step_size(x, size=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0))):
    return student_pool(x, size, stride, pads, kind="avg", step=size)


def student_max_back(dy, cache, *, overwrite=False, decode_t=False, crop=True, spread=False):
    x_shape, arg, (kh, kw), (sh, sw), ((t, b), (l, r)) = cache
    n, h, w, c = x_shape
    dxp = np.zeros((n, h + t + b, w + l + r, c), dtype=dy.dtype)
    _, ho, wo, _ = dy.shape
    for bb in range(n):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    if spread:
                        continue
                    a = arg[bb, i, j, ch]
                    u, v = (a % kh, a // kh) if decode_t else (a // kw, a % kw)
                    if overwrite:
                        dxp[bb, i * sh + u, j * sw + v, ch] = dy[bb, i, j, ch]
                    else:
                        dxp[bb, i * sh + u, j * sw + v, ch] += dy[bb, i, j, ch]
    if spread:
        from labkit.ops.pooling import window_counts
        counts = window_counts((h, w), (kh, kw), (sh, sw), ((t, b), (l, r)), dy.dtype)
        for i in range(ho):
            for j in range(wo):
                dxp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += \
                    dy[:, i:i + 1, j:j + 1, :] / counts[i, j]
    if not crop:
        return dxp
    return dxp[:, t:t + h, l:l + w, :]


def smb_correct(dy, cache):
    return student_max_back(dy, cache)


def smb_overwrite(dy, cache):
    return student_max_back(dy, cache, overwrite=True)


def smb_decode(dy, cache):
    return student_max_back(dy, cache, decode_t=True)


def smb_uncropped(dy, cache):
    return student_max_back(dy, cache, crop=False)


def smb_spread(dy, cache):
    return student_max_back(dy, cache, spread=True)


def student_avg_back(dy, cache, *, divide="counts", overwrite=False, crop=True):
    x_shape, counts, (kh, kw), (sh, sw), ((t, b), (l, r)) = cache
    n, h, w, c = x_shape
    dxp = np.zeros((n, h + t + b, w + l + r, c), dtype=dy.dtype)
    _, ho, wo, _ = dy.shape
    for i in range(ho):
        for j in range(wo):
            share = dy[:, i:i + 1, j:j + 1, :]
            if divide == "counts":
                share = share / counts[i, j]
            elif divide == "window":
                share = share / (kh * kw)
            sl = (slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
            if overwrite:
                dxp[sl] = share
            else:
                dxp[sl] += share
    return dxp[:, t:t + h, l:l + w, :] if crop else dxp


def sab_correct(dy, cache):
    return student_avg_back(dy, cache)


def sab_no_division(dy, cache):
    return student_avg_back(dy, cache, divide="none")


def sab_window(dy, cache):
    return student_avg_back(dy, cache, divide="window")


def sab_overwrite(dy, cache):
    return student_avg_back(dy, cache, overwrite=True)


def sab_uncropped(dy, cache):
    return student_avg_back(dy, cache, crop=False)


# ---------------------------------------------------------------- chapter 7

def student_shuffle(x, scale, order="torch", *, ignore_order=False, swap_ij=False, blocks=False):
    n, h, w, crr = x.shape
    r = scale
    c = crr // (r * r)
    out = np.zeros((n, h * r, w * r, c), dtype=x.dtype)
    for i in range(r):
        for j in range(r):
            a, bb = (j, i) if swap_ij else (i, j)
            for ch in range(c):
                if order == "torch" or ignore_order:
                    src = ch * r * r + a * r + bb
                else:
                    src = (a * r + bb) * c + ch
                if blocks:
                    out[:, i * h:(i + 1) * h, j * w:(j + 1) * w, ch] = x[:, :, :, src]
                else:
                    out[:, i::r, j::r, ch] = x[:, :, :, src]
    return out


def sps_correct(x, scale, order="torch"):
    return student_shuffle(x, scale, order)


def sps_ignore_order(x, scale, order="torch"):
    return student_shuffle(x, scale, order, ignore_order=True)


def sps_swap_ij(x, scale, order="torch"):
    return student_shuffle(x, scale, order, swap_ij=True)


def sps_blocks(x, scale, order="torch"):
    return student_shuffle(x, scale, order, blocks=True)


def student_unshuffle(y, scale, order="torch", *, ignore_order=False, swap_ij=False,
                      blocks=False):
    n, hr, wr, c = y.shape
    r = scale
    h, w = hr // r, wr // r
    out = np.zeros((n, h, w, c * r * r), dtype=y.dtype)
    for i in range(r):
        for j in range(r):
            a, bb = (j, i) if swap_ij else (i, j)
            for ch in range(c):
                if order == "torch" or ignore_order:
                    dst = ch * r * r + a * r + bb
                else:
                    dst = (a * r + bb) * c + ch
                if blocks:
                    out[..., dst] = y[:, i * h:(i + 1) * h, j * w:(j + 1) * w, ch]
                else:
                    out[..., dst] = y[:, i::r, j::r, ch]
    return out


def spu_correct(y, scale, order="torch"):
    return student_unshuffle(y, scale, order)


def spu_ignore_order(y, scale, order="torch"):
    return student_unshuffle(y, scale, order, ignore_order=True)


def spu_swap_ij(y, scale, order="torch"):
    return student_unshuffle(y, scale, order, swap_ij=True)


def spu_blocks(y, scale, order="torch"):
    return student_unshuffle(y, scale, order, blocks=True)


def student_bn(x, gamma, beta, eps=1e-5, *, ddof=0, eps_outside=False, everything=False):
    axes = None if everything else tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    m = x.size if everything else x.size // x.shape[-1]
    var = x.var(axis=axes, ddof=ddof if m > 1 else 0)
    if everything:
        mean = np.full(x.shape[-1], mean, dtype=x.dtype)
        var = np.full(x.shape[-1], var, dtype=x.dtype)
    std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return gamma * (x - mean) / std + beta, mean, var, None


def sbn_correct(x, gamma, beta, eps=1e-5):
    return student_bn(x, gamma, beta, eps)


def sbn_unbiased(x, gamma, beta, eps=1e-5):
    return student_bn(x, gamma, beta, eps, ddof=1)


def sbn_eps_outside(x, gamma, beta, eps=1e-5):
    return student_bn(x, gamma, beta, eps, eps_outside=True)


def sbn_global(x, gamma, beta, eps=1e-5):
    return student_bn(x, gamma, beta, eps, everything=True)


def student_bn_back(dy, cache, *, constant_stats=False, use_gamma=True, swap=False, unbiased=False):
    mode, xhat, inv_std, gamma = cache
    axes = tuple(range(dy.ndim - 1))
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    g = dy * gamma if use_gamma else dy
    if mode == "eval" or constant_stats:
        dx = g * inv_std
    else:
        m = dy.size / dy.shape[-1]
        m2 = m - 1 if unbiased else m
        dx = inv_std * (g - g.mean(axis=axes) - xhat * (g * xhat).sum(axis=axes) / m2)
    return (dx, dbeta, dgamma) if swap else (dx, dgamma, dbeta)


def sbb_correct(dy, cache):
    return student_bn_back(dy, cache)


def sbb_constant(dy, cache):
    return student_bn_back(dy, cache, constant_stats=True)


def sbb_no_gamma(dy, cache):
    return student_bn_back(dy, cache, use_gamma=False)


def sbb_swap(dy, cache):
    return student_bn_back(dy, cache, swap=True)


def sbb_unbiased(dy, cache):
    return student_bn_back(dy, cache, unbiased=True)


# ---------------------------------------------------------------- chapter 8

def selu_correct(x, y, alpha=1.0):
    return np.where(x > 0, 1, alpha * np.exp(x)).astype(x.dtype)


def selu_kink(x, y, alpha=1.0):
    return np.where(x >= 0, 1, alpha * np.exp(x)).astype(x.dtype)


def selu_no_alpha(x, y, alpha=1.0):
    return np.where(x > 0, 1, np.exp(x)).astype(x.dtype)


def selu_exp_y(x, y, alpha=1.0):
    return np.where(x > 0, 1, alpha * np.exp(y)).astype(x.dtype)


def sleaky_correct(x, y, alpha=0.1):
    return np.where(x > 0, 1, alpha).astype(x.dtype)


def sleaky_kink(x, y, alpha=0.1):
    return np.where(x >= 0, 1, alpha).astype(x.dtype)


def sleaky_relu(x, y, alpha=0.1):
    return (x > 0).astype(x.dtype)


def sleaky_float64(x, y, alpha=0.1):
    return np.where(x > 0, 1.0, alpha)


def slog_correct(x, y):
    return y - y ** 2


def slog_x(x, y):
    return x * (1 - x)


def slog_twice(x, y):
    s = 1 / (1 + np.exp(-y))
    return s * (1 - s)


def slog_y(x, y):
    return y


def stanh_correct(x, y):
    return 1 - y ** 2


def stanh_x(x, y):
    return 1 - x ** 2


def stanh_square(x, y):
    return (1 - y) ** 2


def stanh_sech(x, y):
    return 1 / np.cosh(x)


def slog_in_place(x, y):
    y *= 1 - y
    return y


# ---------------------------------------------------------------- chapter 11

def student_lr(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5, *,
               use_min=True, clamp=True, plus_one=False, floor=True):
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        t = min(step, total) if clamp else step
        low = lr_min if use_min else 0.0
        return low + (lr - low) * (1 + math.cos(math.pi * t / total)) / 2
    s = step_size or max(total // 2, 1)
    k = step + 1 if plus_one else step
    return lr * gamma ** (k // s if floor else k / s)


def slr_correct(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return student_lr(step, total, lr, schedule, lr_min, step_size, gamma)


def slr_no_min(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return student_lr(step, total, lr, schedule, lr_min, step_size, gamma, use_min=False)


def slr_no_clamp(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return student_lr(step, total, lr, schedule, lr_min, step_size, gamma, clamp=False)


def slr_plus_one(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return student_lr(step, total, lr, schedule, lr_min, step_size, gamma, plus_one=True)


def slr_no_floor(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    return student_lr(step, total, lr, schedule, lr_min, step_size, gamma, floor=False)


# ============================================================================ tables


# --- student-style solutions of the pure-function exercises (dense, losses, Adam)

def sdense_correct(dy, cache):
    x, w, has_bias = cache
    return dy @ w.T, x.T @ dy, (dy.sum(axis=0) if has_bias else None)


def sdense_mean(dy, cache):
    x, w, has_bias = cache
    return dy @ w.T, x.T @ dy, (dy.mean(axis=0) if has_bias else None)


def sdense_always(dy, cache):
    x, w, _ = cache
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def sdense_axis(dy, cache):
    x, w, has_bias = cache
    return dy @ w.T, x.T @ dy, (dy.sum(axis=1) if has_bias else None)


def sl1_correct(y, target):
    return np.sign(y - target) / y.size


def sl1_no_mean(y, target):
    return np.sign(y - target)


def sl1_reversed(y, target):
    return np.sign(target - y) / y.size


def sl1_kink(y, target):
    return np.where(y >= target, 1.0, -1.0).astype(y.dtype) / y.size


def scharb_correct(y, target, eps=1e-3):
    d = y - target
    return d / np.sqrt(d * d + eps * eps) / d.size


def scharb_no_mean(y, target, eps=1e-3):
    d = y - target
    return d / np.sqrt(d * d + eps * eps)


def scharb_eps(y, target, eps=1e-3):
    d = y - target
    return d / np.sqrt(d * d + eps) / d.size


def scharb_value(y, target, eps=1e-3):
    d = y - target
    return np.sqrt(d * d + eps * eps) / d.size


def sadam_correct(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    step = lr / (1 - beta1 ** t) * m / (np.sqrt(v) / np.sqrt(1 - beta2 ** t) + eps)
    return (p - step).astype(p.dtype), m, v


def sadam_no_bias(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    return (p - lr * m / (np.sqrt(v) + eps)).astype(p.dtype), m, v


def sadam_eps_inside(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    mh, vh = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return (p - lr * mh / np.sqrt(vh + eps)).astype(p.dtype), m, v


def sadam_ascent(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    q, m, v = sadam_correct(p, g, m, v, t, lr, beta1, beta2, eps)
    return (2 * p - q).astype(p.dtype), m, v


CORRECT = {
    "perceptron_predict": sp_correct, "perceptron_fit": sf_correct,
    "gradient_descent": sgd_correct, "psnr": spsnr_correct, "ssim": sssim_correct,
    "fft2c": sfft_correct, "kspace_downsample": sds_correct,
    "conv2d_naive_forward": sconv_correct, "conv2d_naive_backward": scb_correct,
    "resolve_padding": spad_correct,
    "im2col": si2c_correct, "col2im": sc2i_correct, "winograd_f2_3": swino_correct,
    "maxpool_forward": smax_correct, "maxpool_backward": smb_correct,
    "avgpool_forward": savg_correct, "avgpool_backward": sab_correct,
    "pixel_shuffle": sps_correct, "pixel_unshuffle": spu_correct,
    "batchnorm_forward_train": sbn_correct, "batchnorm_backward": sbb_correct,
    "d_elu": selu_correct, "d_leaky": sleaky_correct, "d_logistic": slog_correct,
    "learning_rate": slr_correct, "cubic_kernel": scubic_correct,
    "receptive_field_sizes": srf_correct, "d_tanh": stanh_correct,
    "dense_backward": sdense_correct, "l1_grad": sl1_correct, "charbonnier_grad": scharb_correct,
    "adam_step": sadam_correct,
}

#: exercise id -> [(wrong implementation, name of the mistake whose hint must appear)]
WRONG = {
    "perceptron_predict": [(sp_strict, "H(0) = 0"), (sp_no_bias, "bias ignored"),
                           (sp_sign, "-1/+1 outputs"), (sp_column, "column output")],
    "perceptron_fit": [(sf_strict, "H(0) = 0"), (sf_no_stop, "no early stop"),
                       (sf_fresh_rng, "generator re-created each epoch"),
                       (sf_no_bias, "bias not updated")],
    "gradient_descent": [(sgd_no_start, "start missing"), (sgd_ema, "EMA momentum"),
                         (sgd_no_guard, "no divergence guard"),
                         (sgd_no_momentum, "momentum ignored")],
    "psnr": [(spsnr_pooled, "pooled MSE"), (spsnr_20, "20 log10 of a power ratio"),
             (spsnr_uint8, "integer arithmetic"), (spsnr_one_side, "crop on one side"),
             (spsnr_no_mask, "mask ignored")],
    "ssim": [(sssim_box, "box window"), (sssim_linear_c, "constants not squared"),
             (sssim_global, "global statistics")],
    "fft2c": [(sfft_plain, "not centred"), (sfft_all_axes, "all axes transformed"),
              (sfft_unnormalised, "not orthonormal"),
              (sfft_shift_twice, "fftshift instead of ifftshift")],
    "kspace_downsample": [(sds_no_ramp, "no phase ramp"), (sds_no_rescale, "intensity not preserved"),
                          (sds_magnitude, "magnitude"), (sds_subsample, "plain subsampling")],
    "conv2d_naive_forward": [(sconv_flip, "true convolution"), (sconv_no_bias, "bias ignored"),
                             (sconv_one_side, "one-sided padding"),
                             (sconv_swap_stride, "strides swapped")],
    "conv2d_naive_backward": [(scb_overwrite, "overlaps overwritten"),
                              (scb_uncropped, "padding not cropped"),
                              (scb_db_mean, "db as a mean"), (scb_db_always, "db without bias")],
    "resolve_padding": [(spad_extra_first, "extra pixel top/left"),
                        (spad_ignore_stride, "stride ignored"),
                        (spad_no_clamp, "negative padding"), (spad_floor, "floor instead of ceil")],
    "im2col": [(si2c_cfirst, "channel-first columns"), (si2c_transposed, "transposed output"),
               (si2c_colmajor, "column-major windows")],
    "col2im": [(sc2i_overwrite, "overlaps overwritten"), (sc2i_average, "overlaps averaged"),
               (sc2i_float64, "float64 output")],
    "winograd_f2_3": [(swino_flipped, "kernel flipped"), (swino_no_half, "missing 1/2"),
                      (swino_sign, "sign of m4")],
    "maxpool_forward": [(smax_zero_pad, "zero padding"), (smax_one_side, "one-sided padding"),
                        (smax_step_size, "stride ignored")],
    "maxpool_backward": [(smb_overwrite, "overlaps overwritten"),
                         (smb_decode, "argmax decoded transposed"),
                         (smb_uncropped, "padding not cropped"),
                         (smb_spread, "spread over the window")],
    "avgpool_forward": [(savg_include_pad, "count includes padding"),
                        (savg_one_side, "one-sided padding"), (savg_step_size, "stride ignored")],
    "avgpool_backward": [(sab_no_division, "1/N forgotten"), (sab_window, "divided by kh*kw"),
                         (sab_overwrite, "overlaps overwritten"),
                         (sab_uncropped, "padding not cropped")],
    "pixel_shuffle": [(sps_ignore_order, "torch/tf order swapped"), (sps_swap_ij, "i and j swapped"),
                      (sps_blocks, "blocks instead of interleaving")],
    "pixel_unshuffle": [(spu_ignore_order, "torch/tf order swapped"),
                        (spu_swap_ij, "i and j swapped"),
                        (spu_blocks, "blocks instead of interleaving")],
    "batchnorm_forward_train": [(sbn_unbiased, "unbiased variance"),
                                (sbn_eps_outside, "eps outside the root"),
                                (sbn_global, "global statistics")],
    "batchnorm_backward": [(sbb_constant, "batch statistics treated as constants"),
                           (sbb_no_gamma, "gamma forgotten"),
                           (sbb_swap, "dgamma and dbeta swapped"),
                           (sbb_unbiased, "unbiased variance")],
    "d_elu": [(selu_kink, "kink gets 1"), (selu_no_alpha, "alpha forgotten"),
              (selu_exp_y, "exp of y")],
    "d_leaky": [(sleaky_kink, "kink gets 1"), (sleaky_relu, "ReLU derivative"),
                (sleaky_float64, "float64 output")],
    "d_logistic": [(slog_x, "x instead of y"), (slog_twice, "sigmoid applied twice"),
                   (slog_y, "factor (1 - y) forgotten")],
    "cubic_kernel": [(scubic_matlab, "a ignored"), (scubic_no_abs, "not symmetric"),
                     (scubic_unbounded, "support not bounded")],
    "receptive_field_sizes": [(srf_own_jump, "jump of the current layer"),
                              (srf_no_dilation, "dilation ignored"), (srf_add_k, "k instead of k - 1"),
                              (srf_no_input, "input entry missing")],
    "d_tanh": [(stanh_x, "x instead of y"), (stanh_square, "(1 - y)^2"),
               (stanh_sech, "sech instead of sech^2")],
    "learning_rate": [(slr_no_min, "lr_min ignored"), (slr_no_clamp, "no clamp after total"),
                      (slr_plus_one, "off by one"), (slr_no_floor, "exponent not floored")],
    "dense_backward": [(sdense_mean, "db averaged"), (sdense_always, "db without bias"),
                       (sdense_axis, "db over the wrong axis")],
    "l1_grad": [(sl1_no_mean, "no 1/M"), (sl1_reversed, "sign reversed"),
                (sl1_kink, "kink gets 1")],
    "charbonnier_grad": [(scharb_no_mean, "no 1/M"), (scharb_eps, "eps not squared"),
                         (scharb_value, "loss instead of gradient")],
    "adam_step": [(sadam_no_bias, "no bias correction"), (sadam_eps_inside, "eps inside the root"),
                  (sadam_ascent, "gradient ascent")],
}

IDS = [e["id"] for e in list_exercises()]


# ============================================================================ tests

def test_catalogue_size_and_fields():
    items = list_exercises()
    assert len(items) >= 18
    assert len({e["chapter"] for e in items}) >= 8
    assert len(IDS) == len(set(IDS))
    for e in items:
        for key in ("id", "chapter", "reference", "summary"):
            assert isinstance(e[key], str) and e[key], (e, key)
        assert (NOTEBOOKS / e["chapter"]).exists(), e["chapter"]
        assert e["reference"].startswith("labkit.")


def test_tables_cover_every_exercise():
    assert set(CORRECT) == set(IDS)
    assert set(WRONG) == set(IDS)
    assert all(len(v) >= 3 for v in WRONG.values())


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_resolves_and_every_case_binds(exercise_id):
    ex = E.EXERCISES[exercise_id]
    ref = _core.resolve(ex.reference)
    assert callable(ref)
    sig = inspect.signature(ref)
    cases = list(ex.cases(np.random.default_rng(0)))
    assert 10 <= len(cases) <= 80
    for case in cases:
        sig.bind(*case.args, **case.kwargs)         # the grader calls fn like the reference
        assert case.label
    for m in ex.mistakes:                           # the variants share the signature too
        inspect.signature(m.variant).bind(*cases[0].args, **cases[0].kwargs)


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes(exercise_id):
    ref = E.EXERCISES[exercise_id].reference_function()
    for seed in (0, 1):
        result = check(exercise_id, ref, seed=seed)
        assert result.passed, str(result)
        assert result.failures == [] and result.hints == []
        assert result.cases >= 10
        assert f"{result.cases}/{result.cases} cases passed" in str(result)


@pytest.mark.parametrize("exercise_id", IDS)
def test_independent_correct_implementation_passes(exercise_id):
    result = check(exercise_id, CORRECT[exercise_id])
    assert result.passed, str(result)


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_mistake_variant_is_recognised(exercise_id):
    ex = E.EXERCISES[exercise_id]
    for m in ex.mistakes:
        result = check(exercise_id, m.variant)
        assert not result.passed, m.name
        assert m.hint in result.hints, (m.name, str(result))


@pytest.mark.parametrize("exercise_id,fn,mistake",
                         [(k, fn, name) for k, rows in WRONG.items() for fn, name in rows],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_wrong_implementation_fails_with_its_hint(exercise_id, fn, mistake):
    result = check(exercise_id, fn)
    assert not result.passed
    assert result.failed > 0 and result.failures
    assert hint_of(exercise_id, mistake) in result.hints, str(result)
    assert f"failed {result.failed} of {result.cases}" in str(result)
    # every failure names its case (the call with its shapes / arguments)
    assert all(f.split(":")[0].count("(") >= 1 for f in result.failures), result.failures


def test_not_attempted():
    def my_im2col(x, kernel, stride=(1, 1)):
        raise NotImplementedError

    result = check("im2col", my_im2col)
    assert not result.passed
    assert "not attempted yet: replace `raise NotImplementedError`" in str(result)
    assert "not attempted" in result.failures[0]
    assert "not attempted" in result._repr_html_()


def test_crash_names_the_case_and_the_exception():
    def crashing(x, kernel, stride=(1, 1)):
        if stride != (1, 1):
            raise IndexError("index 7 is out of bounds")
        return _core.resolve("labkit.ops.im2col.im2col")(x, kernel, stride)

    result = check("im2col", crashing)
    assert not result.passed
    assert result.failures
    first = result.failures[0]
    assert first.startswith("im2col(x (") and "stride=(" in first
    assert "IndexError: index 7 is out of bounds" in first
    assert _core.HINT_EXCEPTION in result.hints


def test_wrong_return_type_is_a_failure_not_an_exception():
    result = check("psnr", lambda x, ref, data_range=1.0, crop=0, mask=None, reduce=True: "42 dB")
    assert not result.passed and result.failures
    result = check("im2col", lambda x, kernel, stride=(1, 1): None)
    assert not result.passed and "None" in result.failures[0]
    result = check("im2col", lambda x: x)          # wrong signature: a TypeError per case
    assert not result.passed and "TypeError" in result.failures[0]


def test_unknown_id_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        check("im2colz", si2c_correct)
    message = str(info.value)
    assert "im2colz" in message
    for known in ("im2col", "maxpool_backward", "psnr"):
        assert known in message


def test_non_callable_fn():
    with pytest.raises(ValueError, match="check"):
        check("im2col", 42)


def test_in_place_modification_is_flagged():
    result = check("d_logistic", slog_in_place)
    assert not result.passed
    assert _core.HINT_MUTATION in result.hints
    assert any("modified its input `y` in place" in f for f in result.failures)


def test_shape_nan_and_dtype_hints():
    result = check("im2col", si2c_transposed)
    assert _core.HINT_SHAPE in result.hints
    assert "wrong shape: expected (" in result.failures[0]

    def nan_elu(x, y, alpha=1.0):
        return np.where(x > 0, 1.0, alpha * np.exp(x) * np.nan).astype(x.dtype)

    result = check("d_elu", nan_elu)
    assert _core.HINT_NAN in result.hints

    result = check("d_leaky", sleaky_float64)
    assert _core.HINT_DTYPE in result.hints
    assert any("dtype changed: expected float32, got float64" in f for f in result.failures)


def test_seed_changes_the_cases():
    ex = E.EXERCISES["maxpool_forward"]
    a = [c.label for c in ex.cases(np.random.default_rng(0))]
    b = [c.label for c in ex.cases(np.random.default_rng(5))]
    assert a != b


def test_failures_are_capped_but_counted():
    result = check("im2col", si2c_transposed)
    assert len(result.failures) <= _core.MAX_FAILURES
    assert result.failed == result.cases


def test_result_display():
    ok = check("winograd_f2_3", swino_correct)
    html = ok._repr_html_()
    assert "winograd_f2_3: 30/30 cases passed" in html or "cases passed" in html
    assert "#1a7f37" in html                                  # green
    bad = check("winograd_f2_3", swino_flipped)
    html = bad._repr_html_()
    assert "#cf222e" in html and "failed" in html and "<li>" in html
    assert "true convolution" in html
    text = repr(bad)
    assert text.startswith("FAILED  winograd_f2_3: failed")
    assert "hints:" in text and "first failures:" in text
    assert str(ok).startswith("PASSED  ")
    assert bool(ok) and not bool(bad)


def test_html_is_escaped():
    def bad(x, kernel, stride=(1, 1)):
        raise ValueError("<script>alert(1)</script>")

    html = check("im2col", bad)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_compare_tolerances():
    a = np.linspace(-1, 1, 50)
    assert _core.compare(a + 1e-13, a) is None
    assert _core.compare(a + 1e-6, a) is not None
    f = a.astype(np.float32)
    assert _core.compare(f * (1 + 1e-7), f) is None
    assert _core.compare(f + 1e-3, f) is not None
    assert _core.compare(np.float64(3.0), 3.0) is None
    assert _core.compare(float("inf"), float("inf")) is None
    assert _core.compare(1e308, float("inf")) is not None
    assert _core.compare(((0, 1), (1, 1)), ((0, 1), (1, 1))) is None
    assert _core.compare([[0, 1], [1, 1]], ((0, 1), (1, 1))) is None
    assert _core.compare(((1, 0), (1, 1)), ((0, 1), (1, 1))) is not None


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_is_not_attempted(exercise_id):
    namespace = {"np": np}
    exec(E.stub(exercise_id), namespace)  # noqa: S102 - the stub is our own source
    ref = E.EXERCISES[exercise_id].reference_function()
    fn = namespace[ref.__name__]
    assert list(inspect.signature(fn).parameters) == list(inspect.signature(ref).parameters)
    result = check(exercise_id, fn)
    assert not result.passed and result.failures == [_core.NOT_ATTEMPTED]


def test_list_by_chapter():
    pooling = list_exercises("06_pooling.ipynb")
    assert {e["id"] for e in pooling} >= {"maxpool_forward", "maxpool_backward",
                                          "avgpool_backward"}
    assert all(e["chapter"] == "06_pooling.ipynb" for e in pooling)
    assert list_exercises("no_such.ipynb") == []


def test_unrecognised_mistake_gets_the_generic_hint():
    def off(x, kernel, stride=(1, 1)):
        return _core.resolve("labkit.ops.im2col.im2col")(x, kernel, stride) * 1.5

    result = check("im2col", off)
    assert not result.passed
    assert any("help(labkit.ops.im2col.im2col)" in h for h in result.hints)


def test_padding_as_an_int_array_is_accepted():
    def as_array(padding, kernel, stride, in_hw, owner="conv2d"):
        return np.array(spad_correct(padding, kernel, stride, in_hw, owner))

    assert check("resolve_padding", as_array).passed


def test_a_failing_reference_is_reported_not_raised(monkeypatch):
    ex = E.EXERCISES["winograd_f2_3"]
    broken = _core.Exercise(id="broken", chapter=ex.chapter, reference="labkit.ops.winograd.nope",
                            summary="", cases=ex.cases)
    monkeypatch.setattr(_core.Exercise, "reference_function", lambda self: (lambda d, g: 1 / 0))
    result = _core.grade(broken, swino_correct)
    assert not result.passed
    assert "itself raised ZeroDivisionError" in result.failures[0]
    assert any("bug in labkit" in h for h in result.hints)


def test_a_failing_case_generator_is_reported_not_raised():
    def cases(rng):
        raise RuntimeError("boom")
        yield

    broken = _core.Exercise(id="broken", chapter="05_convolutional_layer.ipynb",
                            reference="labkit.ops.winograd.winograd_f2_3", summary="", cases=cases)
    result = _core.grade(broken, swino_correct)
    assert not result.passed and "RuntimeError: boom" in result.failures[0]
