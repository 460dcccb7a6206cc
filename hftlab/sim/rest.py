"""The REST side of the venue: `/api/v5/...` as OKX answers it.

Every answer is `{"code", "msg", "data": [...]}` (trade ops add gateway `inTime`/`outTime`); HTTP
status 200 for business outcomes, 4xx for authentication and rate limits. Private endpoints
verify the OK-ACCESS-* signature over the path and query exactly as sent and the raw body.
`x-simulated-trading` is accepted with any value (the simulator is a demo venue and a live one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from hftlab.sim import codes, gate, trading
from hftlab.sim.feeds import levels
from hftlab.sim.hub import SimStats

Handler = Callable[[web.Request], Awaitable[web.Response]]
PREFIX = "/api/v5"
MAX_BOOK_SZ = 400


def reply(data: list, code: str = "0", msg: str = "", status: int = 200, **extra: Any) -> web.Response:
    body = {"code": code, "msg": msg, "data": data, **extra}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def fail(code: tuple[str, str], status: int = 200) -> web.Response:
    return reply([], code[0], code[1], status=status)


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


class RestApi:
    def __init__(self, *, exchange, ops: trading.Trading, keyring: gate.Keyring, faults, stats: SimStats,
                 published_book: Callable[[str, int], tuple[list, list, int]], replay=None, ack_latency_s: float = 0.0):
        self.ex = exchange
        self.ops = ops
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
            get(f"{PREFIX}/trade/order", self._private(self.order_details)),
            get(f"{PREFIX}/trade/orders-pending", self._private(self.orders_pending)),
            get(f"{PREFIX}/account/balance", self._private(self.balance)),
            get(f"{PREFIX}/account/positions", self._private(self.positions)),
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
        rows = []
        for t in self._trade_rows(inst_id, 10_000):  # newest first
            v = int(t[field])
            if after is not None and v >= after or before is not None and v <= before:
                continue
            rows.append(t)
        # `before` alone pages towards the present: the records just newer than the cursor.
        rows = rows[-limit:] if before is not None and after is None else rows[:limit]
        return reply(rows)

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
            delay = self.ack_latency_s + self.faults.take_ack_delay(f"rest {op}")
            if delay > 0:
                await asyncio.sleep(delay)
            results = [trading.shape(r, keys) for r in self.ops.run(account, op, items)]
            self.ops.on_change()
            if not batch and results[0]["sCode"] == codes.REST_EMPTY_PARAM[0]:
                return fail((results[0]["sCode"], results[0]["sMsg"]))  # REST refuses a missing parameter whole
            code, msg = trading.aggregate(results, rest=True)
            return reply(results, code, msg, inTime=in_time, outTime=trading.micros())
        return handler

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
        rows = self.ex.pending_orders(account, q.get("instId") or None)
        for key in ("instType", "ordType", "state"):
            if q.get(key):
                rows = [r for r in rows if r.get(key) == q[key]]
        return reply(rows[:_int_param(q, "limit", 100, 1, 100)])

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
