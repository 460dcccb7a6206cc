"""Fixtures shared by the integration tests: a registered signal model with simulator provenance."""

from __future__ import annotations

import pytest

from hftlab.soak.model import momentum_net, register


@pytest.fixture(scope="module")
def sim_model(tmp_path_factory):
    """A momentum model (it trades often) registered with sim provenance: (MlflowConfig, version)."""
    return register(tmp_path_factory.mktemp("live-mlflow"), *momentum_net())


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    """A model that always wants to be long: (MlflowConfig, version)."""
    return register(tmp_path_factory.mktemp("long-mlflow"), *momentum_net(always_long=True))
