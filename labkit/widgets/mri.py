"""MRI explorers: a volume slice viewer, a degradation explorer and an SR comparison viewer."""

from __future__ import annotations

import numpy as np

from labkit._validate import check_float, check_int, check_seed
from labkit.viz import style
from labkit.viz.mri import AXIS_NAMES, slice_figure, slice_image, sr_comparison
from labkit.widgets._base import Explorer, check_control, dropdown, float_slider, slider, toggles
from labkit.widgets.pooling import _stack


def volume_viewer(volume, voxel_size=None, axis: int = 2, index: int | None = None):
    """Browse a 3-D volume slice by slice along any axis.

    Parameters
    ----------
    volume : ndarray, shape (X, Y, Z)
    voxel_size : (float, float, float), optional
    axis : {0, 1, 2}
        Initial axis (0 sagittal, 1 coronal, 2 axial).
    index : int, optional
        Initial slice (default the middle).

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``axis``, ``index`` (its maximum follows the axis; switching axis
        moves to the middle slice); ``state.arrays["slice"]``: the displayed 2-D array
        (:func:`labkit.viz.mri.slice_image`).
    """
    vol = style.check_volume(volume, "volume_viewer")
    owner = "volume_viewer"
    axis = check_control(owner, "axis", axis, 0, 2)
    index = vol.shape[axis] // 2 if index is None else check_control(
        owner, "index", index, 0, vol.shape[axis] - 1)
    if voxel_size is not None:
        if isinstance(voxel_size, (str, bytes)) or np.ndim(voxel_size) != 1 \
                or len(voxel_size) != 3:
            raise ValueError(f"{owner}: voxel_size must be three numbers, got {voxel_size!r}")
        voxel_size = tuple(check_float(v, "voxel_size", owner, min=0.0, min_open=True)
                           for v in voxel_size)
    controls = {
        "axis": toggles("axis", [(name, k) for k, name in enumerate(AXIS_NAMES)], axis),
        "index": slider("slice", index, 0, vol.shape[axis] - 1),
    }

    def follow_axis(state, name):
        if name == "axis":
            n = vol.shape[state.controls["axis"].value]
            idx = state.controls["index"]
            # Order matters: move the value inside the new range before shrinking the range.
            idx.value = min(idx.value, n - 1)
            idx.max = n - 1
            idx.value = n // 2

    def render(v):
        fig = slice_figure(vol, v["axis"], v["index"], voxel_size)
        return fig, {"slice": slice_image(vol, v["axis"], v["index"])}

    state = Explorer("Volume slice viewer", controls, render, columns=1)
    state.on_values(follow_axis)
    return state.ui, state


def _bicubic_up(lr, scale):
    from labkit.ops.resize import imresize
    return imresize(lr, scale=scale, method="bicubic")


def _scores(img, ref, crop):
    from labkit.metrics import psnr, ssim
    return float(psnr(img, ref, crop=crop)), float(ssim(img, ref, crop=crop))


def degradation_explorer(hr_images, method: str = "bicubic", scale: int = 2, noise: float = 0.0,
                         zoom=None, seed: int = 0):
    """How a low-resolution MR image is simulated: method, scale and noise.

    Parameters
    ----------
    hr_images : ndarray, shape (H, W) or (N, H, W)
        High-resolution slices (cropped to a multiple of the scale as needed).
    method : {"bicubic", "kspace", "gaussian"}
        See :func:`labkit.data.degrade`.
    scale : {2, 3, 4}
    noise : float
        Rician noise level ``1 / SNR`` (noise sigma over the mean foreground intensity);
        0 is noise-free.
    zoom : (row, col, size), optional
        Zoom window of the comparison (clipped to the cropped image).
    seed : int
        Noise seed (fixed, so that moving another control does not redraw the noise).

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``method``, ``scale``, ``noise``, ``slice``; ``state.arrays``:
        ``hr`` (cropped), ``lr``, ``bicubic`` (LR upsampled with imresize) and ``scores``
        (PSNR, SSIM of the bicubic image, ``crop=scale``).
    """
    from labkit.data import DEGRADATIONS, crop_to_multiple, degrade
    owner = "degradation_explorer"
    stack = _stack(hr_images, owner)
    check_control(owner, "method", method, options=list(DEGRADATIONS))
    check_control(owner, "scale", scale, options=[2, 3, 4])
    noise = check_control(owner, "noise", noise, 0.0, 0.2, kind="float")
    seed = check_seed(seed, "seed", owner)
    if zoom is not None:
        if isinstance(zoom, (str, bytes)) or np.ndim(zoom) != 1 or len(zoom) != 3:
            raise ValueError(f"{owner}: zoom must be (row, col, size), got {zoom!r}")
        zoom = tuple(check_int(v, "zoom", owner, min=0) for v in zoom)
    controls = {
        "method": dropdown("method", list(DEGRADATIONS), method),
        "scale": dropdown("scale", [2, 3, 4], scale),
        "noise": float_slider("noise 1/SNR", noise, 0.0, 0.2, 0.01),
        "slice": slider("slice", 0, 0, stack.shape[0] - 1),
    }
    controls["slice"].disabled = stack.shape[0] == 1

    def render(v):
        s = v["scale"]
        hr = crop_to_multiple(stack[v["slice"]], s)
        if min(hr.shape) < 2 * s:
            raise ValueError(f"degradation explorer: the image {stack.shape[1:]} is too small "
                             f"for scale {s}")
        snr = 1.0 / v["noise"] if v["noise"] > 0 else None
        lr = degrade(hr, s, method=v["method"], noise_snr=snr, seed=seed)
        up = _bicubic_up(lr, s)
        sc = _scores(up, hr, s)
        z = None if zoom is None else _clip_zoom(zoom, hr.shape)
        fig = sr_comparison(hr, {f"LR ×{s} ({v['method']})": lr, "bicubic": up}, zoom=z,
                            scores={"bicubic": sc})
        return fig, {"hr": hr, "lr": lr, "bicubic": up, "scores": sc}

    state = Explorer("Degradation explorer", controls, render)
    return state.ui, state


def _clip_zoom(zoom, shape):
    r0, c0, size = (int(v) for v in zoom)
    size = max(2, min(size, shape[0], shape[1]))
    return min(max(r0, 0), shape[0] - size), min(max(c0, 0), shape[1] - size), size


def sr_viewer(hr, outputs, lr=None, scale: int | None = None, zoom_size: int = 48):
    """Compare super-resolved slices with bicubic and the reference, with a movable zoom.

    Parameters
    ----------
    hr : ndarray, shape (N, H, W) or (H, W)
        Reference slices.
    outputs : dict name -> ndarray (N, H, W) or callable
        Each model's output for every slice, or a function ``f(lr_slice) -> sr_slice`` (called
        once per slice when first shown, then cached; needs ``lr``).
    lr : ndarray, shape (N, H/s, W/s), optional
        Low-resolution inputs; adds the LR and bicubic panels.
    scale : int, optional
        Default ``H // lr.shape[-2]``.
    zoom_size : int
        Initial side of the zoom window.

    Returns
    -------
    ui : ipywidgets.VBox
    state : Explorer
        ``state.controls``: ``slice``, ``model`` (one name or ``"all"``), ``zoom_row``,
        ``zoom_col``, ``zoom_size``; ``state.arrays``: ``hr``, one entry per shown image and
        ``scores`` (name -> (PSNR, SSIM), ``crop=scale``).
    """
    owner = "sr_viewer"
    ref = _stack(hr, owner)
    if not isinstance(outputs, dict) or not outputs:
        raise ValueError(f"{owner}: outputs must be a non-empty dict name -> array or callable")
    low = None if lr is None else _stack(lr, owner)
    if low is not None and low.shape[0] != ref.shape[0]:
        raise ValueError(f"{owner}: lr has {low.shape[0]} slices, hr has {ref.shape[0]}")
    zoom_size = check_int(zoom_size, "zoom_size", owner, min=2)
    if scale is None:
        scale = 1 if low is None else ref.shape[1] // low.shape[1]
    else:
        scale = check_int(scale, "scale", owner, min=1)
    arrays_out = {}
    for name, out in outputs.items():
        if callable(out):
            if low is None:
                raise ValueError(f"{owner}: model {name!r} is a function, so lr is needed")
            arrays_out[name] = out
        else:
            a = _stack(out, owner)
            if a.shape != ref.shape:
                raise ValueError(f"{owner}: output {name!r} has shape {a.shape}, hr has "
                                 f"{ref.shape}")
            arrays_out[name] = a
    cache: dict = {}

    def sr_slice(name, k):
        out = arrays_out[name]
        if not callable(out):
            return out[k]
        if (name, k) not in cache:
            cache[(name, k)] = np.asarray(out(low[k]), dtype=np.float64)
        return cache[(name, k)]

    h, w = ref.shape[1:]
    size0 = max(2, min(zoom_size, h, w))
    controls = {
        "slice": slider("slice", 0, 0, ref.shape[0] - 1),
        "model": dropdown("model", ["all"] + list(arrays_out), "all"),
        "zoom_row": slider("zoom row", (h - size0) // 2, 0, h - 2),
        "zoom_col": slider("zoom col", (w - size0) // 2, 0, w - 2),
        "zoom_size": slider("zoom size", size0, 2, min(h, w)),
    }
    controls["slice"].disabled = ref.shape[0] == 1

    def render(v):
        k = v["slice"]
        r0, c0, size = v["zoom_row"], v["zoom_col"], v["zoom_size"]
        if r0 + size > h or c0 + size > w:
            raise ValueError(f"SR viewer: the zoom window (row {r0}, col {c0}, size {size}) "
                             f"leaves the {h}×{w} slice; move it or make it smaller")
        images = {}
        if low is not None:
            images[f"LR ×{scale}"] = low[k]
            images["bicubic"] = _bicubic_up(low[k], scale)
        names = list(arrays_out) if v["model"] == "all" else [v["model"]]
        for name in names:
            img = sr_slice(name, k)
            if img.shape != ref.shape[1:]:
                raise ValueError(f"SR viewer: model {name!r} returned shape {img.shape} for "
                                 f"slice {k}, expected {ref.shape[1:]}")
            images[name] = img
        crop = scale if scale > 1 else 0
        scores = {n: _scores(a, ref[k], crop) for n, a in images.items()
                  if a.shape == ref.shape[1:]}
        fig = sr_comparison(ref[k], images, zoom=(r0, c0, size), scores=scores)
        return fig, dict(images, hr=ref[k], scores=scores)

    state = Explorer("Super-resolution viewer", controls, render)
    return state.ui, state
