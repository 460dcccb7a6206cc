"""The live runner: `python -m hftlab.live` / `hftlab live` trades the champion (wiring only: every
decision lives in strategy/, risk/, execution/ and portfolio/)."""
