"""The bad-input sweep: public calls with bad (or borderline) arguments, and what they must do.

Each :class:`Case` is one call.  :func:`classify` runs it and puts the outcome in one of five
bins, the ones the foundation issue counted:

``clear``      the call raised the expected error type and its message names ``owner``
``correct``    the call was meant to succeed and its result passed the case's ``check``
``unclear``    some other exception, or the expected type with a message that does not name
               ``owner`` (a traceback from deep inside numpy, numba or traitlets)
``wrong``      the call returned, but ``check`` says the result is wrong (a silent wrong result)
``lenient``    the call was meant to fail and returned instead

Only ``clear`` and ``correct`` pass.  ``tests/sweep/test_sweep.py`` runs every case under
pytest; ``python -m tests.sweep.report`` prints the counts (also against an older checkout:
``PYTHONPATH=/path/to/old python -m tests.sweep.report``).

CLI cases are :class:`CliCase`: ``labkit.cli.main(argv)`` runs in process; ``clear`` means
exit status 2, exactly one non-empty line on stderr naming ``labkit <command>``, and, when
``--json`` is in argv, a last stdout line that is a JSON object with an ``"error"`` key.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BINS = ("clear", "correct", "unclear", "wrong", "lenient")


@dataclass
class Case:
    """One call.  ``call()`` does it; ``owner`` is the name the error must mention.

    ``check`` is ``None`` when the call must fail with one of ``errors``; otherwise the call
    must succeed and ``check(result)`` must be true.
    """

    id: str
    call: Callable[[], Any]
    owner: str
    check: Callable[[Any], bool] | None = None
    errors: tuple = (ValueError,)


@dataclass
class CliCase:
    """One ``labkit`` command line.  ``setup(tmp_path) -> argv`` builds files and the argv.

    ``check`` is ``None`` when the command must fail (exit 2); otherwise it must exit 0 and
    ``check(stdout, tmp_path)`` must be true.
    """

    id: str
    setup: Callable[[Any], list]
    check: Callable[[str, Any], bool] | None = None
    extra: dict = field(default_factory=dict)


def classify(case: Case) -> tuple[str, str]:
    """Run ``case``; return ``(bin, detail)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = case.call()
    except case.errors as exc:
        if case.check is not None:
            return "unclear", f"expected success, got {type(exc).__name__}: {exc}"
        if case.owner.lower() in str(exc).lower():
            return "clear", str(exc)
        return "unclear", f"{type(exc).__name__} without {case.owner!r}: {exc}"
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return "unclear", f"{type(exc).__name__}: {exc}"
    if case.check is None:
        return "lenient", f"returned {_short(result)}"
    try:
        ok = bool(case.check(result))
    except Exception as exc:  # noqa: BLE001
        ok, result = False, f"check raised {type(exc).__name__}: {exc}"
    return ("correct", "") if ok else ("wrong", f"returned {_short(result)}")


def run_cli(argv: list) -> tuple[int | None, str, str, BaseException | None]:
    """Run ``labkit.cli.main(argv)`` in process; return (status, stdout, stderr, exception)."""
    from labkit import cli

    out, err = io.StringIO(), io.StringIO()
    status, escaped = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            status = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - a traceback is what we are counting
            escaped = exc
    return status, out.getvalue(), err.getvalue(), escaped


def classify_cli(case: CliCase, tmp_path) -> tuple[str, str]:
    """Run ``case`` in ``tmp_path``; return ``(bin, detail)``."""
    try:
        argv = [str(a) for a in case.setup(tmp_path)]
    except Exception as exc:  # noqa: BLE001 - a broken case must not pass quietly
        return "unclear", f"setup failed: {type(exc).__name__}: {exc}"
    status, out, err, escaped = run_cli(argv)
    if escaped is not None:
        return "unclear", f"traceback: {type(escaped).__name__}: {escaped}"
    err_lines = [line for line in err.splitlines() if line.strip()
                 and not _is_progress(line)]
    if case.check is not None:
        if status != 0:
            return "unclear", f"expected success, exit {status}: {err.strip()[-300:]}"
        try:
            ok = bool(case.check(out, tmp_path))
        except Exception as exc:  # noqa: BLE001
            return "wrong", f"check raised {type(exc).__name__}: {exc}"
        return ("correct", "") if ok else ("wrong", f"stdout: {out[-300:]}")
    if status == 0:
        return "lenient", f"exit 0; stdout: {out[-200:]!r}"
    if status != 2:
        return "unclear", f"exit {status}; stderr: {err[-300:]!r}"
    if len(err_lines) != 1 or "Traceback" in err:
        return "unclear", f"stderr is not one line: {err[-400:]!r}"
    command = next((a for a in argv if not a.startswith("-")), "")
    if f"labkit {command}" not in err_lines[0] and not err_lines[0].startswith("labkit"):
        return "unclear", f"stderr does not name the command: {err_lines[0]!r}"
    if "--json" in argv:
        last = out.strip().splitlines()[-1] if out.strip() else ""
        try:
            obj = json.loads(last)
        except ValueError:
            return "unclear", f"--json: last stdout line is not JSON: {last!r}"
        if not isinstance(obj, dict) or "error" not in obj:
            return "unclear", f"--json: last line has no 'error': {last!r}"
    return "clear", err_lines[0]


def _is_progress(line: str) -> bool:
    # tqdm bars and their carriage-return updates are not error lines.
    return "\r" in line or "it/s" in line or "s/it" in line or "%|" in line


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."
