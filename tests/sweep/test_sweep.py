"""Every case of the bad-input sweep ends ``clear`` or ``correct`` (see :mod:`tests.sweep.harness`)."""

from __future__ import annotations

import pytest

from . import cases_api, cases_cli
from .harness import classify, classify_cli

API = cases_api.cases()
CLI = cases_cli.cases()


@pytest.mark.parametrize("case", API, ids=[c.id for c in API])
def test_api_case(case):
    outcome, detail = classify(case)
    assert outcome in ("clear", "correct"), f"{case.id}: {outcome}: {detail}"


@pytest.mark.parametrize("case", CLI, ids=[c.id for c in CLI])
def test_cli_case(case, tmp_path):
    outcome, detail = classify_cli(case, tmp_path)
    assert outcome in ("clear", "correct"), f"{case.id}: {outcome}: {detail}"


def test_sweep_is_large():
    # The sweep had 596 API and 178 CLI cases; ours must not be smaller.
    assert len(API) >= 596 and len(CLI) >= 178, (len(API), len(CLI))
