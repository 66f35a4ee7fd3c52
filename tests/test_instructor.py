"""The graded exercises in the chapters: student version (committed notebooks), instructor
version (``python -m instructor.build``) and the link between the two.

* the committed notebooks hold stub cells and check cells with nbgrader metadata, and no
  solution;
* the build fills every stub with ``instructor/solutions/<id>.py`` between nbgrader's markers;
* nbgrader's ClearSolutions turns the instructor version back into the committed stubs;
* the instructor version's exercise cells pass every check.  Only the exercise cells (each stub
  cell and its check cell) are executed: they are self-contained (they import what they use),
  so the chapters' slow cells are not needed.  The whole-chapter run under nbgrader is
  ``tests/test_nbgrader.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from instructor import build
from labkit.exercises import EXERCISES, ExerciseResult, check, grading

CHAPTERS = build.chapters()
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}


def _load(path):
    return nbformat.read(path, as_version=4)


def _pairs(nb):
    """(stub cell, check cell) of every exercise of a notebook."""
    out = []
    for i, cell in enumerate(nb.cells):
        if build.is_exercise_cell(cell):
            assert i + 1 < len(nb.cells), "a stub cell must be followed by its check cell"
            out.append((cell, nb.cells[i + 1]))
    return out


def test_exercises_spread_over_the_course():
    per_chapter = {p.name: len(_pairs(_load(p))) for p in CHAPTERS}
    used = {k: v for k, v in per_chapter.items() if v}
    assert sum(used.values()) >= 16, per_chapter
    assert len(used) >= 7, per_chapter


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_cells(path):
    nb = _load(path)
    pairs = _pairs(nb)
    graded = {id(c) for pair in pairs for c in pair}
    for cell in nb.cells:                      # nbgrader metadata on exercise/check cells only
        if id(cell) not in graded:
            assert "nbgrader" not in cell.metadata, cell.get("id")
        assert "### BEGIN SOLUTION" not in cell.source, f"{path.name}: solution in the student version"
    for stub, chk in pairs:
        meta = stub.metadata["nbgrader"]
        ex_id = meta["grade_id"]
        assert ex_id in EXERCISES and EXERCISES[ex_id].chapter == path.name
        assert NBGRADER_KEYS <= set(meta) and meta["schema_version"] == 3
        assert meta["solution"] and not meta["grade"] and not meta["locked"]
        name = build.stub_function_name(stub.source)
        assert name == f"my_{ex_id}"
        assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in stub.source
        assert (ROOT / "instructor" / "solutions" / f"{ex_id}.py").exists()
        cmeta = chk.metadata["nbgrader"]
        assert NBGRADER_KEYS | {"points"} <= set(cmeta)
        assert cmeta["grade"] and cmeta["locked"] and not cmeta["solution"]
        assert cmeta["grade_id"] == f"check_{ex_id}" and cmeta["points"] > 0
        assert "check" in chk.metadata.get("tags", [])
        assert f'check("{ex_id}", {name})' in chk.source and "grading()" in chk.source
        assert "NBVAL_CHECK_OUTPUT" not in chk.source
        # what a student sees before attempting: the result, not a traceback
        assert all(o.output_type != "error" for o in stub.outputs + chk.outputs)
        text = "".join(o.get("data", {}).get("text/plain", "") for o in chk.outputs)
        assert "not attempted yet" in text, f"{path.name} {chk.get('id')}: {text!r}"


def test_twin_keeps_nbgrader_metadata():
    jupytext = pytest.importorskip("jupytext")
    for path in CHAPTERS:
        twin = jupytext.read(path.with_suffix(".md"))
        cells = [c for c in twin.cells if "nbgrader" in c.metadata]
        assert [c.metadata["nbgrader"] for c in cells] == [
            c.metadata["nbgrader"] for c in _load(path).cells if "nbgrader" in c.metadata]


def test_solutions_match_exercises():
    for path in sorted((ROOT / "instructor" / "solutions").glob("*.py")):
        assert path.stem in EXERCISES, path.name
        names = [n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]
        assert names == [f"my_{path.stem}"], path.name


@pytest.fixture(scope="module")
def instructor_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("instructor")
    build.build(out)
    return out


def test_build_fills_every_stub(instructor_dir):
    for path in CHAPTERS:
        nb = _load(instructor_dir / path.name)
        assert len(nb.cells) == len(_load(path).cells)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
        for stub in build.exercise_cells(nb):
            assert "### BEGIN SOLUTION" in stub.source and "### END SOLUTION" in stub.source
            assert "NotImplementedError" not in stub.source


def test_build_command(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "instructor.build", str(tmp_path / "out"),
                           "--chapters", "08"], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["08_activations_and_losses.ipynb"]


def test_clear_solutions_gives_back_the_student_stubs(instructor_dir):
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[instructor]')")
    from nbgrader.preprocessors import ClearSolutions

    for path in CHAPTERS:
        nb = _load(instructor_dir / path.name)
        nb, _ = ClearSolutions().preprocess(nb, {})
        released = {c.metadata["nbgrader"]["grade_id"]: c.source for c in build.exercise_cells(nb)}
        committed = {c.metadata["nbgrader"]["grade_id"]: c.source
                     for c in build.exercise_cells(_load(path))}
        assert released == committed, path.name


def test_instructor_version_passes_every_check(instructor_dir):
    """Execute every chapter's stub + check cells of the instructor version in one kernel, as
    nbgrader would (``NBGRADER_EXECUTION`` set: a failing check raises)."""
    from nbclient import NotebookClient

    cells = [nbformat.v4.new_code_cell('import os\nos.environ["NBGRADER_EXECUTION"] = "validate"')]
    for path in CHAPTERS:
        for stub, chk in _pairs(_load(instructor_dir / path.name)):
            cells += [stub, chk]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) >= 16
    for chk in checks:
        text = "".join(o.get("data", {}).get("text/plain", "") for o in chk.outputs)
        assert "cases passed" in text and text.startswith("PASSED"), (chk.source, text)


def test_grading_reads_nbgrader_environment(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading() is True


def test_assert_passed():
    def unfinished(x, y):
        raise NotImplementedError()

    result = check("d_tanh", unfinished)
    with pytest.raises(AssertionError, match="not attempted yet"):
        result.assert_passed()
    wrong = check("d_tanh", lambda x, y: 1 - y)
    with pytest.raises(AssertionError, match="d_tanh: failed"):
        wrong.assert_passed()
    good = check("d_tanh", lambda x, y: 1 - y * y)
    assert isinstance(good, ExerciseResult) and good.assert_passed() is good
