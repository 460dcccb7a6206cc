"""`hftlab bench feed`: OKX book frames per second on one core.

The frames are the `books-l2-tbt` pushes of the 2022-02-27 recording (20 snapshots and 3,659
updates over 10 books, every one with a real checksum), as the compact JSON text OKX sent, looped
to at least `--frames`. Each pass starts with every book's snapshot, so every pass is a valid
sequence and every checksum must verify in every pass. Three measurements, best of `--repeat`:

- `orjson_floor_frames_per_s`: `orjson.loads` alone, the floor for any Python consumer;
- `hftlab_frames_per_s`: `parse_frame` + `BookKeeper.apply` with checksum verification;
- `cryptofeed_frames_per_s`: cryptofeed's OKX feed `message_handler` (its JSON decode, Decimal
  book and C checksum, `checksum_validation=True`) on the same frames, offline: its instrument
  map is filled from the recorded REST `/public/instruments` answer instead of the network.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from pathlib import Path

import orjson

from hftlab.bench import progress

RECORDING = "okx/ws/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
INSTRUMENTS = "okx/okx_v5_rest_instruments_2021-07-22_2022-02-27_2022-05-13.json"
INSTRUMENTS_DATE = "2022-02-27"
BOOK_CHANNEL = "books-l2-tbt"


def default_data_dir() -> Path:
    env = os.environ.get("HFTLAB_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="the shared data directory (default $HFTLAB_SHARED_DATA or ../shared/data)")
    p.add_argument("--frames", type=int, default=200_000, help="book frames per measurement (at least)")
    p.add_argument("--repeat", type=int, default=3, help="measurements per implementation; the best counts")
    p.add_argument("--no-cryptofeed", action="store_true", help="skip the cryptofeed measurement")


def load_book_frames(recording: Path) -> list[str]:
    """The book pushes of a `{"recv_ts", "msg"}` recording, as compact JSON text, in order."""
    frames = []
    with recording.open("rb") as f:
        for line in f:
            msg = orjson.loads(line)["msg"]
            if isinstance(msg, dict) and "data" in msg and msg.get("arg", {}).get("channel") == BOOK_CHANNEL:
                frames.append(orjson.dumps(msg).decode())
    return frames


def _best(repeat: int, measure) -> float:
    return min(measure() for _ in range(repeat))


def _time_orjson(frames: list[str], passes: int) -> float:
    loads = orjson.loads
    t0 = time.perf_counter()
    for _ in range(passes):
        for f in frames:
            loads(f)
    return time.perf_counter() - t0


def _time_hftlab(frames: list[str], passes: int) -> float:
    from hftlab.okx.book import BookKeeper
    from hftlab.okx.events import BookMsg
    from hftlab.okx.parse import parse_frame

    keeper = BookKeeper()
    apply = keeper.apply
    t0 = time.perf_counter()
    for _ in range(passes):
        for f in frames:
            for e in parse_frame(f, 0):
                if type(e) is BookMsg:
                    apply(e)
    dt = time.perf_counter() - t0
    stats = keeper.stats()
    expected = passes * len(frames)
    if stats.checksum_verified != expected or stats.checksum_mismatched or stats.breaks:
        raise RuntimeError(f"hftlab did not verify every checksum: {stats}")
    return dt


def _cryptofeed_feed(data_dir: Path, frames: list[str]):
    """cryptofeed's OKX feed with checksum validation, its symbol map loaded from a recorded
    `/public/instruments` answer (it would otherwise fetch it over the network)."""
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.exchanges.okx import OKX
    from cryptofeed.symbols import Symbols

    with (data_dir / INSTRUMENTS).open() as f:
        instruments = json.load(f)[INSTRUMENTS_DATE]
    symbols, info = OKX._parse_symbol_data([{"data": list(instruments.values())}])
    Symbols.set(OKX.id, symbols, info)
    normalized = {v: k for k, v in symbols.items()}
    inst_ids = sorted({orjson.loads(f)["arg"]["instId"] for f in frames})
    return OKX(symbols=[normalized[i] for i in inst_ids], channels=[L2_BOOK], checksum_validation=True)


def _time_cryptofeed(feed, frames: list[str], passes: int) -> float:
    async def drive() -> float:
        handler = feed.message_handler
        t0 = time.perf_counter()
        for _ in range(passes):
            for f in frames:
                await handler(f, None, 0.0)
        return time.perf_counter() - t0

    return asyncio.run(drive())


def run(args) -> dict[str, float]:
    data_dir = args.data or default_data_dir()
    recording = data_dir / RECORDING
    if not recording.is_file():
        raise FileNotFoundError(f"recording not found: {recording} (pass --data DIR or set HFTLAB_SHARED_DATA)")
    frames = load_book_frames(recording)
    passes = math.ceil(args.frames / len(frames))
    n = passes * len(frames)
    progress(f"{len(frames):,} book frames x {passes} passes = {n:,} frames per measurement, best of {args.repeat}")
    results: dict[str, float] = {"book_frames_count": n}

    progress("orjson.loads floor ...")
    results["orjson_floor_frames_per_s"] = round(n / _best(args.repeat, lambda: _time_orjson(frames, passes)))
    progress("hftlab parse + book + checksum ...")
    hftlab = n / _best(args.repeat, lambda: _time_hftlab(frames, passes))
    results["hftlab_frames_per_s"] = round(hftlab)
    if not args.no_cryptofeed:
        progress("cryptofeed OKX book handler (checksum_validation=True) ...")
        feed = _cryptofeed_feed(data_dir, frames)
        cryptofeed = n / _best(args.repeat, lambda: _time_cryptofeed(feed, frames, passes))
        results["cryptofeed_frames_per_s"] = round(cryptofeed)
        results["hftlab_vs_cryptofeed_x"] = round(hftlab / cryptofeed, 2)
    return results
