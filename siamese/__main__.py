"""Entry point for ``python -m siamese``."""

import sys

from siamese.cli import main

sys.exit(main())
