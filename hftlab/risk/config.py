"""The risk section (`risk:`). Every limit has a safe default in code: a config file can tighten or
loosen a limit, never remove one by leaving it out."""

from __future__ import annotations

from pydantic import Field, model_validator

from hftlab.core.config import Section


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
