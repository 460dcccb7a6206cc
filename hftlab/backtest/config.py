"""The backtest and promotion sections (`backtest:`, `promote:`). Fractions are fractions (0.001 =
0.1%), percentages say `_pct`, basis points `_bps`.

Every default is concrete and safe in code. Fees come from OKX's schedule for the configured tier
and the series' instrument type (hftlab.backtest.fees: regular tier spot 0.08% maker / 0.10% taker,
swaps 0.02% / 0.05%; here a fee paid is positive, a rebate negative) unless `maker_fee` /
`taker_fee` state them. `hftlab.settings` gives the backtest the strategy's sizing
(`strategy.sizing`, the live runner's), the position cap `risk.max_position_usd` and the stop-loss
`risk.stop_loss_pct` unless this section states them. The gate's floor (`promote.min_metric`) is a
t-statistic of 2 on the candidate's per-trade net returns: a model that does not make money after
costs, with that confidence, is never promoted unless a file explicitly sets a lower floor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hftlab.backtest.fees import TIERS
from hftlab.core.config import Section
from hftlab.strategy.config import SizingConfig

METRICS = ("trade_t", "psr")
FLOORS = {"trade_t": 2.0, "psr": 0.95}  # each statistic's default floor


class BacktestConfig(Section):
    """How probabilities become trades, and what trading costs.

    Signal rule (hftlab.strategy.rule): edge = P(up) - P(down) at a bar's close; go long when
    edge > threshold, leave when edge <= exit_threshold (default: threshold, i.e. long exactly while
    edge > threshold, flat otherwise); with allow_short, the mirror image for shorts. Orders reach
    the venue `latency_ms` after the decision (the close); see hftlab.backtest.engine for fills.
    """

    threshold: float = Field(0.1, ge=0, lt=1, description="enter when P(up) - P(down) exceeds this")
    exit_threshold: float | None = Field(None, gt=-1, lt=1, description="leave when the edge falls to or below this; "
                                                                         "default threshold")
    allow_short: bool = Field(False, description="also short when P(down) - P(up) > threshold (swaps)")
    execution: Literal["taker", "maker"] = Field(
        "taker", description="taker: market orders at the next open, taker fee + half the spread; maker: post-only "
                             "at the touch, re-quoted every bar, filled only when the market trades through it")
    fee_tier: Literal[tuple(TIERS)] = Field("regular", description="OKX fee tier (hftlab.backtest.fees)")
    inst_type: Literal["auto", "SPOT", "SWAP"] = Field("auto", description="auto: SWAP for a name ending -SWAP")
    taker_fee: float | None = Field(None, gt=-0.1, lt=0.1, description="fraction per fill; default: the tier's")
    maker_fee: float | None = Field(None, gt=-0.1, lt=0.1, description="fraction per fill (negative: rebate); "
                                                                        "default: the tier's")
    slippage_bps: float = Field(1.0, ge=0, le=1000, description="half-spread paid per taker fill (and the touch's "
                                                                "distance from the close for maker orders) when the "
                                                                "bars carry no spread_bps column")
    touch_fill: float = Field(0.0, ge=0, le=1, description="share of a maker order's remainder filled when the "
                                                           "market trades at its price but not through it")
    latency_ms: float = Field(0.0, ge=0, le=3_600_000, description="decision to venue; each started bar period of "
                                                                   "it delays the order by one bar")
    funding_rate_8h: float = Field(0.0001, gt=-0.01, lt=0.01, description="swaps: paid by longs per 8 h of notional "
                                                                           "(a funding_rate column overrides it)")
    sizing: SizingConfig | None = Field(None, description="default: strategy.sizing (the live runner's)")
    position_cap_usd: float = Field(10_000.0, gt=0, description="default risk.max_position_usd")
    init_cash: float = Field(10_000.0, gt=0, description="starting equity (quote currency)")
    stop_loss_pct: float = Field(1.0, ge=0, le=100, description="default risk.stop_loss_pct; 0 disables")

    @model_validator(mode="after")
    def _exit_below_entry(self) -> BacktestConfig:
        if self.exit_threshold is not None and self.exit_threshold > self.threshold:
            raise ValueError("exit_threshold cannot exceed threshold (a position would close the bar it opens)")
        return self

    @property
    def sizing_or_default(self) -> SizingConfig:
        return self.sizing if self.sizing is not None else SizingConfig()


class PromoteConfig(Section):
    """The promotion gate (hftlab.backtest.gate)."""

    metric: Literal["trade_t", "psr"] = Field(
        "trade_t", description="the evidence that the candidate makes money after costs: trade_t, the t-statistic of "
                               "its per-trade net returns; psr, the probabilistic Sharpe ratio of its bar returns")
    min_metric: float = Field(2.0, description="the floor on that statistic (2 for trade_t: about 97.7% one-sided; "
                                               "psr is a probability: e.g. 0.95); lower it only on purpose")
    margin: float = Field(2.0, ge=0, description="beat the champion: t-statistic of the per-bar return difference on the same "
                                           "window above this")
    baselines: list[str] = Field(default_factory=lambda: ["majority", "logistic", "gbt"],
                                 description="baselines the candidate must beat on the same window")
    baseline_margin: float = Field(0.0, ge=0, description="beat each baseline: the same t-statistic above this")
    min_trades: int = Field(5, ge=0, description="fewer trades than this in the window cannot be judged")
    max_drawdown_pct: float = Field(20.0, gt=0, le=100, description="the candidate's drawdown bound in the window")
    required_controls: list[str] = Field(default_factory=lambda: ["permuted_labels", "null_world"],
                                         description="controls of the training report that must have passed")
    alias: str = Field("champion", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _floor_on_the_metrics_scale(self) -> PromoteConfig:
        if self.metric == "psr" and not 0.0 <= self.min_metric <= 1.0:
            raise ValueError(f"min_metric {self.min_metric:g}: psr is a probability, so its floor is in [0, 1] "
                             f"(e.g. {FLOORS['psr']})")
        return self

    @property
    def floor(self) -> float:
        return float(self.min_metric)


def updated(section: Section, **changes) -> Section:
    """A copy of a section with `changes` (None values ignored), validated; ValueError names the field."""
    from pydantic import ValidationError

    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return type(section).model_validate({**section.model_dump(), **changes})
    except ValidationError as e:
        raise ValueError("; ".join(f"{'.'.join(map(str, x['loc'])) or type(section).__name__}: {x['msg']}"
                                   for x in e.errors())) from None
