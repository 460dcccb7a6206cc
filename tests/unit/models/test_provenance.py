import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.models.provenance import (FACTS, Provenance, bars_metadata, check_world, metadata_world,
                                      world_mismatch)

VALUES = st.one_of(st.none(), st.sampled_from(["sim", "okx", "BTC-USDT", "1s", "1m", "ab" * 32]))
PROVENANCES = st.builds(Provenance, world=VALUES, venue=VALUES, symbol=VALUES, timeframe=VALUES,
                        feature_spec_hash=VALUES)
FULL = Provenance(world="okx", venue="okx-live", symbol="BTC-USDT", timeframe="1m", feature_spec_hash="f" * 64)


def test_tags_name_every_recorded_fact():
    assert FULL.tags() == {"hftlab.world": "okx", "hftlab.venue": "okx-live", "hftlab.symbol": "BTC-USDT",
                           "hftlab.timeframe": "1m", "hftlab.feature_spec_hash": "f" * 64}
    assert Provenance(world="sim").tags() == {"hftlab.world": "sim"}


@given(PROVENANCES)
def test_tags_round_trip_and_other_tags_are_ignored(prov):
    assert Provenance.from_tags({**prov.tags(), "hftlab.path": "x.csv", "promotion.decision": "refused"}) == prov


@given(PROVENANCES, PROVENANCES)
def test_differences_are_the_facts_not_recorded_alike(a, b):
    diffs = a.differences(b)
    comparable = all(getattr(a, k) is not None and getattr(a, k) == getattr(b, k) for k in FACTS)
    assert (diffs == []) == comparable
    assert len(diffs) == len(b.differences(a))


def test_differences_say_what_differs_and_ignore_the_venue():
    demo = Provenance(**{**FULL.to_dict(), "venue": "okx-demo"})
    assert FULL.differences(demo) == []  # OKX demo and production quote the same market
    other = Provenance(world="sim", venue="sim", symbol="BTC-USDT", timeframe="1s", feature_spec_hash="0" * 64)
    assert FULL.differences(other) == ["world okx vs sim", "timeframe 1m vs 1s",
                                       "feature spec ffffffffffff vs 000000000000"]
    assert Provenance(world="okx").differences(FULL) == ["symbol (not recorded) vs BTC-USDT",
                                                         "timeframe (not recorded) vs 1m",
                                                         "feature spec (not recorded) vs ffffffffffff"]
    assert Provenance(world="okx").missing() == ("symbol", "timeframe", "feature_spec_hash")
    assert FULL.missing() == ()


def test_world_mismatch():
    assert world_mismatch("okx", "okx") is None
    assert world_mismatch("okx", "sim") == "trained on okx data, this venue trades the sim world"
    assert world_mismatch(None, "okx") == "its data world is not recorded, this venue trades the okx world"
    with pytest.raises(ValueError, match="'demo' is not a world"):
        check_world("demo", "--data-world")


def test_bars_file_metadata_round_trip():
    assert metadata_world(bars_metadata("sim", "sim")) == {"world": "sim", "venue": "sim"}
    assert metadata_world(bars_metadata("okx", None)) == {"world": "okx"}
    assert metadata_world({b"pandas": b"{}"}) == {} and metadata_world(None) == {}
    with pytest.raises(ValueError, match="not a world"):
        bars_metadata("okx-live", "okx-live")
