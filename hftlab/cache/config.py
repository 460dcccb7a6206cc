"""The Redis section (`redis:`): the embedded server's production settings and the cache's bounds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hftlab.core.config import Section

_MEMORY = re.compile(r"^[1-9][0-9]*(b|kb|mb|gb)$", re.IGNORECASE)


class RedisConfig(Section):
    url: str = Field("embedded", description="'embedded' starts a local redis-server; else redis:// or rediss://")
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="embedded only; 0 picks a free port")
    data_dir: Path | None = Field(None, description="embedded only; default <system.data_dir>/redis")
    maxmemory: str = "2gb"
    maxmemory_policy: Literal[
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    ] = Field("volatile-lru", description="volatile-lru: only keys with a TTL (market data) may be evicted, "
                                           "never positions or open orders")
    appendonly: bool = True
    key_prefix: str = Field("hftlab", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    trades_maxlen: int = Field(10_000, ge=10, le=10_000_000)
    bars_maxlen: int = Field(5_000, ge=10, le=10_000_000)
    backlog_max: int = Field(100_000, ge=100, le=10_000_000, description="events buffered while Redis is away")
    batch_max: int = Field(1_000, ge=1, le=100_000)
    flush_interval_ms: float = Field(5.0, ge=0.1, le=10_000)
    timeout_s: float = Field(1.0, gt=0, le=60)
    market_ttl_s: float = Field(86_400.0, gt=0, description="TTL of market-data keys (refreshed by each write): "
                                                            "what volatile-lru may evict")

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
