"""`hftlab bench feed`: OKX book frames on one core, in both formats a client meets.

Formats (each looped to at least `--frames`; every pass starts with each book's snapshot, so every
pass is a valid sequence):

- `tbt`: the `books-l2-tbt` pushes of the 2022-02-27 recording (20 snapshots and 3,659 updates over
  10 books, median 2 levels an update, every one with a real checksum: every checksum must verify
  in every pass).
- `books400`: what OKX sends on `books` today (400 levels, 100 ms, `checksum: 0`): a deterministic
  recording the bench makes from the simulator (`--seed`, `--sim-seconds` of its default four
  instruments, ~90 levels an update), followed by the `books` frames of the July 2026 captures in
  shared/data/okx/ws. No checksum to verify: the seqId chain must hold in every pass.

Per format, microseconds per frame, the contenders interleaved so that load from other processes
hits them alike, best of `--repeat` measurements (for the in-process contenders, orjson, hftlab's
parser + book and cryptofeed, the best pass over the frames within them: a pass is tens of
milliseconds, short enough to find a quiet moment on a shared machine for each of them alike):

- `<format>_orjson_floor_frame_us`: `orjson.loads` alone, the floor for any Python consumer;
- `<format>_hftlab_book_frame_us`: `parse_frame` + `BookKeeper.apply` (the parser and the book engine);
- `<format>_hftlab_feed_frame_us`: the client's whole per-frame path, socket bytes to queued event: a
  real `AsyncOKXClient` subscribed over loopback to a stand-in venue (a thread of this process that
  acks the subscriptions, then writes the frames' pre-encoded WebSocket bytes, 16 frames every
  millisecond: paced as a venue pushes, so the client meets no backlog a live socket would not give
  it): the event loop's wake-up and socket read, websockets' reader, `Connection`'s reader (receive
  time), `_on_frame` (parse, the 64008 overlap de-dupe, book health, counters, the bounded queue),
  the raw tap (a bounded buffer, as the recorder's), and a consumer taking the events off the queue.
  Measured as the CPU time of the client's thread (the venue's thread and the idle waits between
  pushes are not the client's cost);
- `<format>_hftlab_feed_and_book_frame_us`: the same with the consumer applying every event to a
  `MarketFeed` (books, top of book, bar clock), as the live runner does;
- `<format>_cryptofeed_frame_us`: cryptofeed's OKX feed `message_handler` (its JSON decode, Decimal
  book; `checksum_validation` on `tbt` only, since it cannot validate `checksum: 0`) on the same
  frames, offline: its instrument map is filled from the recorded REST `/public/instruments` answer.

Ratios: `<format>_book_vs_orjson_x` (book / floor) and `<format>_book_vs_cryptofeed_x` (cryptofeed /
book: how many times faster). Kept from earlier versions, for `tbt`: `orjson_floor_frames_per_s`,
`hftlab_frames_per_s` (parser + book) and `cryptofeed_frames_per_s`. `book_engine_compiled_count` is 1
when the compiled book sides (hftlab/okx/_levels.c) are in use, 0 on the Python definition.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import struct
import threading
import time
from collections import deque
from pathlib import Path

import orjson

from hftlab.bench import progress

WS = "okx/ws"
TBT_RECORDING = f"{WS}/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
BOOKS_2026 = (f"{WS}/okx-spot_BTC-USDT_2026-07-23.jsonl", f"{WS}/okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl",
              f"{WS}/okx-swap_BTC-USDT-SWAP_2026-07-23.jsonl")
INSTRUMENTS = "okx/okx_v5_rest_instruments_2021-07-22_2022-02-27_2022-05-13.json"
INSTRUMENTS_DATE = {"tbt": "2022-02-27", "books400": "2022-05-13"}
CHANNEL = {"tbt": "books-l2-tbt", "books400": "books"}
FORMATS = ("tbt", "books400")
PACE_BATCH, PACE_PERIOD_S = 16, 0.001  # the stand-in venue's pushes: 16 frames a millisecond


def default_data_dir() -> Path:
    env = os.environ.get("HFTLAB_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="the shared data directory (default $HFTLAB_SHARED_DATA or ../shared/data)")
    p.add_argument("--frames", type=int, default=50_000, help="book frames per measurement and format (at least)")
    p.add_argument("--repeat", type=int, default=5, help="measurements per contender; the best counts")
    p.add_argument("--seed", type=int, default=7, help="the simulator's seed for the books400 recording")
    p.add_argument("--sim-seconds", type=float, default=60.0, help="market seconds of the books400 recording")
    p.add_argument("--formats", default=",".join(FORMATS), help="comma-separated subset of " + ", ".join(FORMATS))
    p.add_argument("--no-cryptofeed", action="store_true", help="skip the cryptofeed measurement")
    p.add_argument("--no-client", action="store_true", help="skip the client (socket) measurements")


# ----- the frames ----------------------------------------------------------------------------------

def load_book_frames(recording: Path, channel: str) -> list[str]:
    """The `channel` pushes of a recording (raw frames or `{"recv_ts", "msg"}` lines), compact JSON text."""
    from hftlab.okx.replay import frames_of

    frames = []
    for raw, _ns in frames_of(recording):
        msg = orjson.loads(raw)
        if isinstance(msg, dict) and "data" in msg and msg.get("arg", {}).get("channel") == channel:
            frames.append(orjson.dumps(msg).decode())
    return frames


def record_books400(seed: int, seconds: float) -> list[str]:
    """The simulator's `books` frames for its default instruments over `seconds` of market time:
    each book's snapshot, then every update, exactly as `hftlab sim` publishes them."""
    from hftlab.bench.recording import record

    return record(seed, seconds, ("books",))


def frames_for(fmt: str, data_dir: Path, seed: int, sim_seconds: float) -> list[str]:
    if fmt == "tbt":
        return load_book_frames(_need(data_dir / TBT_RECORDING), "books-l2-tbt")
    frames = record_books400(seed, sim_seconds)
    for f in BOOKS_2026:
        frames += load_book_frames(_need(data_dir / f), "books")
    return frames


def _need(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"recording not found: {path} (pass --data DIR or set HFTLAB_SHARED_DATA)")
    return path


# ----- the contenders ------------------------------------------------------------------------------

def _time_orjson(frames: list[str], passes: int) -> float:
    loads = orjson.loads
    best = math.inf
    for _ in range(passes):
        t0 = time.perf_counter()
        for f in frames:
            loads(f)
        best = min(best, time.perf_counter() - t0)
    return best * passes


def _time_book(fmt: str, frames: list[str], passes: int) -> float:
    from hftlab.okx.book import BookKeeper
    from hftlab.okx.events import BookMsg
    from hftlab.okx.parse import parse_frame

    keeper = BookKeeper()
    apply = keeper.apply
    best = math.inf
    for _ in range(passes):
        t0 = time.perf_counter()
        for f in frames:
            for e in parse_frame(f, 0):
                if type(e) is BookMsg:
                    apply(e)
        best = min(best, time.perf_counter() - t0)
    _check_books(fmt, keeper.stats(), passes * len(frames), all(b.valid for b in keeper.books.values()))
    return best * passes


def _check_books(fmt: str, stats, n: int, all_valid: bool) -> None:
    """Every frame applied, every book valid at the end; tbt: every checksum verified; books400: none
    to verify, the chain unbroken."""
    applied = stats.snapshots + stats.updates
    ok = all_valid and applied == n and not (stats.breaks or stats.checksum_mismatched or stats.malformed
                                             or stats.ignored)
    if fmt == "tbt":
        ok = ok and stats.checksum_verified == n
    else:
        ok = ok and stats.checksum_absent == n and stats.seq_checked > 0
    if not ok:
        raise RuntimeError(f"hftlab did not apply every {fmt} frame cleanly ({applied} of {n}): {stats}")


class _Venue:
    """A stand-in venue on loopback, in a thread of its own: it acks every subscription, then, each
    time `send` is called, writes a blob of pre-encoded WebSocket frames to the socket in one go."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._conns: list = []
        self.url = ""
        self._thread = threading.Thread(target=self._run, name="bench-venue", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        from websockets.asyncio.server import serve

        async def handler(ws) -> None:
            self._conns.append(ws)
            async for raw in ws:
                msg = orjson.loads(raw) if raw != "ping" else None
                if isinstance(msg, dict) and msg.get("op") == "subscribe":
                    for a in msg["args"]:
                        await ws.send(orjson.dumps({"id": msg.get("id"), "event": "subscribe", "arg": a,
                                                    "connId": "bench"}).decode())

        async def main() -> None:
            async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
                self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
                self._ready.set()
                await self._stop

        asyncio.set_event_loop(self._loop)
        self._stop = self._loop.create_future()
        self._loop.run_until_complete(main())
        self._loop.close()

    def send(self, wire: list[bytes], batch: int, period_s: float) -> None:
        """Write the frames `batch` at a time every `period_s`, as a venue paces its pushes (a client
        is never handed a backlog it could not have met live)."""
        ws = self._conns[-1]

        async def pace() -> None:
            for i in range(0, len(wire), batch):
                ws.transport.write(b"".join(wire[i:i + batch]))
                await asyncio.sleep(period_s)

        asyncio.run_coroutine_threadsafe(pace(), self._loop)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)


def _wire(frame: str) -> bytes:
    """An unmasked server text frame (RFC 6455), as the venue's socket carries it."""
    data = frame.encode()
    n = len(data)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + data
    if n < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, n) + data
    return struct.pack("!BBQ", 0x81, 127, n) + data


def _monotone(frames: list[str]) -> list[str]:
    """The frames with each book's exchange times moved on, from where they would go back, so that
    every book's times ascend (the spacing within each recording is kept)."""
    last: dict[tuple[str, str], int] = {}
    shift: dict[tuple[str, str], int] = {}
    out = []
    for f in frames:
        msg = orjson.loads(f)
        key = (msg["arg"]["channel"], msg["arg"]["instId"])
        ts = int(msg["data"][0]["ts"]) + shift.get(key, 0)
        if ts < last.get(key, ts):
            shift[key] = shift.get(key, 0) + last[key] - ts
            ts = last[key]
        last[key] = ts
        out.append(_shifted(f, shift.get(key, 0)))
    return out


def _shifted(frame: str, dt_ms: int) -> str:
    if not dt_ms:
        return frame
    msg = orjson.loads(frame)
    for d in msg["data"]:
        d["ts"] = str(int(d["ts"]) + dt_ms)
    return orjson.dumps(msg).decode()


def _time_client(fmt: str, venue: _Venue, frames: list[str], passes: int, apply_books: bool) -> float:
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.okx.channels import Endpoints
    from hftlab.okx.client import AsyncOKXClient
    from hftlab.okx.config import UNCHECKED_CLOCK, ClientConfig
    from hftlab.okx.events import BookMsg

    channel = CHANNEL[fmt]
    insts = sorted({orjson.loads(f)["arg"]["instId"] for f in frames})
    # A client refuses a stream whose exchange times go back (okx/timestamps.py: a replay, not news),
    # and these frames are recordings put end to end: each book's times are moved on where a recording
    # of it starts before the previous one ended, and each pass by the whole span.
    frames = _monotone(frames)
    stamps = [int(d["ts"]) for f in frames for d in orjson.loads(f)["data"]]
    span = max(stamps) - min(stamps) + 1
    wire = [_wire(_shifted(f, k * span)) for k in range(passes) for f in frames]
    n = len(wire)

    async def drive() -> float:
        feed = MarketFeed([channel], ["1s"])
        tap: deque = deque(maxlen=10_000)  # the recorder's buffer
        endpoints = Endpoints("http://127.0.0.1:1", venue.url, venue.url, venue.url)
        # recorded frames: their exchange times are the recording's, not local time's
        config = ClientConfig(reconcile_orders=False, **UNCHECKED_CLOCK)
        client = AsyncOKXClient(endpoints, config, books=feed,
                                on_frame=lambda raw, ns, ch, inst: tap.append(raw))
        async with client:
            await client.subscribe([{"channel": channel, "instId": i} for i in insts])
            while not client.connected("public"):
                await asyncio.sleep(0.01)
            seen = 0
            t0 = time.thread_time()
            venue.send(wire, PACE_BATCH, PACE_PERIOD_S)
            while seen < n:
                batch = [await client.get()]
                batch += client.get_batch(1000)
                for ev in batch:
                    if type(ev) is BookMsg:
                        seen += 1
                        if apply_books:
                            feed.on_event(ev)
            dt = time.thread_time() - t0
            dropped = sum(client.queue.stats.dropped.values())
        if dropped or client.stats.parse_errors or client.stats.handler_errors:
            raise RuntimeError(f"the client lost frames: {client.status()}")
        if apply_books:
            _check_books(fmt, feed.book_stats(), n, all(feed.book(channel, i) is not None for i in insts))
        return dt

    return asyncio.run(drive())


def _cryptofeed_feed(data_dir: Path, fmt: str, frames: list[str]):
    """cryptofeed's OKX feed, its symbol map loaded from a recorded `/public/instruments` answer (it
    would otherwise fetch it over the network); checksums validated where OKX sends them."""
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.exchanges.okx import OKX
    from cryptofeed.symbols import Symbols

    with (data_dir / INSTRUMENTS).open() as f:
        instruments = json.load(f)[INSTRUMENTS_DATE[fmt]]
    symbols, info = OKX._parse_symbol_data([{"data": list(instruments.values())}])
    Symbols.set(OKX.id, symbols, info)
    normalized = {v: k for k, v in symbols.items()}
    inst_ids = sorted({orjson.loads(f)["arg"]["instId"] for f in frames})
    return OKX(symbols=[normalized[i] for i in inst_ids], channels=[L2_BOOK], checksum_validation=fmt == "tbt")


def _time_cryptofeed(feed, frames: list[str], passes: int) -> float:
    async def drive() -> float:
        handler = feed.message_handler
        best = math.inf
        for _ in range(passes):
            t0 = time.perf_counter()
            for f in frames:
                await handler(f, None, 0.0)
            best = min(best, time.perf_counter() - t0)
        if not feed._l2_book:
            raise RuntimeError("cryptofeed built no book from the frames")
        return best * passes

    return asyncio.run(drive())


# ----- the run -------------------------------------------------------------------------------------

def _race(contenders: dict, repeat: int) -> dict[str, float]:
    """Best time of each contender, the runs interleaved; the garbage of one run is collected before
    the next starts, so that no contender pays for another's (the collector runs during each as usual)."""
    best = {k: math.inf for k in contenders}
    for _ in range(repeat):
        for k, fn in contenders.items():
            gc.collect()
            best[k] = min(best[k], fn())
    return best


def run(args) -> dict[str, float]:
    from hftlab.okx.levels import COMPILED

    data_dir = args.data or default_data_dir()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; known: {', '.join(FORMATS)}")
    results: dict[str, float] = {"book_engine_compiled_count": int(COMPILED)}
    venue = None if args.no_client else _Venue()
    try:
        for fmt in formats:
            frames = frames_for(fmt, data_dir, args.seed, args.sim_seconds)
            passes = max(1, math.ceil(args.frames / len(frames)))
            n = passes * len(frames)
            kb = sum(map(len, frames)) / len(frames) / 1e3
            progress(f"{fmt}: {len(frames):,} book frames ({kb:.2f} kB each on average) x {passes} passes = "
                     f"{n:,} frames per measurement, best of {args.repeat}")
            contenders = {
                "orjson_floor": lambda: _time_orjson(frames, passes),
                "hftlab_book": lambda: _time_book(fmt, frames, passes),
            }
            if venue is not None:
                contenders["hftlab_feed"] = lambda: _time_client(fmt, venue, frames, passes, False)
                contenders["hftlab_feed_and_book"] = lambda: _time_client(fmt, venue, frames, passes, True)
            if not args.no_cryptofeed:
                feed = _cryptofeed_feed(data_dir, fmt, frames)
                contenders["cryptofeed"] = lambda: _time_cryptofeed(feed, frames, passes)
            best = _race(contenders, args.repeat)
            us = {k: v / n * 1e6 for k, v in best.items()}
            for k, v in us.items():
                results[f"{fmt}_{k}_frame_us"] = round(v, 3)
            results[f"{fmt}_frames_count"] = n
            results[f"{fmt}_book_vs_orjson_x"] = round(us["hftlab_book"] / us["orjson_floor"], 2)
            if "cryptofeed" in us:
                results[f"{fmt}_book_vs_cryptofeed_x"] = round(us["cryptofeed"] / us["hftlab_book"], 2)
            if fmt == "tbt":
                results["orjson_floor_frames_per_s"] = round(1e6 / us["orjson_floor"])
                results["hftlab_frames_per_s"] = round(1e6 / us["hftlab_book"])
                if "cryptofeed" in us:
                    results["cryptofeed_frames_per_s"] = round(1e6 / us["cryptofeed"])
    finally:
        if venue is not None:
            venue.close()
    return results
