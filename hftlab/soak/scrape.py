"""A process's /metrics, read back: Prometheus text -> `Metrics` (sample name -> labels -> value)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Metrics:
    samples: dict[str, dict[frozenset, float]] = field(default_factory=dict)

    def total(self, name: str, **labels: str) -> float:
        """The sum of `name` over every series whose labels include `labels` (0 when absent)."""
        want = set(labels.items())
        return sum(v for k, v in self.samples.get(name, {}).items() if want <= k)

    def bucket_quantile(self, histogram: str, q: float) -> float | None:
        """The upper bound of the bucket that holds the `q` quantile of a histogram's observations (its
        cumulative `_bucket{le=...}` series); None without observations."""
        buckets = sorted((float(dict(k)["le"]), v) for k, v in self.samples.get(histogram + "_bucket", {}).items())
        if not buckets or buckets[-1][1] == 0:
            return None
        want = q * buckets[-1][1]
        return next(le for le, n in buckets if n >= want)


def parse_metrics(text: str) -> Metrics:
    m = Metrics()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            m.samples.setdefault(s.name, {})[frozenset(s.labels.items())] = float(s.value)
    return m
