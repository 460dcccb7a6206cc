"""A real Prometheus scrapes a real collector, live runner and simulator with the repository's scrape
configuration; every dashboard panel's query and every alert rule's expression is evaluated through
its HTTP API.

One session for the module (about 40 s): `hftlab sim`, `hftlab collect` and `hftlab live` (both pointed
at that simulator; the runner trading a registered test model) as a user runs them, each serving
/metrics on a free port, and `prometheus` with a temporary copy of config/monitoring/prometheus.yml
(the test's targets, 1 s scrapes) and the repository's alerts.yml.

What is checked:
- `promtool check metrics` on /metrics scraped from the running collector and simulator;
- every dashboard panel query returns series, and every hftlab metric it names is catalogued and
  declared by a scraped process (so an `or vector(0)` cannot hide a misspelt or missing metric);
- every alert rule is evaluated by Prometheus without error, and its condition read as a value
  (comparisons with `bool`) returns series: the rule watches metrics that exist.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from hftlab.cache.server import free_port
from hftlab.monitor.catalogue import exports, series_names

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "config" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "hftlab.json"
RATE_INTERVAL = "30s"
KNOWN_SERIES = {name for e in exports() for name in series_names(e)}

# ----- the tools ------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (`make test` installs the Debian package prometheus)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


class Prometheus:
    def __init__(self, base: str):
        self.base = base

    def api(self, path: str, **params) -> dict:
        url = f"{self.base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            doc = json.loads(_get(url))
        except urllib.error.HTTPError as e:  # a bad query answers 400 with the reason
            doc = json.loads(e.read())
        return doc

    def query(self, expr: str) -> list[dict]:
        doc = self.api("query", query=expr)
        assert doc["status"] == "success", f"{expr}: {doc.get('error')}"
        return doc["data"]["result"]


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


class Lines:
    """The lines a child process writes to one pipe, read without blocking (no buffered readline, which
    select cannot see into)."""

    def __init__(self, proc: subprocess.Popen, stream):
        self.proc, self.fd = proc, stream.fileno()
        os.set_blocking(self.fd, False)
        self.lines: list[str] = []
        self._partial = b""

    def pump(self, wait_s: float = 0.0) -> None:
        ready, _, _ = select.select([self.fd], [], [], wait_s)
        if ready:
            chunk = os.read(self.fd, 1 << 16)
            *done, self._partial = (self._partial + chunk).split(b"\n")
            self.lines += [ln.decode() for ln in done]

    def until(self, marker: str | re.Pattern, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        found = marker.search if isinstance(marker, re.Pattern) else (lambda ln: marker in ln)
        while not any(found(ln) for ln in self.lines):
            assert time.monotonic() < deadline and self.proc.poll() is None, "\n".join(self.lines)[-3000:]
            self.pump(0.5)
        return self.lines


def _url_in(lines: list[str], marker: str) -> str:
    line = next(ln for ln in lines if marker in ln)
    return re.search(r"((?:https?|wss?)://\S+)", line.split(marker, 1)[1]).group(1)


# ----- the session ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def session(tmp_path_factory, sim_model):
    prometheus_bin, promtool = _tool("prometheus"), _tool("promtool")
    tmp = tmp_path_factory.mktemp("prometheus")
    env = {**os.environ, "HFTLAB__REDIS__DATA_DIR": str(tmp / "redis"), "HFTLAB__SYSTEM__LOG_LEVEL": "INFO",
           "HFTLAB__MONITOR__INTERVAL_S": "1"}
    procs: list[subprocess.Popen] = []

    def start(*args: str, **extra) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-m", "hftlab", *args, "-c", "config/test.yaml"], cwd=REPO,
                             env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(p)
        return p

    prom = None
    try:
        sim = start("sim", "--port", "0", "--progress-interval", "3600")
        sim_lines = Lines(sim, sim.stdout).until("hftlab sim: running", 60)
        rest = _url_in(sim_lines, "hftlab sim: REST")
        ws = {role: _url_in(sim_lines, f"hftlab sim: WS {role}") for role in ("public", "business", "private")}
        sim_metrics = _url_in(sim_lines, "hftlab sim: metrics")
        collect = start("collect", "--duration", "120", "--out", str(tmp / "rec"), "--json", "--progress-interval", "2",
                        HFTLAB__VENUE__REST_URL=rest, HFTLAB__VENUE__WS_PUBLIC_URL=ws["public"],
                        HFTLAB__VENUE__WS_BUSINESS_URL=ws["business"], HFTLAB__VENUE__WS_PRIVATE_URL=ws["private"])
        collect_err = Lines(collect, collect.stderr)
        collect_metrics = _url_in(collect_err.until("metrics on", 60), "metrics on")
        collect_err.until("books valid 3/3", 60)
        mlflow, version = sim_model
        live = start("live", "--sim-url", rest, "--model", f"models:/hftlab-signal-sim/{version}", "--duration", "300",
                     "--state-dir", str(tmp / "live"), "--json", "--no-redis",
                     HFTLAB__MLFLOW__TRACKING_URI=mlflow.tracking_uri,
                     HFTLAB__MLFLOW__ARTIFACT_LOCATION=mlflow.artifact_location,
                     HFTLAB__MLFLOW__EXPERIMENT=mlflow.experiment, HFTLAB__BACKTEST__THRESHOLD="0.2",
                     HFTLAB__STRATEGY__SIZING__MODE="fixed", HFTLAB__STRATEGY__SIZING__NOTIONAL_USD="300",
                     HFTLAB__LIVE__PROGRESS_INTERVAL_S="1")
        live_err = Lines(live, live.stderr)
        live_metrics = _url_in(live_err.until("metrics on", 90), "metrics on")
        live_err.until(re.compile(r"orders [1-9][0-9]* sent"), 90)  # it has traded: the order path's series exist

        config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
        config["rule_files"] = [str(MONITORING / f) for f in config["rule_files"]]
        (job,) = config["scrape_configs"]
        targets = {"collect": collect_metrics, "sim": sim_metrics, "live": live_metrics}
        job["static_configs"] = [{"targets": [urllib.parse.urlsplit(u).netloc], "labels": {"component": c}}
                                 for c, u in targets.items()]
        conf = tmp / "prometheus.yml"
        conf.write_text(yaml.safe_dump(config))
        subprocess.run([promtool, "check", "config", str(conf)], check=True, capture_output=True)
        port = free_port()
        prom = subprocess.Popen([prometheus_bin, f"--config.file={conf}", f"--storage.tsdb.path={tmp / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        api = Prometheus(f"http://127.0.0.1:{port}")

        def ready() -> bool:
            try:
                return _get(f"{api.base}/-/ready", 1.0).startswith(b"Prometheus")
            except OSError:
                return False

        _wait(ready, 60, "Prometheus to be ready")
        _wait(lambda: len([r for r in api.query('up{job="hftlab"} == 1')]) == 3, 60, "every target up")
        # enough scrapes for rate() over RATE_INTERVAL to have points, and every rule evaluated
        _wait(lambda: api.query('count_over_time(hftlab_collect_events_total[1m]) >= 12'), 60, "12 scrapes")
        _wait(lambda: all(r.get("lastEvaluation", "").startswith("2") and not r["lastEvaluation"].startswith("0001")
                          for g in api.api("rules")["data"]["groups"] for r in g["rules"]), 30, "rule evaluation")
        scrapes = {c: _get(u).decode() for c, u in targets.items()}
        declared = {m for c in targets for m in _declared(scrapes[c])}
        yield {"api": api, "scrapes": scrapes, "declared": declared, "promtool": promtool}
        collect.send_signal(signal.SIGTERM)
        os.set_blocking(collect.stdout.fileno(), True)
        os.set_blocking(collect.stderr.fileno(), True)
        stdout, stderr = collect.communicate(timeout=60)
        assert collect.returncode == 0, stderr.decode()[-3000:]
        assert json.loads(stdout)["stopped_by"] == "signal"
        live.send_signal(signal.SIGTERM)
        os.set_blocking(live.stdout.fileno(), True)
        os.set_blocking(live.stderr.fileno(), True)
        stdout, stderr = live.communicate(timeout=60)
        assert live.returncode == 0, stderr.decode()[-3000:]
        assert json.loads(stdout.decode().strip().splitlines()[-1])["duplicate_orders"] == 0
    finally:
        for p in [*procs, prom]:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)


def _declared(exposition: str) -> set[str]:
    """The sample names a scrape declares (`# TYPE` lines), with a histogram's _bucket/_sum/_count."""
    out = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            out |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
    return out


# ----- what the dashboard and the rules ask ---------------------------------------------------------
def _panels() -> list[dict]:
    doc = json.loads(DASHBOARD.read_text())
    return [p for p in doc["panels"] if p["type"] != "row"]


def _expr(target: dict) -> str:
    return target["expr"].replace("$__rate_interval", RATE_INTERVAL).replace("$component", ".*")


def _alerts() -> list[dict]:
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def _metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\bhftlab_[a-z0-9_]+", expr))


_MASK = re.compile(r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"')
_COMPARISON = re.compile(r"[=!<>]=|[<>]")
_BOOL = re.compile(r"\s*bool\b")


def as_value(expr: str) -> str:
    """The expression with every comparison made a `bool` one: the rule's condition as a 0/1 value,
    which has a series wherever the rule watches one (label matchers and ranges left alone)."""
    masked = _MASK.sub(lambda m: "\0" * len(m.group()), expr)
    out, last = [], 0
    for m in _COMPARISON.finditer(masked):
        if not _BOOL.match(expr, m.end()):
            out += [expr[last:m.end()], " bool"]
            last = m.end()
    return "".join(out) + expr[last:]


def test_as_value_turns_only_comparisons_into_bool():
    assert as_value('a{x="1"} == 0') == 'a{x="1"} == bool 0'
    assert as_value("a > 2 * b") == "a > bool 2 * b"
    assert as_value('(increase(x{b="d"}[10m]) or vector(0)) > 0') == '(increase(x{b="d"}[10m]) or vector(0)) > bool 0'
    assert as_value('a{x!="1"} >= bool 3') == 'a{x!="1"} >= bool 3'


# ----- the checks -----------------------------------------------------------------------------------
def test_promtool_check_metrics_passes_on_a_running_collector_and_simulator(session):
    for component, text in session["scrapes"].items():
        proc = subprocess.run([session["promtool"], "check", "metrics"], input=text, capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), \
            f"{component}: {proc.stdout}{proc.stderr}"
    assert "hftlab_okx_events_total" in session["scrapes"]["collect"]
    assert "hftlab_sim_frames_sent_total" in session["scrapes"]["sim"]
    assert "hftlab_tick_to_order_seconds" in session["scrapes"]["live"]


def test_every_metric_the_dashboard_and_rules_name_is_catalogued():
    named = {m for p in _panels() for t in p["targets"] for m in _metrics_in(t["expr"])}
    named |= {m for r in _alerts() for m in _metrics_in(r["expr"])}
    assert named - KNOWN_SERIES == set(), "not in hftlab/monitor/catalogue.py"


def _serves(session, exprs: list[str]) -> bool:
    """Every query returns series and every hftlab metric named is declared by a scraped process."""
    api, declared = session["api"], session["declared"]
    return all(api.query(e) and _metrics_in(e) <= declared for e in exprs)


def test_every_dashboard_panel_returns_series(session):
    failing = {p["title"] for p in _panels() if not _serves(session, [_expr(t) for t in p["targets"]])}
    assert failing == set(), "panels without series"


def test_every_alert_rule_evaluates_and_watches_series(session):
    api = session["api"]
    rules = {r["name"]: r for g in api.api("rules")["data"]["groups"] for r in g["rules"]}
    assert set(rules) == {r["alert"] for r in _alerts()}
    assert {n: r["health"] for n, r in rules.items() if r["health"] != "ok"} == {}
    failing = {r["alert"] for r in _alerts() if not _serves(session, [as_value(r["expr"])])}
    assert failing == set(), "alerts watching nothing"
    firing = [a["labels"]["alertname"] for a in api.api("alerts")["data"]["alerts"] if a["state"] == "firing"]
    assert firing == [], "a healthy collector, live runner and simulator raise no alert"
