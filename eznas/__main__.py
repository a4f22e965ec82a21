"""``python -m eznas`` runs the command-line interface."""

import sys

from eznas.cli import main

sys.exit(main())
