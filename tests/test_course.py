"""labkit.course.setup: the notebooks' first cell (figures, seeds, the LABKIT_FAST flag)."""

import random

import matplotlib
import numpy as np
import pytest

from labkit import __version__
from labkit.course import Course, describe, fast_mode, setup


@pytest.mark.parametrize("value, expected", [("1", True), (" 1\n", True), ("0", False),
                                             ("", False), ("yes", False)])
def test_fast_mode_reads_labkit_fast(value, expected):
    assert fast_mode({"LABKIT_FAST": value}) is expected


def test_fast_mode_is_off_when_unset():
    assert fast_mode({}) is False


def test_setup_follows_the_environment(monkeypatch, capsys):
    monkeypatch.setitem(matplotlib.rcParams, "figure.dpi", matplotlib.rcParams["figure.dpi"])
    monkeypatch.setenv("LABKIT_FAST", "1")
    assert setup().fast is True
    monkeypatch.delenv("LABKIT_FAST")
    course = setup()
    assert course.fast is False
    out = capsys.readouterr().out.splitlines()
    assert out == [describe(Course(True, 0, 80, None)), describe(course)]
    assert out[0].startswith(f"labkit {__version__} · short run")
    assert "full run" in out[1]


def test_setup_sets_dpi_and_seeds(monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "figure.dpi", 100)
    course = setup(seed=7, dpi=90, quiet=True)
    assert matplotlib.rcParams["figure.dpi"] == 90
    assert (course.seed, course.dpi) == (7, 90)
    drawn = (random.random(), np.random.random(), course.rng.random())
    again = setup(seed=7, dpi=90, quiet=True)
    assert (random.random(), np.random.random(), again.rng.random()) == drawn


def test_quiet_prints_nothing(capsys):
    setup(quiet=True)
    assert capsys.readouterr().out == ""
