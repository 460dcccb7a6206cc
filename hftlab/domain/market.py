"""Market-data values shared by the feed, features, strategy and risk: bars and the top of book."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Bar:
    """OHLCV bar built from trades, closed on exchange-time boundaries [ts_ms, ts_ms + period)."""

    inst_id: str
    timeframe: str  # 1s, 3s, 1m, ...
    ts_ms: int  # open time
    open: float
    high: float
    low: float
    close: float
    volume: float  # base units (contracts for SWAP)
    trade_count: int
    vwap: float
    buy_volume: float
    sell_volume: float


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """Best bid and ask of one book as the venue sent them (exact strings), with its validity.

    An invalid book (a sequence break, awaiting its snapshot) is never a source of prices: `valid`
    is False and consumers must not trade on it; the last prices are kept for display only.
    """

    inst_id: str
    bid_px: str | None
    bid_sz: str | None
    ask_px: str | None
    ask_sz: str | None
    ts_ms: int | None  # exchange time of the book message
    seq_id: int | None
    valid: bool
    recv_ns: int = 0  # local receive time of the message that produced it (time.time_ns)

    @property
    def bid(self) -> float | None:
        return float(self.bid_px) if self.bid_px is not None else None

    @property
    def ask(self) -> float | None:
        return float(self.ask_px) if self.ask_px is not None else None

    @property
    def mid(self) -> float | None:
        """(bid + ask) / 2 of a valid two-sided book, else None."""
        if not self.valid or self.bid_px is None or self.ask_px is None:
            return None
        return (float(self.bid_px) + float(self.ask_px)) / 2.0

    @property
    def spread_bps(self) -> float | None:
        mid = self.mid
        if mid is None or mid <= 0:
            return None
        return (float(self.ask_px) - float(self.bid_px)) / mid * 1e4  # type: ignore[arg-type]
