"""The live signal pipeline of one instrument: closed bar -> features -> model -> rule -> filters ->
target position (sized). The same feature code (`StreamingFeatures`), rule (`SignalRule`) and sizing
(`sizing.notional`) as research and the backtest; only the filters are live-only.

    pipe = SignalPipeline(spec, predictor, backtest_cfg, strategy_cfg, cap_usd=risk.max_position_usd)
    pipe.on_book(book.bids(5), book.asks(5))       # before the bar's close, when the model uses book features
    d = pipe.on_bar(bar, top_of_book, time.time_ns())
    d.target                                       # signed size to hold (base units; contracts for a swap)

The input window is a ring of raw feature rows stored twice (rows i and i + seq_len), so the
newest `seq_len` rows are always one contiguous slice handed to the predictor without a copy. A
window holding a non-finite value (warm-up, a gap) is incomplete: no prediction, and the filters
keep the position flat. Each stage's cost is timed (`Decision.stage_ns`) for the latency histograms.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from hftlab.domain.instruments import InstrumentSpec
from hftlab.domain.market import Bar, TopOfBook
from hftlab.features.streaming import StreamingFeatures
from hftlab.strategy import sizing
from hftlab.strategy.accuracy import RollingAccuracy
from hftlab.strategy.filters import Filters, Veto
from hftlab.strategy.rule import SignalRule, edge_of

NAN3 = np.full(3, np.nan, dtype=np.float32)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Decision:
    inst_id: str
    bar_ts_ms: int
    proba: np.ndarray  # (down, flat, up); NaN when the window was incomplete
    edge: float
    rule_position: int  # what the rule alone says
    position: int  # after the filters
    veto: Veto | None
    target: Decimal  # signed size to hold
    notional: float
    stage_ns: tuple[int, int, int]  # features, inference, rule + filters + sizing


class SignalPipeline:
    def __init__(self, inst: InstrumentSpec, predictor, rule_cfg, cfg, *, cap_usd: float, horizon: int):
        """`predictor`: hftlab.models.predictor.Predictor (its spec and normalisation travel with it);
        `rule_cfg`: the backtest section (threshold, exit_threshold, allow_short); `cfg`: the strategy
        section; `cap_usd`: the position limit sizing must stay under; `horizon`: the label horizon
        (bars) the accuracy is scored over."""
        if predictor.spec is None:
            raise ValueError("the model carries no FeatureSpec: it cannot be served live")
        self.inst = inst
        self.predictor = predictor
        self.features = StreamingFeatures(predictor.spec)  # raw: the predictor normalises
        n, k = predictor.seq_len, predictor.n_features
        if len(self.features.names) != k:
            raise ValueError(f"the model expects {k} features, its spec computes {len(self.features.names)}")
        self.seq_len = n
        self._ring = np.full((2 * n, k), np.nan, dtype=np.float64)
        self._i = 0
        self._count = 0
        self.rule = SignalRule(rule_cfg.threshold, rule_cfg.exit_threshold, rule_cfg.allow_short)
        self.threshold = float(rule_cfg.threshold)
        self.filters = Filters(cfg, self.features.names)
        self.sizing = cfg.sizing
        self.cap_usd = float(cap_usd)
        self.accuracy = RollingAccuracy(horizon, cfg.accuracy_window)
        names = self.features.names
        rv = next((i for i, nm in enumerate(names) if nm.startswith("rv_")), None)
        self._rv = rv
        self._rv_bars = int(names[rv].split("_")[1]) if rv is not None else 1
        self.bars = 0
        self.predictions = 0

    def on_book(self, bids, asks) -> None:
        self.features.update_book(bids, asks)

    def _window(self) -> tuple[np.ndarray, bool]:
        n, i = self.seq_len, self._i
        w = self._ring[i + 1: i + 1 + n] if self._count >= n else self._ring[:0]
        return w, self._count >= n and bool(np.isfinite(w).all())

    def on_bar(self, bar: Bar, top: TopOfBook | None, now_ns: int) -> Decision:
        t0 = time.perf_counter_ns()
        raw = self.features.update_bar(bar)
        n = self.seq_len
        self._i = (self._i + 1) % n
        self._ring[self._i] = raw
        self._ring[self._i + n] = raw
        self._count += 1
        self.bars += 1
        window, complete = self._window()
        t1 = time.perf_counter_ns()
        if complete:
            proba = np.asarray(self.predictor.predict_proba(window), dtype=np.float64)
            self.predictions += 1
        else:
            proba = NAN3.astype(np.float64)
        t2 = time.perf_counter_ns()
        edge = edge_of(proba)
        rule_pos = int(self.rule.step_edge(edge))
        position, veto = self.filters.apply(rule_pos, proba, complete, top, raw, now_ns)
        notional = 0.0
        target = ZERO
        if position != 0:
            vol = float(raw[self._rv]) / math.sqrt(self._rv_bars) if self._rv is not None else math.nan
            notional = sizing.notional(edge, vol, self.threshold, self.sizing, self.cap_usd)
            mark = top.mid if top is not None and top.mid is not None else float(bar.close)
            target = self.inst.size_for_notional(notional, mark)
            target = target if position > 0 else -target
        self.accuracy.update(float(bar.close), int(np.sign(edge)) if complete and edge == edge else 0)
        t3 = time.perf_counter_ns()
        return Decision(bar.inst_id, bar.ts_ms, proba, edge, rule_pos, position, veto, target, notional,
                        (t1 - t0, t2 - t1, t3 - t2))
