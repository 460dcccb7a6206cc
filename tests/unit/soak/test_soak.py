"""The soak's pure parts: memory growth per simulated hour, and the simulator's fault log read as soak kinds."""

from __future__ import annotations

import pytest

from hftlab.sim.faults import FaultRecord
from hftlab.soak.plan import FaultKind
from hftlab.soak.soak import _hit, growth_per_sim_hour, sim_kind


def test_growth_is_the_slope_past_the_warm_up():
    start = [(h / 100, 500_000_000 - h * 1_000_000) for h in range(10)]  # start-up: not growth
    steady = [(0.1 + h / 10, 100_000_000 + int(h / 10 * 8_000_000)) for h in range(40)]
    assert growth_per_sim_hour(start + steady) == pytest.approx(8_000_000, rel=1e-3)


def test_no_growth_figure_for_a_short_incarnation():
    assert growth_per_sim_hour([(h / 1000, 1) for h in range(100)]) is None  # 0.1 simulated hours
    assert growth_per_sim_hour([(0.0, 1), (1.0, 2)]) is None  # too few samples


@pytest.mark.parametrize("rec, kind", [
    (FaultRecord(0, "drop", {"role": "public", "conn_ids": ["a"]}), FaultKind.DROP),
    (FaultRecord(0, "drop", {"role": "private", "conn_ids": ["a"]}), FaultKind.PRIVATE_LOSS),
    (FaultRecord(0, "skip_seq", {}), FaultKind.GAP),
    (FaultRecord(0, "drop_ack", {}), FaultKind.LOST_ACK),
    (FaultRecord(0, "answer_50004", {}), FaultKind.ACK_50004),
    (FaultRecord(0, "delay_acks", {}), None),
])
def test_the_simulator_s_log_in_soak_kinds(rec, kind):
    assert sim_kind(rec) is kind


def test_a_socket_fault_that_found_no_socket_did_not_take_effect():
    assert not _hit(FaultRecord(0, "drop", {"role": "private", "conn_ids": []}))
    assert _hit(FaultRecord(0, "notice", {"conn_ids": ["c"]})) and _hit(FaultRecord(0, "skip_seq", {}))
