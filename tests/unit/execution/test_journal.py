"""The journal: WAL mode, write-ahead intent rows, epochs strictly increasing and durable, the fill
ledger in its order, cursors, discrepancies keyed by venue facts, and rows that survive kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from hftlab.domain.orders import Fill, Order, OrderIntent, OrderState, OrderStats, OrdType, Side
from hftlab.execution.journal import Journal, Origin, SyncMode
from hftlab.portfolio.positions import Discrepancy

D = Decimal
REPO = Path(__file__).resolve().parents[3]


def intent(slot="s", sz="1", px="100"):
    return OrderIntent("BTC-USDT", Side.BUY, D(sz), OrdType.LIMIT, D(px), slot, reason="r", created_ns=5)


def fill(tid, cl="1", sz="1"):
    return Fill("BTC-USDT", tid, cl, "9", Side.BUY, D(100), D(sz), D("-0.01"), "USDT", 1)


def test_wal_mode_and_sync_mode(tmp_path):
    for mode, level in ((SyncMode.NORMAL, 1), (SyncMode.FULL, 2)):
        j = Journal(tmp_path / f"{mode}.sqlite", mode)
        assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j._db.execute("PRAGMA synchronous").fetchone()[0] == level
        j.close()


def test_epochs_increase_strictly_across_opens_even_in_one_second(tmp_path):
    p = tmp_path / "j.sqlite"
    seen = []
    for _ in range(3):
        j = Journal(p)
        seen.append(j.take_epoch(1_800_000_000))
        j.close()
    assert seen == sorted(set(seen)) and len(seen) == 3
    j = Journal(p)
    assert j.take_epoch(1_700_000_000) == seen[-1] + 1  # the clock went back: still above
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # FULL only for the epoch
    j.close()


def test_two_journals_on_one_file_never_share_an_epoch(tmp_path):
    p = tmp_path / "j.sqlite"
    a, b = Journal(p), Journal(p)
    epochs = [a.take_epoch(1_800_000_000), b.take_epoch(1_800_000_000), a.take_epoch(1_800_000_000)]
    assert len(set(epochs)) == 3
    a.close()
    b.close()


def test_intent_state_and_recovery_round_trip(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    stats = OrderStats()
    assert j.record_intent("1", intent("a"), origin=Origin.INTENT, tag="t", exp_time_ms=77)
    assert not j.record_intent("1", intent("a"), origin=Origin.INTENT, tag="t", exp_time_ms=77)
    j.record_intent("2", intent("b"), origin=Origin.INTENT, tag="t", exp_time_ms=78)
    j.record_intent("3", intent("c"), origin=Origin.ADOPTED, tag="t", exp_time_ms=0, state=OrderState.UNKNOWN)
    o = Order.recovered(intent("a"), "1", "x", stats=stats)
    o.acked("9", 1)
    o.amend_requested("r", new_sz=D(3))
    j.record_order(o)
    j.record_cancel_wanted("1")
    j.record_amend("1", "r", D(3), None, 99)
    done = Order.recovered(intent("b"), "2", "x", stats=stats)
    done.refused("nope")
    j.record_order(done)
    j.close()
    j = Journal(tmp_path / "j.sqlite")
    rows = {r.cl_ord_id: r for r in j.unfinished_orders()}
    assert set(rows) == {"1", "3"}
    r = rows["1"]
    assert (r.state, r.ord_id, r.acked, r.cancel_wanted, r.exp_time_ms, r.origin) == (
        OrderState.LIVE, "9", True, True, 77, Origin.INTENT)
    assert r.intent == intent("a")
    assert rows["3"].origin is Origin.ADOPTED and not rows["3"].acked
    assert j.order_states() == {"1": OrderState.LIVE, "2": OrderState.REJECTED, "3": OrderState.UNKNOWN}


def test_fills_once_in_order_cursors_and_discrepancies(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    for tid in ("30", "10", "20"):
        assert j.record_fill(fill(tid))
    assert not j.record_fill(fill("10"))
    assert [f.trade_id for f in j.fills()] == ["30", "10", "20"]
    assert list(j.fills())[0] == fill("30")
    j.set_cursor("BTC-USDT", "20")
    j.set_cursor("BTC-USDT", "30")
    assert j.cursors() == {"BTC-USDT": "30"}
    d = Discrepancy("BTC-USDT-SWAP", 5, D(2), D(0), D(100), None, D(90), D(-18))
    assert j.record_discrepancy(d) and not j.record_discrepancy(d)
    assert j.discrepancies() == [d]


def test_a_journal_of_another_schema_is_refused(tmp_path):
    p = tmp_path / "j.sqlite"
    Journal(p).close()
    db = sqlite3.connect(p)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="schema"):
        Journal(p)


def test_writes_are_timed(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.record_intent("1", intent(), origin=Origin.INTENT, tag="t", exp_time_ms=1)
    j.record_fill(fill("1"))
    assert j.timing.count == j.writes == 3  # the schema row, the intent, the fill
    j.take_epoch(1_800_000_000)  # counted, not timed: a FULL commit would skew the write histogram
    assert (j.timing.count, j.writes) == (3, 4)
    assert 0 < j.timing.sum < 1
    j.close()


_WRITER = """
import sys
from decimal import Decimal
from hftlab.domain.orders import OrderIntent, OrdType, Side
from hftlab.execution.journal import Journal, Origin
j = Journal(sys.argv[1])
for i in range(200):
    j.record_intent(str(i + 1), OrderIntent("BTC-USDT", Side.BUY, Decimal(1), OrdType.LIMIT, Decimal(100), f"s{i}"),
                    origin=Origin.INTENT, tag="t", exp_time_ms=i)
print("written", flush=True)
sys.stdin.read()  # wait to be killed, connection open, nothing closed or checkpointed
"""


def test_committed_rows_survive_kill_9_with_normal_sync(tmp_path):
    p = tmp_path / "j.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(p)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    j = Journal(p)
    assert len(j.unfinished_orders()) == 200
    j.close()
