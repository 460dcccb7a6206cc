import pytest

from hftlab.pipeline.live import settings_env


def test_the_live_step_trades_the_researched_world_and_rule():
    env = settings_env(speed=10, signal_strength=1.0,
                       rule={"threshold": 0.5, "exit_threshold": 0.2, "allow_short": True, "execution": "maker"})
    assert env == {"HFTLAB__VENUE__SIM__SPEED": "10.0", "HFTLAB__VENUE__SIM__SIGNAL_STRENGTH": "1.0",
                   "HFTLAB__BACKTEST__THRESHOLD": "0.5", "HFTLAB__BACKTEST__EXIT_THRESHOLD": "0.2",
                   "HFTLAB__BACKTEST__ALLOW_SHORT": "true", "HFTLAB__STRATEGY__STYLE": "maker"}
    # None leaves a setting as configured
    assert settings_env(speed=None, signal_strength=None, rule={"threshold": None, "allow_short": None}) == {}
    with pytest.raises(ValueError, match="not a rule setting"):
        settings_env(speed=None, signal_strength=None, rule={"stop_loss_pct": 1})
