import numpy as np
import pandas as pd
import pytest

from hftlab.models.config import ModelConfig
from hftlab.models.experiment import Options, plan, plan_all, run_experiment


def test_plan_gives_the_folds_or_says_why_not(learnable):
    prep = learnable(n=3000)
    cfg = ModelConfig(seq_len=16, batch_size=64, horizon=4)
    splits = plan(prep, cfg, Options(n_folds=3))
    assert len(splits) == 3 and all(s.test.start - s.val.end >= 4 + 16 for s in splits)
    assert [parts[0] for parts in plan_all(prep, cfg, Options(n_folds=3))] == splits
    with pytest.raises(ValueError, match="too little data .* fewer folds"):
        plan(learnable(n=150), cfg, Options(n_folds=3))
    with pytest.raises(ValueError, match="ddp_spawn"):
        plan(prep, cfg.model_copy(update={"strategy": "ddp_spawn"}), Options())


def test_the_report_leads_with_the_mean_over_folds_and_judges_direction_per_symbol():
    from hftlab.models.data import default_spec, prepare_panel

    rng = np.random.default_rng(7)

    def bars(n, px):
        close = px * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
        return pd.DataFrame({"ts_ms": 60_000 * np.arange(n), "open": close, "high": close * 1.001,
                             "low": close * 0.999, "close": close, "volume": rng.uniform(1, 2, n)})

    parts = [("A-USDT", bars(1500, 100.0)), ("B-USDT", bars(1500, 10.0))]
    panel = prepare_panel(parts, default_spec(parts[0][1]), horizon=4, dead_zone_bps=1.0)
    cfg = ModelConfig(hidden_size=4, num_layers=1, seq_len=8, batch_size=64, max_epochs=1, horizon=4,
                      dead_zone_bps=1.0, accelerator="cpu")
    out = run_experiment(panel, cfg, Options(n_folds=2, test_fraction=0.1, n_shifts=50, permuted_control=False,
                                             baselines=("majority", "logistic")))
    r = out.report
    h = r["headline"]["logistic"]["balanced_accuracy"]
    per_fold = [f["models"]["logistic"]["balanced_accuracy"] for f in r["folds"]]
    assert h["folds"] == per_fold and h["mean"] == pytest.approx(np.mean(per_fold))
    assert set(r["headline"]["lstm"]) == {"balanced_accuracy", "directional_accuracy", "ic", "traded"}
    assert set(r["series"]) == {"A-USDT", "B-USDT"} and "ic" in r["series"]["A-USDT"]["lstm"]
    assert set(r["folds"][0]["series"]) == {"A-USDT", "B-USDT"}
    assert len(out.predictions) == 2 and set(np.unique(out.predictions[0]["series"])) == {0, 1}
    assert r["data"]["series"] == ["A-USDT", "B-USDT"] and r["data"]["windows_excluded"] == 0
