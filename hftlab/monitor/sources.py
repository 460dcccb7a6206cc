"""What one process exports: its components' stats records and probes, read at each scrape.

    sources = Sources()
    sources.record(client.stats)                      # a record the catalogue describes (read live)
    sources.record(feed.book_stats)                   # or a callable returning one, called per scrape
    sources.record(lambda: runner.snapshot, of=EquitySnapshot, ccy="USDT")   # may return None: skipped
    sources.probe("redis_backlog", lambda: cache.pending)                    # a catalogued probe
    families = sources.collect()                      # prometheus_client metric families

Registration is where mistakes are caught: a record whose type, or any of whose fields, the catalogue
does not describe is refused (`Uncatalogued`), and so is a second registration that would produce
the same series (`DuplicateSource`; give the two constant labels that tell them apart). Scraping
only reads: it never changes a component's state. `Sources` is a prometheus_client collector (it
has `collect()`), so `prometheus_client.generate_latest(sources)` renders it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

from prometheus_client.metrics_core import Metric

from hftlab.core.metrics import Histogram
from hftlab.monitor.catalogue import PROBES, RECORDS, Export, Kind, record_key

log = logging.getLogger(__name__)

_TYPES = {Kind.COUNTER: "counter", Kind.GAUGE: "gauge", Kind.HISTOGRAM: "histogram", Kind.STATE: "gauge",
          Kind.INFO: "info"}


class Uncatalogued(TypeError):
    """A record type or field, or a probe name, that hftlab.monitor.catalogue does not describe."""


class DuplicateSource(ValueError):
    """Two registrations that would export the same series."""


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def check_record(cls: type, value: Any = None) -> None:
    """Raise Uncatalogued unless `cls` and every one of its fields are catalogued (nested records
    too, when `value` shows what they are)."""
    key = record_key(cls)
    table = RECORDS.get(key)
    if table is None:
        raise Uncatalogued(f"{key} is not in hftlab.monitor.catalogue.RECORDS: say how its fields export")
    names = _fields(cls)
    missing = [n for n in names if n not in table]
    extra = [n for n in table if n not in names]
    if missing or extra:
        raise Uncatalogued(f"{key}: fields not catalogued {missing}, catalogued but absent {extra}")
    if value is not None:
        for name, e in table.items():
            if e.kind is Kind.NESTED:
                nested = getattr(value, name)
                check_record(type(nested), nested)


def _names(cls: type, value: Any) -> Iterator[str]:
    """The metric names a record exports (nested records included)."""
    for name, e in RECORDS[record_key(cls)].items():
        if e.kind is Kind.NESTED:
            if value is not None:
                nested = getattr(value, name)
                yield from _names(type(nested), nested)
        elif e.kind is not Kind.SKIP:
            yield e.name


def _label(v: Any) -> str:
    return str(v.value) if isinstance(v, Enum) else str(v)


class _Families:
    """Metric families by name, so series of one metric from several sources share one family."""

    def __init__(self):
        self.by_name: dict[str, Metric] = {}

    def family(self, e: Export) -> Metric:
        m = self.by_name.get(e.name)
        if m is None:
            # prometheus_client names a counter family without `_total` and appends it on output
            name = e.name.removesuffix("_total") if e.kind is Kind.COUNTER else e.name
            m = self.by_name[e.name] = Metric(name, e.help, _TYPES[e.kind])
        return m

    def add(self, e: Export, value: Any, const: Mapping[str, str]) -> None:
        kind = e.kind
        if kind is Kind.STATE:
            (label,) = e.labels
            m = self.family(e)
            for member in type(value):
                m.add_sample(e.name, {**const, label: _label(member)}, 1.0 if member is value else 0.0)
            return
        if kind is Kind.INFO:
            self.family(e).add_sample(f"{e.name}_info", {**const, **{k: _label(value[k]) for k in e.labels}}, 1.0)
            return
        if e.labels:
            self.family(e)  # declared (HELP, TYPE) even before its first label value
            for key, v in value.items():
                parts = key if isinstance(key, tuple) else (key,)
                self._one(e, v, {**const, **{n: _label(p) for n, p in zip(e.labels, parts)}})
        else:
            self._one(e, value, const)

    def _one(self, e: Export, v: Any, labels: dict[str, str]) -> None:
        m = self.family(e)
        if e.kind is Kind.HISTOGRAM:
            for le, n in v.cumulative():
                m.add_sample(f"{e.name}_bucket", {**labels, "le": "+Inf" if le == float("inf") else repr(le)}, n)
            m.add_sample(f"{e.name}_count", labels, v.count)
            m.add_sample(f"{e.name}_sum", labels, v.sum)
        else:
            m.add_sample(e.name, labels, float(v) * e.scale)


def _walk(value: Any, const: Mapping[str, str], visit: Callable[[Export, Any, Mapping[str, str]], None]) -> None:
    for name, e in RECORDS[record_key(type(value))].items():
        if e.kind is Kind.NESTED:
            _walk(getattr(value, name), const, visit)
        elif e.kind is not Kind.SKIP:
            visit(e, getattr(value, name), const)


class Sources:
    def __init__(self):
        self._records: list[tuple[Callable[[], Any], dict[str, str]]] = []
        self._probes: list[tuple[Export, Callable[[], Any], dict[str, str]]] = []
        self._taken: set[tuple[str, frozenset]] = set()  # (metric name, constant labels) registered

    def record(self, source: Any, *, of: type | None = None, **labels: str) -> None:
        """Export a stats record: the object itself (read at each scrape), or a callable returning one
        (`of` names its type when it may return None, e.g. before the first valuation)."""
        if callable(source) and not dataclasses.is_dataclass(source):
            fn, sample = source, source()
        else:
            fn, sample = (lambda: source), source
        cls = type(sample) if sample is not None else of
        if cls is None:
            raise Uncatalogued("a record callable that returns None needs `of=` (the record's type)")
        if of is not None and sample is not None and type(sample) is not of:
            raise TypeError(f"the callable returned a {type(sample).__name__}, not the {of.__name__} it names")
        check_record(cls, sample)
        self._claim(list(_names(cls, sample)), labels)
        self._records.append((fn, dict(labels)))

    def probe(self, name: str, fn: Callable[[], Any], **labels: str) -> None:
        """Export a catalogued probe: `fn()` returns its value at each scrape (None: nothing this time)."""
        e = PROBES.get(name)
        if e is None:
            raise Uncatalogued(f"probe {name!r} is not in hftlab.monitor.catalogue.PROBES")
        self._claim([e.name], labels)
        self._probes.append((e, fn, dict(labels)))

    def _claim(self, names: list[str], labels: Mapping[str, str]) -> None:
        keys = {(n, frozenset(labels.items())) for n in names}
        clash = sorted(n for n, _ in keys & self._taken)
        if clash:
            raise DuplicateSource(f"already exported with the labels {dict(labels)}: {clash}")
        self._taken |= keys

    def collect(self) -> list[Metric]:
        out = _Families()
        for fn, const in self._records:
            value = fn()
            if value is not None:
                _walk(value, const, out.add)
        for e, fn, const in self._probes:
            value = fn()
            if value is not None:
                out.add(e, value, const)
        return list(out.by_name.values())

    def histograms(self) -> list[tuple[str, dict[str, str], Histogram]]:
        """(metric name, labels, histogram) of every registered histogram series, for summaries."""
        found: list[tuple[str, dict[str, str], Histogram]] = []

        def visit(e: Export, v: Any, const: Mapping[str, str]) -> None:
            if e.kind is not Kind.HISTOGRAM:
                return
            if e.labels:
                for key, h in v.items():
                    parts = key if isinstance(key, tuple) else (key,)
                    found.append((e.name, {**const, **{n: _label(p) for n, p in zip(e.labels, parts)}}, h))
            else:
                found.append((e.name, dict(const), v))

        for fn, const in self._records:
            value = fn()
            if value is not None:
                _walk(value, const, visit)
        return found
