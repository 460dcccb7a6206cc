import asyncio
import inspect

import pytest

from hftlab.cache.config import RedisConfig
from hftlab.cache.manager import _REPLACE_HASH, RedisCacheManager, _commands
from hftlab.cache.server import EmbeddedRedis


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


async def _until(pred, what: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("write", ["event", "state"])
async def test_the_first_write_after_the_writer_went_idle_wakes_it(redis_url, write):
    """Written with no flush and no full batch, one flush interval later: the writer used to sleep until
    one or for 20 flush intervals (here 40 s, beyond the wait), so a trade at a quiet moment waited."""
    async with RedisCacheManager(redis_url, batch_max=1000, flush_interval_ms=2000) as cache:
        cache.add_trade("BTC-USDT", trade(0))
        assert await cache.flush(10)  # the writer is idle now
        if write == "event":
            cache.add_trade("BTC-USDT", trade(1))
            await _until(lambda: cache.stats.events_written == 2, "the second trade written", timeout_s=20)
        else:
            cache.set_equity({"usd": "1"})
            await _until(lambda: cache.pending == 0 and cache._idle.is_set(), "the equity written", timeout_s=20)
            assert await cache.get_equity() == {"usd": "1"}


async def test_redis_down_never_blocks_and_counts_drops(redis_server, tmp_path):
    """Kill the server, keep writing, bring it back: the writer survives and resumes. The writes are
    plain functions (no awaitable): a caller never waits on Redis, whatever state Redis is in."""
    url = redis_server.url
    async with RedisCacheManager(url, backlog_max=3000, batch_max=200, timeout_s=0.2, backoff_max_s=0.2) as cache:
        for i in range(1000):
            cache.add_trade("BTC-USDT", trade(i))
        assert await cache.flush()
        redis_server.kill()
        cache.add_trade("BTC-USDT", trade(1000))
        await _until(lambda: not cache.stats.connected, "the writer to notice the outage")
        assert not inspect.iscoroutinefunction(cache.add_trade)
        for i in range(1001, 11_000):  # the burst continues while the server is dead
            cache.add_trade("BTC-USDT", trade(i))
            if i % 500 == 0:
                await asyncio.sleep(0.01)  # the writer retries meanwhile
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


def test_a_hash_replaced_whole_is_replaced_in_one_transaction():
    """DEL + HSET outside MULTI would let a reader see no positions (or no open orders) in between."""
    state = {"P:positions": (_REPLACE_HASH, {"BTC-USDT": "{}"}, 0), "P:orders:open": (_REPLACE_HASH, {}, 0)}
    assert _commands([], state) == [("MULTI",), ("DEL", "P:positions"), ("HSET", "P:positions", "BTC-USDT", "{}"),
                                    ("EXEC",), ("MULTI",), ("DEL", "P:orders:open"), ("EXEC",)]


async def test_market_keys_carry_a_ttl_and_account_state_none(redis_url):
    async with RedisCacheManager(redis_url, market_ttl_s=600) as cache:
        cache.set_ticker("BTC-USDT", {"last": "1"})
        cache.set_top_of_book("BTC-USDT", {"bidPx": "1"})
        cache.add_trade("BTC-USDT", trade(1))
        cache.add_bar("1s", "BTC-USDT", {"ts": "1000", "close": "1"})
        cache.set_positions({"BTC-USDT": {"pos": "1"}})
        cache.set_open_orders({"o1": {"px": "1"}})
        cache.set_equity({"equity": "1000"})
        assert await cache.flush()
        market = [("ticker", "BTC-USDT"), ("book", "BTC-USDT"), ("trades", "BTC-USDT"), ("bar", "1s", "BTC-USDT"),
                  ("bars", "1s", "BTC-USDT")]
        for parts in market:
            assert 0 < await cache.client.pttl(cache.key(*parts)) <= 600_000, parts
        for parts in [("positions",), ("orders", "open"), ("equity",)]:
            assert await cache.client.pttl(cache.key(*parts)) == -1, parts  # no TTL: never evicted


def test_the_embedded_servers_default_policy_evicts_only_keys_with_a_ttl():
    assert RedisConfig().maxmemory_policy == "volatile-lru"


async def test_under_memory_pressure_market_data_is_evicted_never_positions(tmp_path):
    """A server at its maxmemory with the default policy: the market keys go, the account state stays."""
    with EmbeddedRedis(tmp_path, maxmemory="3mb", appendonly=False) as server:
        async with RedisCacheManager(server.url, trades_maxlen=100) as cache:
            cache.set_positions({"BTC-USDT": {"pos": "1"}})
            cache.set_open_orders({"o1": {"px": "1"}})
            assert await cache.flush()
            info = {}
            # many times more evictions than keys fit: under allkeys-lru every key, positions too, is
            # sampled for eviction many times over
            for batch in range(2000):
                for i in range(100):
                    cache.set_ticker(f"X{batch}-{i}", {"last": "1" * 200})
                await cache.flush()
                info = await cache.client.info("stats")
                if info["evicted_keys"] > 30_000:
                    break
            assert info["evicted_keys"] > 30_000, "the server never reached its maxmemory"
            assert await cache.get_positions() == {"BTC-USDT": {"pos": "1"}}
            assert set(await cache.get_open_orders()) == {"o1"}


async def test_an_unexpected_writer_error_is_an_outage_not_a_silent_death(redis_url, monkeypatch):
    """The writer caught only three exception types: anything else ended it with `connected` still
    true and every later write queued for ever."""
    async with RedisCacheManager(redis_url, backoff_max_s=0.05) as cache:
        cache.add_trade("BTC-USDT", trade(0))
        assert await cache.flush()
        real, calls = cache._send_batch, []

        async def flaky():
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("a bug in packing")
            return await real()

        monkeypatch.setattr(cache, "_send_batch", flaky)
        cache.add_trade("BTC-USDT", trade(1))
        assert await cache.flush(10)
        assert cache.stats.outages == 1 and "RuntimeError" in cache.stats.last_error and cache.stats.connected
        assert [t["tradeId"] for t in await cache.recent_trades("BTC-USDT", 5)] == ["0", "1"]
