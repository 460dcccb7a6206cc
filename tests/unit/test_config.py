from pathlib import Path

import pytest

from hftlab.cli import main
from hftlab.config import CONFIG_DIR, ConfigError, Settings, check_files, env_overrides, load_config

ALL_FILES = sorted(CONFIG_DIR.glob("*.yaml"))


def test_shipped_files_are_valid():
    assert {p.name for p in ALL_FILES} >= {"default.yaml", "test.yaml", "okx-demo.yaml", "okx-live.yaml"}
    assert check_files(ALL_FILES, environ={}) == []


def test_default_is_embedded_offline():
    s = load_config(CONFIG_DIR / "default.yaml", environ={})
    assert s.venue.name == "sim"
    assert s.redis.url == "embedded"
    assert (s.redis.maxmemory, s.redis.maxmemory_policy, s.redis.appendonly) == ("2gb", "allkeys-lru", True)
    assert s.trading.symbols == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
    assert s.trading.timeframes == ["1s", "3s", "1m"]
    assert s.mlflow.tracking_uri.startswith("sqlite:///mlruns/")


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
    assert s.data_dir.is_absolute() and s.redis_data_dir == s.data_dir / "redis"


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


def test_client_section_mirrors_client_options():
    import dataclasses

    from hftlab.okx.client import ClientOptions

    options = {f.name for f in dataclasses.fields(ClientOptions)} - {"queue_maxsize"}  # collect.queue_maxsize
    assert options == set(Settings().client.model_dump())
