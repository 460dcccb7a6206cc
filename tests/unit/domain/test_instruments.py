"""InstrumentSpec: grid rounding never makes a price more aggressive than asked."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hftlab.domain.instruments import InstrumentSpec, InstType

SPEC = InstrumentSpec("X-USDT", InstType.SPOT, "X", "USDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.01"))


def test_round_px_down_for_a_buy_up_for_a_sell():
    assert SPEC.round_px(100.05, side="buy") == Decimal("100.0")
    assert SPEC.round_px(100.05, side="sell") == Decimal("100.1")
    assert SPEC.round_px(Decimal("100.01"), side="sell") == Decimal("100.1")
    assert SPEC.round_px(Decimal("100.1"), side="sell") == Decimal("100.1")   # on the grid: unchanged
    assert SPEC.round_px(Decimal("100.06")) == Decimal("100.1")


@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal("100000"), places=4))
def test_round_px_stays_on_the_grid_within_one_tick_and_never_more_aggressive(px):
    buy, sell = SPEC.round_px(px, side="buy"), SPEC.round_px(px, side="sell")
    for q in (buy, sell):
        assert (q / SPEC.tick_sz) == (q / SPEC.tick_sz).to_integral_value()
    assert px - SPEC.tick_sz < buy <= px <= sell < px + SPEC.tick_sz
