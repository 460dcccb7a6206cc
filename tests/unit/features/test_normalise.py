"""Normaliser: fitted on the training window only, JSON round trip, identical on frames and vectors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.features import FeatureSpec, Normaliser, compute_features, dump_bundle, load_bundle

SPEC = FeatureSpec(flow_window=0, book_levels=0)


@pytest.fixture
def features(btc_1m) -> pd.DataFrame:
    return compute_features(btc_1m.iloc[:4000].set_index("ts_ms"), SPEC)


@pytest.mark.parametrize("method", ["zscore", "robust"])
def test_fitted_on_the_training_window_only(features, method):
    until = features.index[2500]
    norm = Normaliser.fit(features, method=method, until=until)
    assert norm.rows == 2500
    changed = features.copy()
    changed.iloc[2500:] = changed.iloc[2500:] * 7.0 + 3.0  # the test period, wildly different
    assert Normaliser.fit(changed, method=method, until=until) == norm
    leaked = features.copy()
    leaked.iloc[2400:2500] = leaked.iloc[2400:2500] * 7.0 + 3.0  # inside the training window
    assert Normaliser.fit(leaked, method=method, until=until) != norm
    # and the statistics are those of the training rows
    train = features.iloc[:2500]
    centre = train.mean() if method == "zscore" else train.median()
    np.testing.assert_allclose(norm.center, centre.to_numpy(), rtol=1e-12)


def test_training_window_statistics_normalise_to_zero_mean_unit_std(features):
    norm = Normaliser.fit(features, until=features.index[3000])
    z = norm.transform(features.iloc[:3000])
    np.testing.assert_allclose(z.mean().to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(ddof=0).to_numpy(), 1.0, rtol=1e-9)


def test_frame_and_vector_transforms_are_identical(features):
    norm = Normaliser.fit(features, method="robust", clip=4.0)
    frame = norm.transform(features)
    assert list(frame.columns) == list(SPEC.names) and frame.index.equals(features.index)
    rows = np.vstack([norm.transform(v) for v in features.to_numpy()])
    np.testing.assert_array_equal(rows, frame.to_numpy())
    assert np.nanmax(np.abs(frame.to_numpy())) <= 4.0
    assert frame.isna().equals(features.isna())


def test_constant_feature_keeps_scale_one():
    df = pd.DataFrame({"a": [2.0, 2.0, 2.0, np.nan], "b": [1.0, 2.0, 3.0, 4.0]})
    norm = Normaliser.fit(df)
    assert norm.scale[0] == 1.0 and norm.center[0] == 2.0
    np.testing.assert_array_equal(norm.transform(df)["a"].to_numpy()[:3], 0.0)


finite = st.floats(-1e6, 1e6)


@settings(max_examples=100, deadline=None)
@given(center=st.lists(finite, min_size=1, max_size=6), method=st.sampled_from(["zscore", "robust"]),
       clip=st.none() | st.floats(0.1, 100.0), data=st.data())
def test_json_round_trip(center, method, clip, data):
    n = len(center)
    scale = data.draw(st.lists(st.floats(1e-9, 1e6), min_size=n, max_size=n))
    norm = Normaliser(tuple(f"f{i}" for i in range(n)), tuple(center), tuple(scale), method, clip, 10)
    assert Normaliser.from_dict(json.loads(json.dumps(norm.to_dict()))) == norm


def test_bundle_round_trip(features):
    norm = Normaliser.fit(features, until=features.index[2000])
    spec, back = load_bundle(dump_bundle(SPEC, norm))
    assert spec == SPEC and back == norm
    x = features.to_numpy()[-1]
    np.testing.assert_array_equal(back.transform(x), norm.transform(x))


def test_mismatches_and_bad_input_are_clear(features):
    norm = Normaliser.fit(features)
    with pytest.raises(ValueError, match="disagree on the feature names"):
        dump_bundle(FeatureSpec(), norm)
    with pytest.raises(ValueError, match="lack columns \\['rsi_14'\\]"):
        norm.transform(features.drop(columns="rsi_14"))
    with pytest.raises(ValueError, match="expected 11 features"):
        norm.transform(np.zeros(3))
    with pytest.raises(ValueError, match="no training rows"):
        Normaliser.fit(features, until=features.index[0])
    with pytest.raises(ValueError, match="has no finite value in the training window"):
        Normaliser.fit(features, until=features.index[5])  # still warming up
    with pytest.raises(ValueError, match="method must be one of"):
        Normaliser.fit(features, method="minmax")
    with pytest.raises(ValueError, match="scale finite and > 0"):
        Normaliser(("a",), (0.0,), (0.0,))
    with pytest.raises(ValueError, match="not a Normaliser document"):
        Normaliser.from_dict({"names": ["a"]})
