"""The simulator's section (`venue.sim:`): the embedded OKX v5 twin's market, timing and fees."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from hftlab.core.config import Section
from hftlab.sim.instruments import default_instruments


class SimConfig(Section):
    """The embedded OKX v5 twin (`hftlab sim`)."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    seed: int = 7
    speed: float = Field(1.0, gt=0, le=10_000, description="market seconds per wall second")
    signal_strength: float = Field(0.0, ge=0, le=1, description="the planted relation's strength (hftlab.sim.market): "
                                                                  "0 nothing is predictable")
    temporal_strength: float | None = Field(None, ge=0, le=1,
                                            description="strength of its temporal part, the sweeps' delayed echo "
                                                        "(default: signal_strength; 0: the linear part alone)")
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
    tls: bool = Field(False, description="serve https/wss with a CA and certificate generated at start-up")
    vip_level: int = Field(0, ge=0, le=9, description="the accounts' fee tier; the fills channel needs VIP4+ (64003)")
    instruments: list[str] | None = Field(None, min_length=1, description="list only these instruments (default: every one "
                                                            "the simulator knows); fewer is a cheaper market")
    null_inst_id_code: list[str] = Field(default_factory=list,
                                         description="instruments listed with instIdCode null (WS order ops "
                                                     "cannot name them)")
    amend_latency_ms: int = Field(0, ge=0, le=60_000, description="market ms an accepted amendment takes to "
                                                                "apply (0: at once); at most 3 in progress")
    sub_account_rate_limit: int = Field(1000, ge=1, le=10_000, description="new+amend orders per 2 s per "
                                                                          "sub-account (50061); OKX: 1000, "
                                                                          "up to 10 000 by fill ratio")

    @field_validator("null_inst_id_code", "instruments")
    @classmethod
    def _listed(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        listed = {i.inst_id for i in default_instruments()}
        unknown = sorted(set(v) - listed)
        if unknown:
            raise ValueError(f"not instruments the simulator lists: {unknown}; listed: {sorted(listed)}")
        return v
