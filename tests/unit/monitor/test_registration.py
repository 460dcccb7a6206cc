"""The live runner's registration, against a real order manager on the paper venue and a real risk
engine: every live metric of the catalogue is exported, with the values the components hold, in a
scrape promtool accepts."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hftlab.domain import orders as om
from hftlab.domain.orders import OrderState
from hftlab.execution.testing import SPECS, SPOT, Rig
from hftlab.monitor.catalogue import PROBES, RECORDS, Kind
from hftlab.monitor.sources import Sources
from hftlab.monitor.registration import register_trading
from hftlab.risk.checks import DenyReason
from hftlab.risk.config import RiskConfig
from hftlab.risk.engine import RiskEngine
from hftlab.strategy.filters import Veto

LIVE_RECORDS = ("hftlab.execution.stats.ExecutionStats", "hftlab.execution.stats.LatencyStats",
                "hftlab.domain.orders.OrderStats", "hftlab.risk.engine.RiskStats",
                "hftlab.portfolio.equity.EquitySnapshot")
LIVE_PROBES = ("trading_state", "orders_by_state", "positions", "rate_budget_headroom", "caa_heartbeat_age",
               "caa_heartbeat_interval", "reconcile_discrepancies", "signal_accuracy", "signal_scored",
               "signal_vetoes", "model")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setattr(om, "_issued_key", None)
    return om.issue_approval_key()


def declared(text: str) -> set[str]:
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


async def test_register_trading_exports_every_live_metric_with_its_value(tmp_path, key):
    rig = Rig(tmp_path, key)
    await rig.start()
    await rig.m.submit(rig.approved(px="99"))
    await rig.settle()
    risk = RiskEngine(RiskConfig(), {s.inst_id: s for s in SPECS})
    risk.stats.denials[DenyReason.STALE_DATA] += 2
    snap = rig.m.portfolio.snapshot(rig.clock.time_ms(), {})
    pipe = SimpleNamespace(accuracy=SimpleNamespace(accuracy=0.625, count=8),
                           filters=SimpleNamespace(vetoes=Counter({Veto.BOOK: 3})))
    sources = Sources()
    register_trading(sources, rig.m, risk, snapshot=lambda: snap, ccy="USDT", pipelines={SPOT.inst_id: pipe},
                     model={"name": "hftlab-signal-sim", "version": "4"}, now_ms=rig.clock.time_ms)
    text = generate_latest(sources).decode()

    wanted = {e.name.removesuffix("_total") if e.kind is Kind.COUNTER else e.name
              for k in LIVE_RECORDS for e in RECORDS[k].values() if e.kind not in (Kind.SKIP, Kind.NESTED)}
    wanted |= {PROBES[p].name.removesuffix("_total") + ("_info" if PROBES[p].kind is Kind.INFO else "")
               for p in LIVE_PROBES}
    got = {n.removesuffix("_total") for n in declared(text)}
    assert wanted - got == set(), "every live metric of the catalogue is exported"

    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for f in text_string_to_metric_families(text) for s in f.samples}
    assert values[("hftlab_orders", (("state", "live"),))] == 1
    assert values[("hftlab_orders", (("state", "unknown"),))] == 0, "every state, 0 included"
    assert values[("hftlab_trading_state", (("state", "active"),))] == 1
    assert values[("hftlab_cancel_all_after_heartbeat_age_seconds", ())] == 0.0
    assert values[("hftlab_cancel_all_after_heartbeat_interval_seconds", ())] == rig.config.caa_heartbeat_s
    assert values[("hftlab_reconcile_discrepancies", ())] == 0
    assert values[("hftlab_execution_places_total", ())] == 1
    assert values[("hftlab_risk_denials_total", (("reason", "stale_data"),))] == 2
    assert values[("hftlab_portfolio_equity", (("ccy", "USDT"),))] == float(snap.equity)
    assert values[("hftlab_position", (("inst_id", SPOT.inst_id),))] == 0
    assert values[("hftlab_signal_accuracy_ratio", (("inst_id", SPOT.inst_id),))] == 0.625
    assert values[("hftlab_signal_vetoes_total", (("inst_id", SPOT.inst_id), ("veto", "book")))] == 3
    assert values[("hftlab_model_info", (("name", "hftlab-signal-sim"), ("version", "4")))] == 1
    headroom = {dict(k[1])["limit"]: v for k, v in values.items() if k[0] == "hftlab_rate_budget_headroom_ratio"}
    assert headroom and all(0 <= v <= 1 for v in headroom.values()) and min(headroom.values()) < 1
    assert rig.m.order(next(iter(v.cl_ord_id for v in rig.m.orders()))).state is OrderState.LIVE
    rig.clock.advance(3.0)
    assert "hftlab_cancel_all_after_heartbeat_age_seconds 3.0" in generate_latest(sources).decode()

    promtool = shutil.which("promtool")
    if promtool is not None:  # installed by `make test`; the exposition itself is checked above
        proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


async def test_market_data_and_cache_registrations_export_the_shared_sources(redis_url):
    from hftlab.cache.manager import RedisCacheManager
    from hftlab.marketdata.feed import MarketFeed
    from hftlab.monitor.latency import FeedLatency
    from hftlab.monitor.registration import register_cache, register_market_data
    from hftlab.okx.channels import Endpoints
    from hftlab.okx.client import AsyncOKXClient

    feed = MarketFeed(["books", "trades"], ["1s"])
    client = AsyncOKXClient(Endpoints("http://127.0.0.1:1", "ws://127.0.0.1:1", "ws://127.0.0.1:1",
                                      "ws://127.0.0.1:1"), books=feed)
    sources = Sources()
    register_market_data(sources, client, feed, ["BTC-USDT"], FeedLatency())
    async with RedisCacheManager(redis_url) as cache:
        register_cache(sources, cache)
        cache.set_ticker("BTC-USDT", {"last": "1"})
        text = generate_latest(sources).decode()
    await client.close()
    for name in ("hftlab_okx_frames_total", "hftlab_okx_queue_depth", "hftlab_book_breaks_total", "hftlab_books_valid",
                 "hftlab_books_tracked", "hftlab_bars_late_trades_total", "hftlab_redis_connected",
                 "hftlab_redis_backlog 1.0"):
        assert name in text, name
    assert {"hftlab_okx_op_ack_seconds", "hftlab_okx_socket_up", "hftlab_book_valid",
            "hftlab_md_exchange_to_receive_seconds"} <= declared(text), "declared before their first values"
