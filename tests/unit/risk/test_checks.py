from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hftlab.domain.orders import OrderIntent, OrdType, Side
from hftlab.risk.checks import Exposure, reduces, stop_hit

D = Decimal
qty = st.decimals(min_value=-10, max_value=10, places=2)
pos_qty = st.decimals(min_value=0, max_value=10, places=2)


def order(side: Side, sz: Decimal) -> OrderIntent:
    return OrderIntent("X-USDT", side, sz, OrdType.LIMIT, D(1), "X:s")


@given(qty, pos_qty, pos_qty, st.decimals(min_value=D("0.01"), max_value=10, places=2), st.sampled_from(list(Side)))
def test_a_reducing_order_never_increases_the_worst_case(position, buys, sells, sz, side):
    e = Exposure(position, buys, sells)
    if reduces(order(side, sz), e):
        after = e.with_intent(side, sz)
        # even if every working order on its side fills, the position shrinks towards zero, never flips
        if side is Side.SELL:
            assert e.position > 0 and 0 <= after.worst_short < e.position
        else:
            assert e.position < 0 and e.position < after.worst_long <= 0


def test_worst_case_counts_working_orders_as_filled():
    e = Exposure(D("1"), working_buy=D("2"), working_sell=D("4"))
    assert (e.worst_long, e.worst_short, e.worst()) == (D("3"), D("-3"), D("3"))


def test_stop_hit_both_ways():
    assert stop_hit(Exposure(D("1"), avg_px=D("100")), 99.0, 1.0)
    assert not stop_hit(Exposure(D("1"), avg_px=D("100")), 99.1, 1.0)
    assert stop_hit(Exposure(D("-1"), avg_px=D("100")), 101.0, 1.0)
    assert not stop_hit(Exposure(), 1.0, 1.0)
