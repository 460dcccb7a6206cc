import math

import pytest

from hftlab.backtest import gate
from hftlab.backtest.config import PromoteConfig
from hftlab.models.provenance import Provenance

SIM = Provenance(world="sim", venue="sim", symbol="BTC-USDT", timeframe="1s", feature_spec_hash="ab" * 32)
PERMUTED_OK = {"passed": True, "what": "shuffled labels: at chance"}
NULL_OK = {"passed": True, "what": "null world: the same pipeline at signal 0 did not pass the money test"}
REPORT_OK = {"controls": {"permuted_labels": PERMUTED_OK, "null_world": NULL_OK}}
REPORT_LEAKS = {"controls": {"permuted_labels": {**PERMUTED_OK, "passed": False}, "null_world": NULL_OK}}
REPORT_LOOKS_AHEAD = {"controls": {"permuted_labels": PERMUTED_OK, "null_world": {**NULL_OK, "passed": False}}}


def beaten(t=3.0):
    return [gate.Versus(name, t, 0.01, -0.002) for name in ("majority", "logistic", "gbt")]


def decide(candidate, champion, report, cfg, *, venue_world="sim", candidate_provenance=SIM, baselines=None, **kw):
    """The gate on the simulator venue; by default both models were trained on its world, the same
    series and the same features, and the candidate beat every baseline."""
    kw.setdefault("champion_provenance", None if champion is None else SIM)
    return gate.decide(candidate, champion, beaten() if baselines is None else baselines, report, cfg,
                       venue_world=venue_world, candidate_provenance=candidate_provenance, **kw)


def evidence(t=2.5, trades=40, drawdown=5.0, psr=0.97, total_return=0.01):
    return gate.Evidence(trades, drawdown, t, 3.0, psr, total_return)


def versus(t):
    return gate.Versus("champion", t, 0.02, 0.01)


def test_first_model_is_promoted_only_if_it_passes_the_checks():
    cfg = PromoteConfig(min_trades=5, max_drawdown_pct=20)
    d = decide(evidence(t=2.5), None, REPORT_OK, cfg)
    assert d.promoted and "first model" in d.reason and d.versus_champion is None
    loser = decide(evidence(t=-3.0), None, REPORT_OK, cfg)  # the default floor is a t of 2
    assert not loser.promoted and "money" in loser.reason
    lucky = decide(evidence(t=1.5), None, REPORT_OK, cfg)  # makes money, but not convincingly
    assert not lucky.promoted and [c.name for c in lucky.checks if not c.passed] == ["money"]
    for cand, report, what in ((evidence(trades=4), REPORT_OK, ["trades"]),
                               (evidence(drawdown=25.0), REPORT_OK, ["drawdown"]),
                               (evidence(), REPORT_LEAKS, ["control:permuted_labels"]),
                               (evidence(), REPORT_LOOKS_AHEAD, ["control:null_world"]),
                               (evidence(), {}, ["control:permuted_labels", "control:null_world"])):
        d = decide(cand, None, report, cfg)
        assert not d.promoted and d.reason.startswith("not promoted: failed") and what[0] in d.reason
        assert [c.name for c in d.checks if not c.passed] == what


def test_the_candidate_must_beat_every_baseline_on_the_same_window():
    cfg = PromoteConfig()
    worse = [gate.Versus("majority", 3.0, 0.01, 0.0), gate.Versus("logistic", -0.5, 0.01, 0.012),
             gate.Versus("gbt", 1.0, 0.01, 0.0)]
    d = decide(evidence(), None, REPORT_OK, cfg, baselines=worse)
    assert not d.promoted and [c.name for c in d.checks if not c.passed] == ["baseline:logistic"]
    assert "candidate +1.000%, logistic +1.200%" in d.reason
    missing = decide(evidence(), None, REPORT_OK, cfg, baselines=worse[:1])
    assert [c.name for c in missing.checks if not c.passed] == ["baseline:logistic", "baseline:gbt"]
    assert "not backtested beside the candidate" in missing.reason
    assert decide(evidence(), None, REPORT_OK, PromoteConfig(baselines=["majority"]), baselines=worse).promoted


def test_the_candidate_must_beat_the_champion_by_more_than_the_margin():
    cfg = PromoteConfig(margin=2.0)
    better = decide(evidence(), versus(2.5), REPORT_OK, cfg)
    assert better.promoted and "beats the champion" in better.reason and better.versus_champion == 2.5
    assert not decide(evidence(), versus(2.0), REPORT_OK, cfg).promoted  # 2.0 is not more
    worse = decide(evidence(), versus(-0.4), REPORT_OK, cfg)
    assert not worse.promoted and "t -0.4" in worse.reason and "must exceed 2" in worse.reason


def test_checks_apply_against_a_champion_too_and_the_metric_is_configurable():
    cfg = PromoteConfig(metric="psr", min_metric=0.95, margin=0.0, min_trades=1)
    assert not decide(evidence(psr=0.99, trades=0), versus(5.0), REPORT_OK, cfg).promoted
    d = decide(evidence(psr=0.97, t=-1.0), versus(0.5), REPORT_OK, cfg)
    assert d.promoted and d.metric == "psr" and d.floor == 0.95 and d.candidate_value == 0.97
    assert not decide(evidence(psr=0.9, t=5.0), versus(0.5), REPORT_OK, cfg).promoted


def test_floor_is_configurable_and_already_champion():
    d = decide(evidence(t=0.5), None, REPORT_OK, PromoteConfig())
    assert not d.promoted and "floor 2" in d.reason
    assert decide(evidence(t=0.5), None, REPORT_OK, PromoteConfig(min_metric=0.0)).promoted
    same = decide(evidence(), versus(3.0), REPORT_OK, PromoteConfig(), candidate_is_champion=True)
    assert not same.promoted and "already" in same.reason


def test_undefined_statistic_is_not_promoted_and_serialises():
    d = decide(evidence(t=math.nan, trades=1), None, REPORT_OK, PromoteConfig(min_trades=1))
    assert not d.promoted and "undefined" in d.reason
    assert d.to_dict()["candidate_value"] is None
    inf = decide(evidence(t=math.inf), None, REPORT_OK, PromoteConfig()).to_dict()
    assert inf["candidate_value"] == "inf" and inf["promoted"]
    assert not decide(evidence(), versus(math.nan), REPORT_OK, PromoteConfig()).promoted


def test_config_validation():
    with pytest.raises(ValueError):
        PromoteConfig(metric="sharpe")  # a description, not evidence
    with pytest.raises(ValueError):
        PromoteConfig(unknown=1)


def test_a_candidate_of_another_world_than_the_venue_is_refused_however_good():
    okx = Provenance(world="okx", venue="okx-live", symbol="BTC-USDT", timeframe="1s", feature_spec_hash="ab" * 32)
    d = decide(evidence(t=9.0), None, REPORT_OK, PromoteConfig(), candidate_provenance=okx)
    assert not d.promoted and d.reason == "not promoted: trained on okx data, this venue trades the sim world"
    assert [c.name for c in d.checks if not c.passed] == ["world"]
    assert decide(evidence(t=9.0), None, REPORT_OK, PromoteConfig(), venue_world="okx",
                  candidate_provenance=okx).promoted


def test_a_candidate_that_does_not_record_its_provenance_is_refused():
    d = decide(evidence(), None, REPORT_OK, PromoteConfig(), candidate_provenance=Provenance(world="sim"))
    assert not d.promoted and "does not record its symbol, timeframe, feature_spec_hash" in d.reason
    unknown = decide(evidence(), None, REPORT_OK, PromoteConfig(), candidate_provenance=Provenance())
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
    d = decide(evidence(t=9.0), None, REPORT_OK, PromoteConfig(), champion_provenance=champion)
    assert not d.promoted and d.reason.startswith(f"not promoted: cannot compare: candidate vs champion: {shown}")
    # a champion that does not record a fact is explained, with the way out
    assert ("registered before provenance tags" in d.reason) == (value is None)
    assert [c.name for c in d.checks if not c.passed] == ["comparable"]
    assert decide(evidence(t=9.0), versus(3.0), REPORT_OK, PromoteConfig()).promoted  # the same facts


def test_a_comparable_champion_must_have_been_backtested():
    with pytest.raises(ValueError, match="no backtest of it"):
        decide(evidence(), None, REPORT_OK, PromoteConfig(), champion_provenance=SIM)

