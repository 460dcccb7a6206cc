"""Which model the live runner trades, and whether it may: loading, provenance checks, the alias.

- `--model URI` (simulator only): that model, whatever it is.
- otherwise `models:/<name>@champion`; on the simulator, when there is no champion yet, the newest
  registered version in SHADOW mode (clearly labelled everywhere: the whole live path is exercised
  on the twin, the gate has not blessed the model). OKX venues never trade a non-champion.

The predictor runs the fast inference path; its FeatureSpec and normaliser come with the model.
The runtime checks the version's recorded provenance against what it will trade (world, symbol,
timeframe, and the hash of the spec the model actually carries: a version whose bundled spec is
not the one it was registered with is refused). `AliasFollower` polls the alias (in a thread: MLflow
calls block) and hands over a new predictor when it moves; the runner switches between intents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from hftlab.features.spec import spec_hash
from hftlab.live.preflight import feature_problems, model_problems
from hftlab.models.provenance import Provenance

log = logging.getLogger(__name__)


class ModelRefused(Exception):
    """The model may not trade here; `problems` says why (the runner exits 2 listing them)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LiveModel:
    uri: str
    name: str | None
    version: str | None
    shadow: bool  # not the champion: the newest candidate, traded on the simulator only
    provenance: Provenance | None
    predictor: object  # hftlab.models.predictor.Predictor

    @property
    def label(self) -> str:
        who = f"{self.name} v{self.version}" if self.name and self.version else self.uri
        return f"SHADOW {who} (no champion yet)" if self.shadow else who

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "uri": self.uri, "shadow": self.shadow,
                "provenance": None if self.provenance is None else self.provenance.to_dict()}


def choose(registry, venue: str, model_uri: str | None):
    """(ModelRef, shadow) for this venue; ModelRefused when there is nothing it may trade."""
    if model_uri is not None:
        return registry.resolve(model_uri), False
    champion = registry.alias()
    if champion is not None:
        return champion, False
    if venue == "sim":
        latest = registry.latest()
        if latest is not None:
            return latest, True
        raise ModelRefused([f"no model is registered under {registry.name!r} in {registry.tracking_uri}: "
                            "train one first (hftlab train, or make demo)"])
    raise ModelRefused([f"{venue} trades the champion, and {registry.name!r} has none in {registry.tracking_uri}: "
                        "promote a model trained on OKX data (hftlab promote)"])


def load(registry, ref, *, venue: str, world: str, symbol: str, timeframe: str, channels, shadow: bool,
         explicit: bool) -> LiveModel:
    """Load `ref` and check it may trade `symbol`/`timeframe` here (blocking: call in a thread)."""
    from hftlab.models.predictor import load_model

    predictor = load_model(ref.uri, tracking_uri=registry.tracking_uri, backend="fast")
    if predictor.spec is None:
        raise ModelRefused([f"{ref.label} carries no FeatureSpec: it cannot be served live"])
    have = registry.provenance(ref) if ref.name and ref.version else None
    want = Provenance(world, None, symbol, timeframe, spec_hash(predictor.spec))
    problems = model_problems(world, have, want, explicit_model=explicit)
    if have is not None and have.feature_spec_hash and have.feature_spec_hash != want.feature_spec_hash:
        problems.append("the model's bundled FeatureSpec is not the one its version was registered with")
    problems += feature_problems(predictor.spec, channels)
    if problems:
        raise ModelRefused([f"{ref.label}: {p}" for p in problems])
    return LiveModel(ref.uri, ref.name, ref.version, shadow, have, predictor)


class AliasFollower:
    """Polls the champion alias; `on_move(model)` gets a loaded, checked predictor when it moves to a
    new version (a refused one is logged and counted, and the old model keeps trading)."""

    def __init__(self, registry, current: LiveModel, loader: Callable[[object], LiveModel], interval_s: float,
                 on_move: Callable[[LiveModel], None]):
        self.registry = registry
        self.current = current
        self._loader = loader
        self.interval_s = interval_s
        self._on_move = on_move
        self.moves = 0
        self.refused = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                ref = await asyncio.to_thread(self.registry.alias)
            except Exception as e:  # the store may be briefly unreadable (a writer holds SQLite's lock)
                log.warning("champion alias could not be read (%s: %s); keeping %s", type(e).__name__, e,
                            self.current.label)
                continue
            if ref is None or ref.version == self.current.version:
                continue
            try:
                model = await asyncio.to_thread(self._loader, ref)
            except ModelRefused as e:
                self.refused += 1
                log.error("the champion moved to %s but it may not trade here: %s; keeping %s", ref.label, e,
                          self.current.label)
                continue
            self.moves += 1
            log.warning("the champion moved: %s -> %s (switching between intents)", self.current.label, model.label)
            self.current = model
            self._on_move(model)
