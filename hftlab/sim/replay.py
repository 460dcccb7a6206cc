"""Replay: serve recorded OKX frames or candles to subscribers of the matching channel and instId.

Sources (format by file name):
  *.jsonl / *.json (optionally .gz)  one frame a line, either the raw frame as received (timed by
                                     its data[0].ts) or {"recv_ts": unix s, "msg": frame}
  *.parquet                          the recorder's table: recv_ns int64, channel, inst_id, frame (and seq,
                                     the recording order, which the replay keeps)
  <INST>_<BAR>_*.csv[.gz]            candles ts_ms,date,open,high,low,close,volume -> candle<BAR>
                                     pushes (confirm "1" at each bar's close) and REST candles
Each source starts when the replay starts and keeps its own spacing, scaled by `speed`; control
frames in recordings (subscribe acks ...) are skipped. A subscriber joining mid-stream gets a
snapshot rebuilt from the book replayed so far (books channels) or the last frame (the others).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import heapq
import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from hftlab.okx.checksum import okx_checksum

log = logging.getLogger("hftlab.sim.replay")

INCREMENTAL_BOOKS = ("books", "books-l2-tbt", "books50-l2-tbt", "books-elp")
BAR_MS = {"1s": 1000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
          "1H": 3_600_000, "2H": 7_200_000, "4H": 14_400_000}
_CANDLE_NAME = re.compile(r"^(?P<inst>[A-Z0-9]+-[A-Z0-9]+(?:-SWAP)?)_(?P<bar>\d+[smHD])_")


class ReplayError(ValueError):
    pass


@dataclass(slots=True)
class ReplayFrame:
    t_ms: float  # source time
    channel: str
    inst_id: str
    payload: bytes


@dataclass(slots=True)
class CandleSeries:
    inst_id: str
    bar: str
    rows: list[list[str]]  # oldest first: [ts, o, h, l, c, vol, volCcy, volCcyQuote, "1"]


@dataclass(slots=True)
class ReplaySource:
    path: Path
    frames: list[ReplayFrame] = field(default_factory=list)
    candles: CandleSeries | None = None

    @property
    def t0(self) -> float:
        return self.frames[0].t_ms if self.frames else 0.0


def _open_text(path: Path) -> io.TextIOBase:
    return gzip.open(path, "rt") if path.suffix == ".gz" else path.open()


def _frame_ts(frame: dict) -> float | None:
    data = frame.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and "ts" in data[0]:
        try:
            return float(data[0]["ts"])
        except (TypeError, ValueError):
            return None
    return None


def _push(frame: object) -> tuple[str, str] | None:
    """(channel, instId) of a data push; None for control frames and anything else."""
    if not isinstance(frame, dict) or "data" not in frame or not isinstance(frame.get("arg"), dict):
        return None
    arg = frame["arg"]
    if not isinstance(arg.get("channel"), str) or not isinstance(arg.get("instId"), str):
        return None
    return arg["channel"], arg["instId"]


def load_jsonl(path: Path) -> ReplaySource:
    src = ReplaySource(path)
    last_t = 0.0
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                log.warning("%s:%d: not JSON, skipped", path, lineno)
                continue
            if isinstance(doc, dict) and "msg" in doc and "recv_ts" in doc:
                frame = doc["msg"]
                if isinstance(frame, str):
                    try:
                        frame = orjson.loads(frame)
                    except orjson.JSONDecodeError:
                        continue
                t = float(doc["recv_ts"]) * 1000.0
                payload = orjson.dumps(frame)
            else:
                frame, payload = doc, line.encode()
                t = _frame_ts(frame) or last_t
            key = _push(frame)
            if key is None:
                continue
            last_t = max(last_t, t)
            src.frames.append(ReplayFrame(t, key[0], key[1], payload))
    src.frames.sort(key=lambda f: f.t_ms)  # stable: equal times keep file order
    return src


def load_parquet(path: Path) -> ReplaySource:
    import pyarrow.parquet as pq

    try:
        ordered = "seq" in pq.read_schema(path).names
        table = pq.read_table(path, columns=["recv_ns", "channel", "inst_id", "frame", *(["seq"] if ordered else [])])
    except (OSError, ValueError, KeyError) as e:
        raise ReplayError(f"{path}: not a recorder Parquet file (recv_ns, channel, inst_id, frame): {e}") from None
    if ordered:  # the recording's order; its wall clock (recv_ns) may have stepped back
        table = table.sort_by("seq")
    src = ReplaySource(path)
    cols = table.to_pydict()
    last_t = float("-inf")
    for ns, channel, inst_id, frame in zip(cols["recv_ns"], cols["channel"], cols["inst_id"], cols["frame"]):
        if not channel or channel.startswith("_") or not inst_id or not frame or ns is None:
            continue  # `_control` and `_malformed`: the recorder's, never a push to serve
        payload = frame.encode() if isinstance(frame, str) else bytes(frame)
        if b'"data"' not in payload:
            continue  # acks and other control frames
        last_t = max(last_t, ns / 1e6) if ordered else ns / 1e6
        src.frames.append(ReplayFrame(last_t, channel, inst_id, payload))
    if not ordered:
        src.frames.sort(key=lambda f: f.t_ms)
    return src


def load_candles(path: Path) -> ReplaySource:
    m = _CANDLE_NAME.match(path.name)
    if not m or m["bar"] not in BAR_MS:
        raise ReplayError(f"{path}: candle files are named <INSTID>_<BAR>_..., e.g. BTC-USDT-SWAP_1m_2026.csv "
                          f"(bars: {', '.join(BAR_MS)})")
    inst_id, bar = m["inst"], m["bar"]
    bar_ms = BAR_MS[bar]
    rows: list[list[str]] = []
    with _open_text(path) as fh:
        reader = csv.DictReader(fh)
        need = {"ts_ms", "open", "high", "low", "close", "volume"}
        if not need <= set(reader.fieldnames or ()):
            raise ReplayError(f"{path}: candle CSV needs columns {sorted(need)}, has {reader.fieldnames}")
        for r in reader:
            vol = r["volume"]
            quote = f"{float(vol) * float(r['close']):.8f}".rstrip("0").rstrip(".")
            rows.append([r["ts_ms"], r["open"], r["high"], r["low"], r["close"], vol, vol, quote, "1"])
    rows.sort(key=lambda row: int(row[0]))
    channel = f"candle{bar}"
    src = ReplaySource(path, candles=CandleSeries(inst_id, bar, rows))
    src.frames = [
        ReplayFrame(float(int(row[0]) + bar_ms), channel, inst_id,
                    orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [row]}))
        for row in rows
    ]
    return src


def load_source(path: Path | str) -> ReplaySource:
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"replay file not found: {path}")
    name = path.name.lower()
    if name.endswith(".parquet"):
        return load_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        return load_candles(path)
    if name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")):
        return load_jsonl(path)
    raise ReplayError(f"{path}: unknown replay format (use .jsonl, .parquet, or <INST>_<BAR>_*.csv)")


class ReplayBook:
    """An incremental book rebuilt from replayed frames, to give late subscribers a snapshot."""

    def __init__(self) -> None:
        self.bids: dict[str, list] = {}
        self.asks: dict[str, list] = {}
        self.last: dict = {}

    def apply(self, frame: dict) -> None:
        data = frame["data"][0]
        if frame.get("action") == "snapshot" or data.get("prevSeqId") == -1:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, data.get("bids", ())), (self.asks, data.get("asks", ()))):
            for lvl in levels:
                if lvl[1] == "0" or float(lvl[1]) == 0:
                    side.pop(lvl[0], None)
                else:
                    side[lvl[0]] = lvl
        self.last = data

    def snapshot(self, channel: str, inst_id: str) -> bytes:
        bids = sorted(self.bids.values(), key=lambda lvl: -float(lvl[0]))
        asks = sorted(self.asks.values(), key=lambda lvl: float(lvl[0]))
        data: dict = {"asks": asks, "bids": bids, "ts": self.last.get("ts", "0")}
        if "checksum" in self.last:
            data["checksum"] = okx_checksum(bids, asks) if self.last["checksum"] else 0
        if "seqId" in self.last:
            data["prevSeqId"] = -1
            data["seqId"] = self.last["seqId"]
        return orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "action": "snapshot", "data": [data]})


class Replayer:
    def __init__(self, sources: list[ReplaySource], hub, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.sources = sources
        self.hub = hub
        self.speed = speed
        self.keys = {(f.channel, f.inst_id) for s in sources for f in s.frames}
        self.candle_series = {(s.candles.inst_id, s.candles.bar): s.candles for s in sources if s.candles}
        self.books: dict[tuple[str, str], ReplayBook] = {}
        self.last: dict[tuple[str, str], bytes] = {}
        self.published = 0
        self.done = False
        self._clock = clock
        self._start: float | None = None

    def serves(self, channel: str, inst_id: str) -> bool:
        return (channel, inst_id) in self.keys

    def initial(self, channel: str, inst_id: str) -> bytes | None:
        key = (channel, inst_id)
        book = self.books.get(key)
        if book is not None:
            return book.snapshot(channel, inst_id) if book.last else None
        return None if channel.startswith("trades") else self.last.get(key)

    def rest_book(self, inst_id: str, sz: int) -> dict | None:
        """GET market/books for a replayed instrument: the book replayed so far, top `sz` a side."""
        for channel in INCREMENTAL_BOOKS:
            book = self.books.get((channel, inst_id))
            if book is not None and book.last:
                bids = sorted(book.bids.values(), key=lambda lvl: -float(lvl[0]))[:sz]
                asks = sorted(book.asks.values(), key=lambda lvl: float(lvl[0]))[:sz]
                return {"asks": asks, "bids": bids, "ts": book.last.get("ts", "0"),
                        "seqId": book.last.get("seqId", 0)}
        return None

    def elapsed_ms(self) -> float:
        return 0.0 if self._start is None else (self._clock() - self._start) * 1000.0 * self.speed

    def candles(self, inst_id: str, bar: str, limit: int, after: int | None, before: int | None) -> list | None:
        """REST candles from a replayed CSV: closed bars up to replay time, newest first; None if not replayed."""
        series = self.candle_series.get((inst_id, bar))
        if series is None:
            return None
        t0 = int(series.rows[0][0]) if series.rows else 0
        now = t0 + self.elapsed_ms()
        bar_ms = BAR_MS[bar]
        out = []
        for row in reversed(series.rows):
            ts = int(row[0])
            if ts + bar_ms > now or (after is not None and ts >= after):
                continue
            if before is not None and ts <= before:
                break
            out.append(row)
            if len(out) >= limit:
                break
        return out

    def _merged(self) -> Iterator[tuple[float, int, int, ReplayFrame]]:
        streams = [((f.t_ms - s.t0, i, j, f) for j, f in enumerate(s.frames)) for i, s in enumerate(self.sources)]
        return heapq.merge(*streams, key=lambda x: (x[0], x[1], x[2]))

    def _publish(self, f: ReplayFrame) -> None:
        key = (f.channel, f.inst_id)
        if f.channel in INCREMENTAL_BOOKS:
            try:
                frame = orjson.loads(f.payload)
                self.books.setdefault(key, ReplayBook()).apply(frame)
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
                log.warning("replay: unreadable %s frame for %s, sent as is", f.channel, f.inst_id)
        else:
            self.last[key] = f.payload
        self.hub.publish(key, f.payload)
        self.published += 1

    def start(self) -> None:
        """Replay time starts now (`run` calls this)."""
        self._start = self._clock()

    async def run(self) -> None:
        self.start()
        burst = 0
        for t_rel, _i, _j, frame in self._merged():
            wait = self._start + t_rel / 1000.0 / self.speed - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
                burst = 0
            elif burst >= 200:  # running behind: let the sockets drain between bursts
                await asyncio.sleep(0)
                burst = 0
            self._publish(frame)
            burst += 1
        self.done = True
        log.info("replay finished: %d frames published", self.published)
