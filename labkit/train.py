"""Training loop for super-resolution networks: schedules, progress bar, checkpoints, resume.

One training step is

.. math::

    \\hat y = f_\\theta(x_{LR}), \\qquad L = \\mathrm{loss}(\\hat y, y_{HR}), \\qquad
    \\theta \\leftarrow \\mathrm{Adam}(\\theta, \\nabla_\\theta L, \\eta_t)

on a batch of random patches from :class:`labkit.data.PatchSampler`, with the learning rate
:math:`\\eta_t` given by a schedule (:func:`learning_rate`).

Checkpoints never lose work:

* they are written atomically (temporary file + rename, :mod:`labkit.atomic`)
  every ``checkpoint_every`` steps and at the end, so a crash mid-save leaves the previous
  file intact;
* they hold everything the run depends on: weights, the Adam moments and step counts, the
  step counter, the sampler's random state, the run's configuration and its history.  The
  learning-rate schedule is a pure function of the step, so restoring the step restores it.
  Resuming therefore continues *exactly*: the weights after ``N/2 + N/2`` steps are
  bit-identical to those after ``N`` uninterrupted steps;
* a NaN or inf loss (or gradient) stops training with :class:`TrainingDiverged` *before* the
  bad update is applied, and the last good checkpoint is left in place.

Everything is stored as plain arrays plus JSON strings, so loading never unpickles.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from labkit.atomic import atomic_write_text
from labkit.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint_info,
    to_json,
)
from labkit.config import DEFAULT_CONFIG, SCHEDULES, check_schedule, check_setting, make_config
from labkit.evaluation import MNI_VAL_Z, make_pairs, super_resolve, training_data
from labkit.losses import LOSSES
from labkit.network import Network
from labkit.optimizers import Adam

# The names below are this module's public interface; configuration, checkpoints, atomic files
# and the choice of slices live in their own modules and are re-exported here.
__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_CONFIG",
    "MNI_VAL_Z",
    "SCHEDULES",
    "Trainer",
    "TrainingDiverged",
    "atomic_write_text",
    "build_network",
    "build_sampler",
    "learning_rate",
    "load_checkpoint_info",
    "make_config",
    "training_data",
]


class TrainingDiverged(FloatingPointError):
    """The loss or the gradient became NaN or inf; the weights were not updated."""


# ----------------------------------------------------------------------------- schedules

def learning_rate(step: int, total: int, lr: float, schedule: str = "cosine", lr_min: float = 0.0,
                  step_size: int = 0, gamma: float = 0.5) -> float:
    """Learning rate for optimisation step ``step`` (0-based) of ``total``.

    * ``"cosine"`` (Loshchilov & Hutter 2017, without restarts):
      :math:`\\eta_t = \\eta_{min} + \\tfrac12 (\\eta_0 - \\eta_{min})(1 + \\cos(\\pi t / T))`;
    * ``"step"``: :math:`\\eta_t = \\eta_0 \\gamma^{\\lfloor t / s \\rfloor}` with ``s =
      step_size`` (``0`` means ``total // 2``, EDSR's halving);
    * ``"constant"``: :math:`\\eta_0`.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"learning_rate: unknown schedule {schedule!r}; choose one of {SCHEDULES}")
    if total < 1:
        raise ValueError(f"learning_rate: total steps must be >= 1, got {total!r}")
    if schedule == "cosine":
        t = min(step, total) / total
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * t))
    if schedule == "step":
        size = step_size if step_size > 0 else max(total // 2, 1)
        return lr * gamma ** (step // size)
    return lr


# ----------------------------------------------------------------------------- building a run

def build_network(config: dict) -> Network:
    """The network a configuration describes (seeded initialisation)."""
    from labkit.models import build_sr_model

    return build_sr_model(config["model"], config["scale"], n_blocks=config["blocks"],
                          n_filters=config["filters"], res_scale=config["res_scale"],
                          seed=config["seed"], algorithm=config["algorithm"],
                          init=config.get("init", "torch"))


def build_sampler(config: dict, train_hr: np.ndarray):
    """The seeded :class:`labkit.data.PatchSampler` a configuration describes."""
    from labkit.data import PatchSampler

    return PatchSampler(train_hr, config["scale"], config["patch"], config["batch"],
                        degradation=config["degradation"], augment=config["augment"],
                        seed=config["seed"], min_foreground=config["min_foreground"],
                        noise_snr=config["noise_snr"], noise_fraction=config["noise_fraction"],
                        intensity_scale=tuple(config["intensity_scale"]),
                        synthetic=config.get("synthetic", 0.0))


def validation_pairs(val_hr: np.ndarray, config: dict):
    """``(lr, hr)`` validation pairs: the run's degradation, or for ``"mix"`` every degradation
    of :data:`labkit.data.DEGRADATIONS` (clean, at intensity scale 1) one after the other."""
    from labkit.data import DEGRADATIONS

    methods = DEGRADATIONS if config["degradation"] == "mix" else (config["degradation"],)
    pairs = [make_pairs(val_hr, config["scale"], m) for m in methods]
    return (np.concatenate([lr for lr, _ in pairs]), np.concatenate([hr for _, hr in pairs]))


# ----------------------------------------------------------------------------- the trainer

class Trainer:
    """Train a :class:`~labkit.network.Network` on patches from a sampler, with Adam.

    Parameters
    ----------
    net : Network
        Maps LR batches ``(B, h, w, C)`` to HR batches ``(B, h s, w s, C)``.
    sampler : object
        ``sample() -> (lr, hr)`` float32 NHWC batches, plus ``state_dict()`` /
        ``load_state_dict(state)`` for exact resume (:class:`labkit.data.PatchSampler`).
    steps : int
        Total number of optimisation steps of the run (the schedule's horizon).
    lr : float
        Initial learning rate :math:`\\eta_0`.
    loss : "l1", "mse" or "charbonnier"
        Mean absolute error by default (EDSR's choice: sharper than MSE).
    schedule, lr_min, step_size, gamma
        Learning-rate schedule, see :func:`learning_rate`.
    val : (lr, hr) pair of arrays, optional
        Validation images ``(N, h, w)`` / ``(N, H, W)`` (or NHWC); their PSNR (``crop = scale``)
        is computed every ``val_every`` steps and shown in the progress bar.
    checkpoint : path, optional
        Where :meth:`fit` saves the training checkpoint (every ``checkpoint_every`` steps and
        at the end).  None: no checkpoints.
    callbacks : list of callables
        ``callback(trainer, record)`` is called every ``log_every`` steps with a dict
        ``{"step", "loss", "grad_norm", "lr", "sec_per_step", "val_psnr"}`` (``val_psnr`` None
        between validations): hook live plots here.
    progress : True, False or "log"
        True: a ``tqdm.auto`` bar (a widget in Jupyter, text on a terminal); "log": one plain
        line per ``log_every * 10`` steps (log files); False: silent.
    config : dict, optional
        The run's settings (:func:`make_config`), stored in each checkpoint so that
        :meth:`resume` can rebuild everything.
    optimizer : Optimizer, optional
        Use this optimizer (e.g. ``Adam(beta2=0.99)``) instead of a fresh ``Adam(lr)``; its
        ``lr`` is set from the schedule at every step.

    Attributes
    ----------
    step : int
        Optimisation steps done so far.
    history : list of dict
        One record per ``log_every`` steps (mean loss and gradient norm over the window).
    val_history : list of dict
        ``{"step", "psnr"}`` per validation.
    wall_time : float
        Seconds spent in :meth:`fit`, summed over resumed sessions.

    Examples
    --------
    >>> net = edsr(2, 4, 16, seed=0)                                      # doctest: +SKIP
    >>> sampler = PatchSampler(split["train"], 2, patch=48, batch=8)      # doctest: +SKIP
    >>> trainer = Trainer(net, sampler, steps=300, lr=5e-4)               # doctest: +SKIP
    >>> history = trainer.fit()                                           # doctest: +SKIP
    """

    def __init__(self, net: Network, sampler, steps: int, lr: float = 5e-4, loss: str = "l1",
                 schedule: str = "cosine", lr_min: float = 0.0, step_size: int = 0,
                 gamma: float = 0.5, val=None, val_every: int = 250, checkpoint=None,
                 checkpoint_every: int = 200, log_every: int = 10, callbacks=(),
                 progress=True, config: dict | None = None, optimizer=None):
        if not isinstance(net, Network):
            raise TypeError(f"Trainer: net must be a labkit Network, got {type(net).__name__}")
        if not hasattr(sampler, "sample"):
            raise ValueError(f"Trainer: sampler must have a sample() method, got "
                             f"{type(sampler).__name__}")
        # The same checks as make_config's (labkit.config), for a Trainer built by hand.
        check_setting("loss", loss, "Trainer")
        check_schedule(steps, lr, lr_min, schedule, step_size, gamma, "Trainer")
        for label, v in (("val_every", val_every), ("checkpoint_every", checkpoint_every),
                         ("log_every", log_every)):
            check_setting(label, v, "Trainer")
        if progress not in (True, False, "log"):
            raise ValueError(f"Trainer: progress must be True, False or 'log', got {progress!r}")
        self.net = net
        self.sampler = sampler
        self.steps = int(steps)
        self.lr0, self.lr_min = float(lr), float(lr_min)
        self.schedule, self.step_size, self.gamma = schedule, int(step_size), float(gamma)
        self.loss_name = loss
        self.loss_fn = LOSSES[loss]()
        self.optimizer = optimizer if optimizer is not None else Adam(lr=self.lr0)
        self.val = self._check_val(val)
        self.val_every = int(val_every)
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = int(checkpoint_every)
        self.log_every = int(log_every)
        self.callbacks = list(callbacks)
        self.progress = progress
        self.config = dict(config) if config is not None else None

        self.step = 0
        self.history: list[dict] = []
        self.val_history: list[dict] = []
        self.wall_time = 0.0
        self.last_checkpoint_step = None
        self._window = []                           # (loss, grad_norm) since the last record

    # -- construction from a configuration -------------------------------------------------
    @classmethod
    def from_config(cls, config: dict, checkpoint=None, progress=True, callbacks=(),
                    data=None) -> Trainer:
        """Build network, sampler and validation set from a :func:`make_config` dict.

        ``data`` may pass ``(train_hr, val_hr)`` arrays instead of loading ``config["data"]``.
        """
        config = make_config(**config)
        train_hr, val_hr = data if data is not None else training_data(
            config["data"], config["val_slices"], config["normalize"])
        net = build_network(config)
        sampler = build_sampler(config, train_hr)
        val = None
        if val_hr is not None and len(val_hr):
            val = validation_pairs(val_hr, config)
        return cls(net, sampler, steps=config["steps"], lr=config["lr"], loss=config["loss"],
                   schedule=config["schedule"], lr_min=config["lr_min"],
                   step_size=config["step_size"], gamma=config["gamma"], val=val,
                   val_every=config["val_every"], checkpoint=checkpoint,
                   checkpoint_every=config["checkpoint_every"], log_every=config["log_every"],
                   callbacks=callbacks, progress=progress, config=config)

    @classmethod
    def resume(cls, path, progress=True, callbacks=(), data=None, steps=None) -> Trainer:
        """Rebuild a run from its checkpoint and restore its state (continues exactly).

        ``steps`` may extend the run's horizon (this changes the cosine schedule from then on,
        so the result is no longer identical to a run planned that long from the start).
        """
        _, info = load_checkpoint_info(path)
        if info["config"] is None or info["trainer"] is None:
            raise ValueError(f"Trainer.resume: {path} is a network file without training "
                             f"state (no config / trainer entries); only checkpoints written by "
                             f"Trainer.save_checkpoint can be resumed")
        config = dict(info["config"])
        if steps is not None:
            config["steps"] = steps            # make_config (in from_config) validates it
        trainer = cls.from_config(config, checkpoint=path, progress=progress,
                                  callbacks=callbacks, data=data)
        trainer.load_checkpoint(path)
        return trainer

    # -- one step ------------------------------------------------------------------------
    def current_lr(self) -> float:
        return learning_rate(self.step, self.steps, self.lr0, self.schedule, self.lr_min,
                             self.step_size, self.gamma)

    def train_step(self, lr_batch, hr_batch) -> tuple[float, float]:
        """Forward, loss, backward, Adam update; returns ``(loss, gradient norm)``.

        The gradient norm is :math:`\\lVert \\nabla_\\theta L \\rVert_2` over all parameters
        (before the update).  Raises :class:`TrainingDiverged` without touching the weights
        when the loss or a gradient is not finite.
        """
        out = self.net.forward(lr_batch, training=True)
        loss = self.loss_fn.forward(out, hr_batch)
        if not math.isfinite(loss):
            raise TrainingDiverged(self._diverged_message("loss", loss))
        self.net.backward(self.loss_fn.backward())
        grads = self.net.named_grads()
        # float64 accumulation: a float32 sum of squares of 10^5..10^6 terms loses digits.
        sq = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values())
        grad_norm = math.sqrt(sq) if math.isfinite(sq) else float("nan")
        if not math.isfinite(grad_norm):
            raise TrainingDiverged(self._diverged_message("gradient norm", grad_norm))
        self.optimizer.lr = self.current_lr()
        self.net.update(self.optimizer)
        self.step += 1
        return loss, grad_norm

    def _diverged_message(self, what, value) -> str:
        where = (f"the last good checkpoint (step {self.last_checkpoint_step}) is {self.checkpoint}"
                 if self.last_checkpoint_step is not None else "no checkpoint was written yet")
        return (f"Trainer: {what} became {value} at step {self.step + 1} (lr "
                f"{self.current_lr():.3g}); training stopped before updating the weights; "
                f"{where}. Try a lower learning rate.")

    def _check_weights_finite(self, action: str) -> None:
        # An update can overflow the weights even from a finite loss and gradient (a huge
        # learning rate): checked before they are saved or scored, never kept as "good".
        bad = self.net.nonfinite_weights()
        if bad:
            where = (f"the last good checkpoint (step {self.last_checkpoint_step}) "
                     f"{self.checkpoint} is kept" if self.last_checkpoint_step is not None
                     else "no checkpoint was written")
            raise TrainingDiverged(f"Trainer: the weights became NaN or inf by step {self.step} "
                                   f"(lr {self.current_lr():.3g}; first bad weights "
                                   f"{bad[:3]}); {action}; {where}. Try a lower learning rate.")

    # -- validation ----------------------------------------------------------------------
    @staticmethod
    def _check_val(val):
        if val is None:
            return None
        try:
            lr, hr = val
        except (TypeError, ValueError):
            raise ValueError("Trainer: val must be a pair (lr_images, hr_images)") from None
        lr, hr = np.asarray(lr, dtype=np.float32), np.asarray(hr, dtype=np.float32)
        if lr.ndim == 4:
            lr = lr[..., 0]
        if hr.ndim == 4:
            hr = hr[..., 0]
        if lr.ndim != 3 or hr.ndim != 3 or len(lr) != len(hr):
            raise ValueError(f"Trainer: val images must be (N, h, w) and (N, H, W) with the same "
                             f"N, got {lr.shape} and {hr.shape}")
        return lr, hr

    def validate(self) -> float | None:
        """Mean PSNR (dB, ``crop = scale``, outputs clipped to [0, 1]) on the validation set."""
        if self.val is None:
            return None
        from labkit.metrics import psnr

        self._check_weights_finite("not validating")
        lr, hr = self.val
        sr = super_resolve(self.net, lr)
        scale = hr.shape[1] // lr.shape[1]
        return float(psnr(sr, hr, data_range=1.0, crop=scale))

    # -- the loop ------------------------------------------------------------------------
    def fit(self, steps: int | None = None) -> list[dict]:
        """Train until ``steps`` (default: the run's total) steps are done; returns the history.

        Can be called again to continue (e.g. ``fit(200)`` then ``fit()`` in a notebook).
        Saves a checkpoint every ``checkpoint_every`` steps and at the end when
        ``checkpoint`` is set.
        """
        until = self.steps if steps is None else min(int(steps), self.steps)
        if self.step >= until:
            return self.history
        bar = self._make_bar(until)
        t_start = time.perf_counter()
        t_last = t_start
        last_val = self.val_history[-1]["psnr"] if self.val_history else None
        try:
            while self.step < until:
                lr_batch, hr_batch = self.sampler.sample()
                loss, grad_norm = self.train_step(lr_batch, hr_batch)
                self._window.append((loss, grad_norm))
                val_psnr = None
                if self.val is not None and (self.step % self.val_every == 0
                                             or self.step == self.steps):
                    val_psnr = last_val = self.validate()
                    self.val_history.append({"step": self.step, "psnr": val_psnr})
                if self.step % self.log_every == 0 or self.step == until or val_psnr is not None:
                    now = time.perf_counter()
                    n = len(self._window)
                    record = {"step": self.step,
                              "loss": float(np.mean([w[0] for w in self._window])),
                              "grad_norm": float(np.mean([w[1] for w in self._window])),
                              "lr": self.optimizer.lr,
                              "sec_per_step": (now - t_last) / max(n, 1),
                              "val_psnr": val_psnr}
                    self._window = []
                    t_last = now
                    self.history.append(record)
                    self._report(bar, record, last_val)
                    for callback in self.callbacks:
                        callback(self, record)
                if self.checkpoint is not None and (self.step % self.checkpoint_every == 0
                                                    or self.step == until):
                    self.wall_time += time.perf_counter() - t_start
                    t_start = time.perf_counter()
                    self.save_checkpoint()
        finally:
            self.wall_time += time.perf_counter() - t_start
            if bar is not None:
                bar.close()
        return self.history

    def _make_bar(self, until):
        if self.progress is not True:
            return None
        from tqdm.auto import tqdm
        return tqdm(total=until, initial=self.step, desc=self.net.name, unit="step",
                    dynamic_ncols=True, leave=True)

    def _report(self, bar, record, last_val):
        post = {"loss": f"{record['loss']:.4g}", "lr": f"{record['lr']:.2e}",
                "s/step": f"{record['sec_per_step']:.2f}"}
        if last_val is not None:
            post["val_psnr"] = f"{last_val:.2f}"
        if bar is not None:
            bar.update(record["step"] - bar.n)
            bar.set_postfix(post, refresh=False)
        elif self.progress == "log" and (record["step"] % (self.log_every * 10) == 0
                                         or record["val_psnr"] is not None
                                         or record["step"] == self.steps):
            text = " ".join(f"{k} {v}" for k, v in post.items())
            print(f"{self.net.name} step {record['step']}/{self.steps} {text}",
                  file=sys.stderr, flush=True)

    # -- checkpoints ---------------------------------------------------------------------
    def state_extra(self) -> dict:
        """The non-weight arrays of a training checkpoint."""
        extra = {"__trainer__": np.array(json.dumps({
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": self.step,
            "steps": self.steps, "wall_time": self.wall_time, "history": self.history,
            "val_history": self.val_history, "window": self._window,
            "optimizer": {"name": type(self.optimizer).__name__,
                          **{k: getattr(self.optimizer, k) for k in ("beta1", "beta2", "eps")
                             if hasattr(self.optimizer, k)}}}))}
        if self.config is not None:
            extra["__config__"] = np.array(json.dumps(self.config))
        if hasattr(self.sampler, "state_dict"):
            extra["__sampler__"] = np.array(to_json(self.sampler.state_dict()))
        for k, v in self.optimizer.state_dict(self.net.named_params()).items():
            extra[f"optimizer:{k}"] = v
        return extra

    def save_checkpoint(self, path=None) -> Path:
        """Write the training checkpoint atomically (default: ``self.checkpoint``).

        Raises :class:`TrainingDiverged` instead when a weight is NaN or inf (an update can
        overflow even from a finite loss, e.g. with a huge learning rate): the previous, good
        checkpoint stays in place.
        """
        path = Path(path) if path is not None else self.checkpoint
        if path is None:
            raise ValueError("Trainer.save_checkpoint: no path given and no checkpoint set")
        self._check_weights_finite("not saving them")
        written = self.net.save(path, extra=self.state_extra())
        if path == self.checkpoint or self.checkpoint is None:
            self.last_checkpoint_step = self.step
        return written

    def load_checkpoint(self, path) -> None:
        """Restore weights, optimizer, sampler, step and history from ``path`` in place."""
        net, info = load_checkpoint_info(path)
        mine, theirs = self.net.named_params(), net.named_params()
        shapes = {k: v.shape for k, v in mine.items()}
        if shapes != {k: v.shape for k, v in theirs.items()}:
            raise ValueError(f"Trainer.load_checkpoint: {path} holds {net!r}, which does not "
                             f"match this trainer's {self.net!r}")
        # Copy into the existing arrays: the optimizer keys its state by these objects.
        for k, p in mine.items():
            p[...] = theirs[k]
        for layer, other in zip(self.net.layers, net.layers):
            for k, b in layer.buffers.items():
                b[...] = other.buffers[k]
        state = info["trainer"] or {}
        self.step = int(state.get("step", 0))
        self.wall_time = float(state.get("wall_time", 0.0))
        self.history = list(state.get("history", []))
        self.val_history = list(state.get("val_history", []))
        self._window = [tuple(w) for w in state.get("window", [])]
        self.optimizer.load_state_dict(mine, info["optimizer"])
        self.optimizer.lr = self.current_lr()
        if info["sampler"] is not None and hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(info["sampler"])
        self.last_checkpoint_step = self.step
        if self.checkpoint is None:
            self.checkpoint = Path(path)

    def export(self, path, algorithm: str | None = "auto") -> Path:
        """Save the network alone (weights + the run's config, no optimizer state): the small
        file that is shipped and that ``labkit evaluate`` / ``upscale`` read.

        ``algorithm`` is the convolution algorithm written into the file for every
        :class:`~labkit.layers.Conv2D` (default ``"auto"``: the reader's machine picks, whatever
        the run was pinned to); None keeps the training setting.
        """
        from labkit.layers import Conv2D

        extra = {} if self.config is None else {"__config__": np.array(json.dumps(self.config))}
        convs = [layer for layer in self.net.layers if isinstance(layer, Conv2D)]
        saved = [layer.algorithm for layer in convs]
        try:
            if algorithm is not None:
                for layer in convs:
                    layer.algorithm = algorithm
            return self.net.save(path, extra=extra)
        finally:
            for layer, alg in zip(convs, saved):
                layer.algorithm = alg
