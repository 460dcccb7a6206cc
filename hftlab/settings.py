"""Settings: the one place that composes every package's configuration section.

Each package owns its section (`okx.config.ClientConfig`, `cache.config.RedisConfig`,
`sim.config.SimConfig`, `risk.config.RiskConfig`, `execution.config.ExecutionConfig`,
`models.config.ModelConfig`/`MlflowConfig`,
`monitor.config.MonitorConfig`, `collect.config.CollectConfig`, `backtest.config.BacktestConfig`/
`PromoteConfig`, `strategy.config.StrategyConfig`); components are given their own typed section,
never the whole `Settings`.

Loading (`load_config`): `config/default.yaml` always comes first; every file given (`--config FILE`,
repeatable, or `$HFTLAB_CONFIG`) is an overlay on it, later files winning; then
`HFTLAB__SECTION__KEY=value` environment variables. Every field also has a safe default in code, so
no file, shipped or written by hand, can drop a safety default (the gate's floor, a risk limit) by
leaving it out.

Cross-section defaults are resolved here, once, after validation, so `hftlab config show` prints the
values components will use. A value stated in its own section always wins:
- `backtest.sizing`: `strategy.sizing`, so the backtest sizes positions as the live runner does;
- `backtest.position_cap_usd` and `backtest.stop_loss_pct`: `risk.max_position_usd` and
  `risk.stop_loss_pct` (backtest fees come from OKX's schedule for `backtest.fee_tier` and the
  series' instrument type, hftlab.backtest.fees, not from the simulator's own single rate);
- `client.max_ts_ahead_s` / `max_ts_behind_s`: none (exchange times not checked against local time) on
  the sim venue, whose market time runs at its own speed and replays old recordings; elsewhere OKX's;
- `mlflow.model_name`: `hftlab-signal-<world>`, the world of the venue's market data (`sim` for the
  simulator, `okx` for okx-demo and okx-live), so simulator-trained and OKX-trained models never
  share a registered name (and the gate refuses to mix them even when they do);
- paths: `redis.data_dir` (`<data_dir>/redis`), `collect.record_dir` (`<data_dir>/recordings`) and
  the MLflow store are resolved against the repository root, not the caller's working directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hftlab.backtest.config import BacktestConfig, PromoteConfig
from hftlab.cache.config import RedisConfig
from hftlab.collect.config import CollectConfig
from hftlab.core.config import CONFIG_DIR, ConfigError, Section, load, repo_path
from hftlab.execution.config import ExecutionConfig
from hftlab.live.config import LiveConfig
from hftlab.models.config import MlflowConfig, ModelConfig
from hftlab.monitor.config import MonitorConfig
from hftlab.okx.channels import MARKET_CHANNELS
from hftlab.okx.config import OKX_URLS, UNCHECKED_CLOCK, ClientConfig
from hftlab.risk.config import RiskConfig
from hftlab.sim.config import SimConfig
from hftlab.strategy.config import StrategyConfig

DEFAULT_FILE = CONFIG_DIR / "default.yaml"
VENUES = ("sim", "okx-demo", "okx-live")
MODEL_BASE_NAME = "hftlab-signal"

_INST_ID = re.compile(r"^[A-Z0-9]{1,15}-[A-Z0-9]{1,15}(-SWAP)?$")
_TIMEFRAME = re.compile(r"^[1-9][0-9]*[sm]$")
_SQLITE = "sqlite:///"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def venue_world(venue: str) -> str:
    """Whose market data a venue serves: `sim` (the simulator) or `okx` (OKX demo and production
    quote the same market). Models are registered, compared and traded per world."""
    return "sim" if venue == "sim" else "okx"


class SystemConfig(Section):
    mode: Literal["production", "development", "test"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    max_memory_usage: float = Field(80.0, gt=0, le=100, description="percent of system memory")
    data_dir: Path = Field(Path("var"), description="runtime state: Redis data, recordings, runs")


class TradingConfig(Section):
    symbols: list[str] = Field(default_factory=lambda: ["BTC-USDT", "ETH-USDT", "SOL-USDT"], min_length=1)
    timeframes: list[str] = Field(default_factory=lambda: ["1s", "3s", "1m"], min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["trades", "books", "tickers"], min_length=1)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not _INST_ID.match(s)]
        if bad:
            raise ValueError(f"not an OKX instId (e.g. BTC-USDT, BTC-USDT-SWAP): {bad}")
        if len(set(v)) != len(v):
            raise ValueError("duplicate symbols")
        return v

    @field_validator("timeframes")
    @classmethod
    def _timeframes(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if not _TIMEFRAME.match(t)]
        if bad:
            raise ValueError(f"timeframes are like 1s, 3s, 1m: {bad}")
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in MARKET_CHANNELS]
        if bad:
            raise ValueError(f"unknown channel(s) {bad}; known: {sorted(MARKET_CHANNELS)}")
        return v


class VenueConfig(Section):
    name: Literal["sim", "okx-demo", "okx-live"] = "sim"
    rest_url: str | None = None
    ws_public_url: str | None = None
    ws_private_url: str | None = None
    ws_business_url: str | None = None
    credentials_file: Path | None = Field(
        None, description="YAML/env-style file with api_key, api_secret, passphrase; else environment"
    )
    sim: SimConfig = Field(default_factory=SimConfig)

    @field_validator("rest_url", "ws_public_url", "ws_private_url", "ws_business_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(https?|wss?)://[^\s/]+", v):
            raise ValueError(f"not a URL: {v!r}")
        return v

    @model_validator(mode="after")
    def _okx_urls(self) -> VenueConfig:
        if self.name != "sim":
            for key, url in OKX_URLS[self.name].items():
                if getattr(self, key) is None:
                    object.__setattr__(self, key, url)
        return self

    @property
    def world(self) -> str:
        return venue_world(self.name)


class Settings(Section):
    system: SystemConfig = Field(default_factory=SystemConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    venue: VenueConfig = Field(default_factory=VenueConfig)
    client: ClientConfig = Field(default_factory=ClientConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    promote: PromoteConfig = Field(default_factory=PromoteConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        bt, sim = self.backtest, self.venue.sim
        if bt.sizing is None:
            bt.sizing = self.strategy.sizing.model_copy()
        if "position_cap_usd" not in bt.model_fields_set:
            bt.position_cap_usd = self.risk.max_position_usd
        if "stop_loss_pct" not in bt.model_fields_set:
            bt.stop_loss_pct = self.risk.stop_loss_pct
        if self.venue.name == "sim":
            for bound, unchecked in UNCHECKED_CLOCK.items():
                if bound not in self.client.model_fields_set:
                    setattr(self.client, bound, unchecked)
        if self.mlflow.model_name is None:
            self.mlflow.model_name = f"{MODEL_BASE_NAME}-{self.venue.world}"
        if sim.scenario is not None:
            sim.scenario = repo_path(sim.scenario)
        data = repo_path(self.system.data_dir)
        self.redis.data_dir = repo_path(self.redis.data_dir) if self.redis.data_dir else data / "redis"
        self.collect.record_dir = repo_path(self.collect.record_dir) if self.collect.record_dir else data / "recordings"
        uri = self.mlflow.tracking_uri
        if uri.startswith(_SQLITE) and not uri[len(_SQLITE):].startswith("/"):
            self.mlflow.tracking_uri = f"{_SQLITE}{repo_path(uri[len(_SQLITE):])}"
        art = self.mlflow.artifact_location
        if not _SCHEME.match(art):
            self.mlflow.artifact_location = repo_path(art).resolve().as_uri()
        return self

    @property
    def data_dir(self) -> Path:
        return repo_path(self.system.data_dir)


def load_config(
    paths: list[Path | str] | Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """config/default.yaml, then each file of `paths` (default `$HFTLAB_CONFIG` if set) as an overlay,
    then the `HFTLAB__*` variables. Raises ConfigError listing every invalid field."""
    environ = os.environ if environ is None else environ
    if paths is None:
        paths = [environ["HFTLAB_CONFIG"]] if environ.get("HFTLAB_CONFIG") else []
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    overlays = [Path(p) for p in paths if Path(p).resolve() != DEFAULT_FILE.resolve()]
    return load(Settings, [DEFAULT_FILE, *overlays], environ)


def check_files(paths: list[Path | str], environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Validate each file on its own (as an overlay on default.yaml); every problem found."""
    problems: list[tuple[str, str, str]] = []
    for p in paths:
        try:
            load_config([p], environ=environ)
        except ConfigError as e:
            problems.extend(e.problems)
    return problems
