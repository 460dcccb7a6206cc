import pytest

from hftlab.backtest.config import BacktestConfig, PromoteConfig, updated


def test_defaults_are_concrete_and_safe():
    bt, gate = BacktestConfig(), PromoteConfig()
    assert (bt.threshold, bt.execution, gate.metric) == (0.1, "taker", "sharpe")
    assert (bt.taker_fee, bt.maker_fee, bt.stop_loss_pct, bt.init_cash) == (0.001, 0.0008, 1.0, 10_000.0)
    assert gate.min_metric == 0.0  # the gate's floor: no model that loses money after costs


def test_updated_validates_and_names_the_field():
    bt = updated(BacktestConfig(), threshold=0.2, exit_threshold=None)
    assert bt.threshold == 0.2 and bt.exit_threshold is None
    with pytest.raises(ValueError, match="threshold"):
        updated(BacktestConfig(), threshold=1.5)
    with pytest.raises(ValueError, match="exit_threshold cannot exceed threshold"):
        updated(BacktestConfig(), threshold=0.1, exit_threshold=0.3)
    with pytest.raises(ValueError, match="min_trades"):
        updated(PromoteConfig(), min_trades=-1)
