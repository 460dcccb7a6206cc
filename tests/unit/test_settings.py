from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.cli import main
from hftlab.core.config import CONFIG_DIR, ConfigError, env_overrides
from hftlab.settings import Settings, check_files, load_config

ALL_FILES = sorted(CONFIG_DIR.glob("*.yaml"))


def test_shipped_files_are_valid():
    assert {p.name for p in ALL_FILES} >= {"default.yaml", "test.yaml", "okx-demo.yaml", "okx-live.yaml"}
    assert check_files(ALL_FILES, environ={}) == []


def test_default_is_embedded_offline():
    s = load_config(CONFIG_DIR / "default.yaml", environ={})
    assert s.venue.name == "sim"
    assert s.redis.url == "embedded"
    assert (s.redis.maxmemory, s.redis.maxmemory_policy, s.redis.appendonly) == ("2gb", "volatile-lru", True)
    assert s.trading.symbols == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
    assert s.trading.timeframes == ["1s", "3s", "1m"]
    assert s.mlflow.tracking_uri == f"sqlite:///{CONFIG_DIR.parent / 'mlruns' / 'mlflow.db'}"


def test_okx_venues_get_okx_urls():
    demo = load_config(CONFIG_DIR / "okx-demo.yaml", environ={})
    assert demo.venue.ws_public_url == "wss://wspap.okx.com:8443/ws/v5/public"
    live = load_config(CONFIG_DIR / "okx-live.yaml", environ={})
    assert live.venue.ws_private_url == "wss://ws.okx.com:8443/ws/v5/private"


def test_misspelt_key_names_the_field(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text("redis:\n  maxmemroy: 1gb\ntrading:\n  symbols: [BTC-USDT]\n")
    problems = check_files([f], environ={})
    assert [(p[1]) for p in problems] == ["redis.maxmemroy"]
    assert "unknown key" in problems[0][2]


def test_every_invalid_field_is_listed(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "system:\n  max_memory_usage: 150\n"
        "trading:\n  symbols: [btc_usdt]\n  timeframes: [1h]\n"
        "redis:\n  maxmemory_policy: lru\n"
    )
    paths = {p[1] for p in check_files([f], environ={})}
    assert paths == {"system.max_memory_usage", "trading.symbols", "trading.timeframes", "redis.maxmemory_policy"}


def test_cross_field_rule(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text("risk:\n  max_order_usd: 5000\n  max_position_usd: 100\n")
    [(src, path, reason)] = check_files([f], environ={})
    assert path == "risk" and "max_order_usd" in reason


def test_yaml_syntax_error_has_a_line(tmp_path: Path):
    f = tmp_path / "broken.yaml"
    f.write_text("system:\n  mode: [test\n")
    [(_src, where, reason)] = check_files([f], environ={})
    assert where.startswith("line ") and "YAML" in reason


def test_environment_overrides():
    env = {"HFTLAB__REDIS__MAXMEMORY": "512mb", "HFTLAB__TRADING__SYMBOLS": "[BTC-USDT]", "OTHER": "x"}
    assert env_overrides(env) == {"redis": {"maxmemory": "512mb"}, "trading": {"symbols": ["BTC-USDT"]}}
    s = load_config(CONFIG_DIR / "default.yaml", environ=env)
    assert s.redis.maxmemory == "512mb" and s.trading.symbols == ["BTC-USDT"]
    with pytest.raises(ConfigError) as e:
        load_config(CONFIG_DIR / "default.yaml", environ={"HFTLAB__REDIS__NOPE": "1"})
    assert e.value.problems[0][1] == "redis.nope"


def test_later_files_override_earlier(tmp_path: Path):
    f = tmp_path / "over.yaml"
    f.write_text("venue:\n  sim:\n    seed: 99\n")
    s = load_config([CONFIG_DIR / "default.yaml", f], environ={})
    assert s.venue.sim.seed == 99 and s.venue.sim.host == "127.0.0.1"


def test_relative_paths_resolve_against_repo():
    s = Settings()
    assert s.data_dir.is_absolute() and s.redis.data_dir == s.data_dir / "redis"
    assert s.collect.record_dir == s.data_dir / "recordings"
    assert s.mlflow.artifact_location == (CONFIG_DIR.parent / "mlruns" / "artifacts").as_uri()
    s = Settings.model_validate({"mlflow": {"tracking_uri": "sqlite:////tmp/x/m.db", "artifact_location": "s3://b/a"}})
    assert (s.mlflow.tracking_uri, s.mlflow.artifact_location) == ("sqlite:////tmp/x/m.db", "s3://b/a")


def test_cli_config_check_exit_codes(tmp_path: Path, capsys):
    assert main(["config", "check", *map(str, ALL_FILES)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("redis:\n  maxmemory: lots\n")
    assert main(["config", "check", str(CONFIG_DIR / "default.yaml"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "redis.maxmemory" in err and "512mb" in err


def test_cli_missing_file_exits_2(tmp_path: Path, capsys):
    assert main(["config", "check", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read file" in capsys.readouterr().err


SAFETY = {"promote.min_metric", "risk.max_position_usd", "risk.max_order_usd", "risk.max_daily_loss_usd",
          "risk.stop_loss_pct", "risk.max_open_orders", "risk.max_orders_per_s"}


def _safety(s: Settings) -> dict[str, float]:
    return {k: getattr(getattr(s, k.split(".")[0]), k.split(".")[1]) for k in SAFETY}


@pytest.mark.parametrize("name", [p.name for p in ALL_FILES])
def test_every_shipped_file_loaded_every_documented_way_keeps_the_safety_defaults(name, tmp_path, capsys):
    path = CONFIG_DIR / name
    ways = {
        "load_config": load_config([path], environ={}),
        "HFTLAB_CONFIG": load_config(None, environ={"HFTLAB_CONFIG": str(path)}),
    }
    for how, s in ways.items():
        values = _safety(s)
        assert all(isinstance(v, (int, float)) for v in values.values()), (how, values)
        assert s.promote.min_metric >= 0, (how, name)
        assert all(values[k] > 0 for k in SAFETY - {"promote.min_metric"}), (how, values)
    # --config FILE through the CLI prints a numeric floor as well
    assert main(["config", "show", "--config", str(path)]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert isinstance(shown["promote"]["min_metric"], (int, float)) and shown["promote"]["min_metric"] >= 0


def test_a_venue_file_is_an_overlay_on_default(tmp_path: Path):
    live = load_config([CONFIG_DIR / "okx-live.yaml"], environ={})
    default = load_config(None, environ={})
    assert live.trading == default.trading and live.model == default.model and live.promote == default.promote
    assert live.risk.max_order_usd == 100 and live.venue.name == "okx-live"
    # even a file that says nothing of a section cannot empty it
    bare = tmp_path / "bare.yaml"
    bare.write_text("venue:\n  name: okx-demo\n")
    assert load_config([bare], environ={}).promote.min_metric == 2.0  # a t of 2 that it makes money after costs


def test_cross_section_defaults_are_resolved_and_shown(tmp_path: Path, capsys):
    s = Settings.model_validate({"venue": {"sim": {"taker_fee": -0.0005, "maker_fee": 0.0002}},
                                 "risk": {"stop_loss_pct": 2.5, "max_position_usd": 7000},
                                 "strategy": {"sizing": {"mode": "fixed", "notional_usd": 900}}})
    # the backtest sizes, caps and stops as the live runner does; its fees are OKX's schedule, not the simulator's
    assert (s.backtest.stop_loss_pct, s.backtest.position_cap_usd, s.backtest.sizing) == (2.5, 7000, s.strategy.sizing)
    assert (s.backtest.taker_fee, s.backtest.maker_fee, s.backtest.fee_tier) == (None, None, "regular")
    own = Settings.model_validate({"backtest": {"taker_fee": 0.002, "stop_loss_pct": 0, "position_cap_usd": 50},
                                   "risk": {"stop_loss_pct": 2.5}})
    assert (own.backtest.taker_fee, own.backtest.stop_loss_pct, own.backtest.position_cap_usd) == (0.002, 0, 50)
    # changing a risk limit never changes a backtest's starting cash
    assert Settings.model_validate({"risk": {"max_position_usd": 15_000}}).backtest.init_cash == 10_000
    f = tmp_path / "over.yaml"
    f.write_text("risk:\n  stop_loss_pct: 3\n")
    assert main(["config", "show", "--config", str(f)]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["backtest"]["stop_loss_pct"] == 3


def test_model_names_are_per_world():
    assert Settings().mlflow.model_name == "hftlab-signal-sim"
    for name in ("okx-demo.yaml", "okx-live.yaml"):
        assert load_config([CONFIG_DIR / name], environ={}).mlflow.model_name == "hftlab-signal-okx"
    assert Settings.model_validate({"mlflow": {"model_name": "mine"}}).mlflow.model_name == "mine"


# -- the loader on hostile input: a Settings or a ConfigError, nothing else -----------------------

_SECTIONS = sorted(Settings.model_fields)
_KEYS = sorted({k for s in _SECTIONS
                for k in (getattr(Settings.model_fields[s].annotation, "model_fields", None) or {})})
_scalar = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
           | st.sampled_from(["1gb", "lots", "-1", "nan", "inf", "sim", "okx-live", "BTC-USDT", "1s", "[", "{a: 1}",
                              "embedded", "redis://x", "~", "null", "0x10", "1e400"]))
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), inner, max_size=3), max_leaves=8)
_doc = st.dictionaries(st.sampled_from(_SECTIONS) | st.text(max_size=6),
                       st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), _value, max_size=4) | _value,
                       max_size=4)
_env = st.dictionaries(st.sampled_from([f"HFTLAB__{s.upper()}__{k.upper()}" for s in _SECTIONS for k in _KEYS[:40]])
                       | st.just("HFTLAB__") | st.just("HFTLAB____X"), st.text(max_size=10) | _scalar.map(str),
                       max_size=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_doc.map(lambda d: yaml.safe_dump(d, allow_unicode=True)), st.text(max_size=60),
                 st.binary(max_size=40).map(lambda b: b.decode("latin-1"))), _env)
def test_any_file_and_environment_give_settings_or_a_config_error(tmp_path_factory, text, env):
    path = tmp_path_factory.mktemp("cfg") / "hostile.yaml"
    path.write_text(text)
    try:
        s = load_config([path], environ=env)
    except ConfigError as e:
        assert e.problems
    else:
        assert isinstance(s, Settings)
