"""Which bars a backtest covers, and the bars file they come from.

A window is a closed range of bar open times [start_ms, end_ms] over one bars file. The fair
window for a trained model is its out-of-sample test block: the last walk-forward fold's test
rows (the registered model is that fold's model, so those bars were never trained or early-stopped
on), as its training report records them (`folds[-1].ts_ms.test_start .. test_end`). Models are
fed the bars before the window as history (features and input windows look back), never trained
on them here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

EXTRA_COLUMNS = ("spread_bps",)  # kept beside hftlab.models.barfiles.load_bars' columns


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int
    what: str  # e.g. "out-of-sample test block of run ..."

    def __post_init__(self) -> None:
        if self.end_ms < self.start_ms:
            raise ValueError(f"window ends ({self.end_ms}) before it starts ({self.start_ms})")

    def describe(self) -> str:
        return f"{iso(self.start_ms)} .. {iso(self.end_ms)} ({self.what})"

    def to_dict(self) -> dict:
        return {**asdict(self), "start": iso(self.start_ms), "end": iso(self.end_ms)}


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def out_of_sample_window(report: dict, run_id: str) -> Window:
    """The out-of-sample test block of a training run's last fold, from its report.json."""
    try:
        ts = report["folds"][-1]["ts_ms"]
        return Window(int(ts["test_start"]), int(ts["test_end"]), f"out-of-sample test block of run {run_id}")
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"run {run_id}: its training report has no test window (folds[-1].ts_ms): {e!r}") from None


def load_bars(path: str | Path, *, symbol: str | None = None, timeframe: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Bars as hftlab.models.barfiles.load_bars reads them (the same rows training saw), plus the
    columns of EXTRA_COLUMNS when the file has them (a Parquet written by the research pipeline
    carries the spread at each bar's close)."""
    from hftlab.models.barfiles import load_bars as _load

    bars, info = _load(path, symbol=symbol, timeframe=timeframe)
    path = Path(path)
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
        extra = [c for c in EXTRA_COLUMNS if c in have]
        if extra:
            raw = pd.read_parquet(path, columns=["ts_ms", *extra, *[c for c in ("inst_id", "timeframe") if c in have]])
            for col, want in (("inst_id", info.get("symbol")), ("timeframe", info.get("timeframe"))):
                if col in raw.columns and want is not None:
                    raw = raw[raw[col] == want]
            raw = raw.drop_duplicates("ts_ms", keep="last")[["ts_ms", *extra]]
            bars = bars.merge(raw, on="ts_ms", how="left")
    info["period_ms"] = period_ms(bars)
    return bars, info


def period_ms(bars: pd.DataFrame) -> int:
    ts = bars["ts_ms"].to_numpy(dtype=np.int64)
    if ts.size < 2:
        raise ValueError("need at least two bars to know their period")
    return int(np.median(np.diff(ts)))


def rows(bars: pd.DataFrame, window: Window) -> tuple[int, int]:
    """[first, last) row positions of the bars inside the window; ValueError if none."""
    ts = bars["ts_ms"].to_numpy(dtype=np.int64)
    first = int(np.searchsorted(ts, window.start_ms, side="left"))
    last = int(np.searchsorted(ts, window.end_ms, side="right"))
    if last - first < 2:
        span = f"{iso(int(ts[0]))} .. {iso(int(ts[-1]))}" if ts.size else "no bars"
        raise ValueError(f"the bars ({span}) hold {max(0, last - first)} bar(s) of the window {window.describe()}; "
                         "give bars that cover it (--data)")
    return first, last
