import math

import pytest

from hftlab.backtest import gate
from hftlab.backtest.config import PromoteConfig
from hftlab.models.provenance import Provenance

SIM = Provenance(world="sim", venue="sim", symbol="BTC-USDT", timeframe="1s", feature_spec_hash="ab" * 32)
REPORT_OK = {"controls": {"permuted_labels": {"passed": True, "what": "shuffled labels: at chance"}}}
REPORT_LEAKS = {"controls": {"permuted_labels": {"passed": False, "what": "shuffled labels: at chance"}}}


def decide(candidate, champion, report, cfg, *, venue_world="sim", candidate_provenance=SIM, **kw):
    """The gate on the simulator venue; by default both models were trained on its world, the same
    series and the same features."""
    kw.setdefault("champion_provenance", None if champion is None else SIM)
    return gate.decide(candidate, champion, report, cfg, venue_world=venue_world,
                       candidate_provenance=candidate_provenance, **kw)


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


def test_a_candidate_of_another_world_than_the_venue_is_refused_however_good():
    okx = Provenance(world="okx", venue="okx-live", symbol="BTC-USDT", timeframe="1s", feature_spec_hash="ab" * 32)
    d = decide(metrics(sharpe=9.0), None, REPORT_OK, PromoteConfig(), candidate_provenance=okx)
    assert not d.promoted and d.reason == "not promoted: trained on okx data, this venue trades the sim world"
    assert [c.name for c in d.checks if not c.passed] == ["world"]
    assert decide(metrics(sharpe=9.0), None, REPORT_OK, PromoteConfig(), venue_world="okx",
                  candidate_provenance=okx).promoted


def test_a_candidate_that_does_not_record_its_provenance_is_refused():
    d = decide(metrics(), None, REPORT_OK, PromoteConfig(), candidate_provenance=Provenance(world="sim"))
    assert not d.promoted and "does not record its symbol, timeframe, feature_spec_hash" in d.reason
    unknown = decide(metrics(), None, REPORT_OK, PromoteConfig(), candidate_provenance=Provenance())
    assert not unknown.promoted and "its data world is not recorded, this venue trades the sim world" in unknown.reason
    assert [c.name for c in unknown.checks if not c.passed] == ["provenance", "world"]


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("timeframe", "1m", "timeframe 1s vs 1m"),
    ("symbol", "ETH-USDT", "symbol BTC-USDT vs ETH-USDT"),
    ("feature_spec_hash", "cd" * 32, "feature spec abababababab vs cdcdcdcdcdcd"),
    ("world", "okx", "world sim vs okx"),
    ("timeframe", None, "timeframe 1s vs (not recorded)"),
])
def test_models_that_differ_in_world_series_or_features_are_never_compared(field, value, shown):
    champion = Provenance(**{**SIM.to_dict(), field: value})
    # no champion metrics: promote does not backtest a champion it cannot compare
    d = decide(metrics(sharpe=9.0), None, REPORT_OK, PromoteConfig(), champion_provenance=champion)
    assert not d.promoted and d.reason.startswith(f"not promoted: cannot compare: candidate vs champion: {shown}")
    # a champion that does not record a fact is explained, with the way out
    assert ("registered before provenance tags" in d.reason) == (value is None)
    assert [c.name for c in d.checks if not c.passed] == ["comparable"]
    assert decide(metrics(sharpe=9.0), metrics(sharpe=1.0), REPORT_OK, PromoteConfig()).promoted  # the same facts


def test_a_comparable_champion_must_have_been_backtested():
    with pytest.raises(ValueError, match="no backtest of it"):
        decide(metrics(), None, REPORT_OK, PromoteConfig(), champion_provenance=SIM)

