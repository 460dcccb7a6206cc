"""Replay recorded frames through the parser and the book engine: `hftlab replay FILE-or-DIR... [--json]`.

Inputs: JSON lines (a raw frame, or `{"recv_ts": <unix s>, "msg": <frame>}`), a Parquet file written
by the recorder, or a directory of them (hftlab.okx.replay). Prints per-instrument counts of
snapshots, updates, checksums verified / mismatched / absent, sequence breaks, crossed books,
trades, tickers and errors. Exit 1 when any book had a checksum mismatch, a sequence break or a
malformed level, 0 otherwise, 2 when an input cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from hftlab.commands.common import add_common, load_settings
from hftlab.okx.replay import ReplayInputError, format_table, replay
from hftlab.okx.timestamps import MAX_AHEAD_S, MAX_BEHIND_S


def add_arguments(p) -> None:
    add_common(p)
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="recording: JSON lines (raw frames or {recv_ts, msg}), a recorder Parquet file, "
                        "or a directory of them")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--max-ts-ahead", type=float, default=MAX_AHEAD_S, metavar="S",
                   help="a frame whose exchange ts is more than S seconds ahead of its receive time is malformed "
                        f"(default {MAX_AHEAD_S:g}; 0: no check, for recordings of a simulator faster than real time)")
    p.add_argument("--max-ts-behind", type=float, default=MAX_BEHIND_S, metavar="S",
                   help=f"... or more than S seconds behind it (default {MAX_BEHIND_S:g}; 0: no check)")


def run(args) -> int:
    load_settings(args)  # logging as configured; the replay itself needs no settings

    def progress(frames: int, elapsed: float) -> None:
        print(f"hftlab replay: {frames:,} frames ({frames / max(elapsed, 1e-9):,.0f}/s) ...",
              file=sys.stderr, flush=True)

    try:
        ahead, behind = (int(s * 1000) if s > 0 else None for s in (args.max_ts_ahead, args.max_ts_behind))
        report = replay([Path(f) for f in args.files], progress, ahead, behind)
    except ReplayInputError as e:
        print(f"hftlab replay: {e}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(orjson.dumps(report.as_dict()).decode() + "\n")
    else:
        print(format_table(report))
    return 1 if report.failed else 0
