"""The grading machinery shared by every exercise.

An :class:`Exercise` names a labkit reference function, generates test cases from a seeded
random generator and lists the usual mistakes as *variants* of the reference (the reference
with one twist).  :func:`grade` calls the student's function and the reference on copies of the
same arguments, compares the results, and for every failing case checks whether the student's
output equals one of the mistaken variants: that is how it can say *what the mistake looks
like* without giving the answer away.
"""

from __future__ import annotations

import copy
import html
import importlib
import inspect
import math
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Failures listed in full in a result (the count of all failures is always given).
MAX_FAILURES = 5

#: A mistake matched on this many failing cases is recognised; it is not tried on further cases.
ENOUGH_MATCHES = 3
#: Failing cases on which the known mistakes are tried (the rest are only counted).
MAX_ANALYSED = 30

NOT_ATTEMPTED = "not attempted yet: replace `raise NotImplementedError` with your implementation"

HINT_SHAPE = ("Some outputs have the wrong shape: print the shapes of the first failing case and "
              "compare them with the shape formula in the docstring.")
HINT_NAN = ("Your output contains NaN or inf where the reference is finite: look for 0 / 0, "
            "log(0), the square root of a negative number or an overflowing exp.")
HINT_DTYPE = ("The output dtype differs from the reference's: keep the input's floating dtype "
              "(create arrays with dtype=x.dtype, avoid mixing in float64 constants arrays).")
HINT_MUTATION = ("Your function modified one of its inputs in place: work on a copy "
                 "(x = x.copy()) or build a new array; callers keep using their arrays.")
HINT_EXCEPTION = ("Your function raised an exception on some cases (see the failures): run the "
                  "first failing case by hand to see the traceback.")
HINT_TYPE = "Some results are not of the expected type (see the failures)."


@dataclass(frozen=True)
class Case:
    """One generated test case: a readable label and the arguments of the call."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A usual mistake: ``variant`` has the reference's signature and computes the mistaken
    result; ``hint`` says what it looks like (without giving the answer)."""

    name: str
    variant: Callable
    hint: str


@dataclass
class Exercise:
    """An exercise mirroring the labkit function at dotted path ``reference``.

    ``cases(rng)`` yields :class:`Case` objects; ``output(result)`` extracts what is compared
    (default: the whole result; forward passes that return ``(y, cache)`` compare ``y``);
    ``rtol``/``atol`` are the float64 tolerances (relative to the largest magnitude of the
    expected array), ``rtol32`` the one used when the expected output is float32.
    """

    id: str
    chapter: str
    reference: str
    summary: str
    cases: Callable[[np.random.Generator], Iterable[Case]]
    mistakes: list = field(default_factory=list)
    output: Callable[[Any], Any] | None = None
    rtol: float = 1e-9
    rtol32: float = 2e-5
    tips: list = field(default_factory=list)

    def reference_function(self) -> Callable:
        return resolve(self.reference)

    def as_dict(self) -> dict:
        return {"id": self.id, "chapter": self.chapter, "reference": self.reference,
                "summary": self.summary, "mistakes": [m.name for m in self.mistakes]}


def resolve(dotted: str) -> Callable:
    """Import ``"package.module.function"`` and return the function."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


# ----------------------------------------------------------------------------- result

@dataclass
class ExerciseResult:
    """Outcome of :func:`labkit.exercises.check`; displays itself in Jupyter."""

    exercise: str
    passed: bool
    cases: int
    failures: list
    hints: list
    failed: int = 0
    reference: str = ""

    @property
    def headline(self) -> str:
        if self.passed:
            return f"{self.exercise}: {self.cases}/{self.cases} cases passed"
        if self.failures and self.failures[0] == NOT_ATTEMPTED:
            return f"{self.exercise}: {NOT_ATTEMPTED}"
        return f"{self.exercise}: failed {self.failed} of {self.cases} cases"

    def __str__(self) -> str:
        lines = [("PASSED  " if self.passed else "FAILED  ") + self.headline]
        shown = [f for f in self.failures if f != NOT_ATTEMPTED]
        if shown:
            lines.append("first failures:")
            lines += [f"  - {f}" for f in shown]
        if self.hints:
            lines.append("hints:")
            lines += [f"  * {h}" for h in self.hints]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed

    def assert_passed(self) -> ExerciseResult:
        """Return ``self`` when passed, else raise ``AssertionError`` with the headline, the
        first failures and the hints (what an autograder test cell needs: it scores a cell that
        raises as 0 points)."""
        if not self.passed:
            raise AssertionError(str(self))
        return self

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "&#10004;" if self.passed else "&#10008;"
        parts = ['<div class="labkit-exercise" style="font-family: sans-serif">',
                 (f'<div style="color: {colour}; font-weight: bold">{mark} '
                 f'{html.escape(self.headline)}</div>')]
        shown = [f for f in self.failures if f != NOT_ATTEMPTED]
        if shown:
            parts.append("<div>First failures:</div><ul>")
            parts += [f"<li><code>{html.escape(f)}</code></li>" for f in shown]
            parts.append("</ul>")
        if self.hints:
            parts.append("<div>Hints:</div><ul>")
            parts += [f"<li>{html.escape(h)}</li>" for h in self.hints]
            parts.append("</ul>")
        parts.append("</div>")
        return "".join(parts)


# ----------------------------------------------------------------------------- comparison

def describe(value) -> str:
    """Short description of an argument for a case label."""
    if isinstance(value, np.ndarray):
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


class _Mismatch(Exception):
    def __init__(self, message: str, kind: str = "value"):
        super().__init__(message)
        self.kind = kind


def _is_float_like(a: np.ndarray) -> bool:
    return a.dtype.kind in "fc"


def _compare(got, exp, rtol: float, rtol32: float, path: str) -> None:
    where = f" in {path}" if path else ""
    if isinstance(exp, dict):
        for key in exp:
            if not _has(got, key):
                raise _Mismatch(f"result has no entry {key!r}", "type")
            _compare(_get(got, key), exp[key], rtol, rtol32, f"{path}[{key!r}]")
        return
    if isinstance(exp, (tuple, list)):
        if isinstance(got, np.ndarray) and got.ndim >= 1 and _scalar_leaves(exp):
            got = got.tolist()                    # e.g. padding returned as an int array
        if not isinstance(got, (tuple, list)):
            raise _Mismatch(f"expected a tuple of {len(exp)} items{where}, got "
                            f"{type(got).__name__}", "type")
        if len(got) != len(exp):
            raise _Mismatch(f"expected {len(exp)} items{where}, got {len(got)}", "shape")
        for i, (g, e) in enumerate(zip(got, exp)):
            _compare(g, e, rtol, rtol32, f"{path}[{i}]")
        return
    if exp is None:
        if got is not None:
            raise _Mismatch(f"expected None{where}, got {type(got).__name__}", "type")
        return
    if isinstance(exp, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_, int, np.integer)) or bool(got) != bool(exp):
            raise _Mismatch(f"expected {bool(exp)}{where}, got {got!r}")
        return
    if isinstance(exp, str):
        if got != exp:
            raise _Mismatch(f"expected {exp!r}{where}, got {got!r}")
        return
    scalar = np.isscalar(exp)
    if got is None:
        raise _Mismatch(f"returned None{where} (forgot `return`?)", "type")
    try:
        g = np.asarray(got)
    except Exception:                                          # noqa: BLE001
        raise _Mismatch(f"result{where} is {type(got).__name__}, not an array", "type") from None
    e = np.asarray(exp)
    if g.dtype == object or g.dtype.kind not in "biufc":
        raise _Mismatch(f"result{where} is not numeric (dtype {g.dtype})", "type")
    if scalar and g.size == 1 and g.ndim <= 1:
        g = g.reshape(())
    if g.shape != e.shape:
        raise _Mismatch(f"wrong shape{where}: expected {e.shape}, got {g.shape}", "shape")
    if not scalar and _is_float_like(e) and _is_float_like(g) and g.dtype != e.dtype:
        raise _Mismatch(f"dtype changed{where}: expected {e.dtype}, got {g.dtype}", "dtype")
    if e.dtype.kind in "biu" and g.dtype.kind in "biu":
        if not np.array_equal(g, e):
            bad = int(np.count_nonzero(g != e))
            raise _Mismatch(f"{bad} of {e.size} values differ{where}")
        return
    gf = g.astype(np.complex128 if (g.dtype.kind == "c" or e.dtype.kind == "c") else np.float64)
    ef = e.astype(gf.dtype)
    e_fin = np.isfinite(ef)
    g_fin = np.isfinite(gf)
    if np.any(e_fin & ~g_fin):
        raise _Mismatch(f"NaN or inf{where} where the reference is finite "
                        f"({int(np.count_nonzero(e_fin & ~g_fin))} values)", "nan")
    if np.any(~e_fin & ~np.isnan(ef)):              # +-inf expected: must match exactly
        inf = ~e_fin & ~np.isnan(ef)
        if not np.array_equal(gf[inf], ef[inf]):
            raise _Mismatch(f"expected inf{where} at {int(np.count_nonzero(inf))} values, got "
                            f"finite numbers")
    if np.any(np.isnan(ef) != np.isnan(gf)):
        raise _Mismatch(f"NaN pattern differs{where}")
    tol = rtol32 if e.dtype in (np.float32, np.complex64) else rtol
    scale = float(np.max(np.abs(ef[e_fin]))) if np.any(e_fin) else 0.0
    allowed = tol * max(scale, 1e-3)
    diff = np.abs(gf[e_fin] - ef[e_fin])
    if diff.size and float(diff.max()) > allowed:
        bad = int(np.count_nonzero(diff > allowed))
        raise _Mismatch(f"{bad} of {e.size} values differ{where} (largest error "
                        f"{float(diff.max()):.3g}, largest expected magnitude {scale:.3g})")


def _scalar_leaves(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_scalar_leaves(v) for v in value)
    return np.isscalar(value) and not isinstance(value, str)


def _has(obj, key) -> bool:
    try:
        if isinstance(obj, dict) or hasattr(obj, "keys"):
            return key in obj
    except Exception:                                          # noqa: BLE001
        return False
    return hasattr(obj, key) if isinstance(key, str) else False


def _get(obj, key):
    if isinstance(obj, dict) or hasattr(obj, "keys"):
        return obj[key]
    return getattr(obj, key)


def compare(got, exp, rtol: float = 1e-9, rtol32: float = 2e-5) -> tuple[str, str] | None:
    """None when ``got`` matches ``exp`` within tolerance, else ``(message, kind)``."""
    try:
        _compare(got, exp, rtol, rtol32, "")
    except _Mismatch as m:
        return str(m), m.kind
    except Exception as exc:                                   # noqa: BLE001
        return f"result could not be compared ({type(exc).__name__}: {exc})", "type"
    return None


def same_value(a, b) -> bool:
    """Exact equality of nested arguments (to detect in-place modification)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (tuple, list)):
        return (isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if callable(a):
        return True
    try:
        return bool(a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
    except Exception:                                          # noqa: BLE001
        return True


# ----------------------------------------------------------------------------- grading

def _call(fn, case: Case):
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(case.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            out = fn(*args, **kwargs)
    return out, args, kwargs


def _arg_names(ref, case: Case) -> list[str]:
    try:
        params = list(inspect.signature(ref).parameters)
    except (TypeError, ValueError):
        params = []
    names = [params[i] if i < len(params) else f"argument {i}" for i in range(len(case.args))]
    return names + list(case.kwargs)


def _exception_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if tb:
        last = tb[-1]
        where = f" (line {last.lineno} of {last.name})"
    return f"{type(exc).__name__}: {exc}{where}"


def grade(ex: Exercise, fn: Callable, seed: int = 0) -> ExerciseResult:
    """Run every case of ``ex`` on ``fn`` and the reference; see :func:`labkit.exercises.check`."""
    ref = ex.reference_function()
    extract = ex.output or (lambda r: r)
    rng = np.random.default_rng(seed)
    try:
        cases = list(ex.cases(rng))
    except Exception as exc:                                   # noqa: BLE001
        return ExerciseResult(ex.id, False, 0,
                              [f"the grader could not generate its cases: {_exception_text(exc)}"],
                              [("This is a bug in labkit or in this grader, not in your code; "
                               "please report it.")], reference=ex.reference)
    failures: list[str] = []
    kinds: set[str] = set()
    matched: dict[str, int] = {}
    failed = 0
    analysed = 0
    grader_errors = 0
    for case in cases:
        try:
            expected = extract(_call(ref, case)[0])
        except Exception as exc:                               # noqa: BLE001
            grader_errors += 1               # a labkit bug, not the student's: say so, go on
            failed += 1
            if len(failures) < MAX_FAILURES:
                failures.append(f"{case.label}: the reference {ex.reference} itself raised "
                                f"{_exception_text(exc)}")
            continue
        try:
            got_raw, args_after, kwargs_after = _call(fn, case)
        except NotImplementedError:
            return ExerciseResult(ex.id, False, len(cases), [NOT_ATTEMPTED],
                                  [("Write your implementation in place of "
                                   "`raise NotImplementedError`, then run check again.")],
                                  failed=len(cases), reference=ex.reference)
        except Exception as exc:                               # noqa: BLE001
            failed += 1
            kinds.add("exception")
            if len(failures) < MAX_FAILURES:
                failures.append(f"{case.label}: raised {_exception_text(exc)}")
            continue
        problem = None
        names = _arg_names(ref, case)
        before = list(case.args) + list(case.kwargs.values())
        after = list(args_after) + list(kwargs_after.values())
        for name, a, b in zip(names, before, after):
            if not same_value(a, b):
                problem = (f"modified its input `{name}` in place", "mutation")
                break
        try:
            got = extract(got_raw)
        except Exception as exc:                               # noqa: BLE001
            got = got_raw
            problem = problem or ((f"result has an unexpected structure ({type(exc).__name__}: "
                                  f"{exc})"), "type")
        if problem is None:
            problem = compare(got, expected, ex.rtol, ex.rtol32)
        if problem is None:
            continue
        failed += 1
        message, kind = problem
        kinds.add(kind)
        if len(failures) < MAX_FAILURES:
            failures.append(f"{case.label}: {message}")
        if analysed >= MAX_ANALYSED:
            continue
        analysed += 1
        for mistake in ex.mistakes:
            if matched.get(mistake.name, 0) >= ENOUGH_MATCHES:
                continue                     # already recognised: spare the computation
            try:
                variant = extract(_call(mistake.variant, case)[0])
            except Exception:                                  # noqa: BLE001, S112
                continue                     # a twist that does not apply to this case
            if compare(variant, expected, ex.rtol, ex.rtol32) is None:
                continue                     # the twist changes nothing on this case
            if compare(got, variant, ex.rtol, ex.rtol32) is None:
                matched[mistake.name] = matched.get(mistake.name, 0) + 1
    hints: list[str] = []
    if grader_errors:
        hints.append(f"The reference function itself failed on {grader_errors} case(s): that is "
                     f"a bug in labkit or in this grader, not in your code; please report it.")
    by_name = {m.name: m for m in ex.mistakes}
    for name, count in sorted(matched.items(), key=lambda kv: -kv[1]):
        hints.append(by_name[name].hint)
    generic = {"shape": HINT_SHAPE, "nan": HINT_NAN, "dtype": HINT_DTYPE,
               "mutation": HINT_MUTATION, "exception": HINT_EXCEPTION, "type": HINT_TYPE}
    for kind in ("mutation", "exception", "shape", "nan", "dtype", "type"):
        if kind in kinds:
            hints.append(generic[kind])
    if failed and not matched:
        hints += list(ex.tips)
        if not kinds - {"value"}:
            hints.append(f"Your results differ from the reference's beyond rounding on these "
                         f"cases: re-read the definition (help({ex.reference})) and work the "
                         f"first failing case by hand.")
    return ExerciseResult(ex.id, failed == 0, len(cases), failures, hints, failed=failed,
                          reference=ex.reference)
