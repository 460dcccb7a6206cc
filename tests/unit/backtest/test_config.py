import pytest

from hftlab.backtest.config import BacktestConfig, PromoteConfig, fees, sections, updated
from hftlab.config import Settings


def test_defaults_and_fees_from_the_simulator():
    bt, gate = sections(Settings())
    assert (bt.threshold, bt.execution, gate.metric) == (0.1, "taker", "sharpe")
    assert fees(bt, Settings()) == pytest.approx((0.0008, 0.001))
    s = Settings.model_validate({"venue": {"sim": {"taker_fee": -0.0005, "maker_fee": 0.0002}}})
    assert fees(bt, s) == pytest.approx((-0.0002, 0.0005))  # a maker rebate stays a rebate
    assert fees(BacktestConfig(taker_fee=0.002, maker_fee=0.0), s) == (0.0, 0.002)


def test_updated_validates_and_names_the_field():
    bt = updated(BacktestConfig(), threshold=0.2, exit_threshold=None)
    assert bt.threshold == 0.2 and bt.exit_threshold is None
    with pytest.raises(ValueError, match="threshold"):
        updated(BacktestConfig(), threshold=1.5)
    with pytest.raises(ValueError, match="exit_threshold cannot exceed threshold"):
        updated(BacktestConfig(), threshold=0.1, exit_threshold=0.3)
    with pytest.raises(ValueError, match="min_trades"):
        updated(PromoteConfig(), min_trades=-1)
