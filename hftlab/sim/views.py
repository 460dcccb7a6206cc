"""Public market views of one simulated market, as OKX serves them: book levels and the changes
between two looks at the book, recent trades, candles, the ticker.

Everything here reads a `Market` and formats prices and sizes as OKX sends them; the one state
kept is what `BookChanges` last published, so that it can send only what changed since.
"""

from __future__ import annotations

import numpy as np

from hftlab.domain.instruments import fmt as fmt_decimal
from hftlab.sim.market import BARS, Market, SimTrade

BOOK_WINDOW = 400  # levels per side OKX's `books` channel covers

Level = tuple[str, str, int]  # (px, sz, order count)


def book_levels(m: Market, depth: int = BOOK_WINDOW) -> tuple[list[Level], list[Level]]:
    """(bids best first, asks best first) as (px, sz, order count) strings as OKX sends them."""
    inst = m.inst
    out = []
    for side in (m.book.bids, m.book.asks):
        idx, sz, cnt = side.levels(depth)
        out.append([(m.px_str(i), inst.sz_str(s), c) for i, s, c in zip(idx.tolist(), sz.tolist(), cnt.tolist())])
    return out[0], out[1]


def _diff(prev: tuple[np.ndarray, ...], cur: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(mask of `cur` levels that are new or changed, prices in `prev` gone from `cur`); sorted by price."""
    p_idx, p_sz, p_cnt = prev
    c_idx, c_sz, c_cnt = cur
    if p_idx.size == 0:
        return np.ones(c_idx.size, bool), p_idx
    at = np.minimum(np.searchsorted(p_idx, c_idx), p_idx.size - 1)
    same = (p_idx[at] == c_idx) & (p_sz[at] == c_sz) & (p_cnt[at] == c_cnt)
    if c_idx.size:
        back = np.minimum(np.searchsorted(c_idx, p_idx), c_idx.size - 1)
        removed = p_idx[c_idx[back] != p_idx]
    else:
        removed = p_idx
    return ~same, removed


_Window = tuple[np.ndarray, np.ndarray, np.ndarray]  # (price idx ascending, size, count) of one side
_EMPTY: _Window = (np.zeros(0, np.int64),) * 3


class BookChanges:
    """What each instrument's book window looked like when last published, to send only the difference."""

    def __init__(self) -> None:
        self._published: dict[str, tuple[_Window, _Window]] = {}

    def take(self, m: Market) -> tuple[list[Level], list[Level]]:
        """Levels changed within the 400-level window since the last call: (bids, asks), best first.

        A level that left the window or emptied comes as ("px", "0", 0). Updates are absolute, so
        applying them over a snapshot taken in between is harmless.
        """
        inst = m.inst
        old = self._published.get(inst.inst_id, (_EMPTY, _EMPTY))
        new, out = [], []
        for k, side in enumerate((m.book.bids, m.book.asks)):
            idx, sz, cnt = side.levels(BOOK_WINDOW)
            order = np.argsort(idx)
            cur = (idx[order], sz[order], cnt[order])
            changed, removed = _diff(old[k], cur)
            lvl_idx = np.concatenate([cur[0][changed], removed])
            lvl_sz = np.concatenate([cur[1][changed], np.zeros(removed.size, np.int64)])
            lvl_cnt = np.concatenate([cur[2][changed], np.zeros(removed.size, np.int64)])
            best_first = np.argsort(-lvl_idx if k == 0 else lvl_idx)
            out.append([(m.px_str(i), inst.sz_str(s) if s else "0", c) for i, s, c in
                        zip(lvl_idx[best_first].tolist(), lvl_sz[best_first].tolist(), lvl_cnt[best_first].tolist())])
            new.append(cur)
        self._published[inst.inst_id] = (new[0], new[1])
        return out[0], out[1]


def recent_trades(m: Market, limit: int = 100) -> list[SimTrade]:
    """The latest public trades, newest first (REST market/trades)."""
    recent = m.tape.recent
    return [recent[-1 - k] for k in range(min(limit, len(recent)))]


def candles(m: Market, bar: str, limit: int = 100, after: int | None = None,
            before: int | None = None) -> list[list[str]]:
    """OKX candle rows [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm], newest first.

    `after`: bars older than that ts; `before`: bars newer. Unknown bar -> ValueError.
    """
    try:
        return m.tape.candles(bar, limit, after, before)
    except KeyError:
        raise ValueError(f"unsupported bar {bar!r}; supported: {', '.join(BARS)}") from None


def ticker(m: Market, now_ms: int) -> dict[str, str]:
    """The `tickers` channel / GET market/ticker record."""
    inst, tape = m.inst, m.tape
    (bids, asks) = (m.book.bids.levels(1), m.book.asks.levels(1))
    o, hi, lo, vol, quote = tape.day_stats()
    vol_dec = inst.sz(vol)
    quote_dec = tape.quote_unit * quote
    day = {bar: tape.series[bar].bars[-1][1] for bar in ("1Dutc", "1D")}
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "last": inst.px_str(tape.last_idx),
        "lastSz": inst.sz_str(tape.last_lots),
        "askPx": inst.px_str(int(asks[0][0])) if asks[0].size else "",
        "askSz": inst.sz_str(int(asks[1][0])) if asks[0].size else "",
        "bidPx": inst.px_str(int(bids[0][0])) if bids[0].size else "",
        "bidSz": inst.sz_str(int(bids[1][0])) if bids[0].size else "",
        "open24h": inst.px_str(o),
        "high24h": inst.px_str(hi),
        "low24h": inst.px_str(lo),
        # spot: volCcy24h quote, vol24h base; swap: volCcy24h base, vol24h contracts
        "volCcy24h": fmt_decimal(vol_dec * inst.contract_value if inst.is_swap else quote_dec),
        "vol24h": fmt_decimal(vol_dec),
        "sodUtc0": inst.px_str(day["1Dutc"]),
        "sodUtc8": inst.px_str(day["1D"]),
        "ts": str(now_ms),
    }
