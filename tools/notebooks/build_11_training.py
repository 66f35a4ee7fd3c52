"""Build notebooks/11_training.ipynb: training EDSR with labkit.train.Trainer (progress bar,
live plots through the callback hook), Adam, L1, cosine schedule, exact resume, the CLI.

Run ``python tools/notebooks/build_11_training.py``, then execute the notebook. The full run
takes longer than the 4 minutes the course allows for stored outputs, so the committed version
is executed in FAST mode::

    LABKIT_FAST=1 jupyter nbconvert --to notebook --execute --inplace notebooks/11_training.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbbuild import code, md, write  # noqa: E402

NAME = "11_training.ipynb"


# --------------------------------------------------------------------------------------------
md(r"""
# 11 · Training EDSR on a laptop CPU

Everything is in place: the layers (chapters 04-07), the loss functions (08), the data and the
model (10). This chapter trains an EDSR network (Lim et al. 2017) for ×2 super-resolution of
brain MRI, on the CPU, with labkit's `Trainer`. You will learn:

* what one **training step** does, written out by hand: sample a batch of LR/HR patches,
  forward, **L1 loss**, backward, **Adam** update;
* why the learning rate follows a **cosine schedule** and what the alternatives are;
* how to watch a run live (progress bar, loss and PSNR curves through the callback hook);
* how **checkpoints** make a run resumable *exactly*: an interrupted and resumed run ends with
  bit-identical weights;
* the command-line equivalent, `labkit train`, for runs longer than a notebook session.

**Time:** about 30 minutes of reading. Running: under a minute in FAST mode (a tiny model, 100
steps); the full version (EDSR with 8 blocks and 32 filters, 800 steps of 16 patches) took
12.4 minutes (0.93 s per step) on the course's 2-core machine, while other jobs shared it, and
ended 2.0 dB above bicubic interpolation on the validation slices. Your run prints its own
time and score at the end of section 2.

> **The stored outputs of this notebook come from the FAST run** (`LABKIT_FAST=1`): a tiny
> network trained for 100 steps, which does *not* beat bicubic interpolation yet. Run it
> without the variable to train the real, short EDSR; chapter 12 evaluates the fully trained
> checkpoints that ship with labkit.

**Prerequisites:** [08 Activations and losses](08_activations_and_losses.ipynb) (L1 vs L2),
[10 Dataset and models](10_dataset_and_models.ipynb) (the MNI-SR split, the patch sampler,
EDSR), and the backpropagation of [01 Neural networks](01_neural_networks.ipynb).
""")

code(r"""
import os
FAST = os.environ.get("LABKIT_FAST", "0") == "1"   # tiny model and 100 steps in CI

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display
%matplotlib inline
%config InlineBackend.figure_format = "png"
plt.rcParams["figure.dpi"] = 80

from labkit.data import PatchSampler, degrade, mni_sr_split
from labkit.losses import L1Loss
from labkit.models import edsr
from labkit.network import Network
from labkit.optimizers import Adam
from labkit.sr import evaluate_network, super_resolve
from labkit.train import Trainer, learning_rate, make_config, training_data
from labkit.ops.resize import imresize
from labkit.viz.course_plots import curve_panels, image_panels
from labkit.viz.mri import sr_comparison

# The run this notebook trains. Every setting is a `labkit train --<name>` option.
if FAST:
    RUN = dict(blocks=2, filters=16, batch=8, patch=32, steps=100, lr=1e-3,
               val_every=25, log_every=5, checkpoint_every=50)
else:
    RUN = dict(blocks=8, filters=32, batch=16, patch=64, steps=800, lr=5e-4,
               val_every=100, log_every=10, checkpoint_every=200)
print("FAST mode" if FAST else "full run", RUN)
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 1. One training step, by hand

Supervised training of an SR network repeats one step. Draw a batch of $B$ random patch pairs
$(x_i, y_i)$, an LR patch and the HR patch it came from; compute the network's guesses
$\hat y_i = f_\theta(x_i)$; measure the error with a loss $L$; back-propagate to get
$\nabla_\theta L$; and move the parameters a little against it.

**The data.** `PatchSampler` (chapter 10) cuts aligned random crops out of the 98 training
slices of the MNI-SR split and their bicubic-downsampled versions, with a random flip or
rotation (the same for LR and HR) as augmentation. Patches instead of whole slices: many small
independent samples per step, cheap steps, and each output pixel only needs its receptive
field anyway (chapter 04).
""")

code(r"""
# NBVAL_CHECK_OUTPUT
split = mni_sr_split()
demo_sampler = PatchSampler(split["train"], scale=2, patch=48, batch=6, seed=0)
lr_batch, hr_batch = demo_sampler.sample()
print("LR batch", lr_batch.shape, lr_batch.dtype, "| HR batch", hr_batch.shape, hr_batch.dtype)
""")

code(r"""
fig = image_panels([hr_batch[k, :, :, 0] for k in range(6)], [f"HR patch {k}" for k in range(6)],
                   vmin=0.0, vmax=1.0)
fig
""")

md(r"""
**The loss.** EDSR trains with the mean absolute error,

$$L_1 = \frac{1}{n} \sum_{k=1}^{n} |\hat y_k - y_k|, \qquad
  \frac{\partial L_1}{\partial \hat y_k} = \frac{\operatorname{sign}(\hat y_k - y_k)}{n},$$

not the mean squared error that PSNR measures. Lim et al. (2017) and Zhao et al. (2017) found
that L1 trains to sharper images and even to higher PSNR: the squared error punishes large
errors so much that the network hedges between plausible edges and blurs (chapter 08 shows the
effect).

**The optimiser.** Adam (Kingma & Ba 2015) keeps running averages of the gradient and of its
square for every parameter,

$$m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2,$$

$$\theta \leftarrow \theta - \eta_t\, \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon},$$

so each parameter moves by about $\eta_t$ in the direction its recent gradients agree on,
whatever the scale of its gradient: convolutions deep in the network and the last one, whose
gradients differ by orders of magnitude, learn at comparable rates. The divisions by
$1 - \beta^t$ correct the averages' start at zero. labkit's `Adam` follows PyTorch's update rule
exactly ($\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$).

Here are three steps written out by hand, on a small EDSR; `Trainer.train_step` does exactly
this (plus a check that nothing became NaN).
""")

code(r"""
net = edsr(2, n_blocks=2, n_filters=16, seed=0)
loss_fn, optimizer = L1Loss(), Adam(lr=1e-3)
sampler = PatchSampler(split["train"], scale=2, patch=32, batch=8, seed=1)
for step in range(3):
    lr_b, hr_b = sampler.sample()
    out = net.forward(lr_b, training=True)          # (8, 32, 32, 1) from (8, 16, 16, 1)
    loss = loss_fn.forward(out, hr_b)               # mean |out - hr|
    net.backward(loss_fn.backward())                # fills every layer's grads
    net.update(optimizer)                           # Adam step on every parameter
    print(f"step {step + 1}: L1 loss {loss:.4f}")
""")

md(r"""
**The learning rate.** A large step size makes fast progress at first but keeps bouncing around
the minimum later; a small one converges precisely but slowly. Schedules start large and end
small. EDSR halved the rate every 200,000 steps (`"step"`); labkit's default is the **cosine**
schedule of Loshchilov & Hutter (2017),

$$\eta_t = \eta_{\min} + \tfrac12\, (\eta_0 - \eta_{\min}) \left(1 + \cos\frac{\pi t}{T}\right),$$

which stays near $\eta_0$ for a while, decreases smoothly and reaches $\eta_{\min}$ exactly at
the last step $T$. It has no extra hyperparameter, and its smooth end is what lets a short run
settle. The price: the schedule depends on the total number of steps, so $T$ must be fixed
when the run starts (we will come back to this when resuming).
""")

code(r"""
T = 1000
t = np.arange(T + 1)
schedules = {s: np.array([learning_rate(k, T, 5e-4, s) for k in t]) for s in ("cosine", "step", "constant")}
fig = curve_panels(t, [("learning-rate schedules, lr = 5e-4, T = 1000", schedules)],
                   xlabel="step t", ylabel="learning rate")
fig
""")

code(r"""
# NBVAL_CHECK_OUTPUT
print("cosine: start {:.1e}, middle {:.1e}, three quarters {:.2e}, end {:.1e}".format(
    *(learning_rate(k, T, 5e-4, "cosine") for k in (0, T // 2, 3 * T // 4, T))))
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 2. Training with `Trainer`

`labkit.train.Trainer` runs that loop with everything a real run needs: the schedule, a
progress bar (a `tqdm` widget in Jupyter, a text bar in a terminal), validation PSNR on held-out
slices every `val_every` steps (slices next to the test set that are never used for training nor
for testing), checkpoints, and a **callback hook**: every `log_every` steps it calls each
`callback(trainer, record)` with the step, mean loss, gradient norm, learning rate, seconds per
step and, when there is one, the new validation PSNR. Below, a callback redraws the loss and PSNR
curves in place while the network trains.

`Trainer.from_config` builds the network, the sampler and the validation pairs from the same
settings that `labkit train` takes (`make_config` checks them and fills in the defaults).
""")

code(r"""
config = make_config(model="edsr", scale=2, **RUN)
run_dir = Path(tempfile.mkdtemp(prefix="labkit-train-"))
trainer = Trainer.from_config(config, checkpoint=run_dir / "checkpoint.npz")
print(trainer.net)
print(f"{config['steps']} steps of {config['batch']} patches {config['patch']}x{config['patch']} "
      f"(LR {config['patch'] // 2}x{config['patch'] // 2}), lr {config['lr']:g} with a "
      f"{config['schedule']} schedule, {config['loss']} loss")
""")

code(r"""
def curves(trainer):
    # Loss (every log_every steps) and validation PSNR (every val_every steps) so far.
    steps = [r["step"] for r in trainer.history]
    panels = [("training loss (L1)", {"loss": (steps, [r["loss"] for r in trainer.history])}),
              ("learning rate", {"lr": (steps, [r["lr"] for r in trainer.history])})]
    if trainer.val_history:
        vs = [v["step"] for v in trainer.val_history]
        panels.append(("validation PSNR (dB)", {"EDSR": (vs, [v["psnr"] for v in trainer.val_history])}))
    return curve_panels(steps, panels, xlabel="step", markers=len(steps) < 30)

live = display(curves(trainer) if trainer.history else "training starts...", display_id=True)

def live_plot(trainer, record):
    # The callback: redraw at every validation and every 10th record.
    if record["val_psnr"] is not None or len(trainer.history) % 10 == 0:
        live.update(curves(trainer))

trainer.callbacks.append(live_plot)
t0 = time.perf_counter()
history = trainer.fit()
live.update(curves(trainer))
elapsed = time.perf_counter() - t0
print(f"{trainer.step} steps in {elapsed / 60:.1f} min ({elapsed / trainer.step:.2f} s/step) on "
      f"{os.cpu_count()} CPU cores; final validation PSNR {trainer.val_history[-1]['psnr']:.2f} dB")
""")

md(r"""
The loss falls steeply in the first steps, when the network learns the bulk of the mapping
(roughly "copy the LR image onto the finer grid"), then slowly, as it refines edges. The
validation PSNR follows. How good is that? The only meaningful yardstick is the bicubic
interpolation of the same LR images, on the same slices, scored the same way:
""")

code(r"""
val_hr = training_data("mni152", val_slices=config["val_slices"])[1]
scores = evaluate_network(trainer.net, val_hr, scale=2)
for name in ("bicubic", "model"):
    print(f"{name:<8} PSNR {scores[name]['psnr']:6.2f} dB   SSIM {scores[name]['ssim']:.4f}")
gain = scores["model"]["psnr"] - scores["bicubic"]["psnr"]
print(f"model - bicubic: {gain:+.2f} dB on {scores['n_slices']} validation slices"
      + ("  (FAST mode: a tiny network after 100 steps has not caught up with bicubic yet)"
         if FAST and gain < 0 else ""))
""")

code(r"""
lr_val = degrade(val_hr[0], 2)                                # bicubic degradation, as in training
sr_val = super_resolve(trainer.net, lr_val)
bicubic_val = imresize(lr_val, output_shape=val_hr[0].shape)
fig = sr_comparison(np.rot90(val_hr[0]), {"LR": np.rot90(lr_val), "bicubic": np.rot90(bicubic_val),
                                         "EDSR (this run)": np.rot90(sr_val)},
                    zoom=(60, 70, 64))
fig
""")

md(r"""
## 3. Checkpoints and exact resume

A CPU run of an hour will be interrupted sooner or later: a laptop lid, a kernel restart, a
full disk. The trainer writes a checkpoint every `checkpoint_every` steps and at the end, and a
checkpoint holds *everything the rest of the run depends on*:

* the weights (and BatchNorm buffers, if any);
* Adam's moment estimates $m$, $v$ and step counts for every parameter;
* the step counter (and with it the learning rate, which is a pure function of the step);
* the patch sampler's random-generator state, so the resumed run draws exactly the batches the
  uninterrupted one would have drawn;
* the run's configuration and its history.

It is written *atomically*: to a temporary file in the same folder, flushed to disk, then
renamed over the old checkpoint, so a crash in the middle of saving leaves the previous
checkpoint intact. And it is an `.npz` of plain arrays plus JSON text, loaded with
`allow_pickle=False`, so opening a checkpoint cannot execute code.

The proof that nothing is missing: train a tiny run for 12 steps in one go, and the same run for
6 steps, stop, throw the trainer away, resume from its checkpoint and do the remaining 6. The
weights must be **bit-identical**, not just close.
""")

code(r"""
tiny = make_config(blocks=2, filters=8, batch=4, patch=32, steps=12, checkpoint_every=6,
                   val_every=6, val_slices=2, log_every=2, seed=3)
tmp = Path(tempfile.mkdtemp(prefix="labkit-resume-"))

straight = Trainer.from_config(tiny, checkpoint=tmp / "straight.npz", progress=False)
straight.fit()                                        # 12 steps in one go

first_half = Trainer.from_config(tiny, checkpoint=tmp / "interrupted.npz", progress=False)
first_half.fit(6)                                     # 6 steps, checkpoint written at step 6
del first_half                                        # "the kernel died"

resumed = Trainer.resume(tmp / "interrupted.npz", progress=False)
print("resumed at step", resumed.step, "with learning rate", f"{resumed.current_lr():.3e}")
_ = resumed.fit()                                     # the remaining 6 steps
""")

code(r"""
# NBVAL_CHECK_OUTPUT
a, b = straight.net.named_params(), resumed.net.named_params()
print("weights bit-identical after 12 steps:", all(np.array_equal(a[k], b[k]) for k in a))
print("same loss history:", [r["loss"] for r in straight.history] == [r["loss"] for r in resumed.history])
print("same validation PSNR:", straight.val_history == resumed.val_history)
""")

md(r"""
One subtlety: the cosine schedule is defined by the total number of steps $T$. Resuming with a
*different* total (`Trainer.resume(path, steps=...)`, or `labkit train --resume --steps ...`)
is allowed, to extend a run, but it changes the learning rate from then on, so the result is
no longer the run you would have got by planning that long from the start.

For shipping, `Trainer.export` writes the network alone (weights and the run's configuration,
no optimiser state): a third of the size, and what `Network.load`, `labkit evaluate` and
`labkit upscale` read.
""")

code(r"""
exported = resumed.export(tmp / "model.npz")
reloaded = Network.load(exported)
x = np.random.default_rng(0).random((1, 16, 16, 1), dtype=np.float32)
print(f"checkpoint {os.path.getsize(tmp / 'interrupted.npz') / 1024:.0f} KiB, "
      f"exported model {os.path.getsize(exported) / 1024:.0f} KiB")
print("reloaded network gives the same output:",
      np.array_equal(reloaded.predict(x), resumed.net.predict(x)))
""")

# --------------------------------------------------------------------------------------------
md(r"""
## 4. The same from the command line

A notebook is the wrong place for a multi-hour run. `labkit train` takes every setting of
`make_config` as an option, writes `OUT/checkpoint.npz` (resumable), `OUT/model.npz` (the export)
and `OUT/metrics.json` (test PSNR/SSIM of the model and of bicubic, computed at the end), shows a
progress bar, and continues an interrupted run with `--resume`:

```bash
labkit train --model edsr --blocks 8 --filters 32 --scale 2 --steps 800 \
             --batch 16 --patch 64 --lr 5e-4 --schedule cosine --loss l1 --out runs/edsr-x2
# interrupted? the same command with --resume continues from runs/edsr-x2/checkpoint.npz
labkit train ... --out runs/edsr-x2 --resume
labkit evaluate runs/edsr-x2/model.npz          # PSNR/SSIM vs bicubic on the MNI-SR test slices
```

The commands that trained the checkpoints shipped in `data/checkpoints/` are written in
`data/README.md`. Here is a tiny run through the real command line (a separate Python process),
with `--json` so that its last output line is machine-readable:
""")

code(r"""
cli_dir = Path(tempfile.mkdtemp(prefix="labkit-cli-"))
cmd = [sys.executable, "-m", "labkit.cli", "train", "--blocks", "2", "--filters", "8",
       "--batch", "4", "--patch", "32", "--steps", "10", "--val-every", "10",
       "--out", str(cli_dir), "--json"]
print("$ labkit " + " ".join(cmd[3:]))
proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
print("exit code", proc.returncode)
result = json.loads(proc.stdout.strip().splitlines()[-1])
print("files written:", sorted(p.name for p in cli_dir.iterdir() if not p.name.startswith(".")))
print("keys of the JSON summary:", sorted(result))
""")

# --------------------------------------------------------------------------------------------
md(r"""
## Exercises

1. **L1 vs L2.** Train the FAST configuration twice, with `loss="l1"` and `loss="mse"`
   (`make_config(..., loss="mse")`), and compare the validation PSNR curves and the zoomed
   outputs. Which one reaches the higher PSNR, although only the second optimises it directly?
2. **Schedules.** Repeat the FAST run with `schedule="constant"` and `schedule="step"`. Plot the
   three loss curves on one figure. What happens to the loss in the last 20 % of the steps?
3. **Batch and patch size.** At a fixed number of pixels per step (e.g. batch 16 × patch 32² vs
   batch 4 × patch 64²), which trains faster per second, and which reaches the better PSNR
   after the same number of steps? Think of the receptive field of chapter 04.
4. **Extending a run.** Resume the tiny run of section 3 with `Trainer.resume(path, steps=24)`
   and compare its final weights with a run planned for 24 steps from the start. Why do they
   differ, and by how much in loss?
5. **Divergence.** Set `lr=1e-1` and train the tiny configuration. What does the trainer do
   when the loss becomes NaN, and what is left on disk?
""")

code(r"""
# Key results of the chapter (checked in CI).
assert lr_batch.shape == (6, 24, 24, 1) and hr_batch.shape == (6, 48, 48, 1)
assert trainer.step == config["steps"] and len(trainer.val_history) >= 2
early = np.mean([r["loss"] for r in trainer.history[:3]])
late = np.mean([r["loss"] for r in trainer.history[-3:]])
assert late < 0.5 * early                                        # the loss went down
assert trainer.val_history[-1]["psnr"] > trainer.val_history[0]["psnr"]
assert all(np.array_equal(a[k], b[k]) for k in a)                # exact resume
assert np.isclose(learning_rate(T, T, 5e-4, "cosine"), 0.0) and learning_rate(0, T, 5e-4) == 5e-4
assert proc.returncode == 0 and (cli_dir / "model.npz").exists() and (cli_dir / "metrics.json").exists()
print("all checks passed")

import shutil                                                    # remove this chapter's temporary runs
for d in (run_dir, tmp, cli_dir):
    shutil.rmtree(d, ignore_errors=True)
""")

write(NAME, id_prefix="nb11")
