"""`python -m hftlab ...` is the `hftlab` command."""

import sys

from hftlab.cli import main

sys.exit(main())
