"""Tiny helpers shared by the notebook build scripts.

A build script collects cells with :func:`md` and :func:`code` and writes the notebook with
:func:`write`. Text is dedented and stripped, so the scripts can indent it naturally.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


class Builder:
    def __init__(self):
        self.cells = []

    def md(self, text: str) -> None:
        self.cells.append(nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n")))

    def code(self, text: str) -> None:
        self.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n")))

    def write(self, name: str, id_prefix: str | None = None) -> Path:
        """Write ``notebooks/<name>``; ``id_prefix`` gives the cells stable ids (``<prefix>-07``)."""
        nb = nbformat.v4.new_notebook(cells=self.cells)
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        nb.metadata["language_info"] = {"name": "python"}
        if id_prefix is not None:
            for i, cell in enumerate(nb.cells):
                cell["id"] = f"{id_prefix}-{i:02d}"
        path = NOTEBOOKS / name
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"wrote {path} ({len(self.cells)} cells)")
        return path


# Module-level shortcuts for scripts that build one notebook with plain functions.
_default = Builder()
cells = _default.cells
md = _default.md
code = _default.code
write = _default.write
