"""``python -m robustcheck``: the same as the ``robustcheck`` command."""

from __future__ import annotations

import sys

from robustcheck.cli import main

sys.exit(main())
