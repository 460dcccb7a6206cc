import math

import pytest

from hftlab.backtest.config import PromoteConfig
from hftlab.backtest.gate import decide

REPORT_OK = {"controls": {"permuted_labels": {"passed": True, "what": "shuffled labels: at chance"}}}
REPORT_LEAKS = {"controls": {"permuted_labels": {"passed": False, "what": "shuffled labels: at chance"}}}


def metrics(sharpe=1.0, trades=10, drawdown=5.0, total_return=0.01):
    return {"sharpe": sharpe, "sortino": sharpe, "total_return": total_return, "n_trades": trades,
            "max_drawdown_pct": drawdown}


def test_first_model_is_promoted_only_if_it_passes_the_checks():
    cfg = PromoteConfig(min_trades=5, max_drawdown_pct=20)
    d = decide(metrics(sharpe=0.2), None, REPORT_OK, cfg)
    assert d.promoted and "first model" in d.reason and d.champion_value is None
    loser = decide(metrics(sharpe=-3.0), None, REPORT_OK, cfg)  # the default floor is 0
    assert not loser.promoted and "floor" in loser.reason
    for cand, report, what in ((metrics(trades=4), REPORT_OK, "trades"), (metrics(drawdown=25.0), REPORT_OK, "drawdown"),
                               (metrics(), REPORT_LEAKS, "control:permuted_labels"), (metrics(), {}, "control:permuted_labels")):
        d = decide(cand, None, report, cfg)
        assert not d.promoted and d.reason.startswith("not promoted: failed") and what in d.reason
        assert [c.name for c in d.checks if not c.passed] == [what]


def test_the_candidate_must_beat_the_champion_by_more_than_the_margin():
    cfg = PromoteConfig(margin=0.5)
    better = decide(metrics(sharpe=2.0), metrics(sharpe=1.4), REPORT_OK, cfg)
    assert better.promoted and "beats the champion" in better.reason
    assert (better.candidate_value, better.champion_value) == (2.0, 1.4)
    assert not decide(metrics(sharpe=1.9), metrics(sharpe=1.4), REPORT_OK, cfg).promoted  # +0.5 is not more
    worse = decide(metrics(sharpe=1.0), metrics(sharpe=1.4), REPORT_OK, cfg)
    assert not worse.promoted and "-0.4" in worse.reason and "more than 0.5" in worse.reason


def test_checks_apply_against_a_champion_too_and_the_metric_is_configurable():
    cfg = PromoteConfig(metric="total_return", margin=0.0, min_trades=1)
    assert not decide(metrics(total_return=0.5, trades=0), metrics(total_return=0.0), REPORT_OK, cfg).promoted
    assert decide(metrics(total_return=0.02, sharpe=-1), metrics(total_return=0.01, sharpe=5), REPORT_OK, cfg).promoted


def test_floor_is_configurable_and_already_champion():
    d = decide(metrics(sharpe=-0.1), None, REPORT_OK, PromoteConfig())
    assert not d.promoted and "floor" in d.reason
    assert decide(metrics(sharpe=-0.1), None, REPORT_OK, PromoteConfig(min_metric=-1.0)).promoted
    same = decide(metrics(), metrics(), REPORT_OK, PromoteConfig(), candidate_is_champion=True)
    assert not same.promoted and "already" in same.reason


def test_undefined_metric_is_not_promoted_and_serialises():
    d = decide(metrics(sharpe=math.nan), metrics(sharpe=1.0), REPORT_OK, PromoteConfig())
    assert not d.promoted and "undefined" in d.reason
    assert d.to_dict()["candidate_value"] is None
    inf = decide(metrics(sharpe=math.inf), None, REPORT_OK, PromoteConfig()).to_dict()
    assert inf["candidate_value"] == "inf" and inf["promoted"]


def test_config_validation():
    with pytest.raises(ValueError):
        PromoteConfig(metric="calmar")
    with pytest.raises(ValueError):
        PromoteConfig(unknown=1)
