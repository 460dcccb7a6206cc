import asyncio

import pytest

from hftlab.cache.manager import RedisCacheManager


def trade(i: int) -> dict[str, str]:
    return {"tradeId": str(i), "px": "64000.1", "sz": "0.5", "side": "buy", "ts": str(1786540436090 + i)}


async def test_key_schema_round_trip(redis_url):
    async with RedisCacheManager(redis_url, trades_maxlen=100) as cache:
        cache.set_ticker("BTC-USDT", {"last": "64000.1", "bidPx": "64000", "askPx": "64000.2", "ts": "1"})
        cache.set_top_of_book("BTC-USDT", {"bidPx": "64000", "bidSz": "1.5", "askPx": "64000.2", "askSz": "2", "seqId": "42", "valid": "1"})
        for i in range(5):
            cache.add_trade("BTC-USDT", trade(i))
        cache.add_bar("1s", "BTC-USDT", {"ts": "1000", "open": "1", "high": "2", "low": "0.5", "close": "1.5", "volume": "3"})
        cache.set_positions({"BTC-USDT": {"pos": "0.1", "avgPx": "64000"}})
        cache.set_open_orders({"abc1": {"px": "63000", "sz": "0.1"}})
        assert await cache.flush()
        assert (await cache.get_ticker("BTC-USDT"))["last"] == "64000.1"
        assert (await cache.get_top_of_book("BTC-USDT"))["seqId"] == "42"
        assert [t["tradeId"] for t in await cache.recent_trades("BTC-USDT", 3)] == ["2", "3", "4"]
        assert (await cache.get_bar("1s", "BTC-USDT"))["close"] == "1.5"
        assert await cache.get_positions() == {"BTC-USDT": {"pos": "0.1", "avgPx": "64000"}}
        # a new snapshot replaces the whole set: closed orders disappear
        cache.set_open_orders({"xyz2": {"px": "1", "sz": "1"}})
        assert await cache.flush()
        assert set(await cache.get_open_orders()) == {"xyz2"}
        assert cache.stats.connected and cache.stats.events_dropped == 0


async def test_state_is_coalesced_and_batched(redis_url):
    async with RedisCacheManager(redis_url, batch_max=500, flush_interval_ms=50) as cache:
        for i in range(1000):
            cache.set_ticker("ETH-USDT", {"last": str(i)})
        assert cache.pending == 1  # only the newest ticker waits
        for i in range(2000):
            cache.add_trade("ETH-USDT", trade(i))
        assert await cache.flush()
        assert (await cache.get_ticker("ETH-USDT"))["last"] == "999"
        assert cache.stats.events_written == 2000
        assert cache.stats.batches <= 8  # pipelines, not round trips per event


async def test_trades_stream_is_trimmed(redis_url):
    async with RedisCacheManager(redis_url, trades_maxlen=100) as cache:
        for i in range(5000):
            cache.add_trade("SOL-USDT", trade(i))
        assert await cache.flush()
        n = await cache.client.xlen(cache.key("trades", "SOL-USDT"))
        assert 100 <= n < 1000  # approximate MAXLEN trims in whole macro-nodes


async def test_redis_down_never_blocks_and_counts_drops(redis_server, tmp_path):
    """Kill the server during a burst of writes, bring it back: the writer survives and resumes."""
    url = redis_server.url
    async with RedisCacheManager(url, backlog_max=3000, batch_max=200, timeout_s=0.2, backoff_max_s=0.2) as cache:
        for i in range(1000):
            cache.add_trade("BTC-USDT", trade(i))
        assert await cache.flush()
        redis_server.kill()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i in range(1000, 11_000):  # the burst continues while the server is dead
            cache.add_trade("BTC-USDT", trade(i))
            if i % 500 == 0:
                await asyncio.sleep(0.01)
        # the caller never waited on Redis: 10k writes with the server dead took well under the timeouts
        assert loop.time() - t0 < 2.0
        await asyncio.sleep(0.5)
        assert not cache.stats.connected and cache.stats.outages == 1
        assert cache.stats.events_dropped == 10_000 - 3000  # the backlog keeps the newest 3000
        redis_server.start()
        assert await cache.flush(15)
        assert cache.stats.connected
        cache.add_trade("BTC-USDT", trade(99_999))
        assert await cache.flush()
        last = await cache.recent_trades("BTC-USDT", 1)
        assert last[0]["tradeId"] == "99999"
        assert cache.stats.events_written == 1000 + 3000 + 1


async def test_unreachable_redis_at_start(tmp_path):
    from hftlab.cache.server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    async with RedisCacheManager(url, timeout_s=0.1, backoff_max_s=0.1) as cache:
        cache.set_ticker("BTC-USDT", {"last": "1"})
        assert not await cache.flush(0.5)
        assert cache.stats.outages == 1 and "Connection" in cache.stats.last_error


@pytest.mark.parametrize("bad", [None, object()])
async def test_unserialisable_values_are_rejected_at_write(redis_url, bad):
    # redis-py refuses None/objects; our writer must not wedge on one bad event
    async with RedisCacheManager(redis_url) as cache:
        cache.add_trade("BTC-USDT", {"px": bad})
        cache.add_trade("BTC-USDT", trade(1))
        await cache.flush(1)
        assert (await cache.recent_trades("BTC-USDT", 5))[-1]["tradeId"] == "1"
