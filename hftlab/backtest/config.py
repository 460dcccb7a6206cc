"""The backtest and promotion sections (`backtest:`, `promote:`). Fractions are fractions (0.001 =
0.1%), percentages say `_pct`, basis points `_bps`.

Every default is concrete and safe in code. Fees default to OKX's regular-tier spot fees, 0.1% taker
and 0.08% maker (here a fee paid is positive); `hftlab.settings` replaces the fees and the stop-loss
by the venue's schedule (`venue.sim.*_fee`) and `risk.stop_loss_pct` unless this section states them.
The gate's floor (`promote.min_metric`) is 0: a model that loses money after costs is never promoted
unless a file explicitly sets a lower floor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hftlab.core.config import Section

METRICS = ("sharpe", "sortino", "total_return")


class BacktestConfig(Section):
    """How probabilities become trades, and what trading costs.

    Signal rule (hftlab.strategy.rule): edge = P(up) - P(down) at a bar's close; go long when
    edge > threshold, leave when edge <= exit_threshold (default: threshold, i.e. long exactly while
    edge > threshold, flat otherwise); with allow_short, the mirror image for shorts. Orders fill
    at the next bar's open (the decision needs the closed bar).
    """

    threshold: float = Field(0.1, ge=0, lt=1, description="enter when P(up) - P(down) exceeds this")
    exit_threshold: float | None = Field(None, gt=-1, lt=1, description="leave when the edge falls to or below this; "
                                                                         "default threshold")
    allow_short: bool = Field(False, description="also short when P(down) - P(up) > threshold (swaps)")
    execution: Literal["taker", "maker"] = Field(
        "taker", description="taker: market orders, taker fee + half the spread; maker: passive fills at the "
                             "bar's open, maker fee, no spread (optimistic: every order fills)")
    taker_fee: float = Field(0.001, ge=0, lt=0.1, description="fraction per fill; default -venue.sim.taker_fee")
    maker_fee: float = Field(0.0008, gt=-0.1, lt=0.1, description="fraction per fill (negative: rebate); "
                                                                  "default -venue.sim.maker_fee")
    slippage_bps: float = Field(1.0, ge=0, le=1000, description="half-spread paid per taker fill when the bars "
                                                                "carry no spread_bps column")
    position_pct: float = Field(100.0, gt=0, le=100, description="percent of equity committed per position")
    init_cash: float = Field(10_000.0, gt=0, description="starting equity (quote currency)")
    stop_loss_pct: float = Field(1.0, ge=0, le=100, description="default risk.stop_loss_pct; 0 disables")

    @model_validator(mode="after")
    def _exit_below_entry(self) -> BacktestConfig:
        if self.exit_threshold is not None and self.exit_threshold > self.threshold:
            raise ValueError("exit_threshold cannot exceed threshold (a position would close the bar it opens)")
        return self


class PromoteConfig(Section):
    """The promotion gate (hftlab.backtest.gate)."""

    metric: Literal["sharpe", "sortino", "total_return"] = Field(
        "sharpe", description="the candidate must beat the champion on this (higher is better)")
    margin: float = Field(0.1, ge=0, description="by more than this, in the metric's units")
    min_trades: int = Field(5, ge=0, description="fewer trades than this in the window cannot be judged")
    max_drawdown_pct: float = Field(20.0, gt=0, le=100, description="the candidate's drawdown bound in the window")
    min_metric: float = Field(0.0, description="floor on the candidate's metric: 0 refuses every model that loses "
                                               "money after costs; lower it only on purpose")
    required_controls: list[str] = Field(default_factory=lambda: ["permuted_labels"],
                                         description="controls of the training report that must have passed")
    alias: str = Field("champion", pattern=r"^[A-Za-z0-9_-]{1,64}$")


def updated(section: Section, **changes) -> Section:
    """A copy of a section with `changes` (None values ignored), validated; ValueError names the field."""
    from pydantic import ValidationError

    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return type(section).model_validate({**section.model_dump(), **changes})
    except ValidationError as e:
        raise ValueError("; ".join(f"{'.'.join(map(str, x['loc'])) or type(section).__name__}: {x['msg']}"
                                   for x in e.errors())) from None
