from decimal import Decimal

import numpy as np
import pytest

from hftlab.backtest.config import BacktestConfig
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.market import Bar, TopOfBook
from hftlab.features import FeatureSpec
from hftlab.strategy.config import SizingConfig, StrategyConfig
from hftlab.strategy.filters import Veto
from hftlab.strategy.signal import SignalPipeline

SPEC = FeatureSpec(flow_window=0, book_levels=0)
INST = InstrumentSpec("X-USDT", InstType.SPOT, "X", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"))
NOW = 10**18


class Recording:
    """A predictor that says 'up' with a chosen probability and keeps every window it was given."""

    def __init__(self, up=0.8, seq_len=8):
        self.spec, self.seq_len, self.n_features = SPEC, seq_len, len(SPEC.names)
        self.up, self.windows = up, []

    def predict_proba(self, window):
        assert window.shape == (self.seq_len, self.n_features)
        self.windows.append(window.copy())
        return np.array([(1 - self.up) / 2, (1 - self.up) / 2, self.up], dtype=np.float32)


def bars(n, start=100.0):
    rng = np.random.default_rng(3)
    px = start * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    return [Bar("X-USDT", "1s", 1000 * t, p, p * 1.001, p * 0.999, p, 1.0, 1, p, 0.5, 0.5) for t, p in enumerate(px)]


def top(mid, now=NOW):
    return TopOfBook("X-USDT", f"{mid - 0.01:.2f}", "1", f"{mid + 0.01:.2f}", "1", 0, 1, True, now)


def pipeline(pred, **strategy):
    cfg = StrategyConfig(**{"sizing": SizingConfig(mode="fixed", notional_usd=500), **strategy})
    return SignalPipeline(INST, pred, BacktestConfig(threshold=0.1), cfg, cap_usd=1000, horizon=3)


def test_the_model_sees_the_newest_rows_in_order_and_only_complete_windows():
    pred = Recording()
    pipe = pipeline(pred)
    raws, decisions = [], []
    for b in bars(60):
        d = pipe.on_bar(b, top(b.close), NOW)
        raws.append(pipe.features.raw.copy())
        decisions.append(d)
    warm = next(i for i, r in enumerate(raws) if np.isfinite(r).all())  # the indicators' warm-up
    first = warm + pred.seq_len - 1
    assert len(pred.windows) == len(raws) - first
    for k, w in enumerate(pred.windows):
        np.testing.assert_array_equal(w, np.stack(raws[first + k - pred.seq_len + 1: first + k + 1]))
    assert all(d.veto is Veto.INCOMPLETE and d.target == 0 for d in decisions[:first])
    last = decisions[-1]
    assert (last.position, last.veto) == (1, None) and last.edge == pytest.approx(0.7)
    assert last.target == INST.size_for_notional(500, float(top(bars(60)[-1].close).mid)) > 0
    assert all(x >= 0 for x in last.stage_ns)


def test_an_invalid_book_or_a_weak_model_keeps_it_flat_and_accuracy_is_scored():
    pipe = pipeline(Recording(up=0.5), min_confidence=0.6)
    for b in bars(60):
        d = pipe.on_bar(b, top(b.close), NOW)
    assert (d.rule_position, d.position, d.veto) == (1, 0, Veto.CONFIDENCE)
    stale = pipeline(Recording())
    for b in bars(60):
        d = stale.on_bar(b, None, NOW)
    assert d.veto is Veto.BOOK and d.target == 0
    assert stale.accuracy.count > 0  # predictions are scored whatever the filters did


def test_a_model_without_a_spec_is_refused():
    pred = Recording()
    pred.spec = None
    with pytest.raises(ValueError, match="FeatureSpec"):
        pipeline(pred)
