import os
import signal
import subprocess
import sys
import textwrap
import time

import redis

from hftlab.cache.server import EmbeddedRedis


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_production_settings_password_and_stop(tmp_path):
    with EmbeddedRedis(tmp_path, maxmemory="64mb") as server:
        r = redis.Redis.from_url(server.url, decode_responses=True)
        assert r.ping()
        assert r.config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "volatile-lru"  # market data only (TTLs)
        assert r.config_get("appendonly")["appendonly"] == "yes"
        assert r.config_get("bind")["bind"] == "127.0.0.1"
        try:
            redis.Redis(host=server.host, port=server.port).ping()
            raise AssertionError("unauthenticated PING was accepted")
        except redis.exceptions.AuthenticationError:
            pass
        assert oct((tmp_path / "redis.conf").stat().st_mode & 0o777) == "0o600"
        pid = server.pid
        r.close()
    assert _wait_gone(pid)


def test_killed_parent_leaves_no_server(tmp_path):
    """Even SIGKILL of the owning process takes redis-server down with it."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from hftlab.cache.server import EmbeddedRedis
        s = EmbeddedRedis(Path({str(tmp_path)!r})).start()
        print(s.pid, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    assert _alive(pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone(pid), "redis-server outlived its killed parent"


def test_sigterm_and_sigint_stop_the_cli_cleanly(tmp_path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        env = {**os.environ, "HFTLAB__SYSTEM__DATA_DIR": str(tmp_path / sig.name)}
        proc = subprocess.Popen([sys.executable, "-m", "hftlab.cli", "redis"], stdout=subprocess.PIPE, text=True, env=env)
        line = proc.stdout.readline()
        assert "redis-server running" in line, line
        pid = int(line.split("pid ")[1].split(")")[0])
        proc.send_signal(sig)
        assert proc.wait(10) == 0
        assert _wait_gone(pid)


def test_start_failure_is_explained(tmp_path):
    with EmbeddedRedis(tmp_path / "a") as first:
        clash = EmbeddedRedis(tmp_path / "b", port=first.port)
        try:
            clash.start(timeout_s=3)
            raise AssertionError("second server on a taken port started")
        except Exception as e:
            assert str(first.port) in str(e)


def test_another_process_finds_a_running_embedded_server_from_its_config_file(tmp_path):
    from hftlab.cache.server import embedded_url

    assert embedded_url(tmp_path) is None
    with EmbeddedRedis(tmp_path, maxmemory="64mb") as server:
        url = embedded_url(tmp_path)
        assert url == server.url
        r = redis.Redis.from_url(url)
        assert r.ping()
        r.close()


def test_a_configured_url_takes_the_password_from_the_environment(monkeypatch):
    from hftlab.cache.config import RedisConfig
    from hftlab.cache.server import configured_url

    assert configured_url(RedisConfig()) is None, "embedded"
    monkeypatch.setenv("HFTLAB_REDIS_PASSWORD", "s3cret-pw")
    assert configured_url(RedisConfig(url="redis://10.0.0.5:6379/0")) == "redis://:s3cret-pw@10.0.0.5:6379/0"
    assert configured_url(RedisConfig(url="redis://:own@10.0.0.5:6379/0")) == "redis://:own@10.0.0.5:6379/0"
