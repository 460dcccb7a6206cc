"""Parquet recorder: raw frames and normalised events, partitioned, rotated, flushed off the event loop.

Layout under `root` (Hive-style partitions; read them with `read_table`, or pyarrow.dataset with
`partitioning="hive"` — the partition columns are also stored in the files, which plain
`pq.read_table(dir)` refuses to merge):

    raw/channel=books/inst_id=BTC-USDT/date=2026-11-23/part-00000.parquet
    events/trade/inst_id=BTC-USDT/date=2026-11-23/part-00000.parquet
    events/{ticker,book,candle,bar,private,parse_error}/inst_id=.../date=.../part-NNNNN.parquet

The raw table is the replay contract (`hftlab replay` reads it): `recv_ns` int64 (local receive
time, `time.time_ns()` stamped before parsing), `channel` string, `inst_id` string, `frame` string
(the frame exactly as received). Control frames (acks, errors, notices) go under `channel=_control`.
`date` is the UTC date of `recv_ns` (of `ts_ms` for bars, which have no receive time), so a frame and
its events share a partition.

Durability: `add_*` only appends to an in-memory buffer (O(1), never blocks the loop). Every
`flush_interval_s` (and when a buffer passes `max_buffer_rows`) the buffers are swapped out and
written as row groups by one writer thread (one thread keeps the row order). A file is written as
`.part-NNNNN.parquet.inprogress` — hidden from readers, which skip names starting with `.` — and
renamed to `part-NNNNN.parquet` with its footer when it reaches `rotate_rows` rows, when it is
`rotate_s` old, and on `close()`. So a clean stop (SIGTERM, Ctrl-C, end of run) loses nothing; a
hard kill (SIGKILL, power loss) loses the files still in progress, i.e. at most `rotate_s` of data.

Failures stay local: a partition whose rows cannot be converted or written loses those rows
(`rows_lost`, `write_errors`, logged) and every other partition is written; the flush loop is
supervised (`core.tasks`: restarted if it fails anyway); and `close()` always finishes and publishes
every file, whatever failed before.

Order: every raw row carries `seq`, its position in the recording (a counter of this recorder, after
the highest `seq` of the raw files already in `root`), so a reader restores the receive order even
where `recv_ns`, the wall clock, stepped back (an NTP correction). Files written before `seq` existed
are ordered by `recv_ns`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hftlab.core.metrics import Stats
from hftlab.core.tasks import OnFailure, Supervisor
from hftlab.domain.market import Bar
from hftlab.okx.channels import arg_key
from hftlab.okx.events import BookMsg, Candle, ParseError, PrivatePush, Ticker, Trade

log = logging.getLogger(__name__)

RAW_SCHEMA = pa.schema([
    ("recv_ns", pa.int64()), ("channel", pa.string()), ("inst_id", pa.string()), ("frame", pa.string()),
    ("seq", pa.int64()),
])
CONTROL = "_control"  # raw partition of acks, errors, notices, login answers
NO_INSTRUMENT = "_"

_LEVELS = pa.list_(pa.list_(pa.string()))
# dataclass annotation (a string: events.py uses postponed annotations) -> (arrow type, JSON-encode?)
_ARROW_TYPES: dict[str, tuple[pa.DataType, bool]] = {
    "str": (pa.string(), False), "str | None": (pa.string(), False),
    "int": (pa.int64(), False), "int | None": (pa.int64(), False),
    "float": (pa.float64(), False), "bool": (pa.bool_(), False),
    "list[Level]": (_LEVELS, False),
    "dict[str, str]": (pa.string(), True), "dict[str, Any]": (pa.string(), True),
    "list[dict[str, Any]]": (pa.string(), True),
}
EVENT_TYPES: dict[type, str] = {
    Trade: "trade", Ticker: "ticker", BookMsg: "book", Candle: "candle", Bar: "bar",
    PrivatePush: "private", ParseError: "parse_error",
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Table:
    schema: pa.Schema
    names: tuple[str, ...]
    json_cols: frozenset[str]


def _table_for(cls: type) -> _Table:
    cols, json_cols = [], set()
    for f in dataclasses.fields(cls):
        arrow, as_json = _ARROW_TYPES[f.type]
        cols.append((f.name, arrow))
        if as_json:
            json_cols.add(f.name)
    if cls is PrivatePush:  # partition key, so that the column exists in the files like elsewhere
        cols.append(("inst_id", pa.string()))
    return _Table(pa.schema(cols), tuple(n for n, _ in cols), frozenset(json_cols))


EVENT_TABLES: dict[str, _Table] = {name: _table_for(cls) for cls, name in EVENT_TYPES.items()}


def event_schema(name: str) -> pa.Schema:
    return EVENT_TABLES[name].schema


_DAY_NS = 86_400 * 1_000_000_000
_day_cache: dict[int, str] = {}


def _date(ns: int) -> str:
    day = ns // _DAY_NS
    s = _day_cache.get(day)
    if s is None:
        s = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
        _day_cache[day] = s
    return s


def _inst_of(ev: Any) -> str:
    if isinstance(ev, PrivatePush):
        return arg_key(ev.arg)[1] or NO_INSTRUMENT
    return getattr(ev, "inst_id", None) or NO_INSTRUMENT


_PART = re.compile(r"^part-(\d{5,})\.parquet$")


class _PartitionFile:
    """The file being written for one partition directory."""

    def __init__(self, directory: Path, schema: pa.Schema):
        self.directory = directory
        self.schema = schema
        directory.mkdir(parents=True, exist_ok=True)
        taken = [int(m.group(1)) for p in directory.iterdir() if (m := _PART.match(p.name))]
        self.number = max(taken, default=-1) + 1
        self.final = directory / f"part-{self.number:05d}.parquet"
        self.tmp = directory / f".{self.final.name}.inprogress"
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
        self.rows = 0
        self.opened = time.monotonic()

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> Path:
        self.writer.close()
        os.replace(self.tmp, self.final)
        return self.final


@dataclasses.dataclass(slots=True)
class RecorderStats(Stats):
    raw_rows: int = 0
    event_rows: int = 0
    files_closed: int = 0
    flushes: int = 0
    pending: int = 0
    write_errors: int = 0
    last_flush_s: float = 0.0
    rows_lost: int = 0  # buffered rows that could not be converted or written
    task_failures: Counter = dataclasses.field(default_factory=Counter)  # task kind -> failures (core.tasks)


class Recorder:
    def __init__(
        self,
        root: Path | str,
        *,
        record_raw: bool = True,
        flush_interval_s: float = 5.0,
        rotate_rows: int = 500_000,
        rotate_s: float = 300.0,
        max_buffer_rows: int = 50_000,
    ):
        self.root = Path(root)
        self.record_raw = record_raw
        self.flush_interval_s = flush_interval_s
        self.rotate_rows = rotate_rows
        self.rotate_s = rotate_s
        self.max_buffer_rows = max_buffer_rows
        self.stats = RecorderStats()
        self._raw: defaultdict[tuple[str, str, str], list[tuple]] = defaultdict(list)
        self._events: defaultdict[tuple[str, str, str], list] = defaultdict(list)
        self._buffered = 0
        self._files: dict[Path, _PartitionFile] = {}  # touched only by the writer thread
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks = Supervisor("recorder", self.stats.task_failures)
        self._started = False
        self._closed = False
        self._seq = -1  # of the last raw row buffered

    # ----- buffering: called on the event loop, O(1) -----------------------------------------
    def add_raw(self, recv_ns: int, channel: str, inst_id: str, frame: str | bytes) -> None:
        if not self.record_raw:
            return
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", "replace")
        self._seq += 1
        inst = inst_id or NO_INSTRUMENT
        self._raw[(channel, inst, _date(recv_ns))].append((recv_ns, channel, inst, frame, self._seq))
        self._count()

    def add_event(self, ev: Any) -> None:
        name = EVENT_TYPES.get(type(ev))
        if name is None:
            raise TypeError(f"the recorder stores {sorted(EVENT_TABLES)} events, not {type(ev).__name__}")
        ns = ev.ts_ms * 1_000_000 if name == "bar" else ev.recv_ns
        self._events[(name, _inst_of(ev), _date(ns))].append(ev)
        self._count()

    def _count(self) -> None:
        self._buffered += 1
        if self._buffered >= self.max_buffer_rows:
            self._wake.set()

    @property
    def pending(self) -> int:
        return self._buffered

    # ----- lifecycle -------------------------------------------------------------------------
    async def start(self) -> Recorder:
        if not self._started:
            self._started = True
            self.root.mkdir(parents=True, exist_ok=True)
            self._seq = max(self._seq, last_seq(self.root))
            self._tasks.spawn(self._run, "flush", OnFailure.RESTART)
        return self

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self, finish: bool = False) -> None:
        """Write everything buffered so far; `finish=True` also closes (and publishes) every file."""
        async with self._lock:
            raw, self._raw = self._raw, defaultdict(list)
            events, self._events = self._events, defaultdict(list)
            self._buffered = 0
            t0 = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(self._executor, self._write, raw, events, finish)
            self.stats.flushes += 1
            self.stats.last_flush_s = time.monotonic() - t0
            self.stats.pending = self._buffered

    async def close(self) -> None:
        """Write what is buffered and finish every file, whatever failed before (each step runs even
        if the one before it raised)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._tasks.close()
            await self.flush(finish=True)
        finally:
            self._executor.shutdown(wait=True)

    async def __aenter__(self) -> Recorder:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ----- the writer thread -----------------------------------------------------------------
    def _write(self, raw: dict, events: dict, finish: bool) -> None:
        for (channel, inst_id, date), rows in raw.items():
            d = self.root / "raw" / f"channel={channel}" / f"inst_id={inst_id}" / f"date={date}"
            table = self._converted(d, len(rows), _raw_table, rows)
            if table is not None and self._append(d, table):
                self.stats.raw_rows += table.num_rows
        for (name, inst_id, date), evs in events.items():
            d = self.root / "events" / name / f"inst_id={inst_id}" / f"date={date}"
            table = self._converted(d, len(evs), _events_table, name, evs)
            if table is not None and self._append(d, table):
                self.stats.event_rows += table.num_rows
        now = time.monotonic()
        for d, f in list(self._files.items()):
            if finish or f.rows >= self.rotate_rows or now - f.opened >= self.rotate_s:
                self._close_file(d, f)

    def _converted(self, directory: Path, n: int, convert, *args) -> pa.Table | None:
        """`convert(*args)`, or None (logged, counted) when the rows cannot become a table: values
        Arrow refuses (an int past int64, a wrong type) lose their partition's batch, nothing else."""
        try:
            return convert(*args)
        except Exception as e:
            self.stats.write_errors += 1
            self.stats.rows_lost += n
            log.error("recorder: cannot convert %d rows for %s: %s: %s", n, directory, type(e).__name__, e)
            return None

    def _append(self, directory: Path, table: pa.Table) -> bool:
        try:
            f = self._files.get(directory)
            if f is None:
                f = self._files[directory] = _PartitionFile(directory, table.schema)
            f.write(table)
            return True
        except (OSError, pa.ArrowException) as e:
            self.stats.write_errors += 1
            self.stats.rows_lost += table.num_rows
            log.error("recorder: cannot write %d rows to %s: %s", table.num_rows, directory, e)
            return False

    def _close_file(self, directory: Path, f: _PartitionFile) -> None:
        del self._files[directory]
        try:
            f.close()
            self.stats.files_closed += 1
        except (OSError, pa.ArrowException) as e:
            self.stats.write_errors += 1
            log.error("recorder: cannot close %s: %s", f.tmp, e)


def _raw_table(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, RAW_SCHEMA, strict=True)],
                                schema=RAW_SCHEMA)


def _events_table(name: str, evs: list) -> pa.Table:
    spec = EVENT_TABLES[name]
    cols: list[pa.Array] = []
    for field_ in spec.schema:
        n = field_.name
        if n == "inst_id" and name == "private":
            values = [_inst_of(e) for e in evs]
        else:
            values = [getattr(e, n) for e in evs]
        if n in spec.json_cols:
            values = [orjson.dumps(v).decode() for v in values]
        cols.append(pa.array(values, type=field_.type))
    return pa.Table.from_arrays(cols, schema=spec.schema)


# ----- reading ----------------------------------------------------------------------------------
def _files(base: Path, filters: dict[str, str | None]) -> list[Path]:
    out = []
    for p in sorted(base.rglob("part-*.parquet")):
        parts = dict(seg.split("=", 1) for seg in p.relative_to(base).parts[:-1] if "=" in seg)
        if all(v is None or parts.get(k) == v for k, v in filters.items()):
            out.append(p)
    return out


def last_seq(root: Path | str) -> int:
    """The highest `seq` of the finished raw files under `root` (-1: none), from the files' footers."""
    best = -1
    base = Path(root) / "raw"
    for p in _files(base, {}) if base.is_dir() else []:
        try:
            meta = pq.read_metadata(p)
        except (OSError, pa.ArrowException) as e:
            log.warning("recorder: %s is unreadable (%s); its seq is not continued", p, e)
            continue
        names = meta.schema.names
        if "seq" not in names:
            continue
        col = names.index("seq")
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(col).statistics
            if st is not None and st.has_min_max:
                best = max(best, st.max)
    return best


def read_table(root: Path | str, kind: str = "raw", *, channel: str | None = None, inst_id: str | None = None,
               date: str | None = None) -> pa.Table:
    """Rows of `raw` or an event table (`trade`, `book`, `bar`, ...) in receive order (stable: rows of
    one frame keep their order; raw rows in recording order, `seq`, where every file has it). Only
    finished files are read."""
    root = Path(root)
    if kind == "raw":
        base, schema, key = root / "raw", RAW_SCHEMA, "recv_ns"
        filters = {"channel": channel, "inst_id": inst_id, "date": date}
    elif kind in EVENT_TABLES:
        base, schema = root / "events" / kind, EVENT_TABLES[kind].schema
        key = "ts_ms" if kind == "bar" else "recv_ns"
        filters = {"inst_id": inst_id, "date": date}
    else:
        raise ValueError(f"unknown table {kind!r}; one of raw, {', '.join(EVENT_TABLES)}")
    files = _files(base, filters) if base.is_dir() else []
    if not files:
        return schema.empty_table()
    table = pa.concat_tables((pq.read_table(p) for p in files), promote_options="permissive")
    if kind != "raw" and channel is not None and "channel" in table.column_names:
        table = table.filter(pc.equal(table.column("channel"), channel))
    if kind == "raw" and "seq" in table.column_names and table.column("seq").null_count == 0:
        key = "seq"
    return table.sort_by(key)
