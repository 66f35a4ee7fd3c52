"""nbgrader round trip on one chapter: instructor version -> release -> two submissions ->
autograde -> scores.

In a temporary course directory, the instructor version of 06_pooling (built by
``instructor.build``) is the assignment's *source*; ``nbgrader generate_assignment`` makes the
release (the student stubs), two students submit it (student1 with both exercises solved,
student2 with the first solved and the second left unattempted), ``nbgrader autograde``
executes the submissions (with ``LABKIT_FAST=1``) and the gradebook must hold the full score
for student1 and the first exercise's points only for student2.

Needs nbgrader (``pip install -e ".[instructor]"``); skipped without it.  It executes the
chapter twice (about a minute each on the CI machine), hence ``slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[instructor]')")

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from instructor import build

CHAPTER = "06_pooling"
ASSIGNMENT = "ch06"
TIMEOUT = 900          # seconds per nbgrader command


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABKIT_FAST="1", MPLBACKEND="Agg")
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _points(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


@pytest.mark.slow
def test_nbgrader_generate_autograde_scores(tmp_path):
    course = tmp_path / "course"
    db = tmp_path / "gradebook.db"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(db)!r}\n"
        "c.CourseDirectory.course_id = 'labkit'\n"
        f"c.ExecutePreprocessor.timeout = {TIMEOUT}\n")
    source = build.instructor_notebook(ROOT / "notebooks" / f"{CHAPTER}.ipynb")
    exercises = build.exercise_cells(source)
    assert len(exercises) >= 2
    nbformat.write(source, course / "source" / ASSIGNMENT / f"{CHAPTER}.ipynb")

    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release_path = course / "release" / ASSIGNMENT / f"{CHAPTER}.ipynb"
    release = nbformat.read(release_path, as_version=4)

    # The release's stubs are the committed student notebook's stubs: the versions cannot drift.
    student = nbformat.read(ROOT / "notebooks" / f"{CHAPTER}.ipynb", as_version=4)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in build.exercise_cells(student)}
    released = {c.metadata["nbgrader"]["grade_id"]: c.source for c in build.exercise_cells(release)}
    assert released == stubs

    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in exercises}
    first, second = list(solved)[:2]
    for name, answered in (("student1", set(solved)), ("student2", {first})):
        nb = nbformat.read(release_path, as_version=4)
        for cell in build.exercise_cells(nb):
            if cell.metadata["nbgrader"]["grade_id"] in answered:
                cell.source = solved[cell.metadata["nbgrader"]["grade_id"]]
        target = course / "submitted" / name / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{CHAPTER}.ipynb")
        (target / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")

    _nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")

    points = _points(source)
    total = sum(points.values())
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        s1 = gb.find_submission(ASSIGNMENT, "student1")
        s2 = gb.find_submission(ASSIGNMENT, "student2")
        assert s1.max_score == total
        assert s1.score == total
        assert s2.score == points[f"check_{first}"]
        nb2 = gb.find_submission_notebook(CHAPTER, ASSIGNMENT, "student2")
        by_cell = {g.name: g.score for g in nb2.grades}
    assert by_cell[f"check_{first}"] == points[f"check_{first}"]
    assert by_cell[f"check_{second}"] == 0
