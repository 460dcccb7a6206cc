"""The collector wired to the real simulator and a real redis-server: Parquet, Redis, bars live == Parquet."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from hftlab.cache.manager import RedisCacheManager
from hftlab.collect.collector import Collector
from hftlab.collect.config import CollectConfig
from hftlab.collect.recorder import read_table
from hftlab.marketdata.bars import bars_from_trades
from hftlab.okx.channels import Endpoints
from hftlab.okx.config import ClientConfig
from hftlab.okx.replay import replay
from hftlab.sim.config import SimConfig
from hftlab.sim.server import SimServer

pytestmark = pytest.mark.timeout(90)


def collector(ep, tmp_path, channels=("books", "trades", "tickers"), symbols=("BTC-USDT", "ETH-USDT"), cache=None,
              client=None) -> Collector:
    return Collector(ep, tmp_path, symbols=symbols, channels=channels, timeframes=["1s", "3s"],
                     collect=CollectConfig(flush_interval_s=0.5, bar_grace_ms=500), client=client or ClientConfig(),
                     cache=cache)


async def until(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def run_collector(tmp_path, redis_url, seconds: float, during=None, **kw):
    async with SimServer(SimConfig(seed=5, book_interval_ms=50)) as sim:
        ep = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        async with RedisCacheManager(redis_url, prefix="t") as cache:
            col = collector(ep, tmp_path, cache=cache, client=ClientConfig(
                backoff_initial_s=0.05, backoff_max_s=0.2, stable_after_s=0.5), **kw)
            stop = asyncio.Event()
            side = asyncio.create_task(during(sim, col)) if during else None
            summary = await col.run(seconds, stop)
            if side is not None:
                await side
            return col, summary, cache


async def test_collect_records_parquet_fills_redis_and_replays_clean(tmp_path, redis_url):
    col, summary, cache = await run_collector(tmp_path, redis_url, 4.0)
    assert summary["events"]["books"] > 20 and summary["events"]["trades"] > 0 and summary["events"]["tickers"] > 0
    assert summary["books_valid"] == summary["books_total"] == 2
    # every frame the client passed on is in the raw table, verbatim and in order
    raw = read_table(tmp_path)
    assert raw.num_rows == col.stats.frames_tapped == summary["frames_recorded"]
    assert set(raw.column("channel").to_pylist()) == {"books", "trades", "tickers", "_control"}
    report = replay([tmp_path / "raw"])
    assert not report.failed and report.totals().breaks == 0 and report.totals().snapshots == 2
    assert read_table(tmp_path, "trade").num_rows == sum(
        r.trades for r in report.instruments.values())
    # the Redis hot cache (reopened: the collector's manager flushed and is still open here)
    async with RedisCacheManager(redis_url, prefix="t") as reader:
        top = await reader.get_top_of_book("BTC-USDT")
        assert top["valid"] == "1" and float(top["bidPx"]) < float(top["askPx"]) and int(top["seqId"]) > 0
        # every book message published its top: the last one in Redis is the final book's
        book = col.feed.book("books", "BTC-USDT")
        assert (top["bidPx"], top["askPx"], int(top["seqId"])) == (book.best_bid()[0], book.best_ask()[0],
                                                                  book.seq_id)
        ticker = await reader.get_ticker("ETH-USDT")
        assert ticker["instId"] == "ETH-USDT" and "last" in ticker
        trades = await reader.recent_trades("BTC-USDT", 1000)
        assert len(trades) == sum(1 for t in read_table(tmp_path, "trade", inst_id="BTC-USDT").to_pylist())
        # every instrument's latest closed 1 s bar is in Redis, as recorded
        bars = [b for b in read_table(tmp_path, "bar").to_pylist() if b["timeframe"] == "1s"]
        assert summary["bars_closed"] > 0 and bars
        for inst in {b["inst_id"] for b in bars}:
            last = max((b for b in bars if b["inst_id"] == inst), key=lambda b: b["ts_ms"])
            bar = await reader.get_bar("1s", inst)
            assert (int(bar["ts"]), float(bar["close"]), float(bar["volume"])) == (
                last["ts_ms"], last["close"], last["volume"]), inst
            assert float(bar["low"]) * (1 - 1e-12) <= float(bar["vwap"]) <= float(bar["high"]) * (1 + 1e-12)


async def test_live_bars_equal_bars_rebuilt_from_the_recorded_trades(tmp_path, redis_url):
    col, summary, _ = await run_collector(tmp_path, redis_url, 5.0)
    live = read_table(tmp_path, "bar").to_pylist()
    assert summary["bars_closed"] == len(live) > 0 and summary["late_trades"] == 0
    rebuilt = bars_from_trades(read_table(tmp_path, "trade"), ["1s", "3s"], final=True)
    by_key = {(b.inst_id, b.timeframe, b.ts_ms): b for b in rebuilt}
    for row in live:
        b = by_key[(row["inst_id"], row["timeframe"], row["ts_ms"])]
        assert (b.open, b.high, b.low, b.close, b.volume, b.trade_count, b.vwap, b.buy_volume, b.sell_volume) == (
            row["open"], row["high"], row["low"], row["close"], row["volume"], row["trade_count"], row["vwap"],
            row["buy_volume"], row["sell_volume"])
    # and every bar closed from the trades alone was also closed live
    closed_offline = bars_from_trades(read_table(tmp_path, "trade"), ["1s", "3s"])
    assert {(b.inst_id, b.timeframe, b.ts_ms) for b in closed_offline} <= {
        (r["inst_id"], r["timeframe"], r["ts_ms"]) for r in live}


async def test_a_reconnect_during_collection_loses_no_recorded_frame_and_flags_the_book(tmp_path, redis_url):
    async def drop(sim, col):
        await asyncio.sleep(1.5)
        sim.faults.drop("public")

    col, summary, _ = await run_collector(tmp_path, redis_url, 4.0, during=drop)
    assert summary["reconnects"] == 1 and summary["books_valid"] == 2
    assert read_table(tmp_path).num_rows == col.stats.frames_tapped
    report = replay([tmp_path / "raw"])
    assert not report.failed and report.totals().snapshots == 4  # 2 books x (start + reconnect)


async def test_queue_overflow_drops_are_counted_and_books_recover(tmp_path):
    """A consumer that stops while book updates keep coming: the queue fills with them, each one it
    then drops invalidates its book (one resync in flight), and once the consumer runs again the
    books are valid again."""
    maxsize = 100  # the smallest queue ClientConfig allows
    async with SimServer(SimConfig(seed=5, book_interval_ms=20)) as sim:
        ep = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        col = collector(ep, tmp_path, channels=("books",), client=ClientConfig(
            queue_maxsize=maxsize, resync_timeout_s=1.0, snapshot_timeout_s=1.0))
        queue = col.client.queue
        release = asyncio.Event()
        get = col.client.get

        async def held_get():  # the consumer's first read waits until the queue has overflowed
            await release.wait()
            return await get()

        col.client.get = held_get

        stop = asyncio.Event()

        async def overflow_release_recover():
            try:
                # only books are subscribed, so a drop proves the queue was full of book updates
                await until(lambda: queue.stats.books_invalidated > 0, 30.0, "a book update dropped from a full queue")
                release.set()
                await until(lambda: col.feed.books_total == 2 and col.feed.books_valid == 2, 30.0,
                            "the books to be valid again")
            finally:
                stop.set()

        side = asyncio.create_task(overflow_release_recover())
        summary = await col.run(60.0, stop)
        await side
    q = summary["client"]["queue"]
    assert q["dropped"]["books"] == q["books_invalidated"] > 0, q
    assert q["max_depth"] <= maxsize
    assert summary["book_stats"]["resyncs"] >= 1
    assert summary["books_valid"] == summary["books_total"] == 2, summary["book_stats"]
    # the raw tap is upstream of the queue: nothing was lost on disk
    assert read_table(tmp_path).num_rows == col.stats.frames_tapped


async def test_a_hostile_trade_is_counted_recorded_raw_and_the_collection_goes_on(tmp_path):
    """`"px": "abc"` parsed into a Trade; the consumer then died on float(px) in the bar builder, the
    reader kept queueing, and at shutdown the re-raised error skipped recorder.close()."""
    async with SimServer(SimConfig(seed=5, book_interval_ms=50)) as sim:
        ep = Endpoints(sim.rest_url, sim.ws_url("public"), sim.ws_url("business"), sim.ws_url("private"))
        col = collector(ep, tmp_path, channels=("trades", "books"), symbols=("BTC-USDT",))
        stop = asyncio.Event()
        hostile = orjson.dumps({"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [
            {"instId": "BTC-USDT", "tradeId": "666", "px": "abc", "sz": "1", "side": "buy",
             "ts": str(time.time_ns() // 1_000_000)}]})

        async def inject():
            try:
                await until(lambda: col.client.stats.events["books"] > 0, 30.0, "the book stream")
                sim.hub.publish(("trades", "BTC-USDT"), hostile)
                await until(lambda: col.client.stats.parse_errors == 1, 30.0, "the hostile frame refused")
                seen = col.stats.events
                await until(lambda: col.stats.events > seen + 20, 30.0, "events handled after it")
            finally:
                stop.set()

        side = asyncio.create_task(inject())
        summary = await col.run(60.0, stop)
        await side
    assert summary["parse_errors"] == 1 and summary["handler_errors"] == 0
    assert not col.stats.task_failures
    raw = read_table(tmp_path, channel="_malformed").to_pylist()
    assert [r["frame"] for r in raw] == [hostile.decode()]
    (err,) = read_table(tmp_path, "parse_error").to_pylist()
    assert "px is not a number" in err["reason"]
    assert read_table(tmp_path).num_rows == col.stats.frames_tapped  # every file finished
