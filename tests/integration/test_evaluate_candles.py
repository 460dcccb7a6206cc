"""`hftlab evaluate` at a tiny size on the real OKX candles: each symbol alone and the panel, models vs
baselines per fold, directional skill, IC, after costs, the table written as Markdown and JSON."""

import argparse
import json

import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--max-rows", "2000", "--folds", "2", "--max-epochs", "1", "--hidden-size", "8", "--num-layers", "1",
        "--seq-len", "8", "--batch-size", "128", "--accelerator", "cpu"]


def _run(argv):
    from hftlab.commands import evaluate as cli

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return cli.run(p.parse_args(argv))


def test_evaluate_writes_the_honest_table_for_each_symbol_and_the_panel(shared_data, tmp_path, capsys):
    symbols = ["BTC-USDT-SWAP", "SOL-USDT-SWAP"]
    rc = _run(["--data", str(shared_data / "okx" / "candles"), "--symbols", *symbols, "--out", str(tmp_path),
               "--json", *TINY])
    out = capsys.readouterr()
    assert rc == 0, out.err
    said = json.loads(out.out)
    doc = json.loads((tmp_path / "okx-5m.json").read_text())
    md = (tmp_path / "okx-5m.md").read_text()
    assert said["markdown"] == str(tmp_path / "okx-5m.md") and said["headline"] == doc["headline"]

    # each symbol alone, then both in one model; every fold backtested per series
    assert [(r["name"], r["training"]) for r in doc["runs"]] == [("BTC-USDT-SWAP", "alone"), ("SOL-USDT-SWAP", "alone"),
                                                                  ("panel", "panel")]
    panel = doc["runs"][2]
    assert panel["series"] == symbols and len(panel["folds"]) == 2
    for fold in panel["folds"]:
        assert set(fold["series"]) == set(symbols)
        for per in fold["series"].values():
            assert set(per["models"]) == {"lstm", "majority", "logistic", "gbt"}
            assert {"balanced_accuracy", "directional_accuracy", "ic", "total_return", "trade_t", "n_trades"} <= set(
                per["models"]["lstm"])
            assert per["buy_and_hold"]["n_trades"] == 1
    for r in doc["runs"]:  # the permuted-label control, with each model's figures
        control = r["permuted_labels"]
        assert control["passed"] == (not any(m["leaks"] for m in control["models"].values()))
        assert set(control["models"]) == {"lstm", "majority", "logistic", "gbt"}

    # the table: per (symbol, training, model) each statistic per fold with its mean and spread
    rows = {(r["symbol"], r["training"], r["model"]): r for r in doc["table"]}
    assert len(rows) == 2 * (4 + 4) + 2  # 4 models alone and in the panel per symbol, and buy-and-hold
    lstm = rows[("SOL-USDT-SWAP", "panel", "lstm")]
    assert len(lstm["balanced_accuracy"]["folds"]) == 2 and set(lstm["total_return"]) == {"mean", "std", "folds"}
    assert rows[("BTC-USDT-SWAP", "alone", "majority")]["balanced_accuracy"]["mean"] == pytest.approx(1 / 3)
    assert doc["settings"]["backtest"]["fee_tier"] == "regular" and "10,000 USD" in doc["settings"]["sizing"]

    # the Markdown says the same, headline first
    assert md.startswith("# Results on real OKX data: BTC-USDT-SWAP, SOL-USDT-SWAP 5m candles")
    assert all(f"- {line}" in md for line in doc["headline"])
    assert md.count("| SOL-USDT-SWAP | panel |") == 4 and "| BTC-USDT-SWAP | - | buy and hold |" in md
    assert md.count("fitted to shuffled labels vs to the true ones") == 3
    assert "hftlab evaluate: panel: fold 2/2 backtested" in out.err  # progress on stderr


def test_missing_candles_are_named(shared_data, tmp_path, capsys):
    assert _run(["--data", str(shared_data / "okx" / "candles"), "--symbols", "DOGE-USDT-SWAP", "--out",
                 str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "no 5m candles of DOGE-USDT-SWAP" in err and "BTC-USDT-SWAP_5m_2022-05-01_2022-12-31.csv.gz" in err
    assert not list(tmp_path.iterdir())
