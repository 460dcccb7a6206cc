"""Configuration: YAML files validated into pydantic models, with environment overrides.

One file is one complete document: every field has a default, a file states only what differs.
`HFTLAB__SECTION__KEY=value` overrides a field after the files are read (the value is read as a
YAML scalar or flow collection, so `HFTLAB__TRADING__SYMBOLS=[BTC-USDT]` works). Unknown keys are
errors everywhere. Secrets never live in these files: see `hftlab.secrets`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "HFTLAB__"
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"

_INST_ID = re.compile(r"^[A-Z0-9]{1,15}-[A-Z0-9]{1,15}(-SWAP)?$")
_TIMEFRAME = re.compile(r"^[1-9][0-9]*[sm]$")
_MEMORY = re.compile(r"^[1-9][0-9]*(b|kb|mb|gb)$", re.IGNORECASE)

PUBLIC_CHANNELS = ("trades", "books", "books5", "bbo-tbt", "books50-l2-tbt", "books-l2-tbt", "tickers")
BUSINESS_CHANNELS = ("trades-all", "candle1s", "candle1m")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


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
        known = PUBLIC_CHANNELS + BUSINESS_CHANNELS
        bad = [c for c in v if c not in known]
        if bad:
            raise ValueError(f"unknown channel(s) {bad}; known: {list(known)}")
        return v


class SimConfig(Section):
    """The embedded OKX v5 twin (`hftlab sim`)."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    seed: int = 7
    speed: float = Field(1.0, gt=0, le=10_000, description="market seconds per wall second")
    signal_strength: float = Field(0.0, ge=0, le=1)
    legacy_checksum: bool = False
    book_interval_ms: int = Field(100, ge=10, le=10_000)
    ack_latency_ms: float = Field(0.0, ge=0, le=10_000)
    md_latency_ms: float = Field(0.0, ge=0, le=10_000)
    idle_timeout_s: float = Field(30.0, gt=0, le=3600, description="close (4004) a socket idle this long, as OKX")
    keepalive_s: float = Field(60.0, gt=0, le=3600, description="idle books send a keep-alive update this often")
    ws_compress: bool = Field(False, description="permessage-deflate; off so each frame is serialised once for all")
    start_ms: int | None = Field(None, ge=0, description="market start time (Unix ms); default: now")
    maker_fee: float = Field(-0.0008, ge=-0.01, le=0.01, description="negative = paid, as OKX reports")
    taker_fee: float = Field(-0.001, ge=-0.01, le=0.01)
    scenario: Path | None = None


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
            defaults = OKX_URLS[self.name]
            for key, url in defaults.items():
                if getattr(self, key) is None:
                    object.__setattr__(self, key, url)
        return self


OKX_URLS: dict[str, dict[str, str]] = {
    "okx-live": {
        "rest_url": "https://www.okx.com",
        "ws_public_url": "wss://ws.okx.com:8443/ws/v5/public",
        "ws_private_url": "wss://ws.okx.com:8443/ws/v5/private",
        "ws_business_url": "wss://ws.okx.com:8443/ws/v5/business",
    },
    "okx-demo": {
        "rest_url": "https://www.okx.com",
        "ws_public_url": "wss://wspap.okx.com:8443/ws/v5/public",
        "ws_private_url": "wss://wspap.okx.com:8443/ws/v5/private",
        "ws_business_url": "wss://wspap.okx.com:8443/ws/v5/business",
    },
}


class RedisConfig(Section):
    url: str = Field("embedded", description="'embedded' starts a local redis-server; else redis:// or rediss://")
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="embedded only; 0 picks a free port")
    data_dir: Path | None = Field(None, description="embedded only; default <system.data_dir>/redis")
    maxmemory: str = "2gb"
    maxmemory_policy: Literal[
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    ] = "allkeys-lru"
    appendonly: bool = True
    key_prefix: str = Field("hftlab", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    trades_maxlen: int = Field(10_000, ge=10, le=10_000_000)
    bars_maxlen: int = Field(5_000, ge=10, le=10_000_000)
    backlog_max: int = Field(100_000, ge=100, le=10_000_000, description="events buffered while Redis is away")
    batch_max: int = Field(1_000, ge=1, le=100_000)
    flush_interval_ms: float = Field(5.0, ge=0.1, le=10_000)
    timeout_s: float = Field(1.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, v: str) -> str:
        if v != "embedded" and not re.match(r"^(redis|rediss|unix)://", v):
            raise ValueError("must be 'embedded' or a redis://, rediss:// or unix:// URL")
        return v

    @field_validator("maxmemory")
    @classmethod
    def _maxmemory(cls, v: str) -> str:
        if not _MEMORY.match(v):
            raise ValueError("a size such as 512mb or 2gb")
        return v.lower()


class MlflowConfig(Section):
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns/artifacts"
    experiment: str = "hftlab"
    model_name: str = Field("hftlab-signal", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class RiskConfig(Section):
    max_position_usd: float = Field(10_000.0, gt=0)
    max_order_usd: float = Field(1_000.0, gt=0)
    max_daily_loss_usd: float = Field(500.0, gt=0)
    stop_loss_pct: float = Field(1.0, gt=0, le=100)
    max_open_orders: int = Field(10, ge=1, le=1000)
    max_orders_per_s: float = Field(5.0, gt=0, le=1000)
    kill_switch: bool = False

    @model_validator(mode="after")
    def _order_within_position(self) -> RiskConfig:
        if self.max_order_usd > self.max_position_usd:
            raise ValueError("max_order_usd cannot exceed max_position_usd")
        return self


class ModelConfig(Section):
    hidden_size: int = Field(64, ge=1, le=4096)
    num_layers: int = Field(2, ge=1, le=16)
    dropout: float = Field(0.1, ge=0, lt=1)
    seq_len: int = Field(64, ge=2, le=4096)
    batch_size: int = Field(256, ge=1, le=1_000_000)
    max_epochs: int = Field(20, ge=1, le=10_000)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    horizon: int = Field(10, ge=1, description="label horizon in bars")
    dead_zone_bps: float = Field(2.0, ge=0)
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | Literal["auto"] = "auto"
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = "32-true"
    strategy: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = "auto"
    seed: int = 42


class MonitorConfig(Section):
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = Field(9108, ge=0, le=65535, description="0 disables the endpoint")
    interval_s: float = Field(5.0, gt=0, le=3600)


class CollectConfig(Section):
    duration_s: float = Field(60.0, gt=0)
    record_dir: Path | None = Field(None, description="default <system.data_dir>/recordings")
    record_raw: bool = True
    flush_interval_s: float = Field(5.0, gt=0, le=3600)
    rotate_rows: int = Field(500_000, ge=1000)
    rotate_s: float = Field(300.0, gt=0, description="finish a Parquet file this old (bounds loss on SIGKILL)")
    bar_grace_ms: int = Field(2000, ge=0, description="close a bar this long after its end by the exchange clock")
    fill_empty_bars: bool = False
    queue_maxsize: int = Field(100_000, ge=100)
    progress_interval_s: float = Field(5.0, gt=0)


class ClientConfig(Section):
    """The OKX WebSocket client's timing and limits (hftlab.okx.client.ClientOptions); OKX's defaults."""

    ping_interval_s: float = Field(25.0, gt=0, lt=30, description="silence before a text ping (OKX closes at 30 s)")
    pong_timeout_s: float = Field(10.0, gt=0)
    stale_after_s: float = Field(90.0, gt=0, description="a silent subscribed book is resynced after this")
    snapshot_timeout_s: float = Field(5.0, gt=0, description="no WS snapshot after resubscribing: seed from REST")
    resync_timeout_s: float = Field(30.0, gt=0)
    connect_timeout_s: float = Field(10.0, gt=0)
    login_timeout_s: float = Field(10.0, gt=0)
    ack_timeout_s: float = Field(10.0, gt=0)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    stable_after_s: float = Field(10.0, gt=0, description="a connection up this long resets the backoff")
    rollover_grace_s: float = Field(1.0, ge=0, description="64008: keep the old socket this long after the new one")
    ops_per_hour: int = Field(480, ge=1, le=480, description="subscribe/unsubscribe/login per connection (OKX: 480)")
    ops_burst: int = Field(240, ge=1, le=480)
    max_frame_bytes: int = Field(1 << 24, ge=1 << 16)
    reconcile_orders: bool = True

    @model_validator(mode="after")
    def _backoff(self) -> ClientConfig:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s cannot exceed backoff_max_s")
        if self.ops_burst > self.ops_per_hour:
            raise ValueError("ops_burst cannot exceed ops_per_hour")
        return self


from hftlab.backtest.config import BacktestConfig, PromoteConfig  # noqa: E402  (pydantic only; kept beside its users)


class Settings(Section):
    system: SystemConfig = Field(default_factory=SystemConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    venue: VenueConfig = Field(default_factory=VenueConfig)
    client: ClientConfig = Field(default_factory=ClientConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    promote: PromoteConfig = Field(default_factory=PromoteConfig)

    def path(self, p: Path | str) -> Path:
        """Resolve a configured relative path against the repository root, not the caller's cwd."""
        p = Path(p)
        return p if p.is_absolute() else REPO_ROOT / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.system.data_dir)

    @property
    def redis_data_dir(self) -> Path:
        return self.path(self.redis.data_dir) if self.redis.data_dir else self.data_dir / "redis"

    @property
    def record_dir(self) -> Path:
        return self.path(self.collect.record_dir) if self.collect.record_dir else self.data_dir / "recordings"


class ConfigError(Exception):
    """Invalid configuration: `problems` lists (source, dotted field path, reason)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{src}: {path}: {reason}" for src, path, reason in problems))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError([(str(path), "-", f"cannot read file: {e.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "-"
        raise ConfigError([(str(path), where, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([(str(path), "-", "top level must be a mapping of sections")])
    return data


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`HFTLAB__REDIS__MAXMEMORY=1gb` -> {"redis": {"maxmemory": "1gb"}}."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def _problems(err: ValidationError, source: str) -> list[tuple[str, str, str]]:
    out = []
    for e in err.errors():
        path = ".".join(str(x) for x in e["loc"]) or "-"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (misspelt? see config/default.yaml for the known keys)"
        elif "input" in e and e["type"] not in ("missing",) and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        out.append((source, path, msg))
    return out


def load_config(
    paths: list[Path | str] | Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the YAML files in order (later ones override earlier), then `HFTLAB__*` variables.

    With no path: `$HFTLAB_CONFIG` if set, else config/default.yaml. Raises ConfigError listing
    every invalid field.
    """
    environ = os.environ if environ is None else environ
    if paths is None:
        paths = [environ.get("HFTLAB_CONFIG") or CONFIG_DIR / "default.yaml"]
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    data: dict[str, Any] = {}
    sources = []
    for p in paths:
        data = _deep_merge(data, _read_yaml(Path(p)))
        sources.append(str(p))
    overrides = env_overrides(environ)
    if overrides:
        data = _deep_merge(data, overrides)
        sources.append("environment")
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_problems(e, " + ".join(sources))) from None


def check_files(paths: list[Path | str], environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Validate each file on its own; return every problem found (empty when all are valid)."""
    problems: list[tuple[str, str, str]] = []
    for p in paths:
        try:
            load_config([p], environ=environ)
        except ConfigError as e:
            problems.extend(e.problems)
    return problems
