import pytest

from hftlab.backtest.config import BacktestConfig, PromoteConfig, updated


def test_defaults_are_concrete_and_safe():
    bt, gate = BacktestConfig(), PromoteConfig()
    assert (bt.threshold, bt.execution, bt.fee_tier, gate.metric) == (0.1, "taker", "regular", "trade_t")
    assert (bt.taker_fee, bt.maker_fee, bt.stop_loss_pct, bt.init_cash) == (None, None, 1.0, 10_000.0)  # the tier's
    assert (bt.touch_fill, bt.latency_ms, bt.funding_rate_8h) == (0.0, 0.0, 0.0001)
    # the gate's floor: no model without a t of 2 that it makes money after costs
    assert gate.min_metric == 2.0 and gate.floor == 2.0
    assert PromoteConfig(metric="psr", min_metric=0.95).floor == 0.95 and PromoteConfig(min_metric=3.0).floor == 3.0
    with pytest.raises(ValueError, match="psr is a probability"):
        PromoteConfig(metric="psr")  # a t-statistic's floor on a probability: said, not silently impossible
    assert gate.required_controls == ["permuted_labels", "null_world"]
    assert gate.baselines == ["majority", "logistic", "gbt"]


def test_updated_validates_and_names_the_field():
    bt = updated(BacktestConfig(), threshold=0.2, exit_threshold=None)
    assert bt.threshold == 0.2 and bt.exit_threshold is None
    with pytest.raises(ValueError, match="threshold"):
        updated(BacktestConfig(), threshold=1.5)
    with pytest.raises(ValueError, match="exit_threshold cannot exceed threshold"):
        updated(BacktestConfig(), threshold=0.1, exit_threshold=0.3)
    with pytest.raises(ValueError, match="min_trades"):
        updated(PromoteConfig(), min_trades=-1)
    with pytest.raises(ValueError, match="fee_tier"):
        updated(BacktestConfig(), fee_tier="vip42")
    assert updated(PromoteConfig(), metric="psr", min_metric=0.95).floor == 0.95
