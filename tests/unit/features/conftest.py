"""Real OKX candles for the feature tests, loaded once per session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

CANDLE_FILES = (
    "BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv",
    "BTC-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz",
    "ETH-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz",
    "SOL-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz",
)


@cache
def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


@pytest.fixture(params=CANDLE_FILES)
def candles(request, shared_data) -> pd.DataFrame:
    """One real candle file (columns ts_ms,date,open,high,low,close,volume); each test runs on all four."""
    path = shared_data / "okx" / "candles" / request.param
    assert path.is_file(), f"missing candle file {path}"
    return _read(path)


@pytest.fixture
def btc_1m(shared_data) -> pd.DataFrame:
    return _read(shared_data / "okx" / "candles" / CANDLE_FILES[0])
