from decimal import Decimal

import pytest

from hftlab.risk.state import TRANSITIONS, Persisted, StateFile, TradingState, Trigger, next_state

EXPECTED = {
    TradingState.ACTIVE: {Trigger.SOFT: "reducing", Trigger.CLEAR: "active", Trigger.HARD: "halted", Trigger.RESET: "active"},
    TradingState.REDUCING: {Trigger.SOFT: "reducing", Trigger.CLEAR: "active", Trigger.HARD: "halted",
                            Trigger.RESET: "reducing"},
    TradingState.HALTED: {Trigger.SOFT: "halted", Trigger.CLEAR: "halted", Trigger.HARD: "halted", Trigger.RESET: "active"},
}


@pytest.mark.parametrize("state", list(TradingState))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_every_state_trigger_pair(state, trigger):
    assert next_state(state, trigger).value == EXPECTED[state][trigger]


def test_the_table_is_complete_and_only_a_reset_leaves_halted():
    assert len(TRANSITIONS) == len(TradingState) * len(Trigger)
    assert [t for t in Trigger if next_state(TradingState.HALTED, t) is not TradingState.HALTED] == [Trigger.RESET]


def test_persisted_round_trip_and_atomic_save(tmp_path):
    f = StateFile(tmp_path / "sub" / "risk.json")
    assert f.load() == Persisted()
    p = Persisted(TradingState.HALTED, ["drawdown: 6%"], Decimal("10000.5"), (20454, Decimal("9999.25")))
    f.save(p)
    assert f.load() == p and not (tmp_path / "sub" / "risk.tmp").exists()
