"""`hftlab bench indicators`: RSI + MACD + Bollinger, hftlab vs TA-Lib vs `ta`, streaming cost, parallel panel.

Input: a seeded geometric random walk (one million closes by default). Times are the best of
`--repeat` warm runs, except numba's compile cost, measured on its own:
- hftlab_batch_s / talib_batch_s / python_lib_batch_s: all three indicators over the closes,
  with hftlab, TA-Lib (C) and `ta` (pandas); batch_vs_talib_x = hftlab / TA-Lib.
- streaming_tick_us: one `update` of RSI, MACD and Bollinger together, per tick.
- panel_s: `indicator_panel` over 3 symbols x 3 timeframes (1 s, 3 s, 1 m) built from one day of
  1 s bars (numba threads, DataFrame in and out). Arrays only, no DataFrame glue: panel_kernel_s
  is its parallel kernel, panel_one_thread_s the same kernel on one numba thread, and
  panel_process_pool_s the batch functions spread over a 2-process pool, one series per task.
- numba_compile_s: first use of every kernel with an empty cache (fresh interpreter);
  numba_first_call_s: first use in this process (loads the on-disk cache when there is one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from hftlab.bench import progress

_WARM_ALL = (
    "import time, numpy as np; t = time.perf_counter();"
    "from hftlab.features import rsi, macd, bollinger, indicator_panel; import pandas as pd;"
    "x = np.linspace(1.0, 2.0, 100); rsi(x); macd(x); bollinger(x);"
    "indicator_panel({('A', '1s'): pd.DataFrame({'close': x})});"
    "print(time.perf_counter() - t)"
)


def add_arguments(p) -> None:
    p.add_argument("--n", type=int, default=1_000_000, help="closes for the batch comparison")
    p.add_argument("--ticks", type=int, default=200_000, help="ticks for the streaming cost")
    p.add_argument("--seconds", type=int, default=86_400, help="1 s bars per symbol in the panel")
    p.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")


def _closes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, n)))


def _best(fn, repeat: int) -> float:
    return _race([fn], repeat)[0]


def _race(fns, repeat: int) -> list[float]:
    """Best time of each function, the runs interleaved so that a busy spell on a shared machine
    does not land on one contender only."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def _hftlab(x):
    from hftlab.features.indicators import bollinger, macd, rsi

    return rsi(x), macd(x), bollinger(x)


def _talib(x):
    import talib

    return talib.RSI(x, 14), talib.MACD(x, 12, 26, 9), talib.BBANDS(x, 20, 2.0, 2.0, 0)


def _ta(x):
    import pandas as pd
    from ta.momentum import RSIIndicator
    from ta.trend import MACD
    from ta.volatility import BollingerBands

    s = pd.Series(x)
    m = MACD(s, window_slow=26, window_fast=12, window_sign=9)
    b = BollingerBands(s, window=20, window_dev=2)
    return (RSIIndicator(s, window=14).rsi(), m.macd(), m.macd_signal(), m.macd_diff(),
            b.bollinger_hband(), b.bollinger_mavg(), b.bollinger_lband())


def _streaming_us(x: np.ndarray) -> float:
    from hftlab.features.indicators import MACD, RSI, Bollinger

    ticks = x.tolist()
    r, m, b = RSI().update, MACD().update, Bollinger().update
    t0 = time.perf_counter()
    for v in ticks:
        r(v)
        m(v)
        b(v)
    return (time.perf_counter() - t0) / len(ticks) * 1e6


def _panel(seconds: int) -> dict:
    import pandas as pd

    panel = {}
    for i, sym in enumerate(("BTC-USDT", "ETH-USDT", "SOL-USDT")):
        c = _closes(seconds, 100 + i)
        for tf, step in (("1s", 1), ("3s", 3), ("1m", 60)):
            panel[(sym, tf)] = pd.DataFrame({"ts_ms": np.arange(step - 1, seconds, step) * 1000, "close": c[step - 1::step]})
    return panel


def _cold_compile_s() -> float:
    with tempfile.TemporaryDirectory(prefix="hftlab-numba-cache-") as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        done = subprocess.run([sys.executable, "-c", _WARM_ALL], env=env, capture_output=True, text=True, check=True)
        return float(done.stdout.strip().splitlines()[-1])


def run(args) -> dict:
    import numba

    from hftlab.features import FeatureSpec, indicator_panel
    from hftlab.features.panel import _compute

    progress("numba: compiling every kernel with an empty cache in a fresh interpreter ...")
    compile_s = _cold_compile_s()
    x = _closes(args.n, 7)
    t0 = time.perf_counter()
    _hftlab(x[:100])
    first_call_s = time.perf_counter() - t0

    progress(f"batch over {args.n:,} closes: hftlab, TA-Lib, ta ...")
    hft, tal = _race([lambda: _hftlab(x), lambda: _talib(x)], args.repeat)
    py = _best(lambda: _ta(x), min(args.repeat, 2))

    progress(f"streaming: {args.ticks:,} ticks through RSI + MACD + Bollinger ...")
    tick_us = min(_streaming_us(x[: args.ticks]) for _ in range(min(args.repeat, 3)))

    panel = _panel(args.seconds)
    bars = sum(len(f) for f in panel.values())
    progress(f"panel: {len(panel)} series, {bars:,} bars: numba threads, one thread, 2-process pool ...")
    indicator_panel(panel)
    panel_s = _best(lambda: indicator_panel(panel), args.repeat)
    closes = [f["close"].to_numpy() for f in panel.values()]
    flat = np.concatenate(closes)
    offsets = np.concatenate(([0], np.cumsum([c.size for c in closes]))).astype(np.int64)
    spec = FeatureSpec()
    threads = numba.get_num_threads()

    def one_thread():
        numba.set_num_threads(1)
        try:
            _compute(flat, offsets, spec)
        finally:
            numba.set_num_threads(threads)

    kernel_s, one_thread_s = _race([lambda: _compute(flat, offsets, spec), one_thread], args.repeat)
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        list(pool.map(_hftlab, [x[:100]] * 4))  # start the workers and load the numba cache
        pool_s = _best(lambda: list(pool.map(_hftlab, closes)), args.repeat)
    return {
        "hftlab_batch_s": round(hft, 5),
        "talib_batch_s": round(tal, 5),
        "python_lib_batch_s": round(py, 5),
        "batch_vs_talib_x": round(hft / tal, 3),
        "streaming_tick_us": round(tick_us, 3),
        "panel_s": round(panel_s, 5),
        "panel_kernel_s": round(kernel_s, 5),
        "panel_one_thread_s": round(one_thread_s, 5),
        "panel_process_pool_s": round(pool_s, 5),
        "panel_bars_count": bars,
        "numba_compile_s": round(compile_s, 3),
        "numba_first_call_s": round(first_call_s, 4),
    }
