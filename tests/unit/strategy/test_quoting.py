from decimal import Decimal

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import TopOfBook
from hftlab.domain.orders import Order, OrderIntent, OrderState, OrdType, Side
from hftlab.strategy.config import StrategyConfig
from hftlab.strategy.quoting import Amend, plan_orders

D = Decimal
SPEC = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.0001"), D("0.0001"))
TOP = TopOfBook("BTC-USDT", "50000", "1", "50000.2", "1", 0, 1, True, 0)
TAKER, MAKER = StrategyConfig(style="taker", taker_cap_bps=5), StrategyConfig(style="maker", requote_ticks=2)


def order(side, sz, px, slot, state=OrderState.LIVE, cl="1"):
    o = Order.recovered(OrderIntent("BTC-USDT", side, D(sz), OrdType.POST_ONLY, D(px), slot), cl, "test")
    if state is not OrderState.UNKNOWN:
        o.acked("9" + cl, 0)
    return o


def test_taker_sends_one_capped_ioc_for_the_difference():
    p = plan_orders(SPEC, D("0.02"), D("0.005"), [], TOP, TAKER, 7)
    [i] = p.new
    assert (i.side, i.sz, i.ord_type, i.slot, i.created_ns) == (Side.BUY, D("0.015"), OrdType.IOC, "BTC-USDT:taker", 7)
    assert i.px == D("50025.2")  # 50000.2 * 1.0005 = 50025.2001, rounded down to the tick
    s = plan_orders(SPEC, D("-0.01"), D("0"), [], TOP, TAKER, 0).new[0]
    assert (s.side, s.px) == (Side.SELL, D("49975"))  # 50000 * 0.9995, rounded up


def test_taker_waits_while_its_slot_has_a_working_or_unknown_order():
    unknown = order(Side.BUY, "0.01", "50025", "BTC-USDT:taker", OrderState.UNKNOWN)
    assert not plan_orders(SPEC, D("0.05"), D("0"), [unknown], TOP, TAKER, 0)


def test_taker_counts_working_orders_and_ignores_dust():
    resting = order(Side.BUY, "0.01", "49000", "BTC-USDT:maker:bid")
    assert not plan_orders(SPEC, D("0.01"), D("0"), [resting], TOP, TAKER, 0)
    assert not plan_orders(SPEC, D("0.00005"), D("0"), [], TOP, TAKER, 0)  # below min_sz


def test_maker_quotes_the_touch_requotes_by_amend_and_cancels_what_is_not_wanted():
    p = plan_orders(SPEC, D("0.01"), D("0"), [], TOP, MAKER, 0)
    [i] = p.new
    assert (i.side, i.ord_type, i.px, i.slot) == (Side.BUY, OrdType.POST_ONLY, D("50000"), "BTC-USDT:maker:bid")
    near = order(Side.BUY, "0.01", "49999.9", "BTC-USDT:maker:bid")
    assert not plan_orders(SPEC, D("0.01"), D("0"), [near], TOP, MAKER, 0)  # 1 tick away: below requote_ticks
    far = order(Side.BUY, "0.01", "49999.5", "BTC-USDT:maker:bid")
    assert plan_orders(SPEC, D("0.01"), D("0"), [far], TOP, MAKER, 0).amends == [Amend("1", D("50000"))]
    assert plan_orders(SPEC, D("0"), D("0"), [far], TOP, MAKER, 0).cancels == ["1"]
    flip = plan_orders(SPEC, D("-0.01"), D("0"), [far], TOP, MAKER, 0)
    assert flip.cancels == ["1"] and flip.new[0].side is Side.SELL and flip.new[0].px == D("50000.2")


def test_maker_leaves_unacknowledged_and_unknown_orders_alone_and_needs_a_valid_book():
    unknown = order(Side.BUY, "0.01", "49000", "BTC-USDT:maker:bid", OrderState.UNKNOWN)
    assert not plan_orders(SPEC, D("0"), D("0"), [unknown], TOP, MAKER, 0)
    bad = TopOfBook("BTC-USDT", "50000", "1", "50000.2", "1", 0, 1, False, 0)
    assert not plan_orders(SPEC, D("0.01"), D("0"), [], bad, MAKER, 0)
