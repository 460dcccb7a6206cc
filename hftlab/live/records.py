"""The live session's own record, in Parquet: fills, order states and the equity curve.

    <state_dir>/records/<table>/part-<session>-NNNNN.parquet      table: fills | orders | equity | latency

Rows are buffered in memory (an append is O(1) on the event loop) and written by `flush()` off the
loop (a thread), every `flush_interval_s` by the runner and at close: a file per flush, so a hard kill
loses at most one interval, and every file is complete (written to a hidden name, then renamed).
Read a table with `read(state_dir, "fills")`. Decimals are written as exact strings.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TABLES = {
    "fills": pa.schema([("ts_ms", pa.int64()), ("inst_id", pa.string()), ("trade_id", pa.string()),
                        ("cl_ord_id", pa.string()), ("ord_id", pa.string()), ("side", pa.string()),
                        ("px", pa.string()), ("sz", pa.string()), ("fee", pa.string()), ("fee_ccy", pa.string()),
                        ("exec_type", pa.string())]),
    "orders": pa.schema([("ts_ns", pa.int64()), ("cl_ord_id", pa.string()), ("ord_id", pa.string()),
                         ("inst_id", pa.string()), ("side", pa.string()), ("ord_type", pa.string()),
                         ("px", pa.string()), ("sz", pa.string()), ("state", pa.string()),
                         ("acc_fill_sz", pa.string()), ("avg_px", pa.string()), ("slot", pa.string())]),
    "equity": pa.schema([("ts_ms", pa.int64()), ("equity", pa.float64()), ("realised", pa.float64()),
                         ("unrealised", pa.float64()), ("fees", pa.float64()), ("funding", pa.float64()),
                         ("high_water", pa.float64()), ("drawdown_pct", pa.float64()), ("state", pa.string())]),
    # tick-to-order per new order: the triggering frame's receive time to the order frame leaving
    "latency": pa.schema([("sent_ns", pa.int64()), ("cl_ord_id", pa.string()), ("inst_id", pa.string()),
                          ("tick_to_order_us", pa.float64())]),
}


class Records:
    def __init__(self, root: Path, session: str | None = None):
        self.root = Path(root)
        self.session = session or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self._rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self._parts = 0
        self.rows_written = 0
        self.files = 0

    def fill(self, f) -> None:
        self._rows["fills"].append({"ts_ms": f.ts_ms, "inst_id": f.inst_id, "trade_id": f.trade_id,
                                    "cl_ord_id": f.cl_ord_id, "ord_id": f.ord_id, "side": f.side.value,
                                    "px": str(f.px), "sz": str(f.sz), "fee": str(f.fee), "fee_ccy": f.fee_ccy,
                                    "exec_type": f.exec_type.value if f.exec_type else ""})

    def order(self, o, ts_ns: int) -> None:
        self._rows["orders"].append({"ts_ns": ts_ns, "cl_ord_id": o.cl_ord_id, "ord_id": o.ord_id or "",
                                     "inst_id": o.inst_id, "side": o.side.value, "ord_type": o.ord_type.value,
                                     "px": "" if o.px is None else str(o.px), "sz": str(o.sz),
                                     "state": o.state.value, "acc_fill_sz": str(o.acc_fill_sz),
                                     "avg_px": str(o.avg_px), "slot": o.slot})

    def equity(self, snap, state: str) -> None:
        self._rows["equity"].append({"ts_ms": snap.ts_ms, "equity": float(snap.equity),
                                     "realised": float(snap.realised), "unrealised": float(snap.unrealised),
                                     "fees": float(snap.fees), "funding": float(snap.funding),
                                     "high_water": float(snap.high_water),
                                     "drawdown_pct": float(snap.drawdown_pct), "state": state})

    def latency(self, cl_ord_id: str, inst_id: str, sent_ns: int, us: float) -> None:
        self._rows["latency"].append({"sent_ns": sent_ns, "cl_ord_id": cl_ord_id, "inst_id": inst_id,
                                      "tick_to_order_us": us})

    @property
    def pending(self) -> int:
        return sum(len(v) for v in self._rows.values())

    async def flush(self) -> None:
        batch, self._rows = self._rows, {t: [] for t in TABLES}
        if any(batch.values()):
            await asyncio.to_thread(self._write, batch)

    def _write(self, batch: dict[str, list[dict]]) -> None:
        self._parts += 1
        for table, rows in batch.items():
            if not rows:
                continue
            d = self.root / table
            d.mkdir(parents=True, exist_ok=True)
            name = f"part-{self.session}-{self._parts:05d}.parquet"
            tmp = d / f".{name}.inprogress"
            pq.write_table(pa.Table.from_pylist(rows, schema=TABLES[table]), tmp)
            os.replace(tmp, d / name)
            self.rows_written += len(rows)
            self.files += 1


def read(root: Path | str, table: str) -> pa.Table:
    """Every finished file of one table (in file-name order: sessions, then parts)."""
    d = Path(root) / table
    files = sorted(p for p in d.glob("part-*.parquet")) if d.is_dir() else []
    if not files:
        return TABLES[table].empty_table()
    return pa.concat_tables(pq.read_table(p, schema=TABLES[table]) for p in files)
