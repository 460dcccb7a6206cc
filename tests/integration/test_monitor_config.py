"""The monitoring files in config/monitoring/ are valid for the tools that read them: promtool checks the
scrape configuration and the rules and runs the rules' unit tests; the dashboard is a Grafana dashboard
whose every panel queries Prometheus through the `datasource` variable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hftlab.monitor.config import COMPONENT_PORT_OFFSET, MonitorConfig

MONITORING = Path(__file__).resolve().parents[2] / "config" / "monitoring"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        msg = "promtool is not installed (`make test` installs the Debian package prometheus)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.mark.parametrize("args", [("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml"),
                                  ("test", "rules", "alerts_test.yml")])
def test_promtool_accepts_the_monitoring_files(promtool, args):
    proc = subprocess.run([promtool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_scrape_configuration_targets_every_components_default_port():
    (job,) = yaml.safe_load((MONITORING / "prometheus.yml").read_text())["scrape_configs"]
    targets = {c["labels"]["component"]: c["targets"] for c in job["static_configs"]}
    cfg = MonitorConfig()
    assert targets == {c: [f"127.0.0.1:{cfg.port_for(c)}"] for c in COMPONENT_PORT_OFFSET}


def test_every_alert_has_a_severity_and_a_summary():
    rules = [r for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    for r in rules:
        assert r["alert"].startswith("Hftlab") and r["labels"]["severity"] in ("warning", "critical"), r
        assert r["annotations"]["summary"], r


def test_the_dashboard_is_grafana_json_with_a_prometheus_query_per_target():
    doc = json.loads((MONITORING / "grafana" / "hftlab.json").read_text())
    assert doc["uid"] and doc["title"] and doc["schemaVersion"] >= 36
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus" and "component" in variables
    panels = [p for p in doc["panels"] if p["type"] != "row"]
    rows = [p["title"] for p in doc["panels"] if p["type"] == "row"]
    assert rows == ["Latency", "Throughput", "Books and sockets", "Orders and risk", "PnL", "Resources"]
    assert len({p["id"] for p in doc["panels"]}) == len(doc["panels"]), "panel ids are unique"
    assert len({p["title"] for p in panels}) == len(panels)
    for p in panels:
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"], p["title"]
        for t in p["targets"]:
            assert "hftlab_" in t["expr"] and '{component=~"$component"' in t["expr"], (p["title"], t["expr"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
