"""Bars from files: the layouts `hftlab train --data` (and the backtests) read, and whose market they show.

    bars, info = load_bars(path)                # ts_ms, open, high, low, close, volume (+ flow columns)
    info["world"] = data_world(info)            # sim | okx (hftlab.models.provenance)
    parts, info = load_panel([btc, eth, sol])   # [(symbol, bars), ...]: several series for one model

Layouts, recognised by their columns (names compared without case; rows newest first or oldest first):

- hftlab's own: `ts_ms,open,high,low,close,volume` (the shared candles add `date`, ignored), and the
  common variants: the time as `timestamp`, `ts`, `time`, `open_time`, `datetime` or `date` (Unix
  seconds, ms, us or ns, or an ISO time; UTC unless it says otherwise), prices as `open/high/low/
  close` or `o/h/l/c`, volume as `volume`, `vol` or `v`;
- OKX's candle layout, as `/api/v5/market/candles` and `/history-candles` return it:
  `ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm`, a CSV with that header, or the REST answer itself as
  JSON (`{"code": "0", "data": [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm], ...]}`, the bare
  `data` array, or one answer per line of a .jsonl file, e.g. the pages of a history download).
  Volume in base currency is `vol` for spot and `volCcy` for swaps (OKX counts swap `vol` in
  contracts); a row with `confirm` 0 is a bar still forming and is dropped;
- a Parquet of bars (hftlab.domain.market.Bar columns; with several series, symbol and timeframe
  pick one), which may record its world in its schema metadata.

Anything else is a ValueError naming the columns found and the ones needed. Bars are sorted by
time, duplicates dropped (the last kept), and missing bars on the regular grid inserted as NaN rows
(features count bars: a gap must reset the indicators, not be skipped; every window that spans one
is left out of training and evaluation), their count in `info["missing_bars"]`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hftlab.models.provenance import check_world, metadata_world

BAR_COLUMNS = ("ts_ms", "open", "high", "low", "close", "volume")
FLOW_COLUMNS = ("trade_count", "vwap", "buy_volume", "sell_volume")
OKX_CANDLE = ("ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm")
ALIASES = {
    "ts_ms": ("ts_ms", "timestamp", "ts", "time", "open_time", "datetime", "date"),
    "open": ("open", "o"), "high": ("high", "h"), "low": ("low", "l"), "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
}
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+-[A-Z0-9]+(?:-SWAP)?)_(?P<timeframe>[0-9]+[smhdHD])_")
_CSV = (".csv", ".csv.gz")
_JSON = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def load_bars(path: str | Path, *, symbol: str | None = None, timeframe: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Bars of one series from a file in one of the layouts of the module doc. Returns (bars, info):
    path, symbol, timeframe, the layout read, `missing_bars` when bars were missing, and the `world`
    / `venue` a Parquet records (hftlab.models.provenance.bars_metadata; absent when it records none:
    see `data_world`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    name = path.name.lower()
    m = _NAME.match(path.name)
    info = {"path": str(path), "symbol": symbol or (m["symbol"] if m else None),
            "timeframe": timeframe or (m["timeframe"] if m else None)}
    if name.endswith(_CSV):
        df = _columns(pd.read_csv(path), path, info)
    elif name.endswith(_JSON):
        df = _columns(_okx_json(path), path, info)
    elif name.endswith(".parquet"):
        import pyarrow.parquet as pq

        info.update(metadata_world(pq.read_schema(path).metadata))
        df = _columns(_one_series(pd.read_parquet(path), path, symbol, timeframe, info), path, info)
    else:
        raise ValueError(f"{path}: expected a candle CSV (.csv, .csv.gz), OKX candles as JSON (.json, .jsonl) or a "
                         "Parquet of bars (.parquet)")
    if df.empty:
        raise ValueError(f"{path}: no bars" + (f" for symbol {symbol!r} / timeframe {timeframe!r}" if symbol or timeframe else ""))
    df = df.sort_values("ts_ms").drop_duplicates("ts_ms", keep="last").reset_index(drop=True)
    ts = df["ts_ms"].to_numpy(dtype=np.int64)
    if len(ts) > 1:
        period = int(np.median(np.diff(ts)))
        grid = np.arange(ts[0], ts[-1] + 1, period, dtype=np.int64)
        if len(grid) != len(ts) and np.isin(ts, grid).all():
            info["missing_bars"] = int(len(grid) - len(ts))
            df = df.set_index("ts_ms").reindex(grid).rename_axis("ts_ms").reset_index()
    return df, info


def load_panel(paths, *, world: str | None = None, timeframe: str | None = None) -> tuple[list, dict]:
    """A panel: (symbol, bars) of each file (`load_bars`; the symbol from the file's name), and what
    they are together: the symbols joined by '+' (a panel model's symbol: it trades none of them
    alone), their one timeframe and world (`data_world`, `world` overriding), the series' names
    (`panel`) and their missing bars. ValueError for unnamed, repeated or mixed series."""
    paths = [Path(p) for p in paths]
    parts, infos = [], []
    for path in paths:
        bars, info = load_bars(path, timeframe=timeframe)
        info["world"] = data_world(info, world)
        if not info.get("symbol"):
            raise ValueError(f"{path}: a panel's series are named by their symbol, and this file's name does not "
                             "say it (name it SYMBOL_TIMEFRAME_..., e.g. BTC-USDT-SWAP_5m_2022.csv)")
        parts.append((info["symbol"], bars))
        infos.append(info)
    for key in ("timeframe", "world"):
        values = sorted({str(i.get(key)) for i in infos})
        if len(values) > 1:
            raise ValueError(f"a panel's series must share one {key}: got {', '.join(values)}")
    names = [n for n, _b in parts]
    if len(set(names)) < len(names):
        raise ValueError(f"a panel's series must be different symbols: got {', '.join(names)}")
    source = {"path": ";".join(map(str, paths)), "symbol": "+".join(names), "timeframe": infos[0].get("timeframe"),
              "world": infos[0]["world"], "panel": ",".join(names)}
    missing = {i["symbol"]: i["missing_bars"] for i in infos if i.get("missing_bars")}
    if missing:
        source["missing_bars"] = ",".join(f"{k}:{v}" for k, v in missing.items())
    return parts, source


def _one_series(df: pd.DataFrame, path: Path, symbol: str | None, timeframe: str | None, info: dict) -> pd.DataFrame:
    for col, want, key in (("inst_id", symbol, "symbol"), ("timeframe", timeframe, "timeframe")):
        if col in df.columns:
            values = sorted(df[col].dropna().unique())
            if want is not None:
                df = df[df[col] == want]
            elif len(values) > 1:
                raise ValueError(f"{path} holds several {col} values {values}: pick one with --{key}")
            if len(df) and info[key] is None:
                info[key] = str(df[col].iloc[0])
    return df


def _okx_json(path: Path) -> pd.DataFrame:
    """OKX candle arrays from a REST answer, a bare `data` array, or one of either per line."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt") as f:
        text = f.read()
    docs = [json.loads(line) for line in text.splitlines() if line.strip()] if ".jsonl" in path.name.lower() \
        else [json.loads(text)]
    rows: list = []
    for doc in docs:
        if isinstance(doc, dict):
            if str(doc.get("code", "0")) != "0":
                raise ValueError(f"{path}: an OKX error answer (code {doc.get('code')}: {doc.get('msg', '')!r}), not candles")
            if "data" not in doc:
                raise ValueError(f"{path}: a JSON object without `data`; keys found: {sorted(doc)}; needed: OKX's "
                                 f"candle answer {{\"code\": \"0\", \"data\": [[{', '.join(OKX_CANDLE)}], ...]}}")
            doc = doc["data"]
        if not isinstance(doc, list):
            raise ValueError(f"{path}: expected OKX candle arrays, found {type(doc).__name__}")
        rows += [doc] if doc and not isinstance(doc[0], list) else doc
    width = {len(r) for r in rows}
    if not rows or not width <= {6, 7, 9} or len(width) > 1:
        raise ValueError(f"{path}: OKX candle arrays have 9 fields ({', '.join(OKX_CANDLE)}) (older answers 6 or 7); "
                         f"found rows of {sorted(width) or 'no'} fields")
    return pd.DataFrame(rows, columns=list(OKX_CANDLE[:width.pop()]))


def _columns(raw: pd.DataFrame, path: Path, info: dict) -> pd.DataFrame:
    """The bar columns of a table in any known layout (see the module doc), numeric, ts_ms in ms."""
    lower = {str(c).lower(): c for c in raw.columns}
    okx = {c.lower() for c in OKX_CANDLE[:6]} <= set(lower) and "volccy" in lower
    picked: dict[str, str] = {}
    for col, names in ALIASES.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is not None:
            picked[col] = found
    if okx:
        swap = (info.get("symbol") or "").upper().endswith("-SWAP")
        picked["volume"] = lower["volccy"] if swap else lower["vol"]
    missing = [c for c in BAR_COLUMNS if c not in picked]
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing}: found {[str(c) for c in raw.columns]}; bars need "
                         f"{list(BAR_COLUMNS)} (or the variants: {', '.join(f'{k}: {v}' for k, v in ALIASES.items())}), "
                         f"or OKX's candle columns {list(OKX_CANDLE)}")
    if okx and "confirm" in lower:
        raw = raw[pd.to_numeric(raw[lower["confirm"]], errors="coerce") != 0]
    df = pd.DataFrame({"ts_ms": _ms(raw[picked["ts_ms"]], path)})
    for col in BAR_COLUMNS[1:]:
        df[col] = pd.to_numeric(raw[picked[col]], errors="coerce").to_numpy(dtype=np.float64)
    for col in FLOW_COLUMNS:
        if col in lower:
            df[col] = pd.to_numeric(raw[lower[col]], errors="coerce").to_numpy(dtype=np.float64)
    info["layout"] = "okx" if okx else "bars"
    if okx:
        info["volume_column"] = str(picked["volume"])
    return df


def _ms(col: pd.Series, path: Path) -> np.ndarray:
    """Unix ms from seconds, ms, us or ns (by magnitude) or from ISO times."""
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().all():
        x = num.to_numpy(dtype=np.float64)
        top = float(np.nanmax(np.abs(x))) if x.size else 0.0
        scale = 1e3 if top < 1e11 else 1.0 if top < 1e14 else 1e-3 if top < 1e17 else 1e-6
        return np.round(x * scale).astype(np.int64)
    t = pd.to_datetime(col, utc=True, errors="coerce")
    if t.isna().any():
        bad = col[t.isna()].iloc[0]
        raise ValueError(f"{path}: time {bad!r} is neither Unix time nor an ISO time")
    return ((t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ms")).to_numpy(dtype=np.int64)


def data_world(info: dict, override: str | None = None) -> str:
    """The world of bars `load_bars` read (`info`): the one a Parquet records; a candle file (CSV or
    OKX JSON) is external OKX market data, `okx`, unless `override` says otherwise (one made from the
    simulator); a Parquet recording none needs `override`. An override contradicting a recorded world
    is a ValueError, as is an override that is not a world."""
    path, recorded = info.get("path"), info.get("world")
    if override is not None:
        check_world(override, "--data-world")
        if recorded is not None and override != recorded:
            raise ValueError(f"{path} records world {recorded!r} in its metadata; --data-world {override} "
                             "contradicts it")
        return override
    if recorded is not None:
        return check_world(recorded, str(path))
    if str(path).lower().endswith(_CSV + _JSON):
        return "okx"
    raise ValueError(f"{path} does not record whose market its bars are (no hftlab.world in its Parquet metadata): "
                     "give --data-world sim|okx")
