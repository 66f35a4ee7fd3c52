"""Bad-input cases for the ``labkit`` command (see harness.py).  Owned by the CLI work."""

from __future__ import annotations


def cases() -> list:
    return []
