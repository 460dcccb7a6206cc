"""`python -m hftlab.live ...` is `hftlab live ...` (an entry point: it may import the CLI)."""

import sys

from hftlab.cli import main

sys.exit(main(["live", *sys.argv[1:]]))
