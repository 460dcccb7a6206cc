"""The soak, small: five simulated minutes with every kind of fault once, a fault every 20 simulated
seconds, while `hftlab collect` records and the live runner trades (each killed with SIGKILL once and
started again). `hftlab soak` runs the full length; this holds the same invariants on a short run.

The plan is fixed by its seed and every fault waits for what it acts on (a kill for a process at work,
an order-path fault for a trading runner), so what is asserted does not depend on timing: no invalid
book served, nothing lost outside the documented drop policies, every order accounted for at the venue,
every fault kind taken, every book and process back. The figures (recovery times, memory, loop lag)
are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from hftlab.soak.plan import FaultKind
from hftlab.soak.soak import Soak, SoakConfig
from hftlab.soak.verdict import violations

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EVERY_S = 20.0


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    cfg = SoakConfig(tmp_path_factory.mktemp("soak"), sim_hours=len(FaultKind) * EVERY_S / 3600, speed=20.0,
                     fault_every_s=EVERY_S, seed=11)
    figs = asyncio.run(Soak(cfg).run())
    print(json.dumps(figs, indent=1))  # the figures, for whoever reads the log
    return figs


def test_every_fault_kind_was_injected_once_and_took_effect(figures):
    kinds = figures["faults"]["by_kind"]
    assert set(kinds) == {k.value for k in FaultKind}
    for kind, n in kinds.items():
        assert n["planned"] == n["fired"] == 1 and n["took_effect"] >= 1, (kind, n)
    assert figures["faults"]["left_armed"] == [] and figures["faults"]["not_fired"] == []


def test_no_invalid_book_was_served_and_every_invalidated_book_recovered(figures):
    books = figures["books"]
    assert books["invalid_served"] == 0 and books["probe"]["invalid_served"] == 0
    assert books["redis"]["invalid_served"] == 0 and books["redis"]["checked"] > 0
    assert books["probe"]["books_verified"] > 0 and books["probe"]["invalidations"] > 0
    assert books["probe"]["recoveries"] == books["probe"]["invalidations"] and books["valid_at_end"]


def test_no_trade_was_lost_outside_the_documented_drop_policies(figures):
    frames = figures["frames_lost"]
    assert frames["unexplained"] == 0 and frames["trade_duplicates_delivered"] == 0
    assert frames["trades_received"] > 0


def test_no_order_was_lost_or_duplicated_against_the_venue(figures):
    orders = figures["orders"]
    assert orders["venue_orders"] > 0 and orders["clean"], orders
    last = figures["processes"]["runner"]["last_session"]
    assert last["duplicate_orders"] == 0 and last["open_orders_match_venue"] and last["positions_match_venue"]


def test_each_process_killed_came_back_reconciled_and_stopped_cleanly(figures):
    for name in ("collector", "runner"):
        p = figures["processes"][name]
        assert p["kills"] == 1 and len(p["restarts"]) == 1 and p["crashes"] == [] and p["stopped_cleanly"], p
    assert len(figures["processes"]["runner"]["reconciliations"]) == 2  # the restart reconciled first


def test_redis_came_back_and_the_writes_resumed(figures):
    redis = figures["redis"]
    assert redis["kills"] == 1 and redis["resumed"] == 1 and redis["not_resumed"] == 0


def test_the_verdict_finds_nothing(figures):
    assert violations(figures) == []
