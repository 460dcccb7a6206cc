"""Cancel-All-After timers: armed, re-armed, disarmed, lapsed on the clock they are given."""

from __future__ import annotations

import pytest

from hftlab.sim.deadman import MAX_TAG_TIMERS, CancelAllAfter
from hftlab.sim.validation import Rejected


def test_heartbeats_push_the_deadline_back_and_a_lapse_disarms():
    caa = CancelAllAfter()
    assert caa.arm("k", "", 10, now=100.0) == 110.0
    assert caa.due(109.9) == []
    assert caa.arm("k", "", 10, now=105.0) == 115.0       # the heartbeat
    assert caa.due(114.0) == [] and caa.due(115.0) == [("k", "")]
    assert caa.due(1000.0) == []                          # fired once, then disarmed


def test_zero_disarms_and_timers_are_per_account_and_tag():
    caa = CancelAllAfter()
    caa.arm("k", "", 10, 0.0)
    caa.arm("k", "mm", 20, 0.0)
    caa.arm("j", "", 30, 0.0)
    assert caa.arm("k", "", 0, 1.0) is None and caa.arm("nobody", "x", 0, 1.0) is None
    assert caa.due(100.0) == [("k", "mm"), ("j", "")]      # by deadline


def test_at_most_twenty_tag_timers_per_account():
    caa = CancelAllAfter()
    for k in range(MAX_TAG_TIMERS):
        caa.arm("k", f"t{k}", 60, 0.0)
    caa.arm("k", "", 60, 0.0)                              # the account-level timer is not a tag timer
    caa.arm("k", "t0", 90, 1.0)                            # re-arming a live one is fine
    caa.arm("j", "t99", 60, 0.0)                           # another account
    with pytest.raises(Rejected) as e:
        caa.arm("k", "t99", 60, 0.0)
    assert e.value.code == "51071"
    caa.due(65.0)                                          # the lapsed ones no longer count
    caa.arm("k", "t99", 60, 65.0)
