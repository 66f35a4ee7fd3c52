"""``python -m labkit ...`` runs the ``labkit`` command (:func:`labkit.cli.main`)."""

import sys

from labkit.cli import main

sys.exit(main())
