"""`python -m hftlab.collect ...` is `hftlab collect ...`."""

import sys

from hftlab.cli import main

sys.exit(main(["collect", *sys.argv[1:]]))
