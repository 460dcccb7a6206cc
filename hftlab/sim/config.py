"""The simulator's section (`venue.sim:`): the embedded OKX v5 twin's market, timing and fees."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hftlab.core.config import Section


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
