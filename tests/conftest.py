"""Shared fixtures: the real data in ../shared/data and a real embedded redis-server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("HFTLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real OKX recordings and candles). Under CI=true its absence fails the test."""
    d = shared_data_dir()
    if not (d / "okx").is_dir():
        msg = f"real OKX data not found at {d} (set HFTLAB_SHARED_DATA or place shared/ beside the repo)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return d


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the session (the same binary `make demo` uses)."""
    from hftlab.cache.server import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), maxmemory="256mb")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    import redis

    if not redis_server.ping():  # a test may have killed it
        redis_server.start()
    r = redis.Redis.from_url(redis_server.url)
    r.flushall()
    r.close()
    return redis_server.url


@pytest.fixture(scope="session")
def one_torch_thread():
    """Torch on one thread: training tests on 2 busy cores are faster and repeatable this way."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
