"""Fixtures for the execution tests: an approval key of the test's own and paper-venue rigs."""

from __future__ import annotations

import pytest

from hftlab.domain import orders as om
from hftlab.execution.testing import Rig


@pytest.fixture
def key(monkeypatch):
    """The process's one real key belongs to the risk engine: a test must not consume it."""
    monkeypatch.setattr(om, "_issued_key", None)
    return om.issue_approval_key()


@pytest.fixture
def rig(tmp_path, key):
    return Rig(tmp_path, key)


@pytest.fixture
def make_rig(tmp_path, key):
    n = 0

    def make(**kw) -> Rig:
        nonlocal n
        n += 1
        return Rig(tmp_path / f"rig{n}", key, **kw)
    return make
