"""What each kind of component exports, registered in one call each: the collector and the live runner
share the market-data and cache registrations; the live runner adds the trading one.

    register_market_data(mon.sources, client, feed, symbols, latency)     # okx client, MarketFeed, FeedLatency
    register_cache(mon.sources, cache)                                    # RedisCacheManager
    register_trading(mon.sources, manager, risk, snapshot=lambda: runner.last_snapshot, ccy="USDT",
                     pipelines=runner.pipelines, model={"name": name, "version": version})
    mon.sources.record(runner.tick_latency)                               # latency.TickLatency

Market data: the client's counters (sockets, overlap, book health, order channel) and queue, its
trading ops' timings, the books' counters, which sockets are up, books valid per instrument, late
trades, and the feed's latency. Cache: its counters and backlog.

Trading records: the order manager's `stats`, `latency` and `order_stats`, the risk engine's `stats`, the latest
`EquitySnapshot` (labelled with its valuation currency). Probes: the trading state, orders by state
(every state, 0 included), positions, rate-budget headroom per venue limit, the Cancel-All-After
heartbeat's age (from the venue deadline the last accepted heartbeat set) and interval, the latest
reconciliation pass's discrepancies, and per instrument the signal pipeline's rolling accuracy, its
window and its vetoes (`strategy.signal.SignalPipeline`, read by attribute: strategy/ sits above
monitor/), and the model in use.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from hftlab.cache.manager import RedisCacheManager
from hftlab.domain.orders import OrderState
from hftlab.execution.manager import OrderManager
from hftlab.marketdata.feed import MarketFeed
from hftlab.monitor.latency import FeedLatency
from hftlab.monitor.sources import Sources
from hftlab.okx.client import AsyncOKXClient
from hftlab.portfolio.equity import EquitySnapshot
from hftlab.risk.engine import RiskEngine


def register_market_data(sources: Sources, client: AsyncOKXClient, feed: MarketFeed, symbols: list[str],
                         latency: FeedLatency) -> None:
    for record in (client.stats, client.queue.stats, client.orders.latency, feed.book_stats, latency):
        sources.record(record)
    sources.probe("okx_socket_up", client.sockets_up)
    sources.probe("books_valid", lambda: feed.books_valid)
    sources.probe("books_tracked", lambda: feed.books_total)
    sources.probe("book_valid", lambda: {inst: top.valid for inst in symbols if (top := feed.top(inst)) is not None})
    sources.probe("bars_late_trades", lambda: feed.late_trades)


def register_cache(sources: Sources, cache: RedisCacheManager) -> None:
    sources.record(cache.stats)
    sources.probe("redis_backlog", lambda: cache.pending)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def orders_by_state(manager: OrderManager) -> dict[OrderState, int]:
    counts = Counter(v.state for v in manager.orders())
    return {s: counts.get(s, 0) for s in OrderState}


def caa_heartbeat_age_s(manager: OrderManager, now_ms: int) -> float | None:
    """Seconds since the venue accepted the last Cancel-All-After heartbeat (None: never armed)."""
    d = manager.deadman
    if d.expires_ms is None:
        return None
    return max(0.0, (now_ms - (d.expires_ms - d.timeout_s * 1000)) / 1000)


def register_trading(sources: Sources, manager: OrderManager, risk: RiskEngine, *,
                     snapshot: Callable[[], EquitySnapshot | None], ccy: str,
                     pipelines: Mapping[str, Any] | None = None, model: Mapping[str, str] | None = None,
                     now_ms: Callable[[], int] = _wall_ms) -> None:
    """`pipelines`: instId -> SignalPipeline; `model`: {"name", "version"} of the model in use;
    `now_ms`: the clock the heartbeat's age is measured on (the manager's, Unix ms)."""
    for record in (manager.stats, manager.latency, manager.order_stats, risk.stats):
        sources.record(record)
    sources.record(snapshot, of=EquitySnapshot, ccy=ccy)
    sources.probe("trading_state", lambda: risk.state)
    sources.probe("orders_by_state", lambda: orders_by_state(manager))
    sources.probe("positions", lambda: {inst: p.qty for inst, p in manager.portfolio.positions.items()})
    sources.probe("rate_budget_headroom", manager.budget.headroom)
    sources.probe("caa_heartbeat_age", lambda: caa_heartbeat_age_s(manager, now_ms()))
    sources.probe("caa_heartbeat_interval", lambda: manager.deadman.heartbeat_s)
    sources.probe("reconcile_discrepancies",
                  lambda: len(manager.last_pass.discrepancies) if manager.last_pass is not None else 0)
    pipes = dict(pipelines or {})
    sources.probe("signal_accuracy", lambda: {inst: p.accuracy.accuracy for inst, p in pipes.items()})
    sources.probe("signal_scored", lambda: {inst: p.accuracy.count for inst, p in pipes.items()})
    sources.probe("signal_vetoes", lambda: {(inst, veto): n for inst, p in pipes.items()
                                            for veto, n in p.filters.vetoes.items()})
    if model is not None:
        info = dict(model)
        sources.probe("model", lambda: info)
