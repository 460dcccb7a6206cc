"""The maker-fill model on hand-built tapes: no fill unless the market traded through the order's price."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.backtest.fills import maker_fill, rest_on_tape


def test_a_bid_the_market_only_touches_never_fills():
    # a tape of single trades (low = high = the trade's price) around a bid at 100.0: down to it, never below
    tape = np.array([100.3, 100.1, 100.0, 100.0, 100.2, 100.0, 100.4])
    assert rest_on_tape(True, 100.0, 1.0, tape, tape) == (0.0, -1)
    # one trade below it: filled there, completely, whatever the queue was
    through = np.append(tape, [99.9, 100.5])
    assert rest_on_tape(True, 100.0, 1.0, through, through) == (1.0, 7)


def test_an_ask_mirrors_it_and_touches_fill_only_what_touch_fill_says():
    highs = np.array([99.0, 99.5, 100.0, 100.0])
    lows = highs - 0.5
    assert rest_on_tape(False, 100.0, 2.0, lows, highs) == (0.0, -1)
    filled, done = rest_on_tape(False, 100.0, 2.0, lows, highs, touch_fill=0.5)
    assert (filled, done) == (pytest.approx(1.5), -1)  # two touches: half, then half of the rest
    assert rest_on_tape(False, 100.0, 2.0, [99.0, 100.0], [99.5, 100.01]) == (2.0, 1)


def test_bars_that_stay_away_fill_nothing_however_close():
    assert maker_fill(True, 100.0, 100.0000001, 101.0, touch_fill=1.0) == 0.0
    assert maker_fill(False, 100.0, 99.0, 99.9999999, touch_fill=1.0) == 0.0
    assert maker_fill(True, 100.0, 99.99, 101.0, touch_fill=0.0) == 1.0


@given(px=st.floats(50, 150), lows=st.lists(st.floats(50, 150), min_size=1, max_size=20), buy=st.booleans())
def test_no_fill_without_a_trade_beyond_the_price(px, lows, buy):
    lows = np.array(lows)
    tape_lo, tape_hi = (lows, lows + 1.0) if buy else (lows - 1.0, lows)
    filled, done = rest_on_tape(buy, px, 1.0, tape_lo, tape_hi)
    beyond = (tape_lo < px) if buy else (tape_hi > px)
    assert (filled > 0) == bool(beyond.any())
    if beyond.any():
        assert done == int(np.argmax(beyond)) and filled == 1.0
