from hftlab.features import FeatureSpec
from hftlab.live.preflight import feature_problems, model_problems, venue_problems
from hftlab.models.provenance import Provenance

WANT = Provenance("okx", None, "BTC-USDT-SWAP", "1m", "abc")


def test_okx_live_needs_the_flag_and_credentials_each_named():
    assert venue_problems("okx-live", False, None, None) == ["venue okx-live trades real money: pass --live to confirm"]
    missing = "venue 'okx-live' needs API credentials: set HFTLAB_API_KEY, HFTLAB_API_SECRET"
    assert venue_problems("okx-live", True, None, missing) == [missing]
    assert venue_problems("okx-live", True, None, None) == []
    assert venue_problems("okx-demo", False, "models:/m/1", None) == [
        "--model is for the simulator only; okx-demo trades models:/<name>@champion"]
    assert venue_problems("sim", False, "models:/m/1", None) == []
    assert venue_problems("sim", True, None, None) == ["--live is only for venue okx-live"]


def test_the_champion_must_match_world_instrument_timeframe_and_features():
    assert model_problems("okx", Provenance("okx", "okx-demo", "BTC-USDT-SWAP", "1m", "abc"), WANT,
                          explicit_model=False) == []
    [p] = model_problems("okx", Provenance("sim", "sim", "BTC-USDT-SWAP", "1s", "abc"), WANT, explicit_model=False)
    assert "world sim vs okx" in p and "timeframe 1s vs 1m" in p
    assert model_problems("okx", None, WANT, explicit_model=False)
    assert model_problems("sim", None, WANT, explicit_model=True) == []  # --model on the simulator


def test_features_the_channels_cannot_feed():
    assert feature_problems(FeatureSpec(), ["trades", "books"]) == []
    assert len(feature_problems(FeatureSpec(), ["tickers"])) == 2
    assert feature_problems(FeatureSpec(flow_window=0, book_levels=0), ["tickers"]) == []
