"""The fill ledger: once per (inst_id, trade_id), the numeric cursor per instrument."""

from __future__ import annotations

from decimal import Decimal

from hftlab.domain.orders import Fill, Side
from hftlab.portfolio.ledger import FillLedger


def fill(trade_id, inst="BTC-USDT", sz="1"):
    return Fill(inst, trade_id, "1000000001", "9", Side.BUY, Decimal(100), Decimal(sz), Decimal(0), "USDT", 1)


def test_each_fill_once_in_first_arrival_order():
    led = FillLedger()
    a, b = fill("5"), fill("6")
    assert led.add(a) and led.add(b)
    assert not led.add(fill("5", sz="2"))  # the same trade, whatever else it says
    assert not led.add(a)
    assert list(led) == [a, b] and len(led) == 2 and led.duplicates == 2
    assert led.add(fill("5", inst="ETH-USDT"))  # trade ids are per instrument


def test_cursor_is_the_highest_numeric_trade_id_per_instrument():
    led = FillLedger()
    assert led.last_trade_id("BTC-USDT") is None
    for tid in ("12", "9", "-300", "11"):  # "9" > "12" as text: ids compare as numbers
        led.add(fill(tid))
    led.add(fill("4", inst="ETH-USDT"))
    assert led.last_trade_id("BTC-USDT") == "12" and led.last_trade_id("ETH-USDT") == "4"


def test_liquidation_ids_and_non_numeric_ids_never_become_the_cursor():
    led = FillLedger()
    assert led.add(fill("-17")) and led.add(fill("abc"))
    assert led.last_trade_id("BTC-USDT") is None and len(led) == 2
