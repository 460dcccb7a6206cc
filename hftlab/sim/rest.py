"""The REST side of the venue: `/api/v5/...` as OKX answers it.

Every answer is `{"code", "msg", "data": [...]}` (trade ops add gateway `inTime`/`outTime`); HTTP
status 200 for business outcomes, 4xx for authentication and rate limits. Private endpoints
verify the OK-ACCESS-* signature over the path and query exactly as sent and the raw body.
`x-simulated-trading` is accepted with any value (the simulator is a demo venue and a live one).
Place and amend take an `expTime` header (ms): past it the request is refused with 50037.

Lists page with OKX's cursors (hftlab.sim.paging): `orders-pending`, `orders-history` and
`orders-history-archive` by `ordId`, `fills` and `fills-history` by `billId`, market
`history-trades` by `tradeId` or `ts`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from hftlab.sim import codes, gate, history, records, trading, validation
from hftlab.sim.deadman import CancelAllAfter
from hftlab.sim.faults import AckFault
from hftlab.sim.feeds import levels
from hftlab.sim.hub import SimStats
from hftlab.sim.paging import page
from hftlab.sim.validation import Rejected

Handler = Callable[[web.Request], Awaitable[web.Response]]
PREFIX = "/api/v5"
MAX_BOOK_SZ = 400
MAX_PAGE = 100
CURSOR_MAX = 1 << 63


def reply(data: list, code: str = "0", msg: str = "", status: int = 200, **extra: Any) -> web.Response:
    body = {"code": code, "msg": msg, "data": data, **extra}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def fail(code: tuple[str, str], status: int = 200) -> web.Response:
    return reply([], code[0], code[1], status=status)


def _ord_id(rec: dict) -> int:
    return int(rec["ordId"])


def _int_param(q, name: str, default: int | None, lo: int, hi: int) -> int | None:
    """Query integer within [lo, hi]; ValueError naming the parameter otherwise."""
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ValueError(name) from None
    if not lo <= v <= hi:
        raise ValueError(name)
    return v


def _cursors(q) -> tuple[int | None, int | None, int]:
    """(after, before, limit) of a list request (limit at most 100, default 100)."""
    return (_int_param(q, "after", None, 0, CURSOR_MAX), _int_param(q, "before", None, 0, CURSOR_MAX),
            _int_param(q, "limit", MAX_PAGE, 1, MAX_PAGE))


def _time_range(q) -> None:
    """`begin`/`end` (Unix ms) are whole numbers, else 51000 naming them."""
    for name in ("begin", "end"):
        _int_param(q, name, None, 0, CURSOR_MAX)


class RestApi:
    def __init__(self, *, exchange, ops: trading.Trading, keyring: gate.Keyring, faults, stats: SimStats,
                 published_book: Callable[[str, int], tuple[list, list, int]], replay=None, ack_latency_s: float = 0.0,
                 deadman: CancelAllAfter | None = None):
        self.ex = exchange
        self.ops = ops
        self.deadman = deadman or CancelAllAfter()
        # OKX: 1 request per second per user and tag
        self.caa_limits = trading.RateWindow(limit=1, window_s=1.0)
        self.keyring = keyring
        self.faults = faults
        self.stats = stats
        self.published_book = published_book  # the book at its last seqId, as the WS chain has it
        self.replay = replay
        self.ack_latency_s = ack_latency_s

    def routes(self) -> list[web.RouteDef]:
        get, post = web.get, web.post
        return [
            get(f"{PREFIX}/public/time", self._public(self.time)),
            get(f"{PREFIX}/public/instruments", self._public(self.instruments)),
            get(f"{PREFIX}/market/books", self._public(self.books)),
            get(f"{PREFIX}/market/ticker", self._public(self.ticker)),
            get(f"{PREFIX}/public/price-limit", self._public(self.price_limit)),
            get(f"{PREFIX}/market/candles", self._public(self.candles)),
            get(f"{PREFIX}/market/history-candles", self._public(self.history_candles)),
            get(f"{PREFIX}/market/trades", self._public(self.trades)),
            get(f"{PREFIX}/market/history-trades", self._public(self.history_trades)),
            post(f"{PREFIX}/trade/order", self._private(self.trade_op("order"))),
            post(f"{PREFIX}/trade/batch-orders", self._private(self.trade_op("batch-orders"))),
            post(f"{PREFIX}/trade/cancel-order", self._private(self.trade_op("cancel-order"))),
            post(f"{PREFIX}/trade/cancel-batch-orders", self._private(self.trade_op("cancel-batch-orders"))),
            post(f"{PREFIX}/trade/amend-order", self._private(self.trade_op("amend-order"))),
            post(f"{PREFIX}/trade/amend-batch-orders", self._private(self.trade_op("amend-batch-orders"))),
            post(f"{PREFIX}/trade/cancel-all-after", self._private(self.cancel_all_after)),
            get(f"{PREFIX}/trade/order", self._private(self.order_details)),
            get(f"{PREFIX}/trade/orders-pending", self._private(self.orders_pending)),
            get(f"{PREFIX}/trade/orders-history", self._private(self.orders_history)),
            get(f"{PREFIX}/trade/orders-history-archive", self._private(self.orders_history_archive)),
            get(f"{PREFIX}/trade/fills", self._private(self.fills)),
            get(f"{PREFIX}/trade/fills-history", self._private(self.fills_history)),
            get(f"{PREFIX}/account/balance", self._private(self.balance)),
            get(f"{PREFIX}/account/positions", self._private(self.positions)),
            get(f"{PREFIX}/asset/currencies", self._private(self.currencies)),
        ]

    # --- wrappers: rate-limit faults, authentication ------------------------------------------------
    def _public(self, fn: Callable[[web.Request], web.Response]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            self.stats.rest_requests += 1
            if self.faults.take_rate_limit("rest", request.path):
                return fail(codes.RATE_LIMIT_429, status=429)
            try:
                return fn(request)
            except ValueError as e:
                return fail(codes.param_error(str(e)))
        return handler

    def _private(self, fn: Callable[[web.Request, str, str], Awaitable[web.Response]]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            self.stats.rest_requests += 1
            if self.faults.take_rate_limit("rest", request.path):
                return fail(codes.RATE_LIMIT_429, status=429)
            body = await request.text() if request.method == "POST" else ""
            who = gate.check_rest(self.keyring, request.headers, request.method, request.raw_path, body, time.time())
            if isinstance(who, gate.Denial):
                return reply([], who.code, who.msg, status=401)
            try:
                return await fn(request, who, body)
            except ValueError as e:
                return fail(codes.param_error(str(e)))
        return handler

    # --- public ---------------------------------------------------------------------------------------
    def time(self, request: web.Request) -> web.Response:
        # Wall time, not market time: clients sync their request signatures to it.
        return reply([{"ts": str(int(time.time() * 1000))}])

    def instruments(self, request: web.Request) -> web.Response:
        q = request.query
        inst_type = q.get("instType")
        if not inst_type:
            return fail(codes.empty_param("instType"))
        rows = [i.to_okx() for i in self.ex.instruments.values() if i.inst_type == inst_type]
        if q.get("instId"):
            rows = [r for r in rows if r["instId"] == q["instId"]]
        if q.get("instFamily"):
            rows = [r for r in rows if r["instFamily"] == q["instFamily"]]
        return reply(rows)

    def books(self, request: web.Request) -> web.Response:
        q = request.query
        inst_id = q.get("instId")
        if not inst_id:
            return fail(codes.empty_param("instId"))
        sz = _int_param(q, "sz", 1, 1, MAX_BOOK_SZ)
        if inst_id not in self.ex.instruments:
            data = self.replay.rest_book(inst_id, sz) if self.replay else None
            return reply([data]) if data else fail(codes.NO_INSTRUMENT)
        bids, asks, seq_id = self.published_book(inst_id, sz)
        return reply([{"asks": levels(asks), "bids": levels(bids), "ts": str(self.ex.now_ms), "seqId": seq_id}])

    def _unknown_instrument(self, inst_id: str | None) -> web.Response | None:
        """OKX's answer to a missing or unknown instId; None when the simulator trades it."""
        if not inst_id:
            return fail(codes.empty_param("instId"))
        if inst_id not in self.ex.instruments:
            return fail(codes.NO_INSTRUMENT)
        return None

    def price_limit(self, request: web.Request) -> web.Response:
        inst_id = request.query.get("instId")
        if (error := self._unknown_instrument(inst_id)) is not None:
            return error
        return reply([self.ex.price_limit(inst_id)])

    def ticker(self, request: web.Request) -> web.Response:
        inst_id = request.query.get("instId")
        if (error := self._unknown_instrument(inst_id)) is not None:
            return error
        return reply([self.ex.ticker(inst_id)])

    def _candles(self, request: web.Request, max_limit: int) -> web.Response:
        q = request.query
        inst_id = q.get("instId")
        if not inst_id:
            return fail(codes.empty_param("instId"))
        bar = q.get("bar") or "1m"
        limit = _int_param(q, "limit", 100, 1, max_limit)
        after = _int_param(q, "after", None, 0, 1 << 62)
        before = _int_param(q, "before", None, 0, 1 << 62)
        if self.replay is not None:
            rows = self.replay.candles(inst_id, bar, limit, after, before)
            if rows is not None:
                return reply(rows)
        if inst_id not in self.ex.instruments:
            return fail(codes.NO_INSTRUMENT)
        try:
            rows = self.ex.candles(inst_id, bar, limit=limit, after=after, before=before)
        except (KeyError, ValueError):
            return fail(codes.param_error("bar"))
        return reply(rows)

    def candles(self, request: web.Request) -> web.Response:
        return self._candles(request, 300)

    def history_candles(self, request: web.Request) -> web.Response:
        return self._candles(request, 100)

    def _trade_rows(self, inst_id: str, limit: int) -> list[dict]:
        return [{"instId": inst_id, "side": t.side, "sz": t.sz, "source": "0", "px": t.px, "tradeId": t.trade_id,
                 "ts": str(t.ts_ms)} for t in self.ex.recent_trades(inst_id, limit)]

    def trades(self, request: web.Request) -> web.Response:
        q = request.query
        inst_id = q.get("instId")
        if (error := self._unknown_instrument(inst_id)) is not None:
            return error
        return reply(self._trade_rows(inst_id, _int_param(q, "limit", 100, 1, 500)))

    def history_trades(self, request: web.Request) -> web.Response:
        q = request.query
        inst_id = q.get("instId")
        if (error := self._unknown_instrument(inst_id)) is not None:
            return error
        limit = _int_param(q, "limit", 100, 1, 100)
        by_ts = q.get("type", "1") == "2"
        after = _int_param(q, "after", None, 0, 1 << 62)
        before = _int_param(q, "before", None, 0, 1 << 62)
        field = "ts" if by_ts else "tradeId"
        return reply(page(self._trade_rows(inst_id, 10_000), lambda t: int(t[field]), after, before, limit))

    # --- private --------------------------------------------------------------------------------------
    def trade_op(self, op: str) -> Callable[[web.Request, str, str], Awaitable[web.Response]]:
        batch = op in trading.BATCH_OPS
        keys = trading.RESULT_KEYS[(op, "rest")]

        async def handler(request: web.Request, account: str, body: str) -> web.Response:
            in_time = trading.micros()
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                return fail(codes.REST_JSON_ERROR, status=400)
            items = doc if batch else [doc]
            if not isinstance(items, list) or not items or len(items) > trading.MAX_BATCH or \
                    not all(isinstance(i, dict) for i in items):
                return fail(codes.param_error("body"))
            exp_time = request.headers.get("expTime")
            delay = self.ack_latency_s + self.faults.take_ack_delay(f"rest {op}") + self._late_delivery(op, exp_time)
            if delay > 0:
                await asyncio.sleep(delay)
            results = [trading.shape(r, keys) for r in self.ops.run(account, op, items, exp_time)]
            self.ops.on_change()
            fault = self.faults.take_ack_fault("rest", op)
            if fault is not None:
                return await self._lost_answer(request, *fault)
            if not batch and results[0]["sCode"] == codes.REST_EMPTY_PARAM[0]:
                return fail((results[0]["sCode"], results[0]["sMsg"]))  # REST refuses a missing parameter whole
            code, msg = trading.aggregate(results, rest=True)
            return reply(results, code, msg, inTime=in_time, outTime=trading.micros())
        return handler

    def _late_delivery(self, op: str, exp_time: str | None) -> float:
        if trading.KIND[op] not in trading.EXPIRING:
            return 0.0
        try:
            deadline = validation.exp_time(exp_time)
        except Rejected:
            return 0.0  # refused as it is processed
        return self.faults.take_late_delivery(f"rest {op}", deadline, int(time.time() * 1000))

    async def _lost_answer(self, request: web.Request, fault: AckFault, hold_s: float) -> web.Response:
        """The request executed; its answer is a 50004 timeout, or never comes."""
        if fault is AckFault.TIMEOUT:
            return fail(codes.REQUEST_TIMEOUT, status=400)
        await asyncio.sleep(hold_s)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing to send on a connection that is gone

    async def cancel_all_after(self, request: web.Request, account: str, body: str) -> web.Response:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return fail(codes.REST_JSON_ERROR, status=400)
        if not isinstance(doc, dict):
            return fail(codes.param_error("body"))
        now = time.time()
        try:
            timeout_s = validation.caa_timeout(doc.get("timeOut"))
            tag = validation.caa_tag(doc.get("tag"))
            if not self.caa_limits.allow((account, tag)):
                return fail(codes.RATE_LIMIT_429, status=429)
            deadline = self.deadman.arm(account, tag, timeout_s, now)
        except Rejected as r:
            return fail(r.answer)
        trigger_ms = 0 if deadline is None else int(deadline * 1000)
        return reply([records.cancel_all_after_result(trigger_ms, tag, int(now * 1000))])

    async def order_details(self, request: web.Request, account: str, body: str) -> web.Response:
        q = request.query
        if not q.get("instId"):
            return fail(codes.empty_param("instId"))
        if not (q.get("ordId") or q.get("clOrdId")):
            return fail(codes.empty_param("ordId or clOrdId"))
        order = self.ex.get_order(account, q["instId"], ord_id=q.get("ordId") or None,
                                  cl_ord_id=q.get("clOrdId") or None)
        return reply([order]) if order else fail(codes.ORDER_NOT_EXIST)

    async def orders_pending(self, request: web.Request, account: str, body: str) -> web.Response:
        q = request.query
        after, before, limit = _cursors(q)
        rows = history.select_orders(self.ex.pending_orders(account, q.get("instId") or None), q)
        return reply(page(rows, _ord_id, after, before, limit))

    def _finished(self, request: web.Request, account: str, window_ms: int,
                  keep: Callable[[dict, int], bool]) -> web.Response:
        q = request.query
        if not q.get("instType"):
            return fail(codes.empty_param("instType"))
        after, before, limit = _cursors(q)
        _time_range(q)
        now = self.ex.now_ms
        rows = [r for r in self.ex.finished_orders(account, since_ms=now - window_ms) if keep(r, now)]
        return reply(page(history.select_orders(rows, q), _ord_id, after, before, limit))

    async def orders_history(self, request: web.Request, account: str, body: str) -> web.Response:
        return self._finished(request, account, history.ORDERS_HISTORY_MS, history.in_orders_history)

    async def orders_history_archive(self, request: web.Request, account: str, body: str) -> web.Response:
        return self._finished(request, account, history.ARCHIVE_MS, history.in_archive)

    def _fills(self, request: web.Request, account: str, window_ms: int, need_type: bool) -> web.Response:
        q = request.query
        if need_type and not q.get("instType"):
            return fail(codes.empty_param("instType"))
        after, before, limit = _cursors(q)
        _time_range(q)
        since = self.ex.now_ms - window_ms
        rows = history.select_fills([r for r in self.ex.fills(account) if int(r["ts"]) >= since], q)
        return reply(page(rows, lambda r: int(r["billId"]), after, before, limit))

    async def fills(self, request: web.Request, account: str, body: str) -> web.Response:
        return self._fills(request, account, history.FILLS_MS, need_type=False)

    async def fills_history(self, request: web.Request, account: str, body: str) -> web.Response:
        return self._fills(request, account, history.FILLS_HISTORY_MS, need_type=True)

    async def currencies(self, request: web.Request, account: str, body: str) -> web.Response:
        wanted = {c for c in request.query.get("ccy", "").split(",") if c}
        return reply([r for r in self.ex.currencies() if not wanted or r["ccy"] in wanted])

    async def balance(self, request: web.Request, account: str, body: str) -> web.Response:
        data = self.ex.balances(account)
        ccys = {c for c in request.query.get("ccy", "").split(",") if c}
        if ccys:
            data = {**data, "details": [d for d in data.get("details", []) if d.get("ccy") in ccys]}
        return reply([data])

    async def positions(self, request: web.Request, account: str, body: str) -> web.Response:
        q = request.query
        rows = self.ex.positions(account)
        if q.get("instType"):
            rows = [r for r in rows if r.get("instType") == q["instType"]]
        if q.get("instId"):
            wanted = set(q["instId"].split(","))
            rows = [r for r in rows if r.get("instId") in wanted]
        return reply(rows)
