"""Each chapter notebook and its MyST Markdown twin say the same thing.

The notebooks are their own source: ``notebooks/NN_name.ipynb`` (executed, with outputs) is
paired by ``notebooks/jupytext.toml`` with ``notebooks/NN_name.md`` (the text and code, what a
reviewer reads). Editing one and forgetting ``jupytext --sync`` leaves the two disagreeing;
these tests catch that without starting a kernel. They also keep what every reader and CI
relies on: cell ids that stay put, the ``python3`` kernelspec, and a size GitHub renders.
"""

import json
import re
from pathlib import Path

import jupytext  # in the lab extra, which dev includes: this check never skips
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYNBS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TWINS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))
MAX_BYTES = 2_000_000
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # what nbformat 4.5 allows


def _sources(nb_path):
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return [(c["cell_type"], "".join(c["source"]).strip()) for c in cells]


def test_there_are_notebooks():
    assert len(IPYNBS) >= 13, IPYNBS


def test_every_notebook_has_a_twin_and_every_twin_a_notebook():
    stems_nb = {p.stem for p in IPYNBS}
    stems_md = {p.stem for p in TWINS}
    assert not stems_nb - stems_md, f"notebooks without a .md twin: {sorted(stems_nb - stems_md)}"
    assert not stems_md - stems_nb, f".md twins without a notebook: {sorted(stems_md - stems_nb)}"


def test_pairing_config_pairs_ipynb_with_myst():
    from jupytext.config import load_jupytext_config
    from jupytext.formats import long_form_multiple_formats

    config = load_jupytext_config(str(IPYNBS[0]))
    assert config is not None, "notebooks/jupytext.toml is missing"
    formats = long_form_multiple_formats(config.default_formats(str(IPYNBS[0])))
    assert sorted((f["extension"], f.get("format_name")) for f in formats) == [
        (".ipynb", None), (".md", "myst")]


@pytest.mark.parametrize("nb_path", IPYNBS, ids=lambda p: p.name)
def test_twin_has_the_same_cells(nb_path):
    twin = nb_path.with_suffix(".md")
    assert twin.exists(), f"{twin.name} missing: run jupytext --sync notebooks/{nb_path.name}"
    # Read the way a hook would, format guessed from the file: the twin must say it is MyST.
    text = jupytext.read(str(twin))
    assert text.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    ours = _sources(nb_path)
    theirs = [(c.cell_type, c.source.strip()) for c in text.cells]
    assert len(ours) == len(theirs), (
        f"{nb_path.name} has {len(ours)} cells, {twin.name} {len(theirs)}: "
        f"run jupytext --sync notebooks/{nb_path.name}")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, (f"cell {i} of {nb_path.name} differs from its twin {twin.name}: "
                        f"run jupytext --sync notebooks/{nb_path.name}")


@pytest.mark.parametrize("nb_path", IPYNBS, ids=lambda p: p.name)
def test_cell_ids_kernelspec_and_size(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    ids = [c.get("id") for c in nb["cells"]]
    assert all(isinstance(i, str) and CELL_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids), f"duplicated cell ids in {nb_path.name}"
    # The committed notebooks name their cells after the chapter (nb06-00, nb06-01, ...); cells
    # added later in JupyterLab may carry its ids, but the original ones must not be regenerated.
    prefix = f"nb{nb_path.name[:2]}-"
    assert ids[0] == prefix + "00", f"{nb_path.name}: first cell id {ids[0]!r}, cells were renumbered"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5)
    size = nb_path.stat().st_size
    assert size < MAX_BYTES, f"{nb_path.name} is {size / 1e6:.2f} MB (limit 2 MB)"
