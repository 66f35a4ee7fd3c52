"""Graded exercises: write a labkit function yourself and let labkit check it.

In the style of CS231n's assignments, each exercise names a labkit *reference* function. You
write a function with the same signature and semantics; :func:`check` calls yours and the
reference on many generated cases (odd sizes, strides, overlapping windows, asymmetric padding,
ties, batches, float32 and float64 ...) and tells you how many cases pass, the first failing
cases and, when your output looks like a usual mistake, what that mistake looks like.

>>> from labkit.exercises import list_exercises, check
>>> def my_im2col(x, kernel, stride=(1, 1)):
...     raise NotImplementedError
>>> check("im2col", my_im2col)        # doctest: +SKIP
im2col: not attempted yet: replace `raise NotImplementedError` with your implementation

Your function receives copies of the grader's arrays; modifying them in place is reported as a
mistake (callers keep using their inputs).  Forward passes whose reference returns
``(y, cache)`` are graded on ``y`` (return ``(y, cache)`` or just ``y``); backward exercises
receive the *reference's* cache, laid out as the reference's docstring describes.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.exercises import (
    ch01_neural_networks,
    ch02_quality,
    ch03_kspace,
    ch04_convolution,
    ch05_conv_layer,
    ch06_pooling,
    ch07_blocks,
    ch08_activations,
    ch11_training,
)
from labkit.exercises._core import Case, Exercise, ExerciseResult, Mistake, grade

__all__ = ["Case", "Exercise", "ExerciseResult", "Mistake", "check", "get_exercise",
           "grading", "list_exercises", "stub"]

#: The environment variable nbgrader sets while it executes a notebook (``autograde``,
#: ``validate``): ``nbgrader.converters.autograde`` and ``nbgrader.validator`` set ``NBGRADER_EXECUTION`` to
#: ``"autograde"`` or ``"validate"``.
NBGRADER_ENV = "NBGRADER_EXECUTION"


def grading() -> bool:
    """True while nbgrader executes the notebook (``nbgrader autograde`` / ``validate``).

    The chapters' check cells end with ``result.assert_passed() if grading() else result``:
    a student running the notebook sees the result (red or green, never a traceback), while
    nbgrader's autograder sees a failed exercise as a cell that raises, which scores 0 points.
    """
    import os

    return bool(os.environ.get(NBGRADER_ENV))

_MODULES = (ch01_neural_networks, ch02_quality, ch03_kspace, ch04_convolution, ch05_conv_layer,
            ch06_pooling, ch07_blocks, ch08_activations, ch11_training)

#: id -> Exercise, in course order.
EXERCISES: dict[str, Exercise] = {ex.id: ex for module in _MODULES for ex in module.EXERCISES}


def list_exercises(chapter: str | None = None) -> list[dict]:
    """One dict per exercise: ``id``, ``chapter`` (notebook file name), ``reference`` (dotted
    path of the labkit function to mirror), ``summary`` and ``mistakes`` (names of the usual
    mistakes the grader recognises).  ``chapter`` (a notebook file name, e.g.
    ``"06_pooling.ipynb"``) keeps that chapter's exercises only."""
    return [ex.as_dict() for ex in EXERCISES.values() if chapter in (None, ex.chapter)]


def stub(exercise_id: str) -> str:
    """Source of an empty function with the reference's signature, ready to fill in::

        def im2col(x, kernel, stride=(1, 1)):
            \"\"\"<first line of the reference's docstring>\"\"\"
            raise NotImplementedError
    """
    import inspect

    ex = get_exercise(exercise_id)
    ref = ex.reference_function()
    doc = (inspect.getdoc(ref) or ex.summary).strip().splitlines()[0]
    sig = inspect.signature(ref)
    empty = inspect.Parameter.empty
    sig = sig.replace(parameters=[p.replace(annotation=empty) for p in sig.parameters.values()],
                      return_annotation=empty)
    return (f"def {ref.__name__}{sig}:\n"
            f"    \"\"\"{doc}\"\"\"\n"
            f"    raise NotImplementedError\n")


def get_exercise(exercise_id: str) -> Exercise:
    """The :class:`Exercise` called ``exercise_id`` (``ValueError`` listing the known ids)."""
    if exercise_id not in EXERCISES:
        raise ValueError(f"check: unknown exercise {exercise_id!r}; known exercises: "
                         f"{', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]


def check(exercise_id: str, fn: Callable, *, seed: int = 0) -> ExerciseResult:
    """Grade ``fn`` against the reference of exercise ``exercise_id``.

    Parameters
    ----------
    exercise_id : str
        One of the ids of :func:`list_exercises`.
    fn : callable
        Your function, with the reference's signature.
    seed : int
        Seed of the case generator (other seeds give other random cases).

    Returns
    -------
    ExerciseResult
        ``passed``, ``cases`` (how many were tried), ``failures`` (the first few, each naming
        its case), ``hints``.  It displays itself in Jupyter (green when passed, red otherwise).
        A wrong, crashing or unfinished ``fn`` gives ``passed=False``; ``check`` itself raises
        only for an unknown id or a non-callable ``fn`` (``ValueError``).
    """
    if not isinstance(exercise_id, str):
        raise ValueError(f"check: exercise_id must be a string, got {exercise_id!r}; known "  # noqa: TRY004 - the contract says ValueError
                         f"exercises: {', '.join(EXERCISES)}")
    ex = get_exercise(exercise_id)
    if not callable(fn):
        raise ValueError(f"check: fn must be a callable (your function), got "  # noqa: TRY004 - the contract says ValueError
                         f"{type(fn).__name__} {fn!r:.60}")
    return grade(ex, fn, seed=seed)
