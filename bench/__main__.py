"""``python -m bench [--quick | --tiny]``: run every section, print the table, write the JSON."""

from __future__ import annotations

import sys

from bench.run import main

sys.exit(main())
