"""What a model was trained on, as MLflow tags: the data's world, venue, symbol, timeframe and the
hash of its FeatureSpec.

A world is whose market the data shows: `sim` (hftlab.sim, the local twin with its own price
process) or `okx` (OKX's market, the same on demo and production). A model only means something
on the market it learnt, so models of different worlds never compete: the promotion gate refuses a
candidate whose world is not the venue's and never compares two models that differ in world,
symbol, timeframe or feature spec (hftlab.backtest.gate), and the live runner refuses a champion
not trained on its own instrument, timeframe and features.

Every registered version carries these tags (and its training run the same ones), written by
hftlab.models.train and read back by hftlab.backtest.registry.Registry.provenance:

    hftlab.world              sim | okx
    hftlab.venue              sim | okx-demo | okx-live, when known (a candle CSV does not say)
    hftlab.symbol             e.g. BTC-USDT
    hftlab.timeframe          e.g. 1s, 1m
    hftlab.feature_spec_hash  hftlab.features.spec.spec_hash of the model's FeatureSpec

A bars file says which world it holds in its Parquet schema metadata (`hftlab.world`,
`hftlab.venue`: `bars_metadata`, written where the research pipeline writes bars.parquet and read
by hftlab.models.barfiles.load_bars).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

WORLDS = ("sim", "okx")
TAG_PREFIX = "hftlab."
# the facts two models must share to be compared, and a runtime with its champion (venue is not one:
# OKX demo and production quote the same market)
FACTS = ("world", "symbol", "timeframe", "feature_spec_hash")
_LABELS = {"world": "world", "symbol": "symbol", "timeframe": "timeframe", "feature_spec_hash": "feature spec"}
_PARQUET_KEYS = {"world": b"hftlab.world", "venue": b"hftlab.venue"}


@dataclass(frozen=True)
class Provenance:
    """The data a model was trained on. None: not recorded (a version registered before these tags,
    a candle CSV whose name does not say its symbol)."""

    world: str | None = None
    venue: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    feature_spec_hash: str | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Provenance:
        """From MLflow tags (a model version's or a run's); other tags are ignored."""
        return cls(**{f.name: tags.get(TAG_PREFIX + f.name) or None for f in fields(cls)})

    def tags(self) -> dict[str, str]:
        """The MLflow tags of what is recorded (None fields are left out)."""
        return {TAG_PREFIX + k: str(v) for k, v in asdict(self).items() if v is not None}

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)

    def missing(self) -> tuple[str, ...]:
        """The facts (FACTS) not recorded."""
        return tuple(k for k in FACTS if getattr(self, k) is None)

    def differences(self, other: Provenance) -> list[str]:
        """Each fact of FACTS on which self and other differ or that either does not record, as
        "<fact> <self's> vs <other's>" (e.g. "timeframe 1s vs 1m"); empty when they may be compared."""
        out = []
        for k in FACTS:
            mine, theirs = getattr(self, k), getattr(other, k)
            if mine is None or theirs is None or mine != theirs:
                out.append(f"{_LABELS[k]} {_show(k, mine)} vs {_show(k, theirs)}")
        return out


def _show(fact: str, value: str | None) -> str:
    if value is None:
        return "(not recorded)"
    return value[:12] if fact == "feature_spec_hash" else value


def world_mismatch(data_world: str | None, venue_world: str) -> str | None:
    """Why a model trained on `data_world` data cannot be the champion of a venue trading
    `venue_world` (None: it can, as far as worlds go)."""
    if data_world == venue_world:
        return None
    if data_world is None:
        return f"its data world is not recorded, this venue trades the {venue_world} world"
    return f"trained on {data_world} data, this venue trades the {venue_world} world"


def check_world(world: str | None, what: str) -> str:
    """`world` if it is one of WORLDS, else ValueError naming `what` it is the world of."""
    if world not in WORLDS:
        raise ValueError(f"{what}: {world!r} is not a world (one of {', '.join(WORLDS)})")
    return world


def bars_metadata(world: str, venue: str | None) -> dict[bytes, bytes]:
    """Parquet schema metadata saying whose market a bars file holds."""
    meta = {_PARQUET_KEYS["world"]: check_world(world, "bars file").encode()}
    if venue is not None:
        meta[_PARQUET_KEYS["venue"]] = venue.encode()
    return meta


def metadata_world(metadata: Mapping[bytes, bytes] | None) -> dict[str, str]:
    """{"world": ..., "venue": ...} as far as a Parquet file's schema metadata records them."""
    metadata = metadata or {}
    return {k: metadata[key].decode() for k, key in _PARQUET_KEYS.items() if key in metadata}
