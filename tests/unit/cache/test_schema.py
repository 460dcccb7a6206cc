"""Domain values -> Redis fields, and those fields through a real redis-server."""

from __future__ import annotations

from decimal import Decimal

from hftlab.cache import schema
from hftlab.cache.manager import RedisCacheManager
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import Bar, TopOfBook
from hftlab.domain.orders import OrdType, Order, OrderIntent, OrderState, OrderStats, OrderUpdate, Side
from hftlab.okx.events import Ticker, Trade
from hftlab.portfolio.equity import Portfolio
from hftlab.portfolio.positions import Position

D = Decimal
BTC = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00000001"), D("0.00001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("0.01"), D("0.01"), D("0.01"))


def test_top_of_book_fields_flag_validity_and_keep_the_last_prices():
    top = TopOfBook("BTC-USDT", "64000.1", "1.5", "64000.2", "0.25", 1700, 42, True, 9)
    assert schema.top_of_book_fields(top) == {"bidPx": "64000.1", "bidSz": "1.5", "askPx": "64000.2",
                                              "askSz": "0.25", "ts": 1700, "seqId": 42, "valid": 1}
    stale = TopOfBook("BTC-USDT", "64000.1", "1.5", "64000.2", "0.25", 1700, 42, False, 10)
    assert schema.top_of_book_fields(stale) == {**schema.top_of_book_fields(top), "valid": 0}
    empty = TopOfBook("BTC-USDT", None, None, "64000.2", "0.25", 1700, None, True)
    assert schema.top_of_book_fields(empty) == {"bidPx": "", "bidSz": "", "askPx": "64000.2", "askSz": "0.25",
                                                "ts": 1700, "seqId": -1, "valid": 1}


def test_market_event_fields():
    t = Trade("trades", "BTC-USDT", "77", "64000.1", "0.5", "sell", 1700, 1)
    assert schema.trade_fields(t) == {"tradeId": "77", "px": "64000.1", "sz": "0.5", "side": "sell", "ts": 1700}
    tick = Ticker("BTC-USDT", "1", "2", "3", "4", "5", "6", 7, 8, {"instId": "BTC-USDT", "last": "1"})
    assert schema.ticker_fields(tick) == {"instId": "BTC-USDT", "last": "1"}
    bar = Bar("BTC-USDT", "1s", 1000, 1.0, 2.0, 0.5, 1.5, 3.0, 4, 1.25, 2.0, 1.0)
    assert schema.bar_fields(bar) == {"ts": 1000, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0,
                                      "trades": 4, "vwap": 1.25, "buyVolume": 2.0, "sellVolume": 1.0}


def test_positions_in_plain_decimals_with_unrealised_at_a_mark():
    spot, swap = Position(BTC), Position(SWAP)
    spot.apply_fill(Side.BUY, D("64000"), D("0.5"), D("-12.8"), "USDT")
    swap.apply_fill(Side.SELL, D("64000"), D("3"), D("-0.96"), "USDT")
    fields = schema.positions_fields([spot, swap], {"BTC-USDT": D("64100")})
    assert fields["BTC-USDT"] == {"instId": "BTC-USDT", "qty": "0.5", "avgPx": "64000", "realised": "0",
                                  "fees": "-12.8", "funding": "0", "mark": "64100", "unrealised": "50"}
    assert fields["BTC-USDT-SWAP"] == {"instId": "BTC-USDT-SWAP", "qty": "-3", "avgPx": "64000", "realised": "0",
                                       "fees": "-0.96", "funding": "0"}


def _order(cl_ord_id: str, state: OrderState | None) -> Order:
    intent = OrderIntent("BTC-USDT", Side.BUY, D("0.01"), OrdType.LIMIT, D("63000"), f"BTC-USDT:maker:{cl_ord_id}")
    o = Order.recovered(intent, cl_ord_id, "test", ord_id=f"9{cl_ord_id}", stats=OrderStats())
    if state is not None:
        fill = D("0.01") if state is OrderState.FILLED else D(0)
        o.apply(OrderUpdate(cl_ord_id, f"9{cl_ord_id}", state, fill, D("63000") if fill else D(0), 1700))
    return o


def test_open_orders_are_the_non_terminal_ones_unknown_included():
    orders = [_order("1", OrderState.LIVE), _order("2", None), _order("3", OrderState.FILLED),
              _order("4", OrderState.CANCELLED)]
    fields = schema.open_orders_fields(orders)
    assert set(fields) == {"1", "2"}
    assert fields["1"] == {"clOrdId": "1", "ordId": "91", "instId": "BTC-USDT", "side": "buy", "ordType": "limit",
                           "px": "63000", "sz": "0.01", "state": "live", "accFillSz": "0", "avgPx": "0",
                           "slot": "BTC-USDT:maker:1", "reduceOnly": 0, "ts": 1700}
    assert fields["2"]["state"] == "unknown"


def test_equity_fields():
    p = Portfolio([BTC], D("10000"), "USDT")
    p.position("BTC-USDT").apply_fill(Side.BUY, D("64000"), D("0.1"), D("-6.4"), "USDT")
    snap = p.snapshot(1700, {"BTC-USDT": D("65000")})
    assert schema.equity_fields(snap, "ACTIVE") == {
        "ts": 1700, "equity": "10093.6", "realised": "0", "unrealised": "100", "fees": "-6.4", "funding": "0",
        "highWater": "10093.6", "drawdown": "0", "drawdownPct": "0", "dayPnl": "93.6", "state": "ACTIVE"}


async def test_every_kind_of_field_is_stored_and_read_back(redis_url):
    top = TopOfBook("BTC-USDT", "64000.1", "1.5", None, None, 1700, None, False)
    spot = Position(BTC)
    snap = Portfolio([BTC], D("10000"), "USDT").snapshot(1700, {})
    async with RedisCacheManager(redis_url, prefix="s") as cache:
        cache.set_top_of_book("BTC-USDT", schema.top_of_book_fields(top))
        cache.add_trade("BTC-USDT", schema.trade_fields(Trade("trades", "BTC-USDT", "1", "2", "3", "buy", 4, 5)))
        cache.add_bar("1s", "BTC-USDT", schema.bar_fields(Bar("BTC-USDT", "1s", 1000, 1, 2, 0.5, 1.5, 3, 4, 1, 2, 1)))
        cache.set_positions(schema.positions_fields([spot]))
        cache.set_open_orders(schema.open_orders_fields([_order("1", OrderState.LIVE)]))
        cache.set_equity(schema.equity_fields(snap, "HALTED"))
        assert await cache.flush() and cache.stats.events_dropped == 0
        assert (await cache.get_top_of_book("BTC-USDT")) == {"bidPx": "64000.1", "bidSz": "1.5", "askPx": "",
                                                             "askSz": "", "ts": "1700", "seqId": "-1", "valid": "0"}
        assert (await cache.recent_trades("BTC-USDT"))[0]["tradeId"] == "1"
        assert (await cache.get_bar("1s", "BTC-USDT"))["vwap"] == "1"
        assert (await cache.get_positions())["BTC-USDT"]["qty"] == "0"
        assert (await cache.get_open_orders())["1"]["state"] == "live"
        assert (await cache.get_equity()) == {k: str(v) for k, v in schema.equity_fields(snap, "HALTED").items()}


async def test_the_monitor_hash_is_replaced_whole_per_component(redis_url):
    latency = {"md_receive_to_event": {"n": 3, "mean_ms": 0.5, "p50_ms": 0.5, "p99_ms": 1.0}}
    fields = schema.monitor_fields("collect", 42, 1000, 2000, "http://127.0.0.1:9108/metrics", 10, 20, "normal", latency)
    assert fields == {"component": "collect", "pid": 42, "started": 1000, "ts": 2000,
                      "metricsUrl": "http://127.0.0.1:9108/metrics", "rssBytes": 10, "limitBytes": 20,
                      "guard": "normal", "latency": '{"md_receive_to_event":{"n":3,"mean_ms":0.5,"p50_ms":0.5,"p99_ms":1.0}}'}
    async with RedisCacheManager(redis_url, prefix="m") as cache:
        cache.set_monitor("collect", {**fields, "stale": "x"})
        cache.set_monitor("collect", fields)
        cache.set_monitor("live", {**fields, "component": "live"})
        assert await cache.flush()
        assert await cache.get_monitor("collect") == {k: str(v) for k, v in fields.items()}
        assert (await cache.get_monitor("live"))["component"] == "live"
        assert await cache.get_monitor("sim") == {}
