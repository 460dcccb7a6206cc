"""Simulator controls: the same evaluation on data whose predictability we set.

`hftlab.sim` plants a predictor whose strength is a parameter (see hftlab.sim.market): taker
order flow leans towards the sign of a latent signal s (always), and s drives the fair value's
drift with strength lambda = signal_strength. With lambda = 0 the flow imbalance clusters but
says nothing about future prices, so no model may beat chance; with lambda > 0 it does, over a
horizon of about s's time constant (10 s), so models should beat chance and the LSTM, which sees
the whole window of flow imbalances, should beat logistic regression on a window summary. Bars
come from the simulator's public trades through `hftlab.marketdata.bars` (1 s bars, empty seconds filled
flat), exactly as live bars would, with no server in between.
"""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd

from hftlab.models.evaluate import chance_verdict
from hftlab.models.experiment import LSTM, Options, run_experiment

log = logging.getLogger("hftlab.models")


def sim_bars(*, seed: int, signal_strength: float, seconds: int, timeframe: str = "1s",
             inst_id: str = "BTC-USDT", temporal_strength: float | None = None) -> pd.DataFrame:
    """`seconds` of simulated market as bars (columns of hftlab.domain.market.Bar)."""
    from hftlab.marketdata.bars import BarBuilder, period_ms
    from hftlab.sim.exchange import SimExchange
    from hftlab.sim.instruments import default_instruments

    listed = default_instruments()
    insts = [i for i in listed if i.inst_id == inst_id]
    if not insts:
        raise ValueError(f"the simulator lists no {inst_id!r}")
    if insts[0].is_swap:  # a swap follows its spot market, which must run beside it
        insts = [i for i in listed if i.inst_id == f"{insts[0].base_ccy}-{insts[0].quote_ccy}"] + insts
    ex = SimExchange(insts, seed=seed, signal_strength=signal_strength, temporal_strength=temporal_strength)
    builder = BarBuilder(inst_id, timeframe, fill_empty=True)
    step = period_ms(timeframe)
    bars = []
    start = ex.now_ms
    for t in range(start + step, start + seconds * 1000 + 1, step):
        ex.advance_to(t)
        for tr in ex.take_trades(inst_id):
            bars.extend(builder.update(tr.ts_ms, float(tr.px), float(tr.sz), tr.side, tr.count))
        bars.extend(builder.advance(t))
    bars.extend(builder.flush())
    return pd.DataFrame([dataclasses.asdict(b) for b in bars]).drop(columns=["inst_id", "timeframe"])


def sim_control(cfg, opts: Options, *, signal_strength: float, seconds: int, seed: int,
                progress: bool = False) -> dict:
    """Run the evaluation on simulated bars; the verdict depends on whether a signal was planted.

    signal_strength 0: passed when no model beats chance (one-sided shift test, Bonferroni): a
    failure means the pipeline finds structure that is not there (look-ahead, leakage).
    signal_strength > 0: passed when the LSTM beats chance: a failure means the pipeline cannot learn
    a signal that is there. Whether the LSTM also beats logistic regression (block-bootstrap 95%
    interval of the balanced-accuracy difference above 0) is reported beside it, as a finding about
    the model rather than a check of the pipeline.
    """
    from hftlab.models.data import default_spec, prepare

    bars = sim_bars(seed=seed, signal_strength=signal_strength, seconds=seconds)
    log.info("control: simulator, signal_strength %g, %d bars", signal_strength, len(bars))
    prep = prepare(bars, default_spec(bars), cfg.horizon, cfg.dead_zone_bps)
    # one fold, the newest quarter as its test block: a control needs a verdict, not a walk-forward curve
    opts = dataclasses.replace(opts, permuted_control=False, n_folds=1, test_fraction=0.25)
    out = run_experiment(prep, cfg, opts, progress=progress)
    models = out.report["models"]
    summary = {name: {"balanced_accuracy": r["balanced_accuracy"], "auc_macro": r["auc_macro"],
                      "beats_chance": r["beats_chance"], "p_greater": r["chance_test"]["p_greater"]}
               for name, r in models.items()}
    doc = {"signal_strength": signal_strength, "seconds": seconds, "seed": seed, "bars": len(bars),
           "label_rates": out.report["data"]["label_rates"], "models": summary}
    if signal_strength == 0:
        verdict = chance_verdict(models, alpha=opts.alpha, n_shifts=opts.n_shifts, sided="greater")
        doc.update(what="no signal planted: no model may beat chance", test=verdict["test"],
                   passed=verdict["passed"])
    else:
        vs = out.report["lstm_vs_baselines"]["logistic"]
        doc.update(what="signal planted: the LSTM must beat chance; compared with logistic regression beside it",
                   test=f"one-sided shift test of the LSTM at alpha {opts.alpha}; LSTM vs logistic: moving-block "
                        "bootstrap (blocks of horizon + seq_len) of the balanced-accuracy difference on the same "
                        "test samples, better when its 95% interval is above 0",
                   passed=models[LSTM]["beats_chance"], lstm_minus_logistic=vs,
                   lstm_beats_logistic=vs["ci95"][0] > 0)
    return doc
