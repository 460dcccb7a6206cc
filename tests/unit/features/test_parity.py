"""Batch features == streaming features over recorded sessions (real candles; real books-l2-tbt)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hftlab.domain.market import Bar
from hftlab.features import FeatureSpec, Normaliser, StreamingFeatures, compute_features
from hftlab.okx.book import OrderBook, Status
from hftlab.okx.events import BookMsg, Trade
from hftlab.okx.parse import parse_frame

RTOL = 1e-9
WS_FILE = "okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"


def assert_same(streamed: np.ndarray, batch: pd.DataFrame) -> None:
    b = batch.to_numpy()
    assert streamed.shape == b.shape
    np.testing.assert_array_equal(np.isnan(streamed), np.isnan(b))
    np.testing.assert_allclose(streamed, b, rtol=RTOL, atol=0)


def candle_bars(df: pd.DataFrame, inst_id: str) -> list[Bar]:
    # candles carry no trade count, VWAP or taker split: NaN there, and a spec without flow features
    return [Bar(inst_id, "5m", int(r.ts_ms), r.open, r.high, r.low, r.close, r.volume, 0, np.nan, np.nan, np.nan)
            for r in df.itertuples(index=False)]


def test_candle_session(candles):
    spec = FeatureSpec(flow_window=0, book_levels=0)
    bars = candles.set_index("ts_ms", drop=False)
    batch = compute_features(bars, spec)
    assert list(batch.columns) == list(spec.names)
    assert np.isfinite(batch.iloc[spec.window:].to_numpy()).all()

    norm = Normaliser.fit(batch, until=int(bars["ts_ms"].iloc[len(bars) // 2]), clip=8.0)
    raw, live = StreamingFeatures(spec), StreamingFeatures(spec, norm)
    rows, normed = [], []
    for bar in candle_bars(candles, "X-USDT-SWAP"):
        rows.append(raw.update_bar(bar))
        normed.append(live.update_bar(bar))
    assert_same(np.vstack(rows), batch)
    assert_same(np.vstack(normed), norm.transform(batch))


# ---- a live session: real books (checksummed), real trades, 500 ms bars ----------------------

BAR_MS = 500
WS_SPEC = FeatureSpec(return_horizons=(1, 3), vol_window=5, flow_window=3, book_levels=5, rsi_period=5,
                      macd_fast=3, macd_slow=8, macd_signal=4, bb_period=6)


def replay(path, inst_id: str, levels: int):
    """The recording's events for one instrument, in arrival order: ("book", bids, asks) after each
    book message (the book rebuilt by hftlab.okx.book, every real checksum verified), and ("bar",
    Bar) as each 500 ms bar closes. The recording has few trades, so a bar's prices are the book's
    mid; its volumes are the real trades in it. Empty intervals give flat bars (no book change)."""
    book = OrderBook("books-l2-tbt", inst_id)
    bar: dict | None = None

    def close_through(start: int):
        nonlocal bar
        while bar is not None and bar["start"] < start:
            yield "bar", Bar(inst_id, "500ms", bar["start"], bar["o"], bar["h"], bar["l"], bar["c"],
                             bar["buy"] + bar["sell"], bar["n"], bar["c"], bar["buy"], bar["sell"])
            c = bar["c"]
            bar = {"start": bar["start"] + BAR_MS, "o": c, "h": c, "l": c, "c": c, "buy": 0.0, "sell": 0.0, "n": 0}

    with open(path, "rb") as f:
        for line in f:
            rec = json.loads(line)
            for ev in parse_frame(json.dumps(rec["msg"]), int(rec["recv_ts"] * 1e9)):
                if getattr(ev, "inst_id", None) != inst_id:
                    continue
                if isinstance(ev, BookMsg) and ev.channel == "books-l2-tbt":
                    start = ev.ts_ms - ev.ts_ms % BAR_MS
                    yield from close_through(start)
                    assert book.apply(ev) in (Status.SNAPSHOT, Status.UPDATE), book.reason
                    bids, asks = book.bids(levels), book.asks(levels)
                    mid = (float(bids[0][0]) + float(asks[0][0])) / 2
                    if bar is None:
                        bar = {"start": start, "o": mid, "h": mid, "l": mid, "buy": 0.0, "sell": 0.0, "n": 0}
                    bar["h"], bar["l"], bar["c"] = max(bar["h"], mid), min(bar["l"], mid), mid
                    yield "book", bids, asks
                elif isinstance(ev, Trade) and bar is not None:
                    bar["buy" if ev.side == "buy" else "sell"] += float(ev.sz)
                    bar["n"] += 1
    assert book.stats.checksum_verified > 100, book.stats


@pytest.mark.parametrize("inst_id", ["UNI-USD-SWAP", "ELON-USDT", "ZEN-USDT"])
def test_book_session(shared_data, inst_id):
    spec = WS_SPEC
    live = StreamingFeatures(spec)
    streamed, bars, books = [], [], []
    last_book = None
    for kind, *payload in replay(shared_data / "okx" / "ws" / WS_FILE, inst_id, spec.book_levels):
        if kind == "book":
            live.update_book(*payload)
            last_book = tuple(payload)
        else:
            streamed.append(live.update_bar(payload[0]))
            bars.append(payload[0])
            books.append(last_book)  # the book at the bar's close
    frame = pd.DataFrame([{f: getattr(b, f) for f in Bar.__slots__} for b in bars])
    batch = compute_features(frame, spec, books=books)
    assert len(bars) > 3 * spec.window
    assert np.isfinite(batch.iloc[spec.window:].to_numpy()).all()
    assert batch["spread_bps"].gt(0).all() and batch[f"obi_{spec.book_levels}"].abs().le(1).all()
    assert_same(np.vstack(streamed), batch)

    # the same books as a DataFrame with bids/asks columns
    as_frame = pd.DataFrame({"bids": [b for b, _ in books], "asks": [a for _, a in books]})
    pd.testing.assert_frame_equal(compute_features(frame, spec, books=as_frame), batch)
