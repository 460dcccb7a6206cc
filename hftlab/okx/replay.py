"""Replay recorded OKX frames through the parser and the book engine and report their integrity.

Inputs: a text file with one frame per line (a raw frame, or `{"recv_ts": <unix s>, "msg": <frame>}`),
a Parquet file written by the recorder (columns `recv_ns`, `channel`, `inst_id`, `frame` — the frame
verbatim), or a directory, meaning every such `*.parquet` under it (tables without frames, like the
recorder's normalised events, are skipped) merged in recording order: by the recorder's `seq` where
every file has it (the wall clock `recv_ns` can step back), else by `recv_ns`. Each FILE is
one recording: its books start empty. Per instrument the report counts snapshots, updates, checksums
verified / mismatched / absent (0 or missing), sequence breaks, crossed books, trades, tickers and
errors. Hostile input is counted as the client counts it: a frame the parser refuses, or whose
exchange times are implausible (okx/timestamps.py: ahead of the frame's receive time by more than
`max_ts_ahead_ms` or behind it by more than `max_ts_behind_ms`, older than its stream's newest), is a
malformed frame (`malformed_frames` and `errors` of the `-` row) and reaches no book.
`ReplayReport.failed` is true when any book had a checksum mismatch, a sequence break or a
malformed level (`hftlab replay` then exits 1).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from hftlab.okx.book import BookKeeper
from hftlab.okx.events import BookMsg, ErrorEvent, ParseError, Ticker, Trade
from hftlab.okx.parse import parse_frame
from hftlab.okx.timestamps import MAX_AHEAD_S, MAX_BEHIND_S, TimestampGuard

PARQUET_COLUMNS = ("recv_ns", "frame")
PROGRESS_EVERY_S = 2.0
NO_INSTRUMENT = "-"  # the row for frames that name no instrument (unparseable frames, error events)


class ReplayInputError(Exception):
    """An input file is missing, unreadable or not a recording."""


@dataclass(slots=True)
class InstrumentReport:
    snapshots: int = 0
    updates: int = 0
    seq_checked: int = 0  # updates whose prevSeqId chained to the previous seqId
    checksum_verified: int = 0
    checksum_mismatched: int = 0
    checksum_absent: int = 0
    breaks: int = 0
    malformed: int = 0
    crossed: int = 0
    ignored: int = 0  # updates before the book's first snapshot
    trades: int = 0
    tickers: int = 0
    errors: int = 0  # malformed frames, `event: error` frames, malformed book levels
    malformed_frames: int = 0  # frames refused: unparseable, a bad field, implausible exchange times

    @property
    def failed(self) -> bool:
        return bool(self.checksum_mismatched or self.breaks or self.malformed)


@dataclass(slots=True)
class ReplayReport:
    files: list[str]
    frames: int
    instruments: dict[str, InstrumentReport]

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.instruments.values())

    def totals(self) -> InstrumentReport:
        total = InstrumentReport()
        for r in self.instruments.values():
            for name, value in asdict(r).items():
                setattr(total, name, getattr(total, name) + value)
        return total

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "frames": self.frames,
            "ok": not self.failed,
            "instruments": {k: asdict(v) for k, v in sorted(self.instruments.items())},
            "totals": asdict(self.totals()),
        }


# -- reading recordings -----------------------------------------------------------------------

def frames_of(path: Path) -> Iterator[tuple[str | bytes, int]]:
    """(frame, recv_ns) pairs of one recording, in order. recv_ns is 0 where a file has none."""
    if not path.exists():
        raise ReplayInputError(f"{path}: no such file or directory")
    if path.is_dir():
        # A recorder root also holds normalised event tables (no `frame` column): they are skipped.
        files = [f for f in sorted(path.rglob("*.parquet")) if _has_frames(f)]
        if not files:
            raise ReplayInputError(f"{path}: holds no recorder frame files (*.parquet with columns "
                                   f"{', '.join(PARQUET_COLUMNS)})")
        return _parquet_frames(files)
    if path.suffix == ".parquet":
        if not _has_frames(path):
            raise ReplayInputError(f"{path}: not a recorder frame file: it lacks column(s) "
                                   f"{', '.join(PARQUET_COLUMNS)} (expected recv_ns, channel, inst_id, frame)")
        return _parquet_frames([path])
    return _text_frames(path)


def _has_frames(path: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException) as e:
        raise ReplayInputError(f"{path}: not a readable Parquet file: {e}") from None
    return all(c in names for c in PARQUET_COLUMNS)


def _text_frames(path: Path) -> Iterator[tuple[str | bytes, int]]:
    try:
        f = path.open("rb")
    except OSError as e:
        raise ReplayInputError(f"{path}: cannot read: {e.strerror}") from None
    return _lines(f)


def _lines(f) -> Iterator[tuple[str | bytes, int]]:
    with f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if b'"recv_ts"' in line:
                wrapped = _unwrap(line)
                if wrapped is not None:
                    yield wrapped
                    continue
            yield line, 0


def _unwrap(line: bytes) -> tuple[str | bytes, int] | None:
    """`{"recv_ts": <unix s>, "msg": <frame>}` -> (frame, recv_ns); None if the line is not one."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(doc) is not dict or "msg" not in doc or not isinstance(doc.get("recv_ts"), (int, float)):
        return None
    msg = doc["msg"]
    return (msg if isinstance(msg, str) else orjson.dumps(msg)), int(doc["recv_ts"] * 1e9)


def _parquet_frames(files: list[Path]) -> Iterator[tuple[str | bytes, int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(f, columns=[*PARQUET_COLUMNS, *(["seq"] if "seq" in pq.read_schema(f).names else [])])
                  for f in files]
        table = pa.concat_tables(tables, promote_options="permissive")
        ordered = "seq" in table.column_names and table.column("seq").null_count == 0
        table = table.sort_by("seq" if ordered else "recv_ns")
    except (OSError, pa.ArrowException) as e:
        raise ReplayInputError(f"cannot read the recorder's Parquet files: {e}") from None

    def rows() -> Iterator[tuple[str | bytes, int]]:
        for batch in table.to_batches():
            yield from zip(batch.column(1).to_pylist(), batch.column(0).to_pylist())

    return rows()


# -- replaying --------------------------------------------------------------------------------

_FROM_BOOK_STATS = ("snapshots", "updates", "seq_checked", "checksum_verified", "checksum_mismatched",
                    "checksum_absent", "breaks", "malformed", "crossed", "ignored")


def replay(paths: list[Path], progress=None, max_ts_ahead_ms: int | None = int(MAX_AHEAD_S * 1000),
           max_ts_behind_ms: int | None = int(MAX_BEHIND_S * 1000)) -> ReplayReport:
    """Replay each recording with fresh books; `progress(frames, elapsed_s)` is called every few
    seconds. A bound None: exchange times are not checked against receive times that way (a
    recording of a simulator faster than real time, or replaying an old recording). Raises
    ReplayInputError for an unreadable input (checked before replaying anything) or one that holds
    no frames."""
    sources = [(p, frames_of(p)) for p in paths]
    instruments: dict[str, InstrumentReport] = defaultdict(InstrumentReport)
    frames = 0
    t0 = next_report = time.monotonic()
    for path, source in sources:
        keeper = BookKeeper()
        stamps = TimestampGuard(max_ts_ahead_ms, max_ts_behind_ms)
        first = frames
        for raw, recv_ns in source:
            frames += 1
            if progress is not None and not frames & 0xFFF:
                now = time.monotonic()
                if now >= next_report:
                    progress(frames, now - t0)
                    next_report = now + PROGRESS_EVERY_S
            events = parse_frame(raw, recv_ns)
            if type(events[0]) is ParseError or stamps.check(events, recv_ns) is not None:
                bad = instruments[NO_INSTRUMENT]
                bad.malformed_frames += 1
                bad.errors += 1
                continue
            for e in events:
                kind = type(e)
                if kind is BookMsg:
                    keeper.apply(e)
                elif kind is Trade:
                    instruments[e.inst_id].trades += 1
                elif kind is Ticker:
                    instruments[e.inst_id].tickers += 1
                elif kind is ErrorEvent:
                    instruments[NO_INSTRUMENT].errors += 1
        if frames == first:
            raise ReplayInputError(f"{path}: holds no frames")
        for (_channel, inst_id), book in keeper.books.items():
            r, s = instruments[inst_id], book.stats
            for name in _FROM_BOOK_STATS:
                setattr(r, name, getattr(r, name) + getattr(s, name))
            r.errors += s.malformed
    return ReplayReport([str(p) for p in paths], frames, dict(instruments))


_COLUMNS = (
    ("snapshots", "snapshots"), ("updates", "updates"), ("seq_checked", "seq-chained"),
    ("checksum_verified", "verified"),
    ("checksum_mismatched", "mismatched"), ("checksum_absent", "absent(0)"), ("breaks", "breaks"),
    ("crossed", "crossed"), ("trades", "trades"), ("tickers", "tickers"), ("errors", "errors"),
)


def format_table(report: ReplayReport) -> str:
    rows = [(inst, asdict(r)) for inst, r in sorted(report.instruments.items())]
    rows.append(("TOTAL", asdict(report.totals())))
    width = max([len("instrument")] + [len(inst) for inst, _ in rows])
    widths = [max(len(title), 7) for _, title in _COLUMNS]
    lines = ["  ".join([f"{'instrument':<{width}}"] + [f"{t:>{w}}" for (_, t), w in zip(_COLUMNS, widths)])]
    for inst, r in rows:
        lines.append("  ".join([f"{inst:<{width}}"] + [f"{r[k]:>{w},}" for (k, _), w in zip(_COLUMNS, widths)]))
    total = report.totals()
    if report.failed:
        bad = sorted(i for i, r in report.instruments.items() if r.failed)
        verdict = (f"FAIL: {total.checksum_mismatched} checksum mismatch(es), {total.breaks} sequence break(s), "
                   f"{total.malformed} malformed update(s) in {', '.join(bad)}")
    else:
        verdict = (f"OK: {report.frames:,} frames; every non-zero checksum verified ({total.checksum_verified:,}); "
                   f"{total.seq_checked:,} update(s) chained by seqId, no sequence break")
    if total.ignored:
        verdict += f"; {total.ignored:,} update(s) before their book's first snapshot ignored"
    return "\n".join(lines + [verdict])

