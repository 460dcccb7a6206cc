import json

import numpy as np
import pytest

from hftlab.domain.market import Bar
from hftlab.okx.events import Ticker
from hftlab.pipeline import research

T0 = 1_767_225_600_000  # 2026-01-01


def bar(k: int, inst="BTC-USDT", tf="1s") -> Bar:
    px = 100.0 + k
    return Bar(inst, tf, T0 + 1000 * k, px, px + 1, px - 1, px + 0.5, 2.0, 3, px, 1.5, 0.5)


def ticker(ts_ms: int, bid: str, ask: str, inst="BTC-USDT") -> Ticker:
    return Ticker(inst, bid, "1", bid, "1", ask, "1", ts_ms, ts_ms * 1_000_000)


async def test_recorded_bars_carry_the_spread_at_each_close(tmp_path):
    from hftlab.collect.recorder import Recorder

    async with Recorder(tmp_path, record_raw=False) as rec:
        for k in range(4):
            rec.add_event(bar(k))
        rec.add_event(bar(0, tf="3s"))
        rec.add_event(bar(0, inst="ETH-USDT"))
        rec.add_event(ticker(T0 + 1500, "99.99", "100.01"))  # inside bar 1: its spread from here on
        rec.add_event(ticker(T0 + 2999, "100.00", "100.10"))  # the last moment of bar 2
        rec.add_event(ticker(T0 + 2999, "100.00", "100.10", inst="ETH-USDT"))
    bars = research.recorded_bars(tmp_path, "BTC-USDT", "1s")
    assert bars["ts_ms"].tolist() == [T0 + 1000 * k for k in range(4)]
    assert np.isnan(bars["spread_bps"][0])  # no quote yet
    assert bars["spread_bps"][1] == pytest.approx(0.02 / 100.0 * 1e4)
    assert bars["spread_bps"][2] == pytest.approx(0.10 / 100.05 * 1e4)
    assert bars["spread_bps"][3] == pytest.approx(0.10 / 100.05 * 1e4)


def test_saved_bars_say_whose_market_they_show_and_training_reads_it(tmp_path):
    from dataclasses import asdict

    import pandas as pd

    from hftlab.models.barfiles import data_world, load_bars

    bars = pd.DataFrame([asdict(bar(k)) for k in range(5)])
    bars["spread_bps"] = 1.0
    path = research.save_bars(bars, tmp_path / "bars.parquet", world="okx", venue="okx-demo")
    loaded, info = load_bars(path)
    assert (info["world"], info["venue"], info["symbol"], info["timeframe"]) == ("okx", "okx-demo", "BTC-USDT", "1s")
    assert data_world(info) == "okx" and len(loaded) == 5
    assert pd.read_parquet(path)["spread_bps"].tolist() == [1.0] * 5


def test_context_defaults_and_the_run_directory_contract(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"system: {{data_dir: {tmp_path / 'var'}, log_level: WARNING}}\n")
    monkeypatch.setenv("HFTLAB_CONFIG", str(cfg))
    ctx = research.context()
    assert ctx.run_dir == tmp_path / "var" / "runs" / "notebooks" and ctx.run_dir.is_dir()
    with pytest.raises(FileNotFoundError, match="run the step that writes it first"):
        ctx.read_json("train")
    ctx.write_json("train", {"run_id": "x", "n": np.int64(3)})
    assert json.loads(ctx.path("train").read_text()) == {"run_id": "x", "n": 3}
    other = research.context(tmp_path / "elsewhere", str(cfg))
    assert other.run_dir == tmp_path / "elsewhere" and other.config == [str(cfg)]


def test_rule_configs_route_each_parameter_to_its_section(tmp_path, monkeypatch):
    monkeypatch.setenv("HFTLAB_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text(f"system: {{data_dir: {tmp_path}}}\n")
    ctx = research.context(tmp_path)
    bt, gate = research.rule_configs(ctx, threshold=0.3, exit_threshold=None, margin=1.0, min_trades=2)
    assert (bt.threshold, bt.exit_threshold, gate.margin, gate.min_trades) == (0.3, None, 1.0, 2)
    with pytest.raises(ValueError, match="not a backtest or promote setting"):
        research.rule_configs(ctx, treshold=0.3)
