"""The invariants read from the figures: a clean soak has no violation, and each breach is named."""

from __future__ import annotations

import copy

import pytest

from hftlab.soak.verdict import violations

CLEAN = {
    "books": {"invalid_served": 0, "valid_at_end": True},
    "frames_lost": {"unexplained": 0, "trade_duplicates_delivered": 0},
    "faults": {"by_kind": {"gap": {"planned": 2, "took_effect": 2}, "kill_runner": {"planned": 1, "took_effect": 1}}},
    "orders": {"lost": 0, "duplicated": 0, "phantom": 0, "unresolved": 0, "state_mismatches": 0, "fills_lost": 0,
               "fills_phantom": 0, "examples": []},
    "processes": {"runner": {"crashes": [], "stopped_cleanly": True,
                             "last_session": {"duplicate_orders": 0, "open_orders_match_venue": True,
                                              "positions_match_venue": True}},
                  "collector": {"crashes": [], "stopped_cleanly": True}},
    "redis": {"not_resumed": 0},
    "errors": [],
}


def with_(path: str, value):
    doc = copy.deepcopy(CLEAN)
    *keys, last = path.split(".")
    d = doc
    for k in keys:
        d = d[k]
    d[last] = value
    return doc


def test_a_clean_soak_and_no_soak_have_no_violation():
    assert violations(CLEAN) == [] and violations(None) == []


@pytest.mark.parametrize("path, value, needle", [
    ("books.invalid_served", 1, "invalid book"),
    ("books.valid_at_end", False, "not all valid again"),
    ("frames_lost.unexplained", 3, "outside the documented drop policies"),
    ("frames_lost.trade_duplicates_delivered", 1, "duplicate trade"),
    ("faults.by_kind.gap", {"planned": 2, "took_effect": 0}, "fault gap was planned"),
    ("orders.duplicated", 1, "orders: 1 duplicated"),
    ("orders.lost", 2, "orders: 2 lost"),
    ("orders.unresolved", 1, "unresolved"),
    ("processes.collector.crashes", [{"exit_code": 1}], "the collector exited by itself 1 time(s)"),
    ("processes.runner.stopped_cleanly", False, "did not stop cleanly"),
    ("processes.runner.last_session.positions_match_venue", False, "did not end matching the venue"),
    ("redis.not_resumed", 1, "did not resume"),
    ("errors", ["runner exited:\nTraceback"], "error: runner exited:"),
])
def test_each_breach_is_named(path, value, needle):
    found = violations(with_(path, value))
    assert len(found) == 1 and needle in found[0], found


def test_a_load_ramp_whose_first_step_failed_is_a_violation():
    assert violations(None, {"max_sustainable_frames_per_s": None, "limit": "queue drops"}) == [
        "load: not even the first step held (queue drops)"]
    assert violations(None, {"max_sustainable_frames_per_s": 1000.0, "limit": "queue drops"}) == []
