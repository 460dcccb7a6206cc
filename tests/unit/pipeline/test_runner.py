"""What a pipeline run gives MLflow: its artifacts, text ones redacted of every registered secret."""

from __future__ import annotations

import json

import pytest

from hftlab.core import logs
from hftlab.pipeline.runner import Result, log_run
from hftlab.pipeline.spec import Pipeline
from hftlab.settings import Settings

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setattr(logs, "_secrets", set())
    logs.register_secret(SECRET)
    return SECRET


def test_executed_notebooks_and_kernels_log_reach_mlflow_redacted(tmp_path, secret):
    """Redaction covered hftlab's log handler only; a kernel that printed a key sent it to MLflow."""
    run_dir = tmp_path / "runs" / "20261201T000000Z"
    run_dir.mkdir(parents=True)
    (run_dir / "kernels.log").write_text(f"Traceback ... api_secret={secret}\n")
    (run_dir / "01_collect.ipynb").write_text(json.dumps({"cells": [{"outputs": [{"text": f"key {secret}"}]}]}))
    (run_dir / "chart.png").write_bytes(b"\x89PNG\r\n")
    pipe_file = tmp_path / "p.yaml"
    pipe_file.write_text("name: p\nsteps: []\n")
    settings = Settings.model_validate({"mlflow": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                                                   "artifact_location": (tmp_path / "artifacts").as_uri(),
                                                   "experiment": "redaction-test"}})
    pipe = Pipeline("p", pipe_file, [])
    run_id = log_run(pipe, Result("p", run_dir), settings)
    stored = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    names = {p.name for p in stored}
    assert {"kernels.log", "01_collect.ipynb", "chart.png", "p.yaml"} <= names, names
    for p in stored:
        assert secret.encode() not in p.read_bytes(), p
    assert "***" in next(p for p in stored if p.name == "kernels.log").read_text()
    assert run_id
