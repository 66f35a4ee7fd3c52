"""Print the bad-input sweep's counts per bin: ``python -m tests.sweep.report [--list BIN]``.

To count an older checkout, run these cases against it from a folder that holds only this
``tests/sweep`` (so the working directory does not put the current ``labkit`` first)::

    mkdir -p /tmp/sweeprun/tests && ln -s "$PWD/tests/sweep" /tmp/sweeprun/tests/sweep
    git worktree add /tmp/labkit-old <commit>
    cd /tmp/sweeprun && PYTHONPATH=/tmp/labkit-old python -m tests.sweep.report

The old code may try to allocate many gigabytes on some cases: cap memory (``ulimit -v``).
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

from . import cases_api, cases_cli
from .harness import BINS, classify, classify_cli


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--list", default=None, help="print the cases of this bin")
    args = ap.parse_args()
    import labkit
    print(f"labkit from {Path(labkit.__file__).parent}")
    for name, cases, run in (("api", cases_api.cases(), None), ("cli", cases_cli.cases(), 1)):
        counts, listed = collections.Counter(), []
        for case in cases:
            if run is None:
                outcome, detail = classify(case)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    outcome, detail = classify_cli(case, Path(tmp))
            counts[outcome] += 1
            if outcome == args.list:
                listed.append(f"  {case.id}: {detail}")
        print(f"{name}: {len(cases)} cases: " + ", ".join(f"{b} {counts[b]}" for b in BINS))
        print("\n".join(listed))


if __name__ == "__main__":
    main()
