"""The strategy section (`strategy:`): how the live signal is filtered, sized and executed.

The signal rule itself (threshold, exit threshold, shorts) is the backtest's (`backtest:`), so the
live runner trades exactly the rule that was researched; this section adds what only live needs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hftlab.core.config import Section

REGIME_FILTERS = ("rsi", "macd", "bollinger")


class SizingConfig(Section):
    """Target position size (hftlab.strategy.sizing; the backtest sizes with the same function)."""

    mode: Literal["fixed", "scaled"] = Field(
        "scaled", description="fixed: notional_usd whenever in a position; scaled: by confidence and volatility")
    notional_usd: float = Field(500.0, gt=0, description="position notional at full confidence and target volatility")
    target_vol_bps: float | None = Field(None, gt=0, description="per-bar volatility the size is scaled to (scaled "
                                                                 "mode; None: no volatility scaling)")
    max_vol_scale: float = Field(2.0, ge=1, description="volatility scaling never grows a position beyond this factor")
    min_fraction: float = Field(0.0, ge=0, le=1, description="scaled sizes below this fraction of notional_usd: flat")


class StrategyConfig(Section):
    timeframe: str = Field("1s", pattern=r"^[1-9][0-9]*[sm]$", description="the bars the model trades on")
    min_confidence: float = Field(0.0, ge=0, le=1, description="the model's largest class probability must reach this")
    cooldown_s: float = Field(0.0, ge=0, description="seconds between two changes of an instrument's target")
    regime: list[str] = Field(default_factory=list, description=f"indicator regimes that must agree: {REGIME_FILTERS}")
    rsi_overbought: float = Field(70.0, gt=50, le=100)
    rsi_oversold: float = Field(30.0, ge=0, lt=50)
    max_book_age_ms: float = Field(2_000.0, gt=0, description="no signal from a book older than this")
    style: Literal["maker", "taker"] = Field(
        "taker", description="maker: post-only at the touch, re-quoted by amend; taker: IOC with a price cap")
    taker_cap_bps: float = Field(5.0, ge=0, le=500, description="an IOC may trade this far beyond the touch")
    requote_ticks: int = Field(1, ge=1, description="maker: amend when the touch has moved this many ticks")
    accuracy_window: int = Field(500, ge=10, description="predictions in the rolling realised-accuracy window")
    sizing: SizingConfig = Field(default_factory=SizingConfig)

    @field_validator("regime")
    @classmethod
    def _regime(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if r not in REGIME_FILTERS]
        if bad:
            raise ValueError(f"unknown regime filter(s) {bad}; known: {list(REGIME_FILTERS)}")
        return v

    @model_validator(mode="after")
    def _bands(self) -> StrategyConfig:
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError("rsi_oversold must be below rsi_overbought")
        return self
