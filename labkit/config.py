"""The settings of a training run and their validation, in one place.

:data:`DEFAULT_CONFIG` lists every setting (``labkit train`` exposes each as ``--name``);
:func:`make_config` fills in defaults and validates the lot: each setting on its own
(:func:`check_setting`, which the CLI also calls for the values it is given on ``--resume``),
then the combinations (patch divisible by scale, learning-rate schedule, declared memory).
:class:`labkit.train.Trainer` validates its schedule arguments with the same
:func:`check_schedule`.  Errors are ``ValueError`` naming ``make_config`` (or the caller) and the
setting.

Bounds are stated here rather than discovered by running out of memory: a run may declare at
most :data:`labkit.network.MAX_PARAMS` parameters and one activation of at most
:data:`labkit._validate.MAX_ALLOC_BYTES`.
"""

from __future__ import annotations

from labkit._validate import (
    check_alloc,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_range,
)
from labkit.data.collection import NORMALIZATIONS
from labkit.data.sampler import SAMPLER_DEGRADATIONS
from labkit.losses import LOSSES
from labkit.models import INITS, SR_MODELS
from labkit.network import MAX_PARAMS
from labkit.ops.conv import ALGORITHMS

__all__ = ["DEFAULT_CONFIG", "MAX_STEPS", "MIX_DEFAULTS", "NORMALIZATIONS", "SCHEDULES",
           "check_schedule", "check_setting", "make_config"]

#: What ``degradation="mix"`` uses for the settings left at ``"auto"``: Rician noise on half of
#: the patches at an SNR log-uniform in 10..60 (clinical T1 scans sit around 20-40), and an
#: intensity factor log-uniform in 1/2..2.
MIX_DEFAULTS = {"noise_snr": [10.0, 60.0], "intensity_scale": [0.5, 2.0]}

SCHEDULES = ("cosine", "step", "constant")

#: The longest run a configuration may ask for (a typo guard: 10^9 steps are years).
MAX_STEPS = 10 ** 9

#: Every setting of a run.  ``labkit train`` exposes each as ``--name``; the dict (with the
#: values used) is stored in every checkpoint and in ``metrics.json``.
DEFAULT_CONFIG = {
    "model": "edsr",          # edsr | wdsr_a | wdsr_b
    "blocks": 8,              # residual blocks
    "filters": 32,            # feature channels
    "res_scale": 1.0,         # residual scaling inside the blocks
    "init": "torch",          # weight initialisation: torch (PyTorch's default) | he
    "scale": 2,               # 2, 3 or 4
    "degradation": "bicubic",  # bicubic | kspace | gaussian (labkit.data.degrade) | mix
    "noise_snr": "auto",      # [lo, hi]: Rician noise SNR range | None; auto: mix -> 10..60
    "noise_fraction": 0.5,    # share of patches that get noise when noise_snr is a range
    "intensity_scale": "auto",  # [lo, hi] random intensity factor; auto: mix -> 0.5..2, else 1
    "synthetic": 0.0,         # share of patches from synthetic-contrast copies (labkit.data.synth)
    "data": "mni152",         # mni152 (MNI-SR) | phantom | a NIfTI file | a folder of them
    "normalize": "max",       # max | percentile (labkit.data.normalize_volume), not mni152
    "steps": 1000,            # total optimisation steps
    "batch": 16,              # patches per step
    "patch": 96,              # HR patch side (LR side = patch / scale)
    "augment": True,          # random flips / transposes of the patches
    "min_foreground": 0.0,    # redraw patches with less brain than this fraction (0: off)
    "lr": 5e-4,               # initial learning rate
    "lr_min": 0.0,            # final learning rate of the cosine schedule
    "schedule": "cosine",     # cosine | step | constant
    "step_size": 0,           # step schedule: multiply by gamma every step_size steps (0: steps/2)
    "gamma": 0.5,             # step schedule factor, in (0, 1]
    "loss": "l1",             # l1 | mse | charbonnier
    "seed": 0,                # weights and sampler
    "checkpoint_every": 200,
    "val_every": 250,         # PSNR on the validation slices every this many steps
    "val_slices": 4,
    "log_every": 10,          # history / callback granularity
    "algorithm": "auto",      # convolution algorithm of every Conv2D
}

# (min, max) of the integer settings.
_INT_BOUNDS = {
    "blocks": (0, 1024), "filters": (1, 4096), "steps": (1, MAX_STEPS), "batch": (1, 4096),
    "patch": (1, 4096), "step_size": (0, MAX_STEPS), "seed": (0, 2 ** 32 - 1),
    "checkpoint_every": (1, MAX_STEPS), "val_every": (1, MAX_STEPS), "val_slices": (0, 1000),
    "log_every": (1, MAX_STEPS),
}


def check_setting(key: str, value, owner: str = "make_config"):
    """Validate one setting on its own; returns it normalised (``int``/``float``/``str``).

    ``ValueError`` for an unknown key, a wrong type (a bool is never a number), a value out of
    range or an unknown choice.
    """
    if key not in DEFAULT_CONFIG:
        raise ValueError(f"{owner}: unknown setting {key!r}; known: {sorted(DEFAULT_CONFIG)}")
    if key in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[key]
        return check_int(value, key, owner, min=lo, max=hi)
    if key == "scale":
        return check_choice(check_int(value, key, owner), key, owner, (2, 3, 4))
    if key in ("res_scale",):
        return check_float(value, key, owner, min=0.0, min_open=True)
    if key == "lr":
        return check_float(value, key, owner, min=0.0, min_open=True)
    if key == "lr_min":
        return check_float(value, key, owner, min=0.0)
    if key == "gamma":
        return check_float(value, key, owner, min=0.0, max=1.0, min_open=True)
    if key in ("min_foreground", "noise_fraction", "synthetic"):
        return check_float(value, key, owner, min=0.0, max=1.0)
    if key in ("noise_snr", "intensity_scale"):
        if value == "auto" or (key == "noise_snr" and value is None):
            return value
        return list(check_range(value, key, owner, min=0.0, min_open=True))
    if key == "augment":
        return check_bool(value, key, owner)
    if key == "data":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{owner}: data must be 'mni152', 'phantom', a NIfTI file or a "
                             f"folder of NIfTI files, got {value!r}")
        return value
    choices = {"model": sorted(SR_MODELS), "init": INITS, "degradation": SAMPLER_DEGRADATIONS,
               "normalize": NORMALIZATIONS,
               "schedule": SCHEDULES, "loss": sorted(LOSSES),
               "algorithm": tuple(ALGORITHMS) + ("auto",)}[key]
    return check_choice(value, key, owner, choices)


def check_schedule(steps, lr, lr_min=0.0, schedule="cosine", step_size=0, gamma=0.5,
                   owner: str = "make_config") -> None:
    """The learning-rate schedule's settings, together (``lr_min <= lr`` needs both)."""
    check_setting("steps", steps, owner)
    lr = check_setting("lr", lr, owner)
    lr_min = check_setting("lr_min", lr_min, owner)
    check_setting("schedule", schedule, owner)
    check_setting("step_size", step_size, owner)
    check_setting("gamma", gamma, owner)
    if lr_min > lr:
        raise ValueError(f"{owner}: need 0 <= lr_min <= lr, got lr={lr}, lr_min={lr_min}")


def declared_params(config: dict) -> int:
    """Upper estimate of the parameter count of the network ``config`` describes, without
    building it (3x3 convs: two per block, head, body end, upsampler, tail; WDSR's wide blocks
    counted with their largest expansion)."""
    f, b, s = config["filters"], config["blocks"], config["scale"]
    per_block = 2 * 9 * f * f * (6 if config["model"] != "edsr" else 1)
    upsampler = 9 * f * f * s * s * 2
    return b * per_block + 4 * 9 * f * f + upsampler


def make_config(**overrides) -> dict:
    """:data:`DEFAULT_CONFIG` updated with ``overrides``, validated (``ValueError`` naming the
    bad setting).  The one validation of a run's settings: ``labkit train``,
    :meth:`labkit.train.Trainer.from_config` and :meth:`~labkit.train.Trainer.resume` call it.
    """
    owner = "make_config"
    unknown = set(overrides) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"{owner}: unknown setting(s) {sorted(unknown)}; known: "
                         f"{sorted(DEFAULT_CONFIG)}")
    cfg = {**DEFAULT_CONFIG, **overrides}
    cfg = {key: check_setting(key, value, owner) for key, value in cfg.items()}
    if cfg["data"] == "mni152" and cfg["normalize"] != "max":
        raise ValueError(f"{owner}: normalize={cfg['normalize']!r} does not apply to mni152 "
                         f"(the MNI-SR benchmark is defined on the template's uint8 / 255)")
    for key in MIX_DEFAULTS:                   # "auto" resolved, so a stored config is explicit
        if cfg[key] == "auto":
            cfg[key] = (list(MIX_DEFAULTS[key]) if cfg["degradation"] == "mix"
                        else None if key == "noise_snr" else [1.0, 1.0])
    if cfg["patch"] % cfg["scale"]:
        raise ValueError(f"{owner}: patch {cfg['patch']} is not divisible by scale "
                         f"{cfg['scale']}")
    check_schedule(cfg["steps"], cfg["lr"], cfg["lr_min"], cfg["schedule"], cfg["step_size"],
                   cfg["gamma"], owner)
    n = declared_params(cfg)
    if n > MAX_PARAMS:
        raise ValueError(f"{owner}: blocks={cfg['blocks']} and filters={cfg['filters']} declare "
                         f"about {n:,} parameters, more than the bound {MAX_PARAMS:,}")
    # The largest activation of a step: a batch of HR-sized feature maps.
    check_alloc((cfg["batch"], cfg["patch"], cfg["patch"], cfg["filters"]), owner,
                "largest activation (batch x patch x patch x filters)", itemsize=4)
    return cfg
