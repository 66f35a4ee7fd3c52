"""The ``labkit`` command: ``train``, ``evaluate``, ``upscale``, ``selfsr``, ``export``, ``bench``.

Each subcommand takes ``--json`` to print one JSON object as its last line of standard output
(progress bars and logs go to standard error).  Errors print one line ``labkit <command>:
error: ...`` to standard error and exit with status 2, without a traceback; with ``--json`` the
last line of standard output is then ``{"error": "..."}`` (the CLI-errors contract).

Work is never lost: options are validated (:func:`labkit.config.make_config`) before anything
is written; ``labkit train`` holds ``OUT/.lock`` (pid inside; a dead owner's lock is taken over)
so two runs cannot share one ``--out``, and removes temporaries an interrupted run left there;
``labkit upscale`` refuses an output that is its input and writes the NIfTI atomically.

Examples::

    labkit train --model edsr --blocks 8 --filters 32 --scale 2 --steps 15000 --batch 16 \\
        --patch 96 --lr 5e-4 --seed 0 --out runs/edsr-x2 [--resume]
    labkit evaluate runs/edsr-x2/checkpoint.npz --data phantom --json
    labkit upscale scan.nii.gz -o scan_x2.nii.gz --checkpoint data/checkpoints/edsr-x2.npz
    labkit selfsr thick.nii.gz -o thin.nii.gz --run runs/thick-selfsr [--resume]
    labkit export data/checkpoints/edsr-x2.npz edsr-x2.onnx
    labkit bench
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from labkit.config import DEFAULT_CONFIG

EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so :func:`main` returns the status code."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


_TRAIN_OPTIONS = [
    ("--model", str, "edsr, wdsr_a or wdsr_b"),
    ("--blocks", int, "residual blocks"),
    ("--filters", int, "feature channels"),
    ("--res-scale", float, "residual scaling inside the blocks"),
    ("--init", str, "weight initialisation: torch (PyTorch's default) or he"),
    ("--scale", int, "2, 3 or 4"),
    ("--degradation", str, "bicubic, kspace, gaussian, or mix (one of them per patch, with "
                           "noise and a random intensity scale)"),
    ("--noise-fraction", float, "share of patches that get noise when --noise-snr is given"),
    ("--synthetic", float, "share of patches cut from synthetic-contrast copies of the slices "
                           "(sharp piecewise-constant tissue, labkit.data.synth)"),
    ("--data", str, "mni152 (the MNI-SR split), phantom, a NIfTI file, or a folder of them "
                    "(split by file)"),
    ("--normalize", str, "max or percentile (robust: 99.5th foreground percentile -> 1)"),
    ("--steps", int, "total optimisation steps (on --resume: extends or shortens the run)"),
    ("--batch", int, "patches per step"),
    ("--patch", int, "HR patch side, divisible by the scale"),
    ("--min-foreground", float, "redraw patches with a smaller brain fraction than this"),
    ("--lr", float, "initial learning rate"),
    ("--lr-min", float, "final learning rate of the cosine schedule"),
    ("--schedule", str, "cosine, step or constant"),
    ("--step-size", int, "step schedule period, 0: steps/2"),
    ("--gamma", float, "step schedule factor"),
    ("--loss", str, "l1, mse or charbonnier"),
    ("--seed", int, "seed of the weights and of the patch sampler"),
    ("--checkpoint-every", int, "steps between checkpoints"),
    ("--val-every", int, "steps between validation PSNRs"),
    ("--val-slices", int, "validation slices (held out, not test)"),
    ("--log-every", int, "steps per history record"),
    ("--algorithm", str, "convolution algorithm of every Conv2D"),
]


def _add_train(sub):
    p = sub.add_parser("train", help="train an SR model on the MNI-SR split",
                       description="Train an SR network with labkit; writes OUT/checkpoint.npz "
                                   "(resumable), OUT/model.npz (weights only) and "
                                   "OUT/metrics.json (test PSNR/SSIM of model and bicubic).")
    d = DEFAULT_CONFIG
    # Every setting defaults to None ("not given"): a fresh run fills in DEFAULT_CONFIG, a
    # resumed run keeps the values stored in its checkpoint.
    for flag, kind, text in _TRAIN_OPTIONS:
        key = flag[2:].replace("-", "_")
        p.add_argument(flag, type=kind, default=None, help=f"{text} (default {d[key]})")
    p.add_argument("--noise-snr", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                   help="Rician noise on a share of the patches, SNR log-uniform in [LO, HI] "
                        "(default: 10 60 with --degradation mix, else none)")
    p.add_argument("--intensity-scale", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                   help="multiply each patch pair by a factor log-uniform in [LO, HI] "
                        "(default: 0.5 2 with --degradation mix, else 1 1)")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None,
                   help="no random flips/transposes of the patches")
    p.add_argument("--until", type=int, default=None,
                   help="stop after this many steps (the schedule keeps the --steps horizon); "
                        "continue later with --resume")
    p.add_argument("--out", required=True,
                   help="run directory (one run at a time: locked by OUT/.lock)")
    p.add_argument("--resume", action="store_true",
                   help="continue OUT/checkpoint.npz if it exists (else start)")
    p.add_argument("--no-eval", action="store_true", help="skip the final test evaluation")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_train)


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="PSNR/SSIM of a checkpoint and of bicubic upsampling")
    p.add_argument("checkpoint", help="a labkit network file (.npz)")
    p.add_argument("--data", default="mni152",
                   help="mni152 (MNI-SR test slices, default), phantom, a NIfTI file or a "
                        "folder of them (scored on its held-out test files)")
    p.add_argument("--degradation", default=None,
                   help="bicubic, kspace or gaussian (default: the one the model was trained on)")
    p.add_argument("--noise-snr", type=float, default=None,
                   help="add Rician noise of this SNR to the low-resolution input")
    p.add_argument("--mask", default="auto",
                   help="brain (score inside the foreground), none (every pixel) or auto "
                        "(default: none on mni152, brain elsewhere)")
    p.add_argument("--normalize", default="max", help="max or percentile (not for mni152)")
    p.add_argument("--slices", type=int, default=20, help="slices for phantom/PATH (20)")
    p.add_argument("--per-slice", action="store_true", help="print per-slice values")
    p.add_argument("--matrix", action="store_true",
                   help="the generalisation matrix instead: {mni152, phantom} x {bicubic, "
                        "kspace, gaussian + Rician SNR 20}, inside the brain mask")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_evaluate)


def _add_upscale(sub):
    p = sub.add_parser("upscale", help="super-resolve every slice of a NIfTI scan in plane")
    p.add_argument("input", help="input .nii or .nii.gz")
    p.add_argument("-o", "--output", required=True, help="output .nii or .nii.gz")
    p.add_argument("--checkpoint", required=True, help="a labkit SR network file (.npz)")
    p.add_argument("--axis", type=int, default=2, help="slice axis (2: axial for RAS volumes)")
    p.add_argument("--batch", type=int, default=4, help="slices per forward pass (4)")
    p.add_argument("--force", action="store_true",
                   help="upscale in plane even when the voxels are anisotropic (thick slices: "
                        "see labkit selfsr)")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_upscale)


def _add_selfsr(sub):
    p = sub.add_parser("selfsr", help="through-plane SR of a thick-slice scan, trained on itself",
                       description="Self-supervised through-plane super-resolution (SMORE-like): "
                                   "learns from the scan's own fine planes, writes the volume "
                                   "on the fine grid (same field of view, input units).")
    p.add_argument("input", help="input .nii or .nii.gz (never overwritten)")
    p.add_argument("-o", "--output", required=True, help="output .nii or .nii.gz")
    p.add_argument("--axis", type=int, default=None,
                   help="slice axis (default: the axis with the largest voxel size)")
    p.add_argument("--factor", type=int, default=None,
                   help="2..6 (default: round(slice thickness / finest in-plane size))")
    p.add_argument("--steps", type=int, default=None, help="training steps (default 1200)")
    p.add_argument("--profile", default=None, help="slice profile: boxcar (default) or gaussian")
    p.add_argument("--fwhm", type=float, default=None,
                   help="Gaussian profile FWHM in fine voxels (default: the factor)")
    p.add_argument("--thickness", type=int, default=None,
                   help="boxcar width in fine voxels (default: the factor; less models a gap)")
    p.add_argument("--seed", type=int, default=None, help="seed of weights and patches (0)")
    p.add_argument("--run", default=None,
                   help="run directory (checkpoint; default: OUTPUT's name + .selfsr-run)")
    p.add_argument("--resume", action="store_true", help="continue the run directory")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_selfsr)


def _add_export(sub):
    p = sub.add_parser("export", help="export a labkit network to ONNX (needs the export extra)")
    p.add_argument("checkpoint", help="a labkit network file (.npz)")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_export)


def _add_bench(sub):
    p = sub.add_parser("bench", help="time the convolution algorithms",
                       add_help=False, prefix_chars="\x00")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labkit", description="labkit: train, evaluate and apply SR networks "
                                                "for brain MRI, and time the engine.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _add_train(sub)
    _add_evaluate(sub)
    _add_upscale(sub)
    _add_selfsr(sub)
    _add_export(sub)
    _add_bench(sub)
    return parser


# ----------------------------------------------------------------------------- commands

def _emit(args, payload: dict, lines: list[str]) -> None:
    for line in lines:
        print(line)
    if getattr(args, "json", False):
        print(json.dumps(payload))


def _table(result: dict) -> list[str]:
    lines = [f"{'':10} {'PSNR (dB)':>10} {'SSIM':>8}"]
    for name in ("model", "bicubic"):
        lines.append(f"{name:10} {result[name]['psnr']:>10.3f} {result[name]['ssim']:>8.4f}")
    return lines


def cmd_train(args) -> int:
    from labkit._validate import check_int
    from labkit.atomic import RunLock, atomic_write_text, remove_orphans
    from labkit.config import check_setting, make_config
    from labkit.evaluation import evaluate_network, evaluation_slices
    from labkit.train import Trainer

    out = Path(args.out)
    ck = out / "checkpoint.npz"
    given = {k: v for k, v in vars(args).items() if k in DEFAULT_CONFIG and v is not None}
    # Validate every option before touching the file system: a bad option creates nothing.
    for key, value in given.items():
        check_setting(key, value, "labkit train")
    if args.until is not None:
        check_int(args.until, "--until", "labkit train", min=1)
    fresh = not ck.exists()
    if fresh:
        make_config(**given)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a run directory")
    out.mkdir(parents=True, exist_ok=True)
    progress = True if sys.stderr.isatty() else "log"
    # One run per directory: a second `labkit train` on the same --out fails here.
    with RunLock(out) as lock:
        if lock.stale_pid is not None:
            print(f"labkit train: took over the stale lock of process {lock.stale_pid} "
                  f"(no longer running) in {out}", file=sys.stderr)
        for orphan in remove_orphans(out):
            print(f"labkit train: removed {orphan.name}, left by an interrupted write",
                  file=sys.stderr)
        return _train_locked(args, out, ck, given, progress, Trainer, make_config,
                             atomic_write_text, evaluate_network, evaluation_slices)


def _train_locked(args, out, ck, given, progress, Trainer, make_config, atomic_write_text,
                  evaluate_network, evaluation_slices) -> int:
    if ck.exists():
        if not args.resume:
            raise ValueError(f"{ck} already exists; pass --resume to continue that run or "
                             f"choose another --out")
        trainer = Trainer.resume(ck, progress=progress, steps=given.get("steps"))
        ignored = sorted(k for k, v in given.items() if k != "steps" and trainer.config.get(k) != v)
        if ignored:
            print(f"labkit train: resuming {ck} with its stored settings; ignoring different "
                  f"command-line values for {ignored}", file=sys.stderr)
        print(f"labkit train: resumed {ck} at step {trainer.step}/{trainer.steps}",
              file=sys.stderr)
    else:
        trainer = Trainer.from_config(make_config(**given), checkpoint=ck, progress=progress)
    t0 = time.perf_counter()
    trainer.fit(args.until)
    session = time.perf_counter() - t0
    if trainer.step >= trainer.steps and trainer.last_checkpoint_step != trainer.step:
        trainer.save_checkpoint()
    model_path = trainer.export(out / "model.npz")
    cfg = trainer.config
    metrics = {"step": trainer.step, "steps": trainer.steps, "wall_time": trainer.wall_time,
               "session_time": session, "config": cfg, "checkpoint": str(ck),
               "model": str(model_path), "network": trainer.net.name,
               "n_params": int(trainer.net.n_params),
               "val_history": trainer.val_history}
    lines = [(f"trained {trainer.net.name} ({trainer.net.n_params:,} parameters) for "
              f"{trainer.step} steps in {trainer.wall_time / 60:.1f} min; checkpoint {ck}")]
    if not args.no_eval:
        from labkit.data import DEGRADATIONS

        test = evaluation_slices(cfg["data"], normalize=cfg["normalize"])
        mask = None if cfg["data"] == "mni152" else "brain"
        methods = DEGRADATIONS if cfg["degradation"] == "mix" else (cfg["degradation"],)
        results = {m: evaluate_network(trainer.net, test, cfg["scale"], m, mask=mask)
                   for m in methods}
        # One result for a specialist; one per degradation for a "mix" model.
        metrics["test"] = results if cfg["degradation"] == "mix" else results[methods[0]]
        where = "inside the brain mask" if mask else "every pixel"
        for m, result in results.items():
            lines += [(f"test ({cfg['data']}, {result['n_slices']} slices, x{cfg['scale']} "
                       f"{m}, {where}):"), *_table(result)]
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    payload = {"command": "train", "out": str(out), **{k: v for k, v in metrics.items()
                                                       if k != "val_history"}}
    _emit(args, payload, lines)
    return 0


def cmd_evaluate(args) -> int:
    from labkit.sr import evaluate_checkpoint

    if args.matrix:
        return _evaluate_matrix(args)
    result = evaluate_checkpoint(args.checkpoint, data=args.data, degradation=args.degradation,
                                 n_slices=args.slices, mask=args.mask, noise_snr=args.noise_snr,
                                 normalize=args.normalize)
    noise = "" if result["noise_snr"] is None else f" + Rician SNR {result['noise_snr']:g}"
    where = "inside the brain mask" if result["mask"] == "brain" else "every pixel"
    lines = [(f"{result['network']} ({result['n_params']:,} parameters) on {args.data}: "
              f"{result['n_slices']} slices, x{result['scale']} {result['degradation']}{noise}, "
              f"{where}")]
    lines += _table(result)
    if args.per_slice:
        for i, (pm, pb) in enumerate(zip(result["model"]["psnr_per_slice"],
                                         result["bicubic"]["psnr_per_slice"])):
            lines.append(f"  slice {i:3d}: model {pm:7.3f} dB, bicubic {pb:7.3f} dB")
    _emit(args, {"command": "evaluate", **result}, lines)
    return 0


def _evaluate_matrix(args) -> int:
    from labkit.evaluation import generalization_matrix
    from labkit.sr import load_sr_network

    given = [flag for flag, value, default in
             (("--data", args.data, "mni152"), ("--degradation", args.degradation, None),
              ("--noise-snr", args.noise_snr, None), ("--mask", args.mask, "auto"),
              ("--normalize", args.normalize, "max"), ("--per-slice", args.per_slice, False))
             if value != default]
    if given:
        raise ValueError(f"--matrix scores its own fixed cells; drop {', '.join(given)}")
    net, _ = load_sr_network(args.checkpoint)
    rows = generalization_matrix(net, n_slices=args.slices)
    lines = [f"{net.name} ({net.n_params:,} parameters) against bicubic, inside the brain mask:",
             f"{'data':8} {'degradation':24} {'model':>8} {'bicubic':>8} {'gain':>7}"]
    for r in rows:
        what = r["degradation"] + ("" if r["noise_snr"] is None
                                   else f" + Rician SNR {r['noise_snr']:g}")
        lines.append(f"{r['data']:8} {what:24} {r['model_psnr']:8.2f} {r['bicubic_psnr']:8.2f} "
                     f"{r['gain_db']:+7.2f}")
    worst = min(r["gain_db"] for r in rows)
    lines.append(f"worst cell: {worst:+.2f} dB")
    _emit(args, {"command": "evaluate", "checkpoint": str(args.checkpoint), "matrix": rows,
                 "worst_gain_db": worst}, lines)
    return 0


def cmd_upscale(args) -> int:
    from labkit.sr import upscale_file

    t0 = time.perf_counter()
    info = upscale_file(args.input, args.output, args.checkpoint, axis=args.axis,
                        batch_size=args.batch, force=args.force)
    info["seconds"] = time.perf_counter() - t0
    lines = [(f"wrote {info['output']}: {tuple(info['input_shape'])} -> "
              f"{tuple(info['output_shape'])}, voxel size "
              f"{tuple(round(v, 4) for v in info['input_voxel_size'])} -> "
              f"{tuple(round(v, 4) for v in info['output_voxel_size'])} mm")]
    _emit(args, {"command": "upscale", **info}, lines)
    return 0


def cmd_selfsr(args) -> int:
    from labkit.selfsr import selfsr_file

    run_dir = args.run if args.run is not None else _default_run_dir(args.output)
    options = {k: getattr(args, k) for k in ("profile", "fwhm", "thickness", "seed")
               if getattr(args, k) is not None}
    info = selfsr_file(args.input, args.output, axis=args.axis, factor=args.factor,
                       steps=args.steps, run_dir=run_dir, resume=args.resume,
                       progress=True, **options)
    lines = [(f"wrote {info['output']}: {tuple(info['input_shape'])} -> "
              f"{tuple(info['output_shape'])}, voxel size "
              f"{tuple(round(v, 4) for v in info['input_voxel_size'])} -> "
              f"{tuple(round(v, 4) for v in info['output_voxel_size'])} mm "
              f"(axis {info['axis']}, x{info['factor']}, {info['steps']} steps, "
              f"{info['seconds']:.0f} s; run directory {info['run_dir']})")]
    _emit(args, {"command": "selfsr", **info}, lines)
    return 0


def _default_run_dir(output) -> str:
    # Beside the output, named after it: a rerun of the same command finds it for --resume.
    out = Path(output)
    stem = out.name[:-7] if out.name.lower().endswith(".nii.gz") else out.stem
    return str(out.with_name(stem + ".selfsr-run"))


def cmd_export(args) -> int:
    from labkit.interop import export_checkpoint

    info = export_checkpoint(args.checkpoint, args.output, opset=args.opset)
    _emit(args, {"command": "export", **info},
          [(f"wrote {info['output']} (opset {info['opset']}, max |onnx - labkit| = "
            f"{info['max_abs_error']})")])
    return 0


def cmd_bench(args) -> int:
    from labkit.bench import main_bench

    rest = [a for a in args.rest if a != "--"]
    try:
        code = main_bench(rest)
    except SystemExit as exc:                      # --help
        code = exc.code
    return 0 if code is None else int(code)


def _one_line(command: str, exc: BaseException) -> str:
    """``labkit <command>: error: <message>`` on one line (the message's own prefix kept)."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, (ValueError, TypeError, FloatingPointError, OSError, RuntimeError)):
        message = f"{type(exc).__name__}: {message}"
    prefix = f"labkit {command}: error: " if command else "labkit: error: "
    if message.startswith(prefix):
        return message
    if command and message.startswith(f"labkit {command}: "):   # an owner named after us
        message = message[len(f"labkit {command}: "):]
    return prefix + message


def _fail(command: str, message: str, json_mode: bool) -> int:
    print(message, file=sys.stderr)
    if json_mode:
        print(json.dumps({"error": message, "command": command or None}))
    return EXIT_ERROR


def main(argv=None) -> int:
    """Entry point of the ``labkit`` console script; returns the exit status.

    Every failure prints one line ``labkit <command>: error: ...`` to standard error and
    returns 2; with ``--json`` the last line of standard output is ``{"error": "..."}`` too.
    No traceback for any input.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv
    command = next((a for a in argv if not a.startswith("-")), "")
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _fail(command, " ".join(str(exc).split()), json_mode)
    except SystemExit as exc:                      # --help
        return int(exc.code or 0)
    if args.command is None:
        return _fail("", "labkit: error: no command given; choose one of train, evaluate, "
                         "upscale, selfsr, export, bench (see labkit --help)", json_mode)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"labkit {args.command}: interrupted; the last checkpoint is kept",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI contract: one line, never a traceback
        return _fail(args.command, _one_line(args.command, exc), json_mode)


if __name__ == "__main__":
    raise SystemExit(main())
