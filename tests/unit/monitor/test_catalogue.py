"""The catalogue covers every stats record in hftlab, field for field, and its names follow Prometheus's
conventions."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from collections import Counter
from pathlib import Path

import pytest

from hftlab.core.metrics import LATENCY_BUCKETS_S, Histogram
from hftlab.monitor.catalogue import ALLOWED_LABELS, PROBES, RECORDS, Kind, exports, record_key, series_names
from hftlab.monitor.sources import check_record

PACKAGE = Path(__file__).resolve().parents[3] / "hftlab"
NAME = re.compile(r"^hftlab_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NOT_BASE_UNITS = re.compile(r"_(ms|us|ns|millis|milliseconds|microseconds|minutes|hours|kb|mb|gb|kib|mib|percent|pct)(_|$)")


def _stats_classes() -> list[str]:
    """Every `class X(Stats)` in the package's source, as `module.Class` (found without importing)."""
    out = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Stats" for b in node.bases):
                module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
                out.append(f"{module}.{node.name}")
    return sorted(out)


def _resolve(key: str) -> type:
    module, _, name = key.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_stats_record_in_hftlab_is_catalogued():
    found = _stats_classes()
    assert len(found) >= 15  # the scan works
    assert [k for k in found if k not in RECORDS] == []


@pytest.mark.parametrize("key", sorted(RECORDS))
def test_each_catalogued_record_matches_its_class_field_for_field(key):
    cls = _resolve(key)
    assert record_key(cls) == key
    assert [f.name for f in dataclasses.fields(cls)] == list(RECORDS[key]), "same fields, same order"
    check_record(cls)


def test_names_follow_prometheus_conventions():
    names = [e.name for e in exports()]
    assert [n for n, c in Counter(names).items() if c > 1] == [], "each metric is defined once"
    for e in exports():
        assert NAME.match(e.name), e.name
        assert not NOT_BASE_UNITS.search(e.name), f"{e.name}: base units (seconds, bytes, ratios)"
        assert e.help and not e.help.endswith("."), e.name
        assert e.name.endswith("_total") == (e.kind is Kind.COUNTER), e.name
        if e.kind is Kind.HISTOGRAM:
            assert e.name.endswith("_seconds"), e.name
        if e.kind is Kind.INFO:
            assert not e.name.endswith("_info"), "the exposition adds _info"
        if e.scale != 1.0:
            assert e.name.endswith(("_seconds", "_ratio")), f"{e.name}: a scaled value is a base unit"


def test_labels_are_few_bounded_and_never_ids():
    for e in exports():
        assert set(e.labels) <= ALLOWED_LABELS, (e.name, e.labels)
        assert len(e.labels) <= 2, e.name
    assert not {lb for lb in ALLOWED_LABELS if lb.endswith("id") and lb != "inst_id"}
    assert all(e.labels for e in exports() if e.kind in (Kind.STATE, Kind.INFO))


def test_latency_histograms_use_the_core_buckets_10us_to_10s():
    assert Histogram().bounds == LATENCY_BUCKETS_S
    assert LATENCY_BUCKETS_S[0] == pytest.approx(1e-5) and LATENCY_BUCKETS_S[-1] == 10.0


def test_series_names_of_a_histogram_and_an_info():
    h = next(e for e in exports() if e.kind is Kind.HISTOGRAM)
    assert series_names(h) == (f"{h.name}_bucket", f"{h.name}_sum", f"{h.name}_count")
    assert series_names(PROBES["model"]) == ("hftlab_model_info",)


def test_skipped_fields_say_why():
    for key, table in RECORDS.items():
        for field, e in table.items():
            if e.kind is Kind.SKIP:
                assert e.help, f"{key}.{field}"
