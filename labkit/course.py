"""The first cell of every chapter notebook, as one call.

Each chapter starts the same way: figures inline as PNG at a size that reads well on a laptop
screen, random generators seeded so a re-run gives the same numbers, and the ``LABKIT_FAST``
flag that CI sets to run the short version of the slow cells. :func:`setup` does all of that
and tells the reader, in one line, which version is running::

    %matplotlib inline
    from labkit.course import setup

    FAST = setup().fast

``%matplotlib inline`` stays in the notebook: it is an IPython magic that picks the backend,
and a reader should see it. Nothing here computes anything the chapters teach.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import numpy as np

FAST_ENV = "LABKIT_FAST"
"""Environment variable that selects the short version of the notebooks (``1``: short)."""


@dataclass(frozen=True)
class Course:
    """What :func:`setup` configured: read ``fast`` to choose between short and full cells."""

    fast: bool
    seed: int
    dpi: int
    rng: np.random.Generator = field(repr=False, compare=False)


def fast_mode(environ=None) -> bool:
    """True when ``LABKIT_FAST=1``: the notebooks then run their short versions (as CI does)."""
    environ = os.environ if environ is None else environ
    return environ.get(FAST_ENV, "0").strip() == "1"


def setup(seed: int = 0, dpi: int | None = None, figure_format: str = "png",
          quiet: bool = False) -> Course:
    """Configure a chapter notebook and return what its cells need.

    - figures: ``figure.dpi`` set to ``dpi`` (default :data:`labkit.viz.style.DPI`, the dpi every
      labkit figure is drawn at, so pyplot figures and labkit's read at the same size), the base
      font size to :data:`labkit.viz.style.LABEL_SIZE`, and, inside IPython, inline figures
      rendered as ``figure_format`` (PNG, so stored outputs look the same in JupyterLab and on
      GitHub);
    - randomness: Python's and numpy's global generators are seeded with ``seed``, so a cell that
      draws without an explicit generator still repeats; ``Course.rng`` is a fresh
      ``np.random.default_rng(seed)`` for cells that want their own;
    - ``Course.fast`` is the ``LABKIT_FAST`` flag.

    Prints one line saying which version runs (unless ``quiet``), because the stored outputs of
    a notebook only make sense once you know whether they come from the short or the full run.
    """
    import matplotlib

    from labkit.viz import style

    dpi = style.DPI if dpi is None else dpi
    matplotlib.rcParams["figure.dpi"] = dpi
    matplotlib.rcParams["font.size"] = style.LABEL_SIZE
    _inline_format(figure_format)
    random.seed(seed)
    np.random.seed(seed)
    course = Course(fast=fast_mode(), seed=seed, dpi=dpi, rng=np.random.default_rng(seed))
    if not quiet:
        print(describe(course))
    return course


def describe(course: Course) -> str:
    """The one line :func:`setup` prints."""
    from labkit import __version__

    run = (f"short run ({FAST_ENV}=1)" if course.fast
           else f"full run (set {FAST_ENV}=1 for the short version)")
    return f"labkit {__version__} · {run} · seed {course.seed}"


def _inline_format(figure_format: str) -> None:
    # Outside IPython (scripts, tests) there is no inline backend to configure.
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats(figure_format)
