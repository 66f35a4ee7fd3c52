"""Bad-input cases for the Python API (see harness.py).  Owned by the API-validation work."""

from __future__ import annotations


def cases() -> list:
    return []
