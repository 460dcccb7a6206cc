"""How every component's numbers export to Prometheus: one table, checked at registration and by tests.

Components own their stats records (`core.metrics.Stats` subclasses, `LatencyStats`, `OrderStats`,
`EquitySnapshot`, ...; DESIGN rule 9); this module only says, per field, what it becomes: its kind,
name, help and labels. Records are named by their class's dotted path, so the table covers packages
above `monitor/` (collect, strategy, live) without importing them. Numbers that are not a record's
field (a queue's length, a socket's state, the trading state) are *probes*: named callables a
process registers, each catalogued here too. `Sources.record` refuses a record whose type or any of
whose fields is not in the table, and tests/unit/monitor/test_catalogue.py fails on a `Stats`
subclass anywhere in hftlab that is not, so nothing goes silently unexported.

Conventions (Prometheus): every name starts `hftlab_`; base units (seconds, bytes, ratios 0..1);
counters end in `_total`; histograms are in seconds with the core buckets (`LATENCY_BUCKETS_S`,
10 µs .. 10 s); labels are few and bounded (channel, role, code, state, instrument ...), never an
order or trade id (`ALLOWED_LABELS`).

Kinds: COUNTER (an int, or a `Counter` by label), GAUGE (a number or bool, or a mapping by label),
HISTOGRAM (a `Histogram`, or a mapping by label of them), STATE (an enum member: one series per
member, 1 for the current one), INFO (a mapping of label -> value, exported as 1), NESTED (a record
catalogued on its own), SKIP (not a number; the reason is stated).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    STATE = "state"
    INFO = "info"
    NESTED = "nested"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Export:
    kind: Kind
    name: str = ""
    help: str = ""
    labels: tuple[str, ...] = ()
    scale: float = 1.0  # multiplies the value into the base unit (ms -> s: 0.001)


def counter(name: str, help: str, *labels: str) -> Export:
    return Export(Kind.COUNTER, name, help, labels)


def gauge(name: str, help: str, *labels: str, scale: float = 1.0) -> Export:
    return Export(Kind.GAUGE, name, help, labels, scale)


def histogram(name: str, help: str, *labels: str) -> Export:
    return Export(Kind.HISTOGRAM, name, help, labels)


def state(name: str, help: str, label: str) -> Export:
    return Export(Kind.STATE, name, help, (label,))


NESTED = Export(Kind.NESTED)


def skip(why: str) -> Export:
    return Export(Kind.SKIP, help=why)


ALLOWED_LABELS = frozenset({
    "channel", "role", "code", "op", "result", "outcome", "reason", "how", "lookup", "state", "event", "change",
    "breaker", "level", "action", "inst_id", "limit", "veto", "name", "version", "component", "ccy",
})

# ----- records: class path -> field -> export ------------------------------------------------------
RECORDS: dict[str, dict[str, Export]] = {
    # okx/: the market-data and control sockets
    "hftlab.okx.client.ClientStats": {
        "sockets": NESTED, "overlap": NESTED, "books": NESTED, "orders": NESTED,
        "events": counter("hftlab_okx_events_total", "Events passed on to consumers (messages by channel)", "channel"),
        "connects": counter("hftlab_okx_connects_total", "WebSocket connections established", "role"),
        "connect_failures": counter("hftlab_okx_connect_failures_total", "Connection attempts that failed", "role"),
        "reconnects": counter("hftlab_okx_reconnects_total", "Unplanned connection losses followed by a reconnect",
                              "role"),
        "rollovers": counter("hftlab_okx_rollovers_total", "Connections rolled over on notice 64008", "role"),
        "parse_errors": counter("hftlab_okx_parse_errors_total",
                                "Malformed frames: unparseable, a field of the wrong type or value, or "
                                "implausible exchange times (counted, recorded raw, never passed on)"),
        "handler_errors": counter("hftlab_okx_handler_errors_total", "Exceptions in frame handling"),
        "task_failures": counter("hftlab_okx_task_failures_total",
                                 "Client tasks that failed (socket supervisors restarted; one-off work logged)",
                                 "name"),
    },
    "hftlab.okx.connection.SocketStats": {
        "frames": counter("hftlab_okx_frames_total", "WebSocket frames read (pongs included)"),
        "pings": counter("hftlab_okx_pings_total", "Text pings sent after silence"),
        "pongs": counter("hftlab_okx_pongs_total", "Pongs received"),
        "pong_timeouts": counter("hftlab_okx_pong_timeouts_total", "Pings left unanswered (the socket is replaced)"),
        "subscribe_requests": counter("hftlab_okx_subscribe_requests_total", "Subscribe requests sent"),
        "login_failures": counter("hftlab_okx_login_failures_total", "Logins refused"),
        "error_events": counter("hftlab_okx_error_events_total", "OKX error events by code", "code"),
        "notices": counter("hftlab_okx_notices_total", "OKX notice events by code (64008: service upgrade)", "code"),
        "task_failures": counter("hftlab_okx_socket_task_failures_total",
                                 "Socket readers and keepalives that failed (the socket was aborted)", "name"),
    },
    "hftlab.okx.overlap.OverlapStats": {
        "duplicates": counter("hftlab_okx_overlap_duplicates_total",
                              "Duplicate pushes dropped (rollover overlap and OKX's own)", "channel"),
    },
    "hftlab.okx.bookhealth.BookHealthStats": {
        "resubscribes": counter("hftlab_okx_book_resubscribes_total",
                                "Single-book resyncs sent (unsubscribe + subscribe)"),
        "resync_retries": counter("hftlab_okx_book_resync_retries_total", "Resyncs sent again for want of a snapshot"),
        "stale_resyncs": counter("hftlab_okx_book_stale_resyncs_total", "Books invalidated by the stale watchdog"),
        "rest_seeds": counter("hftlab_okx_book_rest_seeds_total", "Books seeded from a REST snapshot, by result",
                              "result"),
        "books_invalidated_on_loss": counter("hftlab_okx_books_invalidated_on_loss_total",
                                             "Served books invalidated because their connection died"),
    },
    "hftlab.okx.execution.ExecutionStats": {
        "ops_sent": counter("hftlab_okx_ops_sent_total", "WebSocket trading ops sent"),
        "ops_not_sent": counter("hftlab_okx_ops_not_sent_total",
                                "Trading ops refused before sending (socket not ready)"),
        "op_failures": counter("hftlab_okx_op_failures_total", "Trading ops sent whose outcome is unknown"),
        "rejects": counter("hftlab_okx_op_rejects_total", "Trading op items OKX refused, by sCode", "code"),
        "reconciles": counter("hftlab_okx_order_reconciles_total", "Open-order reconciliations over REST"),
        "reconcile_failures": counter("hftlab_okx_order_reconcile_failures_total", "Open-order reconciliations failed"),
    },
    "hftlab.okx.venue.VenueStats": {
        "ws_ops": counter("hftlab_venue_ws_ops_total", "Writes sent as WebSocket ops"),
        "rest_ops": counter("hftlab_venue_rest_ops_total", "Writes sent over REST"),
        "rest_fallbacks": counter("hftlab_venue_rest_fallbacks_total",
                                  "WebSocket ops that provably did not execute, sent again over REST"),
        "ambiguous_items": counter("hftlab_venue_ambiguous_items_total", "Write items whose outcome is unknown"),
        "local_refusals": counter("hftlab_venue_local_refusals_total",
                                  "Write items refused before sending (an instrument the venue was not built with)"),
        "unreadable": counter("hftlab_venue_unreadable_pushes_total", "Private push items that could not be read"),
        "stream_drops": counter("hftlab_venue_stream_drops_total", "Private stream losses"),
        "on_sent_errors": counter("hftlab_venue_on_sent_errors_total", "Send-stamp hook failures (logged)"),
        "task_failures": counter("hftlab_venue_task_failures_total", "Venue tasks that failed (logged)", "name"),
    },
    "hftlab.okx.execution.OpLatency": {
        "ack": histogram("hftlab_okx_op_ack_seconds", "Trading op sent -> its answer, by op", "op"),
        "gateway": histogram("hftlab_okx_gateway_seconds", "OKX gateway time of a trading op (outTime - inTime)", "op"),
    },
    "hftlab.okx.queue.QueueStats": {
        "maxsize": gauge("hftlab_okx_queue_capacity", "Events the socket -> consumer queue holds before dropping"),
        "depth": gauge("hftlab_okx_queue_depth", "Events waiting in the socket -> consumer queue"),
        "max_depth": gauge("hftlab_okx_queue_max_depth", "Largest queue depth seen"),
        "put": counter("hftlab_okx_queue_put_total", "Events put into the queue"),
        "dropped": counter("hftlab_okx_queue_dropped_total", "Events dropped from a full queue, by channel", "channel"),
        "books_invalidated": counter("hftlab_okx_queue_books_invalidated_total",
                                     "Books invalidated because one of their updates was dropped"),
        "overflow": counter("hftlab_okx_queue_overflow_total", "Private pushes admitted beyond capacity"),
        "after_close": counter("hftlab_okx_queue_after_close_total", "Events refused because the queue was closed"),
    },
    "hftlab.okx.book.BookStats": {
        "snapshots": counter("hftlab_book_snapshots_total", "Book snapshots applied"),
        "rest_seeds": counter("hftlab_book_rest_seeds_total", "Books built from a REST snapshot"),
        "updates": counter("hftlab_book_updates_total", "Book updates applied"),
        "seq_checked": counter("hftlab_book_seq_checked_total", "Updates whose prevSeqId was checked"),
        "keepalives": counter("hftlab_book_keepalives_total", "Keep-alive updates (seqId == prevSeqId)"),
        "resets": counter("hftlab_book_seq_resets_total", "Sequence resets (seqId < prevSeqId)"),
        "checksum_verified": counter("hftlab_book_checksum_verified_total", "Non-zero checksums verified"),
        "checksum_mismatched": counter("hftlab_book_checksum_mismatches_total", "Checksums that did not match"),
        "checksum_absent": counter("hftlab_book_checksum_absent_total", "Messages with checksum 0 or none"),
        "breaks": counter("hftlab_book_breaks_total", "Sequence breaks (prevSeqId does not chain)"),
        "malformed": counter("hftlab_book_malformed_total", "Messages with an unreadable level"),
        "crossed": counter("hftlab_book_crossed_total", "Messages after which the book was crossed"),
        "ignored": counter("hftlab_book_ignored_total", "Updates ignored while awaiting a snapshot"),
        "skipped": counter("hftlab_book_skipped_total", "Updates already inside the REST seed"),
        "resyncs": counter("hftlab_book_resyncs_total", "Resyncs requested by the book keeper"),
    },
    # cache/, collect/, sim/
    "hftlab.cache.manager.CacheStats": {
        "events_enqueued": counter("hftlab_redis_events_enqueued_total", "Events queued for Redis"),
        "events_written": counter("hftlab_redis_events_written_total", "Events written to Redis"),
        "events_dropped": counter("hftlab_redis_events_dropped_total", "Events dropped (backlog full or unencodable)"),
        "state_written": counter("hftlab_redis_state_written_total", "State keys written to Redis"),
        "batches": counter("hftlab_redis_batches_total", "Pipelined batches written"),
        "outages": counter("hftlab_redis_outages_total", "Times Redis became unreachable"),
        "connected": gauge("hftlab_redis_connected", "1 while the writer reaches Redis"),
        "last_error": skip("free text: logged once per outage"),
        "task_failures": counter("hftlab_redis_task_failures_total", "Cache writer tasks that failed (restarted)",
                                 "name"),
    },
    "hftlab.collect.recorder.RecorderStats": {
        "raw_rows": counter("hftlab_parquet_raw_rows_total", "Raw frames written to Parquet"),
        "event_rows": counter("hftlab_parquet_event_rows_total", "Normalised events written to Parquet"),
        "files_closed": counter("hftlab_parquet_files_total", "Parquet files finished"),
        "flushes": counter("hftlab_parquet_flushes_total", "Buffer flushes to Parquet"),
        "pending": gauge("hftlab_parquet_pending_rows", "Rows buffered at the last flush"),
        "write_errors": counter("hftlab_parquet_write_errors_total", "Parquet writes that failed"),
        "last_flush_s": gauge("hftlab_parquet_last_flush_seconds", "Duration of the last flush"),
        "rows_lost": counter("hftlab_parquet_rows_lost_total", "Buffered rows that could not be written (logged)"),
        "task_failures": counter("hftlab_parquet_task_failures_total", "Recorder tasks that failed (restarted)",
                                 "name"),
    },
    "hftlab.collect.collector.CollectorStats": {
        "frames_tapped": counter("hftlab_collect_frames_total", "Frames that carried something new"),
        "frames_recorded": counter("hftlab_collect_raw_frames_recorded_total", "Frames handed to the raw recorder"),
        "events": counter("hftlab_collect_events_total", "Events handled by the collector"),
        "bars_closed": counter("hftlab_collect_bars_closed_total", "Bars closed"),
        "raw_shed": gauge("hftlab_collect_raw_recording_shed", "1 once the resource guard stopped raw recording"),
        "handler_errors": counter("hftlab_collect_handler_errors_total",
                                  "Events the collector could not handle (counted, logged, skipped)"),
        "task_failures": counter("hftlab_collect_task_failures_total",
                                 "Collector tasks that failed (restarted or the run stopped), by task", "name"),
    },
    "hftlab.sim.hub.SimStats": {
        "connections_total": counter("hftlab_sim_connections_total", "WebSocket connections accepted"),
        "connections_open": gauge("hftlab_sim_connections_open", "WebSocket connections open"),
        "frames_sent": counter("hftlab_sim_frames_sent_total", "Frames sent"),
        "bytes_sent": counter("hftlab_sim_sent_bytes_total", "Bytes sent"),
        "publications": counter("hftlab_sim_publications_total", "Market-data publications"),
        "rest_requests": counter("hftlab_sim_rest_requests_total", "REST requests served"),
        "ws_requests": counter("hftlab_sim_ws_requests_total", "WebSocket requests served"),
        "steps": counter("hftlab_sim_steps_total", "Market steps simulated"),
        "lag_ms": gauge("hftlab_sim_lag_seconds", "How far the feed loop trails market time", scale=0.001),
        "slowdowns": counter("hftlab_sim_slowdowns_total", "Times market time was slowed to keep up"),
        "by_role": gauge("hftlab_sim_connections_open_by_role", "WebSocket connections open, by role", "role"),
        "task_failures": counter("hftlab_sim_task_failures_total",
                                 "Simulator tasks that failed (market and watchdog restarted), by task", "name"),
    },
    # execution/, risk/, domain/, portfolio/: registered by the live runner
    "hftlab.execution.stats.ExecutionStats": {
        "places": counter("hftlab_execution_places_total", "Place items sent"),
        "amends": counter("hftlab_execution_amends_total", "Amend requests sent"),
        "cancels": counter("hftlab_execution_cancels_total", "Cancel items sent"),
        "outcomes": counter("hftlab_execution_outcomes_total", "Venue answers by op and outcome", "op", "outcome"),
        "local_refusals": counter("hftlab_execution_local_refusals_total", "Requests never sent, by reason", "reason"),
        "venue_rate_limited": counter("hftlab_execution_venue_rate_limited_total",
                                      "Venue refusals for rate (the budget should keep this 0)"),
        "budget_waits": counter("hftlab_execution_budget_waits_total", "Requests that waited for rate budget"),
        "unknown_orders": counter("hftlab_execution_unknown_orders_total", "Orders that became UNKNOWN"),
        "resolved": counter("hftlab_execution_unknown_resolved_total", "UNKNOWN orders resolved, by how", "how"),
        "queries": counter("hftlab_execution_queries_total", "Order queries, by lookup", "lookup"),
        "pushes_before_ack": counter("hftlab_execution_pushes_before_ack_total", "Orders pushed before their ack"),
        "untracked_pushes": counter("hftlab_execution_untracked_pushes_total", "Facts about orders not tracked"),
        "illegal_facts": counter("hftlab_execution_illegal_facts_total", "Venue facts the order state machine refused"),
        "stream_drops": counter("hftlab_execution_stream_drops_total", "Private stream drops"),
        "reconcile_passes": counter("hftlab_execution_reconcile_passes_total", "Reconciliation passes"),
        "reconcile_failures": counter("hftlab_execution_reconcile_failures_total", "Failed passes, by reason",
                                      "reason"),
        "paging_stalls": counter("hftlab_execution_paging_stalls_total", "Venue history reads that stalled"),
        "adopted": counter("hftlab_execution_adopted_orders_total", "Tagged venue orders unknown to the journal"),
        "adopted_cancelled": counter("hftlab_execution_adopted_cancelled_total", "Adopted orders cancelled"),
        "fills_recovered": counter("hftlab_execution_fills_recovered_total", "Fills first learnt by reconciliation"),
        "position_discrepancies": counter("hftlab_execution_position_discrepancies_total",
                                          "Positions the venue corrected"),
        "caa_heartbeats": counter("hftlab_execution_caa_heartbeats_total", "Cancel-All-After heartbeats accepted"),
        "caa_failures": counter("hftlab_execution_caa_failures_total", "Cancel-All-After requests not accepted"),
        "kill_switch": counter("hftlab_execution_kill_switch_total", "Kill-switch runs"),
        "task_failures": counter("hftlab_execution_task_failures_total",
                                 "Order-manager tasks that failed (restarted), by task", "name"),
        "event_errors": counter("hftlab_execution_event_errors_total",
                                "Private-stream events that raised while applied (logged, skipped)"),
    },
    "hftlab.execution.stats.LatencyStats": {
        "place_ack": histogram("hftlab_execution_place_ack_seconds", "Order sent -> venue ack"),
        "cancel_ack": histogram("hftlab_execution_cancel_ack_seconds", "Cancel sent -> venue ack"),
        "ack_push": histogram("hftlab_execution_ack_to_push_seconds",
                              "Order ack -> first push about it (0: push first)"),
        "first_fill": histogram("hftlab_execution_order_to_first_fill_seconds", "Order sent -> its first fill"),
        "overhead": histogram("hftlab_execution_overhead_seconds",
                              "Approved order -> request handed to the venue (risk -> order frame sent)"),
        "budget_wait": histogram("hftlab_execution_budget_wait_seconds", "Waits for rate budget"),
        "journal_write": histogram("hftlab_execution_journal_write_seconds", "One committed journal write"),
    },
    "hftlab.risk.engine.RiskStats": {
        "checks": counter("hftlab_risk_checks_total", "Pre-trade checks"),
        "approved": counter("hftlab_risk_approved_total", "Intents approved"),
        "denials": counter("hftlab_risk_denials_total", "Intents denied, by reason", "reason"),
        "state_changes": counter("hftlab_risk_state_changes_total", "Trading state changes (from->to)", "change"),
        "breakers": counter("hftlab_risk_breakers_total", "Breakers and conditions tripped", "breaker"),
    },
    "hftlab.domain.orders.OrderStats": {
        "transitions": counter("hftlab_order_transitions_total", "Legal order transitions, by state and event",
                               "state", "event"),
        "illegal": counter("hftlab_order_illegal_transitions_total", "Refused order transitions", "state", "event"),
        "stale_updates": counter("hftlab_order_stale_updates_total", "Order updates older than the order's state"),
        "duplicate_fills": counter("hftlab_order_duplicate_fills_total", "Fills seen twice"),
        "duplicate_amends": counter("hftlab_order_duplicate_amends_total", "Amend answers seen twice"),
    },
    "hftlab.portfolio.equity.EquitySnapshot": {
        "ts_ms": gauge("hftlab_portfolio_snapshot_timestamp_seconds", "Time of the latest valuation (Unix)",
                       scale=0.001),
        "equity": gauge("hftlab_portfolio_equity", "Mark-to-market equity (valuation currency)"),
        "realised": gauge("hftlab_portfolio_realised_pnl", "Realised PnL"),
        "unrealised": gauge("hftlab_portfolio_unrealised_pnl", "Unrealised PnL at the marks"),
        "fees": gauge("hftlab_portfolio_fees", "Fees (venue sign: negative paid)"),
        "funding": gauge("hftlab_portfolio_funding", "Funding received (negative paid)"),
        "high_water": gauge("hftlab_portfolio_high_water", "Equity high-water mark"),
        "drawdown": gauge("hftlab_portfolio_drawdown", "High-water mark - equity"),
        "drawdown_pct": gauge("hftlab_portfolio_drawdown_ratio", "Drawdown / high-water mark", scale=0.01),
        "day_pnl": gauge("hftlab_portfolio_day_pnl", "Equity - equity at the UTC day's open"),
    },
    # monitor/: the tick path's stages and the resource guard
    "hftlab.monitor.latency.FeedLatency": {
        "exchange_to_receive": histogram("hftlab_md_exchange_to_receive_seconds",
                                         "Venue event time -> local frame receive, sampled events "
                                         "(includes the clocks' offset)",
                                         "channel"),
        "receive_to_event": histogram("hftlab_md_receive_to_event_seconds",
                                      "Frame received -> its event handled by the consumer (parse + queue "
                                      "wait), sampled events"),
        "sample_rate": skip("configuration: the share of events timed"),
    },
    "hftlab.monitor.latency.TickLatency": {
        "features": histogram("hftlab_tick_features_seconds", "Closed bar -> feature vector"),
        "inference": histogram("hftlab_tick_inference_seconds", "Feature window -> model probabilities"),
        "decision": histogram("hftlab_tick_decision_seconds", "Probabilities -> sized target (rule, filters, sizing)"),
        "risk": histogram("hftlab_tick_risk_seconds", "Order intent -> risk verdict"),
        "tick_to_order": histogram("hftlab_tick_to_order_seconds",
                                   "Frame received -> order request handed to the venue"),
    },
    "hftlab.monitor.exporter.ExporterStats": {
        "scrapes": counter("hftlab_exporter_scrapes_total", "Scrapes of /metrics served"),
        "scrape_seconds": histogram("hftlab_exporter_scrape_seconds", "Time to render one scrape"),
    },
    "hftlab.monitor.looplag.LoopLagStats": {
        "lag": histogram("hftlab_event_loop_lag_seconds", "How late the event loop ran a callback that was due"),
        "max_s": gauge("hftlab_event_loop_lag_max_seconds", "The worst event-loop lag since the process started"),
    },
    "hftlab.monitor.guard.GuardStats": {
        "checks": counter("hftlab_resource_guard_checks_total", "Resource checks made"),
        "level": state("hftlab_resource_guard_level", "The resource guard's level (1 for the current one)", "level"),
        "actions": counter("hftlab_resource_guard_actions_total", "Load-shedding actions taken", "action"),
        "rss_bytes": gauge("hftlab_process_resident_memory_bytes", "Resident memory of this process"),
        "limit_bytes": gauge("hftlab_memory_limit_bytes", "The guard's memory limit (system.max_memory_usage)"),
        "cpu_seconds": counter("hftlab_process_cpu_seconds_total", "CPU time of this process (user + system)"),
    },
}

# ----- probes: name -> export (the value a registered callable returns) ----------------------------
PROBES: dict[str, Export] = {
    # the component is the scrape target's label (config/monitoring/prometheus.yml), not exported
    "build": Export(Kind.INFO, "hftlab_build", "The running hftlab version", ("version",)),
    "okx_socket_up": gauge("hftlab_okx_socket_up", "1 while the socket of a role in use is connected", "role"),
    "books_valid": gauge("hftlab_books_valid", "Books valid (served) now"),
    "books_tracked": gauge("hftlab_books_tracked", "Books tracked"),
    "book_valid": gauge("hftlab_book_valid", "1 while the instrument's top-of-book source is valid", "inst_id"),
    "bars_late_trades": counter("hftlab_bars_late_trades_total", "Trades that arrived after their bar closed"),
    "redis_backlog": gauge("hftlab_redis_backlog", "Events and state keys waiting to be written to Redis"),
    # the live runner's
    "trading_state": state("hftlab_trading_state", "The risk engine's trading state (1 for the current one)", "state"),
    "orders_by_state": gauge("hftlab_orders", "Tracked orders, by state", "state"),
    "positions": gauge("hftlab_position", "Position (base units; contracts for a swap)", "inst_id"),
    "rate_budget_headroom": gauge("hftlab_rate_budget_headroom_ratio",
                                  "Lowest share of a venue rate limit's budget left", "limit"),
    "caa_heartbeat_age": gauge("hftlab_cancel_all_after_heartbeat_age_seconds",
                               "Seconds since the last accepted Cancel-All-After heartbeat"),
    "caa_heartbeat_interval": gauge("hftlab_cancel_all_after_heartbeat_interval_seconds",
                                    "The configured Cancel-All-After heartbeat interval"),
    "reconcile_discrepancies": gauge("hftlab_reconcile_discrepancies",
                                     "Discrepancies found by the latest reconciliation pass"),
    "signal_accuracy": gauge("hftlab_signal_accuracy_ratio", "Realised signal accuracy over the rolling window",
                             "inst_id"),
    "signal_scored": gauge("hftlab_signal_scored", "Predictions in the accuracy window", "inst_id"),
    "signal_vetoes": counter("hftlab_signal_vetoes_total", "Signals flattened by a filter, by veto", "inst_id", "veto"),
    "model": Export(Kind.INFO, "hftlab_model", "The model in use", ("name", "version")),
}


def record_key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def exports() -> list[Export]:
    """Every metric the catalogue defines (records and probes), NESTED and SKIP left out."""
    out = [e for table in RECORDS.values() for e in table.values()] + list(PROBES.values())
    return [e for e in out if e.kind not in (Kind.NESTED, Kind.SKIP)]


def series_names(e: Export) -> tuple[str, ...]:
    """The sample names a metric exposes (what a PromQL query may name)."""
    if e.kind is Kind.HISTOGRAM:
        return (f"{e.name}_bucket", f"{e.name}_sum", f"{e.name}_count")
    if e.kind is Kind.INFO:
        return (f"{e.name}_info",)
    return (e.name,)
