"""`python -m hftlab.sim ...` is `hftlab sim ...`."""

import sys

from hftlab.cli import main

sys.exit(main(["sim", *sys.argv[1:]]))
