"""What a fill costs on OKX: the fee schedule by tier and instrument type, and funding on swaps.

Rates are fractions of the traded value, positive when paid and negative for a rebate (OKX reports
the opposite sign: `fillFee` negative = charged). The regular tier (Lv1) is OKX's published rate for
a new account: spot 0.08% maker / 0.10% taker, USDT-margined perpetual swaps 0.02% / 0.05% (see
../shared/docs/okx-v5-protocol.md, "Fees"). The VIP rows are approximations of OKX's published VIP
schedule at the time of writing (tiers move with 30-day volume and assets, and OKX revises them):
check okx.com/fees and state your own rates with `backtest.maker_fee` / `backtest.taker_fee` when
they matter.

Funding (swaps only): every 8 hours (00:00, 08:00, 16:00 UTC) a long pays `funding_rate_8h` of its
notional at the mark and a short receives it (negative rates reverse that). OKX's rate floats with
the premium; 0.01% per 8 h is its usual resting value, the default here.

The instrument type of a series comes from its name when not stated: OKX names perpetual swaps
`<BASE>-<QUOTE>-SWAP` (BTC-USDT-SWAP); anything else is spot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hftlab.domain.instruments import InstType

FUNDING_PERIOD_MS = 8 * 3_600_000   # funding settles at 00:00, 08:00 and 16:00 UTC


@dataclass(frozen=True)
class Rates:
    maker: float
    taker: float


# tier -> instrument type -> rates (fractions; negative maker = rebate)
TIERS: dict[str, dict[InstType, Rates]] = {
    "regular": {InstType.SPOT: Rates(0.0008, 0.0010), InstType.SWAP: Rates(0.0002, 0.0005)},
    "vip1": {InstType.SPOT: Rates(0.00045, 0.0005), InstType.SWAP: Rates(0.00015, 0.0004)},
    "vip2": {InstType.SPOT: Rates(0.0004, 0.00045), InstType.SWAP: Rates(0.0001, 0.00035)},
    "vip3": {InstType.SPOT: Rates(0.0003, 0.0004), InstType.SWAP: Rates(0.00005, 0.0003)},
    "vip4": {InstType.SPOT: Rates(0.0002, 0.00035), InstType.SWAP: Rates(0.0, 0.0003)},
    "vip5": {InstType.SPOT: Rates(0.0, 0.0003), InstType.SWAP: Rates(-0.00005, 0.00025)},
    "vip6": {InstType.SPOT: Rates(-0.00003, 0.00025), InstType.SWAP: Rates(-0.00005, 0.0002)},
    "vip7": {InstType.SPOT: Rates(-0.00005, 0.0002), InstType.SWAP: Rates(-0.00005, 0.00018)},
    "vip8": {InstType.SPOT: Rates(-0.00005, 0.00015), InstType.SWAP: Rates(-0.00005, 0.00015)},
}


def inst_type_of(symbol: str | None, stated: str = "auto") -> InstType:
    """The instrument type: `stated` when it is SPOT or SWAP, else from the series' name."""
    if stated != "auto":
        return InstType(stated)
    return InstType.SWAP if symbol is not None and symbol.upper().endswith("-SWAP") else InstType.SPOT


def rates(tier: str, inst_type: InstType, maker: float | None = None, taker: float | None = None) -> Rates:
    """The tier's rates for the instrument type, each replaced by the stated one when given."""
    try:
        base = TIERS[tier][inst_type]
    except KeyError:
        raise ValueError(f"unknown fee tier {tier!r}; known: {list(TIERS)}") from None
    return Rates(base.maker if maker is None else float(maker), base.taker if taker is None else float(taker))


def funding_rates(ts_ms: np.ndarray, period_ms: int, rate_8h: float, inst_type: InstType,
                  column: np.ndarray | None = None) -> np.ndarray:
    """Per bar, the funding rate settled during it (0 elsewhere, and everywhere for spot): a bar
    [ts, ts + period) settles when it holds a multiple of 8 h. `column`, a per-bar rate the bars
    carry (e.g. recorded funding), replaces `rate_8h` where it is finite."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    out = np.zeros(ts.size)
    if inst_type is not InstType.SWAP or ts.size == 0:
        return out
    settles = (ts + period_ms - 1) // FUNDING_PERIOD_MS > (ts - 1) // FUNDING_PERIOD_MS
    rate = np.full(ts.size, float(rate_8h))
    if column is not None:
        col = np.asarray(column, dtype=np.float64)
        rate = np.where(np.isfinite(col), col, rate)
    out[settles] = rate[settles]
    return out
