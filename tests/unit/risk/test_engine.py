"""Every risk rule tripped, the order it stops never approved; breakers, hysteresis and persistence."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import TopOfBook
from hftlab.domain.orders import ApprovedOrder, OrderIntent, OrdType, Side
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.risk.checks import Denial, DenyReason, Exposure, Market
from hftlab.risk.config import RiskConfig
from hftlab.risk.engine import Account, RiskEngine
from hftlab.risk.state import Condition, StateFile, TradingState

D = Decimal
NOW = 1_767_225_600_000 * 1_000_000  # ns
BTC = InstrumentSpec("BTC-USDT", InstType.SPOT, "BTC", "USDT", D("0.1"), D("0.00000001"), D("0.00001"))
SWAP = InstrumentSpec("BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", D("0.1"), D("0.01"), D("0.01"), D("0.01"))
SPECS = {s.inst_id: s for s in (BTC, SWAP)}
OK = Account(equity_known=True, reconciled=True, reconciling=False)
CFG = RiskConfig(max_order_usd=1000, max_position_usd=5000, max_gross_usd=8000, max_net_usd=6000, max_open_orders=5,
                 max_orders_per_s=1000, collar_bps=50, stale_ms=1000, stop_loss_pct=1.0, max_daily_loss_usd=300,
                 max_drawdown_pct=5, reduce_drawdown_pct=3, resume_drawdown_pct=2, recover_s=5, drift_s=10)


def market(mid=50_000.0, age_ms=0.0, valid=True, **kw) -> Market:
    ns = NOW - int(age_ms * 1e6)
    top = TopOfBook("X", str(mid - 0.05), "1", str(mid + 0.05), "1", 0, 1, valid, ns)
    return Market(top, mid, ns, **kw)


MARKETS = {"BTC-USDT": market(), "BTC-USDT-SWAP": market()}


@dataclass
class Book:
    exposures: dict[str, Exposure] = field(default_factory=dict)
    open_orders: int = 0

    def exposure(self, inst_id: str) -> Exposure:
        return self.exposures.get(inst_id, Exposure())

    def open_order_count(self) -> int:
        return self.open_orders

    def exposed_instruments(self):
        return list(self.exposures)


def intent(side=Side.BUY, sz="0.01", px="50000", inst="BTC-USDT", ord_type=OrdType.LIMIT, reduce_only=False):
    return OrderIntent(inst, side, D(sz), ord_type, None if px is None else D(px), f"{inst}:test", reduce_only)


def engine(tmp_path=None, cfg=CFG, **kw) -> RiskEngine:
    return RiskEngine(cfg, SPECS, state_file=StateFile(tmp_path / "risk.json") if tmp_path else None, **kw)


def check(e, i, book=None, account=OK, markets=MARKETS, now=NOW):
    return e.check(i, markets, book or Book(), account, now)


def denied(verdict, reason: DenyReason) -> bool:
    return isinstance(verdict, Denial) and verdict.reason is reason


def test_a_plain_order_is_approved_and_only_the_engine_can_approve():
    e = engine()
    a = check(e, intent())
    assert isinstance(a, ApprovedOrder) and a.checks == ("all limits",)
    with pytest.raises(Exception, match="only the risk engine"):
        ApprovedOrder(intent(), NOW, ())


@pytest.mark.parametrize("case, reason", [
    (dict(i=intent(inst="ETH-USDT")), DenyReason.UNKNOWN_INSTRUMENT),
    (dict(i=intent(sz="0.000001")), DenyReason.BAD_SIZE),
    (dict(i=intent(sz="0.000010001")), DenyReason.BAD_SIZE),
    (dict(i=intent(px="50000.05")), DenyReason.BAD_PRICE),
    (dict(account=Account(equity_known=True, reconciled=True, reconciling=True)), DenyReason.RECONCILING),
    (dict(account=Account(equity_known=True, reconciled=False, reconciling=False)), DenyReason.UNRECONCILED),
    (dict(account=Account(equity_known=False, reconciled=True, reconciling=False)), DenyReason.EQUITY_UNKNOWN),
    (dict(markets={}), DenyReason.NO_MARK),
    (dict(markets={"BTC-USDT": market(valid=False)}), DenyReason.NO_MARK),
    (dict(markets={"BTC-USDT": market(age_ms=1500)}), DenyReason.STALE_DATA),
    (dict(i=intent(sz="0.03")), DenyReason.ORDER_NOTIONAL),  # 1,500 > 1,000
    (dict(book=Book({"BTC-USDT": Exposure(D("0.095"))})), DenyReason.POSITION_LIMIT),  # 0.105 BTC = 5,250
    (dict(book=Book({"BTC-USDT": Exposure(D("0.05"), working_buy=D("0.045"))})), DenyReason.POSITION_LIMIT),
    (dict(book=Book({"BTC-USDT-SWAP": Exposure(D("-15.5"))})), DenyReason.GROSS_EXPOSURE),  # 7,750 + 500
    (dict(book=Book({"BTC-USDT-SWAP": Exposure(D("11.5"))})), DenyReason.NET_EXPOSURE),  # 5,750 + 500 long
    (dict(book=Book(open_orders=5)), DenyReason.OPEN_ORDERS),
    (dict(i=intent(px="50300")), DenyReason.PRICE_COLLAR),  # 60 bp through mid
    (dict(i=intent(side=Side.SELL, px="49700", inst="BTC-USDT-SWAP", sz="1")), DenyReason.PRICE_COLLAR),
    (dict(markets={"BTC-USDT": market(buy_limit=50_010.0)}, i=intent(px="50020")), DenyReason.PRICE_BAND),
    (dict(book=Book({"BTC-USDT": Exposure(D("0.01"), avg_px=D("50600"))})), DenyReason.STOP_LOSS),  # -1.2%
])
def test_every_rule_trips_and_its_order_is_not_approved(case, reason):
    e = engine()
    v = check(e, case.get("i", intent()), case.get("book"), case.get("account", OK), case.get("markets", MARKETS))
    assert denied(v, reason), v
    assert e.stats.denials[reason] == 1 and e.stats.approved == 0


def test_the_order_rate_throttle():
    e = engine(cfg=CFG.model_copy(update={"max_orders_per_s": 2.0}), clock=lambda: 0.0)
    verdicts = [check(e, intent()) for _ in range(3)]
    assert [isinstance(v, ApprovedOrder) for v in verdicts] == [True, True, False]
    assert denied(verdicts[2], DenyReason.ORDER_RATE)


def test_a_burst_cannot_pass_a_limit_together():
    """Each order alone is fine; what the engine approved counts until the manager has registered it."""
    e = engine()
    approved = [v for v in (check(e, intent(sz="0.019")) for _ in range(8)) if isinstance(v, ApprovedOrder)]
    assert len(approved) == 5  # 5 x 950 = 4,750 <= 5,000; the sixth would be 5,700
    assert e.stats.denials[DenyReason.POSITION_LIMIT] == 3
    e.release(approved[0])  # registered by the manager: the book now carries it
    book = Book({"BTC-USDT": Exposure(working_buy=D("0.019"))})
    assert denied(check(e, intent(sz="0.019"), book), DenyReason.POSITION_LIMIT)


def approved(e, *args, **kw) -> bool:
    """Approved, then registered by the manager (released), so the next check starts clean."""
    v = check(e, *args, **kw)
    if isinstance(v, ApprovedOrder):
        e.release(v)
        return True
    return False


def test_reducing_orders_pass_where_adding_ones_do_not():
    long_ = Book({"BTC-USDT": Exposure(D("0.099"), avg_px=D("50000"))})
    e = engine()
    assert denied(check(e, intent(sz="0.02"), long_), DenyReason.POSITION_LIMIT)
    assert approved(e, intent(Side.SELL, sz="0.02"), long_)
    # a sell that would flip the position is not reducing
    assert denied(check(e, intent(Side.SELL, sz="0.199", px="50000"), long_), DenyReason.ORDER_NOTIONAL)
    # while reconciling, reducing still passes
    busy = Account(equity_known=True, reconciled=True, reconciling=True)
    assert approved(e, intent(Side.SELL), long_, busy)
    # stop hit: only reducing
    under = Book({"BTC-USDT": Exposure(D("0.01"), avg_px=D("51000"))})
    assert denied(check(e, intent(), under), DenyReason.STOP_LOSS)
    assert approved(e, intent(Side.SELL), under)


def test_stale_data_lets_only_an_emergency_flatten_through():
    e = engine()
    stale = {"BTC-USDT": market(age_ms=5000)}
    long_ = Book({"BTC-USDT": Exposure(D("0.01"), avg_px=D("50000"))})
    assert denied(check(e, intent(Side.SELL), long_, markets=stale), DenyReason.STALE_DATA)
    flatten = intent(Side.SELL, px=None, ord_type=OrdType.MARKET, reduce_only=True)
    assert isinstance(check(e, flatten, long_, markets=stale), ApprovedOrder)


def snap(equity, high_water, day_pnl=0.0, ts_ms=1_767_225_600_000) -> EquitySnapshot:
    eq, hw = D(str(equity)), D(str(high_water))
    dd = max(hw - eq, D(0))
    return EquitySnapshot(ts_ms, eq, D(0), D(0), D(0), D(0), hw, dd, dd / hw * 100, D(str(day_pnl)))


def test_drawdown_halts_within_one_mark_update_and_survives_a_restart(tmp_path):
    changes = []
    e = engine(tmp_path, on_state=lambda old, new, why: changes.append((old, new)))
    assert e.on_equity(snap(10_000, 10_000), NOW) is TradingState.ACTIVE
    assert e.on_equity(snap(9_480, 10_000), NOW + 1) is TradingState.HALTED  # -5.2%
    assert changes[-1] == (TradingState.REDUCING, TradingState.HALTED) or changes[-1][1] is TradingState.HALTED
    assert denied(check(e, intent(Side.SELL), Book({"BTC-USDT": Exposure(D("0.01"))})), DenyReason.HALTED)
    again = engine(tmp_path)  # a restart (kill -9: the file was written before the state changed)
    assert again.state is TradingState.HALTED and "drawdown" in again.reasons[0]
    assert again.high_water == D("10000")
    # a recovery of equity does not un-halt: only a person does
    assert again.on_equity(snap(10_500, 10_500), NOW + 2) is TradingState.HALTED
    assert again.reset("test", NOW + 3) is TradingState.ACTIVE
    assert engine(tmp_path).state is TradingState.ACTIVE


def test_daily_loss_halts(tmp_path):
    e = engine(tmp_path)
    assert e.on_equity(snap(9_800, 9_800, day_pnl=-299), NOW) is TradingState.ACTIVE
    assert e.on_equity(snap(9_790, 9_790, day_pnl=-301), NOW) is TradingState.HALTED


def test_soft_drawdown_reduces_with_hysteresis_in_level_and_time():
    e = engine()
    assert e.on_equity(snap(9_650, 10_000), NOW) is TradingState.REDUCING  # 3.5%
    assert denied(check(e, intent()), DenyReason.REDUCING_ONLY)
    assert e.on_equity(snap(9_750, 10_000), NOW + 1) is TradingState.REDUCING  # 2.5%: still above resume
    e.on_equity(snap(9_850, 10_000), NOW + 2)  # 1.5%: condition clear, the clock starts
    e.tick(NOW + 2 + int(4e9))
    assert e.state is TradingState.REDUCING
    e.tick(NOW + 2 + int(5e9))
    assert e.state is TradingState.ACTIVE


@pytest.mark.parametrize("cond", [Condition.STALE_DATA, Condition.PRIVATE_DOWN, Condition.BUDGET_LOW])
def test_transient_conditions_reduce_and_recover_after_staying_clear(cond):
    e = engine()
    e.set_condition(cond, True, NOW, "test")
    assert e.state is TradingState.REDUCING and e.conditions == {cond.value: "test"}
    e.set_condition(cond, False, NOW + int(1e9))
    e.set_condition(cond, True, NOW + int(2e9), "again")  # flapping restarts the hysteresis clock
    e.set_condition(cond, False, NOW + int(3e9))
    e.tick(NOW + int(7e9))
    assert e.state is TradingState.REDUCING
    e.tick(NOW + int(8.1e9))
    assert e.state is TradingState.ACTIVE


def test_reconciliation_drift_that_persists_halts():
    e = engine()
    e.reconciliation(2, NOW)
    e.reconciliation(0, NOW + int(5e9))  # resolved: no halt
    e.reconciliation(1, NOW + int(6e9))
    e.reconciliation(1, NOW + int(15e9))
    assert e.state is TradingState.ACTIVE
    e.reconciliation(1, NOW + int(16e9))
    assert e.state is TradingState.HALTED and "reconciliation_drift" in e.reasons[0]


def test_kill_switch_config_starts_halted_and_kill_is_idempotent(tmp_path):
    assert engine(cfg=CFG.model_copy(update={"kill_switch": True})).state is TradingState.HALTED
    e = engine(tmp_path)
    e.kill("operator")
    e.kill("operator")
    assert e.state is TradingState.HALTED and e.reasons == ["kill_switch: operator"]
    assert e.stats.state_changes == {"active->halted": 1}


def test_an_unreadable_state_file_fails_closed(tmp_path):
    (tmp_path / "risk.json").write_text("{not json")
    with pytest.raises(RuntimeError, match="cannot be read"):
        engine(tmp_path)


def test_amends_are_price_checked_and_frozen_when_halted():
    e = engine()
    assert e.check_amend(intent(px="50010"), MARKETS, NOW) is None
    assert e.check_amend(intent(px="50400"), MARKETS, NOW).reason is DenyReason.PRICE_COLLAR
    assert e.check_amend(intent(px="50010"), {"BTC-USDT": market(age_ms=5000)}, NOW).reason is DenyReason.STALE_DATA
    e.kill("test")
    assert e.check_amend(intent(px="50010"), MARKETS, NOW).reason is DenyReason.HALTED


def test_the_kill_switch_flatten_passes_when_halted_and_nothing_else_does():
    e = engine()
    e.kill("test")
    long_ = Book({"BTC-USDT": Exposure(D("0.02"), avg_px=D("50000"))})
    flatten = intent(Side.SELL, sz="0.02", px=None, ord_type=OrdType.MARKET, reduce_only=True)
    assert isinstance(e.check_flatten(flatten, MARKETS, long_, OK, NOW), ApprovedOrder)
    too_much = intent(Side.SELL, sz="0.03", px=None, ord_type=OrdType.MARKET, reduce_only=True)
    assert denied(e.check_flatten(too_much, MARKETS, Book({"BTC-USDT": Exposure(D("0.02"))}), OK, NOW),
                  DenyReason.HALTED)
    assert denied(e.check_flatten(intent(), MARKETS, long_, OK, NOW), DenyReason.HALTED)
