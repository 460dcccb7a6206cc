"""Model tests share 2 busy cores with everything else: one intra-op thread, tiny networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread(one_torch_thread):
    """Every model test runs torch on one thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def candles(shared_data) -> pd.DataFrame:
    """Real 1-minute BTC-USDT-SWAP candles (15 days)."""
    return pd.read_csv(shared_data / "okx" / "candles" / "BTC-USDT-SWAP_1m_2026-01-01_2026-01-16.csv")


@pytest.fixture(scope="session")
def learnable():
    """Factory of Prepared series whose labels are learnable by design (see _learnable)."""
    return _learnable


def _learnable(n: int = 3000, seed: int = 0, horizon: int = 4, lag: int = 2):
    """A Prepared whose label at row i is a threshold of feature `a` at row i - lag: learnable by design."""
    from hftlab.features import FeatureSpec
    from hftlab.models.data import Prepared

    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    lagged = np.concatenate([np.zeros(lag), a[:n - lag]])
    labels = np.where(lagged > 0.4, 1.0, np.where(lagged < -0.4, -1.0, 0.0))
    labels[-horizon:] = np.nan
    feats = pd.DataFrame({"a": a, "b": b})
    return Prepared(feats, labels, np.arange(n, dtype=np.int64) * 60_000, FeatureSpec(), horizon, 2.0)
