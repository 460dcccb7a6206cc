"""The live runner's section (`live:`): what it trades, where its state lives, how it stops."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hftlab.core.config import Section


class LiveConfig(Section):
    symbols: list[str] | None = Field(None, description="instruments to trade; default the model's own symbol")
    capital_usd: float = Field(10_000.0, gt=0, description="the capital this runner is allotted: equity = capital + "
                                                           "the PnL of its own fills (drawdown and daily loss "
                                                           "are measured on it)")
    bar_grace_ms: int = Field(250, ge=0, description="close a bar this long after its end by the exchange clock")
    progress_interval_s: float = Field(5.0, gt=0, description="seconds between progress lines")
    on_exit: Literal["cancel", "leave"] = Field(
        "cancel", description="open orders at a clean stop: cancel them, or leave them resting (tracked on restart)")
    control_host: str = Field("127.0.0.1", description="the kill/status HTTP endpoint listens here (loopback)")
    control_port: int = Field(0, ge=0, le=65535, description="0: a free port, written to <state_dir>/runner.json")
    follow_alias_s: float = Field(30.0, gt=0, description="how often the champion alias is checked for a move")
    record: bool = Field(True, description="fills, orders and the equity curve to Parquet under <state_dir>/records")
    mark_interval_ms: float = Field(250.0, gt=0, description="equity is marked (and the breakers run) this often")
