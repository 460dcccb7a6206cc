"""Every benchmark runs here at a tiny size: its JSON shape and its own checks, never its timings."""

from __future__ import annotations

import argparse

import orjson
import pytest

from hftlab import bench


@pytest.fixture
def run_bench():
    def run(name: str, *argv: str) -> dict:
        mod = bench.load(name)
        p = argparse.ArgumentParser()
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
        doc = bench.run(name, p.parse_args(list(argv)))  # refuses labels without a unit
        assert orjson.loads(orjson.dumps(doc)) == doc  # one JSON object, as `--json` prints it
        assert doc["benchmark"] == name and all(isinstance(v, (int, float)) for v in doc["results"].values())
        return doc["results"]

    return run
