"""The risk section (`risk:`). Every limit has a safe default in code: a config file can tighten or
loosen a limit, never remove one by leaving it out. Money is in the quote currency (USDT)."""

from __future__ import annotations

from pydantic import Field, model_validator

from hftlab.core.config import Section


class RiskConfig(Section):
    # -- per order and per position (resting and UNKNOWN orders count as if filled)
    max_order_usd: float = Field(1_000.0, gt=0, description="notional of one order")
    max_position_usd: float = Field(10_000.0, gt=0, description="worst-case notional per instrument")
    max_gross_usd: float = Field(20_000.0, gt=0, description="sum over instruments of worst-case notional")
    max_net_usd: float = Field(15_000.0, gt=0, description="worst-case long (or short) notional summed")
    max_open_orders: int = Field(10, ge=1, le=1000, description="resting + in flight + UNKNOWN orders")
    max_orders_per_s: float = Field(5.0, gt=0, le=1000, description="new orders per second (token bucket)")
    collar_bps: float = Field(50.0, gt=0, le=5000, description="a limit price may be at most this far through mid")
    stale_ms: float = Field(2_000.0, gt=0, description="no new risk on a book or mark older than this")
    stop_loss_pct: float = Field(1.0, gt=0, le=100, description="a position this far under water: reduce only")
    # -- account breakers (on mark-to-market equity: realised + unrealised + fees + funding)
    max_daily_loss_usd: float = Field(500.0, gt=0, description="equity below the UTC day's open by this: HALTED")
    max_drawdown_pct: float = Field(5.0, gt=0, le=100, description="equity below the high-water mark by this: HALTED")
    reduce_drawdown_pct: float = Field(3.0, gt=0, le=100, description="REDUCING from this drawdown ...")
    resume_drawdown_pct: float = Field(2.0, ge=0, le=100, description="... back to ACTIVE below this one")
    recover_s: float = Field(5.0, ge=0, description="a cleared transient breaker must stay clear this long")
    drift_s: float = Field(10.0, gt=0, description="reconciliation discrepancies this long: HALTED")
    min_budget_headroom: float = Field(0.2, ge=0, lt=1, description="rate-budget headroom below this: REDUCING")
    kill_switch: bool = Field(False, description="start HALTED (cancels only)")

    @model_validator(mode="after")
    def _consistent(self) -> RiskConfig:
        if self.max_order_usd > self.max_position_usd:
            raise ValueError("max_order_usd cannot exceed max_position_usd")
        if self.max_position_usd > self.max_gross_usd:
            raise ValueError("max_position_usd cannot exceed max_gross_usd")
        if not self.resume_drawdown_pct < self.reduce_drawdown_pct <= self.max_drawdown_pct:
            raise ValueError("need resume_drawdown_pct < reduce_drawdown_pct <= max_drawdown_pct (hysteresis)")
        return self
