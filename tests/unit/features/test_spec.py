"""FeatureSpec: names and window derived from parameters, JSON round trip, clear errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.features import FeatureSpec
from hftlab.features.spec import spec_hash

specs = st.builds(
    FeatureSpec,
    return_horizons=st.lists(st.integers(1, 100), min_size=1, max_size=5, unique=True).map(tuple),
    vol_window=st.integers(1, 200),
    flow_window=st.integers(0, 50),
    book_levels=st.integers(0, 25),
    rsi_period=st.integers(2, 100),
    macd_fast=st.integers(2, 20),
    macd_slow=st.integers(21, 60),
    macd_signal=st.integers(1, 20),
    bb_period=st.integers(2, 100),
    bb_nbdev=st.floats(0.0, 5.0),
)


def test_default_names_and_window():
    spec = FeatureSpec()
    assert spec.names == (
        "ret_1", "ret_5", "ret_15", "rv_20", "log_volume", "tfi_1", "spread_bps", "obi_5", "rsi_14",
        "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9", "bb_pctb_20_2", "bb_width_20_2",
    )
    assert spec.window == (26 + 9 - 2) + 1  # MACD has the longest lookback


def test_switching_off_inputs_a_source_lacks():
    spec = FeatureSpec(flow_window=0, book_levels=0)
    assert not any(n.startswith(("tfi", "spread", "obi")) for n in spec.names)
    assert spec.required_columns() == ("close", "volume")
    assert FeatureSpec().required_columns() == ("close", "volume", "buy_volume", "sell_volume")


@settings(max_examples=200, deadline=None)
@given(spec=specs)
def test_json_round_trip(spec):
    text = spec.to_json()
    back = FeatureSpec.from_json(text)
    assert back == spec and back.names == spec.names and back.window == spec.window
    doc = json.loads(text)
    assert doc["names"] == list(spec.names) and doc["window"] == spec.window
    assert len(set(spec.names)) == len(spec.names)


def test_a_spec_from_another_feature_version_is_refused():
    doc = FeatureSpec().to_dict()
    doc["names"] = doc["names"][:-1]
    with pytest.raises(ValueError, match="different feature version"):
        FeatureSpec.from_dict(doc)
    doc = FeatureSpec().to_dict()
    doc["window"] = 3
    with pytest.raises(ValueError, match="stored window 3"):
        FeatureSpec.from_dict(doc)
    with pytest.raises(ValueError, match="unknown parameters \\['ema_period'\\]"):
        FeatureSpec.from_dict({"version": 1, "params": {"ema_period": 3}})
    with pytest.raises(ValueError, match="not a FeatureSpec document"):
        FeatureSpec.from_dict({"version": 99, "params": {}})


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"return_horizons": ()}, "non-empty"),
    ({"return_horizons": (1, 1)}, "without repeats"),
    ({"return_horizons": (0,)}, "return_horizons item must be an integer >= 1"),
    ({"return_horizons": 5}, "sequence of integers"),
    ({"vol_window": 0}, "vol_window must be an integer >= 1"),
    ({"flow_window": -1}, "flow_window must be an integer >= 0"),
    ({"book_levels": 1.5}, "book_levels must be an integer >= 0"),
    ({"rsi_period": 1}, "period must be an integer >= 2"),
    ({"macd_fast": 30}, "fast must be shorter than slow"),
    ({"bb_period": 0}, "bb_period must be an integer >= 2"),
    ({"bb_nbdev": -2.0}, "nbdev must be a finite number >= 0"),
])
def test_invalid_parameters(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        FeatureSpec(**kwargs)


def test_spec_hash_is_stable_across_processes_and_versions():
    # pinned: every registered model records this hash; if it changes, the change is a new feature
    # version (SPEC_VERSION) and no model of the old one may be served by the new code
    assert spec_hash(FeatureSpec()) == "e9771d074f16c5a8b15460e6bea6766616a2e080e54a60c8e178ad9764663f5c"
    assert spec_hash(FeatureSpec(return_horizons=[1, 5, 15], bb_nbdev=2)) == spec_hash(FeatureSpec())


@settings(max_examples=100, deadline=None)
@given(spec=specs, other=specs)
def test_spec_hash_is_equal_exactly_for_equal_specs(spec, other):
    assert spec_hash(FeatureSpec.from_json(spec.to_json())) == spec_hash(spec)
    assert (spec_hash(spec) == spec_hash(other)) == (spec == other)
