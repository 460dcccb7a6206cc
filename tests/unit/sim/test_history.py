"""History windows and filters, as OKX serves orders and fills (protocol doc 5.5/5.6)."""

from __future__ import annotations

from hftlab.sim import history

NOW = 100 * history.DAY_MS


def _order(state: str, filled: str, ended_ago_ms: int, **kw) -> dict:
    rec = {"state": state, "accFillSz": filled, "uTime": str(NOW - ended_ago_ms), "cTime": str(NOW - ended_ago_ms),
           "instType": "SPOT", "instId": "BTC-USDT", "ordType": "limit", "category": "normal"}
    return {**rec, **kw}


def test_orders_history_keeps_unfilled_cancels_two_hours_and_the_rest_seven_days():
    h = 3_600_000
    assert history.in_orders_history(_order("canceled", "0", 2 * h), NOW)
    assert not history.in_orders_history(_order("canceled", "0", 2 * h + 1), NOW)
    assert history.in_orders_history(_order("canceled", "0.5", 3 * history.DAY_MS), NOW)   # it filled some
    assert history.in_orders_history(_order("filled", "1", 7 * history.DAY_MS), NOW)
    assert not history.in_orders_history(_order("filled", "1", 7 * history.DAY_MS + 1), NOW)


def test_archive_never_has_unfilled_cancels_and_keeps_three_months():
    assert not history.in_archive(_order("canceled", "0", 1), NOW)
    assert history.in_archive(_order("canceled", "0.5", 30 * history.DAY_MS), NOW)
    assert history.in_archive(_order("filled", "1", 90 * history.DAY_MS), NOW)
    assert not history.in_archive(_order("filled", "1", 90 * history.DAY_MS + 1), NOW)


def test_order_filters():
    rows = [_order("filled", "1", 5), _order("canceled", "1", 6, ordType="ioc"),
            _order("filled", "1", 7, instType="SWAP", instId="BTC-USDT-SWAP", category="full_liquidation")]
    pick = history.select_orders
    assert pick(rows, {"instType": "SPOT"}) == rows[:2]
    assert pick(rows, {"ordType": "post_only,ioc"}) == [rows[1]]
    assert pick(rows, {"state": "filled"}) == [rows[0], rows[2]]
    assert pick(rows, {"instFamily": "BTC-USDT"}) == [rows[2]]
    assert pick(rows, {"category": "full_liquidation"}) == [rows[2]]
    assert pick(rows, {"begin": str(NOW - 6), "end": str(NOW - 5)}) == rows[:2]
    assert pick(rows, {"instId": "ETH-USDT"}) == []


def test_fill_filters():
    rows = [{"instType": "SPOT", "instId": "BTC-USDT", "ordId": "1", "subType": "1", "ts": "10"},
            {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "ordId": "2", "subType": "107", "ts": "20"}]
    assert history.select_fills(rows, {"instType": "SWAP"}) == [rows[1]]
    assert history.select_fills(rows, {"ordId": "1"}) == [rows[0]]
    assert history.select_fills(rows, {"subType": "106,107"}) == [rows[1]]
    assert history.select_fills(rows, {"begin": "15"}) == [rows[1]]
    assert history.family("BTC-USDT-SWAP", "SWAP") == "BTC-USDT" and history.family("BTC-USDT", "SPOT") == ""
