"""Build the instructor version of the chapters: ``python -m instructor.build OUTDIR``.

The committed ``notebooks/NN_name.ipynb`` are the *student* version: every graded exercise is a
stub cell, a function whose body is ``# YOUR CODE HERE`` / ``raise NotImplementedError()``,
followed by a check cell.  A stub cell is recognised by its metadata: the cell tag
``exercise`` and nbgrader metadata with ``solution: true`` and ``grade_id`` equal to the
exercise id (an id of :func:`labkit.exercises.list_exercises`).

The solutions live in ``instructor/solutions/<exercise_id>.py``, one function each, named as
the stub's function (``my_<exercise_id>``).  This script copies every chapter to ``OUTDIR``
with each stub body replaced by the solution's body between nbgrader's markers::

    def my_im2col(x, kernel, stride=(1, 1)):
        \"\"\"...\"\"\"
        ### BEGIN SOLUTION
        <the body of instructor/solutions/im2col.py's function>
        ### END SOLUTION

and every output cleared.  The result is nbgrader's *source* version of the course:
``nbgrader generate_assignment`` turns it back into the student stubs (it replaces each
``BEGIN/END SOLUTION`` region by ``# YOUR CODE HERE`` + ``raise NotImplementedError()``), which
``tests/test_instructor.py`` checks against the committed notebooks.

Usage::

    python -m instructor.build OUTDIR                 # every chapter
    python -m instructor.build OUTDIR --chapters 05 06
"""

from __future__ import annotations

import argparse
import ast
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"

STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def is_exercise_cell(cell) -> bool:
    """A stub cell: code, tagged ``exercise``, nbgrader ``solution: true`` with a grade_id."""
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader", {})
    return (cell.get("cell_type") == "code" and "exercise" in meta.get("tags", [])
            and bool(nbg.get("solution")) and bool(nbg.get("grade_id")))


def exercise_cells(nb) -> list:
    return [c for c in nb.cells if is_exercise_cell(c)]


def stub_function_name(source: str) -> str:
    """Name of the (single) function defined in a stub cell."""
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    if len(names) != 1:
        raise ValueError(f"a stub cell must define exactly one function, found {names}")
    return names[0]


def solution_body(exercise_id: str, function_name: str) -> str:
    """The body (without its docstring) of ``function_name`` in the solution file, dedented."""
    path = SOLUTIONS / f"{exercise_id}.py"
    if not path.exists():
        raise FileNotFoundError(f"no solution for exercise {exercise_id!r}: expected {path}")
    text = path.read_text()
    lines = text.splitlines()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == function_name:
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body = body[1:]                                   # drop the docstring
            if not body:
                raise ValueError(f"{path}: {function_name} has an empty body")
            start, end = body[0].lineno - 1, body[-1].end_lineno
            return textwrap.dedent("\n".join(lines[start:end]))
    raise ValueError(f"{path} defines no function {function_name!r} (the stub's name)")


def fill_stub(source: str, body: str) -> str:
    """Replace the stub lines of ``source`` by ``body`` between the nbgrader markers."""
    lines = source.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == STUB_LINES[0] and lines[i + 1].strip() == STUB_LINES[1]:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            filled = [indent + BEGIN] + [(indent + ln) if ln.strip() else ""
                                         for ln in body.splitlines()] + [indent + END]
            return "\n".join(lines[:i] + filled + lines[i + 2:])
    raise ValueError("stub cell has no '# YOUR CODE HERE' / 'raise NotImplementedError()' lines")


def instructor_notebook(path: Path):
    """The instructor (nbgrader source) version of one chapter, as a notebook node."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if is_exercise_cell(cell):
            ex_id = cell.metadata["nbgrader"]["grade_id"]
            cell.source = fill_stub(cell.source, solution_body(ex_id, stub_function_name(cell.source)))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return nb


def chapters(selected=None) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        paths = [p for p in paths if p.name[:2] in selected or p.stem in selected]
    return paths


def build(outdir, selected=None) -> list[Path]:
    """Write the instructor version of the chapters (all, or those numbered in ``selected``)
    to ``outdir``; returns the written paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapters(selected):
        target = outdir / path.name
        nbformat.write(instructor_notebook(path), target)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.build", description=__doc__.split("\n")[0])
    parser.add_argument("outdir", help="directory to write the instructor notebooks to")
    parser.add_argument("--chapters", nargs="*", help="chapter numbers (e.g. 05 06); default all")
    args = parser.parse_args(argv)
    written = build(args.outdir, args.chapters)
    n_ex = sum(len(exercise_cells(nbformat.read(p, as_version=4))) for p in written)
    print(f"wrote {len(written)} instructor notebooks ({n_ex} solved exercises) to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
