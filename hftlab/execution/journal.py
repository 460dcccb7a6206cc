"""The execution journal: what a restarted process must know, in one SQLite file (WAL mode) under
the state directory. Restart = open the same journal.

It holds the clOrdId epoch of every run (`take_epoch`), every order intent and its last known state
(`orders`), the amends sent (`amends`), the fill ledger (`fills`: positions are rebuilt from it), the
reconciliation cursors (`cursors`: per instrument, the highest trade id of the last COMPLETE fills
read) and the position discrepancies found (`discrepancies`, keyed by venue facts).

**Write-ahead.** An intent row is written and committed BEFORE its request is sent, so a process
killed at any point knows every order that may be in flight; it recovers them as UNKNOWN and lets
venue facts decide. Every write is its own committed transaction (autocommit), done synchronously
on the event loop: a commit must not wait behind other work, and it is cheap enough.

**Durability: `synchronous=NORMAL` by default.** In WAL mode a NORMAL commit is written to the WAL
(the OS page cache) without fsync: it survives the process being killed (kill -9, a crash), not a
power loss or kernel panic, which may lose the last commits. FULL fsyncs the WAL on every commit and
survives both. Measured on this machine (2 shared cores, ext4 on virtio; 2,000 orders, each an
intent insert, a state update and a fill insert through this class): NORMAL median 15-17 µs per
write, p99 83-116 µs; FULL median 183-188 µs, p99 0.47-0.52 ms (a bare-sqlite run: p99 0.93 ms).
The manager's own time from an approved order to the request handed to the venue (checks, clOrdId,
intent commit) was 62 µs mean with NORMAL and 260 µs with FULL. NORMAL is chosen: the manager
journals before every send and on every venue fact, and FULL would put a fsync, up to a millisecond,
in front of each order. What a power loss could lose is recoverable from the venue: open orders
carrying our tag are adopted (or cancelled), fills are re-read from the venue (the cursor is only
ever behind), positions come from the venue. The one thing the venue cannot give back is the
clOrdId epoch, so `take_epoch` commits with FULL regardless of the mode (once per run); and
`next_epoch` also moves with the wall clock, so even a lost epoch is not reused unless the clock
went back too. Choose `full` where power loss without a UPS is a real risk.

Decimals are stored as their exact strings.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from hftlab.core.metrics import Histogram
from hftlab.domain.orders import ExecType, Fill, Order, OrderIntent, OrderState, OrdType, Side, next_epoch
from hftlab.portfolio.positions import Discrepancy

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    cl_ord_id TEXT PRIMARY KEY, origin TEXT NOT NULL, tag TEXT NOT NULL,
    inst_id TEXT NOT NULL, side TEXT NOT NULL, ord_type TEXT NOT NULL, sz TEXT NOT NULL, px TEXT,
    slot TEXT NOT NULL, reduce_only INTEGER NOT NULL, reason TEXT NOT NULL, created_ns INTEGER NOT NULL,
    exp_time_ms INTEGER NOT NULL,
    state TEXT NOT NULL, ord_id TEXT, cur_sz TEXT NOT NULL, cur_px TEXT, acc_fill_sz TEXT NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0, cancel_wanted INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS orders_open ON orders (state);
CREATE TABLE IF NOT EXISTS amends (
    cl_ord_id TEXT NOT NULL, req_id TEXT NOT NULL, new_sz TEXT, new_px TEXT, exp_time_ms INTEGER NOT NULL,
    PRIMARY KEY (cl_ord_id, req_id)
);
CREATE TABLE IF NOT EXISTS fills (
    inst_id TEXT NOT NULL, trade_id TEXT NOT NULL, cl_ord_id TEXT NOT NULL, ord_id TEXT NOT NULL,
    side TEXT NOT NULL, px TEXT NOT NULL, sz TEXT NOT NULL, fee TEXT NOT NULL, fee_ccy TEXT NOT NULL,
    ts_ms INTEGER NOT NULL, exec_type TEXT, PRIMARY KEY (inst_id, trade_id)
);
CREATE TABLE IF NOT EXISTS cursors (inst_id TEXT PRIMARY KEY, trade_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discrepancies (
    inst_id TEXT NOT NULL, venue_ts_ms INTEGER NOT NULL, venue_qty TEXT NOT NULL, local_qty TEXT NOT NULL,
    local_avg_px TEXT NOT NULL, venue_avg_px TEXT, mark_px TEXT NOT NULL, notional TEXT NOT NULL,
    PRIMARY KEY (inst_id, venue_ts_ms, venue_qty)
);
"""


class SyncMode(StrEnum):
    NORMAL = "normal"
    FULL = "full"


class Origin(StrEnum):
    INTENT = "intent"  # an approved order this system sent (journaled before the send)
    ADOPTED = "adopted"  # an order with our tag found at the venue, unknown to the journal


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    cl_ord_id: str
    origin: Origin
    tag: str
    intent: OrderIntent
    exp_time_ms: int  # 0 for an adopted order (it exists: no deadline argument is needed)
    state: OrderState
    ord_id: str | None
    sz: Decimal  # as last known (after applied amends)
    px: Decimal | None
    acked: bool  # the venue accepted it once: it existed
    cancel_wanted: bool


def _d(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


def _s(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


class Journal:
    def __init__(self, path: Path | str, sync: SyncMode | str = SyncMode.NORMAL, *,
                 timing: Histogram | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sync = SyncMode(sync)
        self.timing = timing if timing is not None else Histogram()
        self.writes = 0
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"{self.path}: the journal needs WAL mode, SQLite gave {mode}")
        self._db.execute(f"PRAGMA synchronous={self.sync.value.upper()}")
        self._db.executescript(_SCHEMA)
        version = self._meta("schema")
        if version is None:
            self._write("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif version != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: journal schema {version}, this code reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def _write(self, sql: str, args: tuple = ()) -> int:
        t0 = time.perf_counter_ns()
        n = self._db.execute(sql, args).rowcount
        self.timing.observe((time.perf_counter_ns() - t0) / 1e9)
        self.writes += 1
        return n

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # -- the clOrdId epoch ------------------------------------------------------------------------

    def take_epoch(self, now_s: float) -> int:
        """A new run's epoch, strictly above every epoch taken before, committed durably (FULL) under
        SQLite's write lock, so several processes sharing this journal never share an epoch."""
        db = self._db
        db.execute("PRAGMA synchronous=FULL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                last = self._meta("epoch")
                epoch = next_epoch(now_s, None if last is None else int(last))
                db.execute("INSERT INTO meta VALUES ('epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           (str(epoch),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute(f"PRAGMA synchronous={self.sync.value.upper()}")
        self.writes += 1
        return epoch

    def last_epoch(self) -> int | None:
        v = self._meta("epoch")
        return None if v is None else int(v)

    # -- orders -----------------------------------------------------------------------------------

    def record_intent(self, cl_ord_id: str, intent: OrderIntent, *, origin: Origin, tag: str, exp_time_ms: int,
                      state: OrderState = OrderState.PENDING_SUBMIT) -> bool:
        """The order row, before its request is sent (or when an order is adopted). False when the
        row exists already (an adoption repeated by a later restart)."""
        i = intent
        return self._write(
            "INSERT OR IGNORE INTO orders (cl_ord_id, origin, tag, inst_id, side, ord_type, sz, px, slot, reduce_only,"
            " reason, created_ns, exp_time_ms, state, cur_sz, cur_px, acc_fill_sz)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0')",
            (cl_ord_id, origin.value, tag, i.inst_id, i.side.value, i.ord_type.value, str(i.sz), _s(i.px), i.slot,
             int(i.reduce_only), i.reason, i.created_ns, exp_time_ms, state.value, str(i.sz), _s(i.px)),
        ) == 1

    def record_order(self, order: Order) -> None:
        """The order's last known state (after an answer or a venue fact)."""
        self._write(
            "UPDATE orders SET state = ?, ord_id = ?, cur_sz = ?, cur_px = ?, acc_fill_sz = ?, updated_ms = ?,"
            " acked = acked OR ? WHERE cl_ord_id = ?",
            (order.state.value, order.ord_id, str(order.sz), _s(order.px), str(order.acc_fill_sz), order.updated_ms,
             int(order.acked_ns is not None or order.ord_id is not None), order.cl_ord_id),
        )

    def record_cancel_wanted(self, cl_ord_id: str) -> None:
        self._write("UPDATE orders SET cancel_wanted = 1 WHERE cl_ord_id = ?", (cl_ord_id,))

    def record_amend(self, cl_ord_id: str, req_id: str, new_sz: Decimal | None, new_px: Decimal | None,
                     exp_time_ms: int) -> None:
        self._write("INSERT INTO amends VALUES (?, ?, ?, ?, ?)",
                    (cl_ord_id, req_id, _s(new_sz), _s(new_px), exp_time_ms))

    def unfinished_orders(self) -> list[JournaledOrder]:
        """Every order not known to be terminal, in the order journaled."""
        terminal = tuple(s.value for s in (OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED))
        rows = self._db.execute(
            "SELECT cl_ord_id, origin, tag, inst_id, side, ord_type, sz, px, slot, reduce_only, reason, created_ns,"
            " exp_time_ms, state, ord_id, cur_sz, cur_px, acked, cancel_wanted FROM orders"
            " WHERE state NOT IN (?, ?, ?) ORDER BY rowid", terminal).fetchall()
        out = []
        for (cl, origin, tag, inst, side, ord_type, sz, px, slot, ro, reason, created, exp, state, ord_id, cur_sz,
             cur_px, acked, cancel) in rows:
            intent = OrderIntent(inst, Side(side), Decimal(sz), OrdType(ord_type), _d(px), slot, bool(ro), reason,
                                 created)
            out.append(JournaledOrder(cl, Origin(origin), tag, intent, exp, OrderState(state), ord_id,
                                      Decimal(cur_sz), _d(cur_px), bool(acked), bool(cancel)))
        return out

    def order_states(self) -> dict[str, OrderState]:
        return {cl: OrderState(s) for cl, s in self._db.execute("SELECT cl_ord_id, state FROM orders")}

    # -- fills ------------------------------------------------------------------------------------

    def record_fill(self, f: Fill) -> bool:
        """False when this (inst_id, trade_id) is journaled already."""
        return self._write(
            "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f.inst_id, f.trade_id, f.cl_ord_id, f.ord_id, f.side.value, str(f.px), str(f.sz), str(f.fee), f.fee_ccy,
             f.ts_ms, None if f.exec_type is None else f.exec_type.value),
        ) == 1

    def fills(self) -> Iterator[Fill]:
        """Every journaled fill, in the order first recorded."""
        for inst, tid, cl, oid, side, px, sz, fee, ccy, ts, et in self._db.execute(
                "SELECT * FROM fills ORDER BY rowid"):
            yield Fill(inst, tid, cl, oid, Side(side), Decimal(px), Decimal(sz), Decimal(fee), ccy, ts,
                       None if et is None else ExecType(et))

    # -- reconciliation facts ---------------------------------------------------------------------

    def set_cursor(self, inst_id: str, trade_id: str) -> None:
        self._write("INSERT INTO cursors VALUES (?, ?) ON CONFLICT(inst_id) DO UPDATE SET trade_id = excluded.trade_id",
                    (inst_id, trade_id))

    def cursors(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT inst_id, trade_id FROM cursors"))

    def record_discrepancy(self, d: Discrepancy) -> bool:
        """False when this venue fact (instrument, venue time, venue size) was recorded before."""
        return self._write(
            "INSERT OR IGNORE INTO discrepancies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (d.inst_id, d.ts_ms, str(d.venue_qty), str(d.local_qty), str(d.local_avg_px), _s(d.venue_avg_px),
             str(d.mark_px), str(d.notional)),
        ) == 1

    def discrepancies(self) -> list[Discrepancy]:
        return [Discrepancy(inst, ts, Decimal(lq), Decimal(vq), Decimal(la), _d(va), Decimal(m), Decimal(n))
                for inst, ts, vq, lq, la, va, m, n in self._db.execute("SELECT * FROM discrepancies ORDER BY rowid")]
