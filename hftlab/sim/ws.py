"""The WebSocket side of the venue: `/ws/v5/{public,business,private}` sessions speaking OKX v5.

Text `ping` -> text `pong`; `subscribe`/`unsubscribe` acknowledged one frame per arg with
`connId`; errors as `event: error` with a string `code`; `login` verified as OKX does; trading
ops (`order`, `batch-orders`, `cancel-order`, `batch-cancel-orders`, `amend-order`,
`batch-amend-orders`) on /private after login, naming instruments by `instIdCode`, with an optional
`expTime` (ms) after which a place/amend is dropped (50037). A connection
that has neither subscribed nor logged in within `idle_timeout_s`, or was sent nothing for that
long, is closed with 4004 "No data received in 30s.".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from aiohttp import WSMsgType, web

from hftlab.core.tasks import Supervisor
from hftlab.sim import codes, gate, private, trading, validation
from hftlab.sim.faults import AckFault
from hftlab.sim.hub import Hub, Session, SimStats
from hftlab.sim.validation import Rejected

log = logging.getLogger("hftlab.sim.ws")

REQUEST_KEYS = frozenset({"id", "op", "args", "expTime"})
ARG_KEYS = frozenset({"channel", "instId", "instType", "instFamily", "ccy", "extraParams", "uly"})
MAX_ARGS_BYTES = 64 * 1024


class Market(Protocol):
    def serves(self, channel: str, inst_id: str) -> bool: ...
    def initial(self, channel: str, inst_id: str) -> bytes | None: ...


def _error(code: str, msg: str, conn_id: str, req_id: Any = None) -> bytes:
    frame: dict[str, Any] = {"id": req_id} if req_id is not None else {}
    frame.update({"event": "error", "code": code, "msg": msg, "connId": conn_id})
    return orjson.dumps(frame)


def _op_reply(req_id: str, op: str, code: str, msg: str, data: list, in_time: str) -> bytes:
    return orjson.dumps({"id": req_id, "op": op, "code": code, "msg": msg, "data": data, "inTime": in_time,
                         "outTime": trading.micros()})


def _channel_error(role: str, arg: dict, logged_in: bool,
                   private_refusal: Callable[[dict], codes.Answer | None]) -> codes.Answer | None:
    """Which URL may serve this channel (None: this one); `private_refusal`: the private feeds'
    own conditions (parameters, fee tier)."""
    channel = arg["channel"]
    if channel in codes.PRIVATE_CHANNELS:
        if role != "private":
            return codes.wrong_channel(arg)
        if not logged_in:
            return codes.WS_PLEASE_LOGIN
        return private_refusal(arg)
    if codes.is_business_channel(channel):
        if role == "public":
            return codes.WS_MIGRATED_TO_BUSINESS
        if role == "private":
            return codes.wrong_channel(arg)
        return None
    if codes.is_public_only_channel(channel) and role == "business":
        return codes.WS_NOT_ON_BUSINESS
    if role == "private":
        return codes.wrong_channel(arg)
    return None


class WsGateway:
    def __init__(self, *, hub: Hub, privates: private.PrivateFeeds, ops: trading.Trading, keyring: gate.Keyring,
                 faults, stats: SimStats, market: Market, ack_latency_s: float = 0.0, md_latency_s: float = 0.0,
                 idle_timeout_s: float = 30.0, compress: bool = False, max_queue: int = 50_000):
        self.hub = hub
        self.privates = privates
        self.ops = ops
        self.keyring = keyring
        self.faults = faults
        self.stats = stats
        self.market = market
        self.ack_latency_s = ack_latency_s
        self.md_latency_s = md_latency_s
        self.idle_timeout_s = idle_timeout_s
        self.compress = compress
        self.max_queue = max_queue
        self.sessions: set[Session] = set()
        self._tasks = Supervisor("sim-ws", stats.task_failures)  # delayed acks, closes: logged and counted

    # --- connection lifecycle ------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        role = request.match_info["role"]
        if role not in codes.ROLES:
            code, msg = codes.wrong_channel({"url": f"/ws/v5/{role}"})
            return web.json_response({"code": code, "msg": msg, "data": []}, status=404)
        ws = web.WebSocketResponse(compress=self.compress, autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        session = Session(ws, request, role, self.stats, self._spawn, self.md_latency_s, self.max_queue)
        self.sessions.add(session)
        self.stats.connections_total += 1
        self.stats.connections_open += 1
        self.stats.by_role[role] += 1
        log.debug("conn %s opened on /%s from %s", session.conn_id, role, request.remote)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        await self.on_text(session, msg.data)
                    except Exception:  # a bad frame must never kill the connection
                        log.exception("conn %s: error handling %r", session.conn_id, msg.data[:200])
                elif msg.type == WSMsgType.BINARY:
                    session.send(_error(*codes.invalid_request("binary frame"), session.conn_id))
        finally:
            self.sessions.discard(session)
            self.hub.drop_session(session)
            self.privates.drop_session(session)
            self.stats.connections_open -= 1
            self.stats.by_role[role] -= 1
            await session.finish()
            log.debug("conn %s closed (%s)", session.conn_id, ws.close_code)
        return ws

    def _matching(self, role: str) -> list[Session]:
        return [s for s in self.sessions if (role == "any" or s.role == role) and not s.closing]

    def drop(self, role: str, mode: str) -> list[str]:
        out = []
        for s in self._matching(role):
            out.append(s.conn_id)
            if mode == "abort":
                s.abort()
            else:
                s.close_soon(*codes.CLOSE_ABNORMAL)
        return out

    def notice(self, role: str, close_after_s: float) -> list[str]:
        code, msg = codes.WS_NOTICE_UPGRADE
        out = []
        for s in self._matching(role):
            out.append(s.conn_id)
            s.send(orjson.dumps({"event": "notice", "code": code, "msg": msg, "connId": s.conn_id}))
            self._spawn(self._close_later(s, close_after_s))
        return out

    async def _close_later(self, session: Session, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await session.close(*codes.CLOSE_UPGRADE)

    def _spawn(self, coro) -> None:
        self._tasks.spawn(coro, coro.__name__.lstrip("_"))

    def watchdog_tick(self, now: float) -> None:
        """Close idle connections (the 30 s rule); private periodic snapshots."""
        for s in list(self.sessions):
            if s.closing:
                continue
            if now - s.last_sent >= self.idle_timeout_s or (not s.active and now - s.opened >= self.idle_timeout_s):
                log.info("conn %s: idle for %.0f s, closing 4004", s.conn_id, self.idle_timeout_s)
                s.close_soon(*codes.CLOSE_IDLE)
        self.privates.periodic(now)

    async def close_all(self, timeout_s: float = 2.0) -> None:
        tasks, self._tasks = self._tasks, Supervisor("sim-ws", self.stats.task_failures)  # a restart starts clean
        await tasks.close()
        closing = [asyncio.ensure_future(s.close(*codes.CLOSE_SHUTDOWN)) for s in list(self.sessions)]
        if closing:
            await asyncio.wait(closing, timeout=timeout_s)
        for s in list(self.sessions):  # peers that would not complete the close handshake
            s.abort()
        await asyncio.gather(*closing, return_exceptions=True)

    # --- requests ---------------------------------------------------------------------------------
    async def on_text(self, session: Session, text: str) -> None:
        if text == "ping":
            session.send(b"pong")
            return
        self.stats.ws_requests += 1
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            req = None
        if not isinstance(req, dict) or not isinstance(req.get("op"), str) or set(req) - REQUEST_KEYS:
            session.send(_error(*codes.invalid_request(text), session.conn_id,
                                req.get("id") if isinstance(req, dict) else None))
            return
        op, req_id = req["op"], req.get("id")
        if req_id is not None and (not isinstance(req_id, str) or not trading.ID_CHARS.match(req_id)):
            session.send(_error(*codes.invalid_request(text), session.conn_id))
            return
        if op in ("subscribe", "unsubscribe"):
            self._subscribe(session, req, text, op == "subscribe")
        elif op == "login":
            self._login(session, req)
        elif op in codes.WS_TRADE_OPS:
            await self._trade(session, req)
        else:
            session.send(_error(*codes.fill(codes.WS_INVALID_OP, op), session.conn_id, req_id))

    def _subscribe(self, session: Session, req: dict, text: str, subscribe: bool) -> None:
        req_id = req.get("id")
        args = req.get("args")
        if not isinstance(args, list) or not args or len(text) > MAX_ARGS_BYTES or \
                not all(isinstance(a, dict) and isinstance(a.get("channel"), str) and not set(a) - ARG_KEYS
                        for a in args):
            session.send(_error(*codes.invalid_request(text), session.conn_id, req_id))
            return
        event = "subscribe" if subscribe else "unsubscribe"
        for arg in args:
            if "uly" in arg:
                session.send(_error(*codes.WS_ULY_UNSUPPORTED, session.conn_id, req_id))
                continue
            problem = _channel_error(session.role, arg, session.account is not None, self.privates.refusal)
            channel = arg["channel"]
            if problem is None and channel not in codes.PRIVATE_CHANNELS and \
                    not self.market.serves(channel, arg.get("instId", "")):
                problem = codes.wrong_channel(arg)
            if problem is not None:
                session.send(_error(*problem, session.conn_id, req_id))
                continue
            ack: dict[str, Any] = {"id": req_id} if req_id is not None else {}
            ack.update({"event": event, "arg": arg, "connId": session.conn_id})
            session.send(orjson.dumps(ack))
            if channel in codes.PRIVATE_CHANNELS:
                self._private_sub(session, arg, subscribe)
                continue
            key = (channel, arg["instId"])
            if not subscribe:
                self.hub.discard(key, session)
                continue
            session.active = True
            if self.hub.add(key, session):
                first = self.market.initial(channel, arg["instId"])
                if first is not None:
                    session.send(first, md=True)

    def _private_sub(self, session: Session, arg: dict, subscribe: bool) -> None:
        if not subscribe:
            self.privates.unsubscribe(session, arg)
            return
        session.active = True
        snapshot = self.privates.subscribe(session, arg)
        count = self.privates.conn_count(session.account, arg["channel"])
        event = "channel-conn-count" if count <= 30 else "channel-conn-count-error"
        session.send(orjson.dumps({"event": event, "channel": arg["channel"], "connCount": str(count),
                                   "connId": session.conn_id}))
        if snapshot is not None:
            session.send(snapshot)

    def _login(self, session: Session, req: dict) -> None:
        if session.account is not None:
            session.send(_error(*codes.WS_REPEATED_LOGIN, session.conn_id))
            return
        args = req.get("args")
        if not isinstance(args, list) or len(args) != 1:
            session.send(_error(*codes.WS_INVALID_ARGS, session.conn_id))
            return
        result = gate.check_ws_login(self.keyring, args[0], time.time())
        if isinstance(result, gate.Denial):
            log.info("conn %s: login refused: %s %s", session.conn_id, result.code, result.msg)
            session.send(_error(result.code, result.msg, session.conn_id))
            return
        session.account = result
        session.active = True
        session.send(orjson.dumps({"event": "login", "code": "0", "msg": "", "connId": session.conn_id}))

    async def _trade(self, session: Session, req: dict) -> None:
        in_time = trading.micros()
        op, req_id = req["op"], req.get("id")
        if session.role != "private":
            session.send(_error(*codes.WS_OP_WRONG_URL, session.conn_id, req_id))
            return
        if session.account is None:
            session.send(_error(*codes.WS_PLEASE_LOGIN, session.conn_id, req_id))
            return
        args = req.get("args")
        single = op not in trading.BATCH_OPS
        if not req_id or not isinstance(args, list) or not args or len(args) > (1 if single else trading.MAX_BATCH):
            session.send(_op_reply(req_id or "", op, *codes.WS_INVALID_ARGS, [], in_time))
            return
        if self.faults.take_ws_reject(op):
            session.send(_op_reply(req_id, op, *codes.fill(codes.WS_INTERNAL_ERROR, op), [], in_time))
            return
        if self.faults.take_rate_limit("ws", op):
            session.send(_op_reply(req_id, op, *codes.RATE_LIMIT, [], in_time))
            return
        delay = self.ack_latency_s + self.faults.take_ack_delay(f"ws {op}") + self._late_delivery(req)
        if delay > 0:
            self._spawn(self._trade_later(session, req, in_time, delay))
        else:
            self._run_trade(session, req, in_time)

    def _late_delivery(self, req: dict) -> float:
        if trading.KIND[req["op"]] not in trading.EXPIRING:
            return 0.0
        try:
            exp_time = validation.exp_time(req.get("expTime"))
        except Rejected:
            return 0.0  # refused as it is processed
        return self.faults.take_late_delivery(f"ws {req['op']}", exp_time, int(time.time() * 1000))

    async def _trade_later(self, session: Session, req: dict, in_time: str, delay: float) -> None:
        """A held request executes when its hold ends, whether or not its connection is still
        there: the gateway received it (only the answer is lost with the connection, as on OKX)."""
        await asyncio.sleep(delay)
        self._run_trade(session, req, in_time)

    def _run_trade(self, session: Session, req: dict, in_time: str) -> None:
        op, req_id = req["op"], req["id"]
        resolved: list[dict] = []
        slots: list[dict | None] = []
        for item in req["args"]:
            ok, failure = self.ops.resolve_code(item)
            slots.append(failure)
            if ok is not None:
                resolved.append(ok)
        results = iter(self.ops.run(session.account, op, resolved, req.get("expTime"))) if resolved else iter(())
        keys = trading.RESULT_KEYS[(op, "ws")]
        data = [trading.shape(slot if slot is not None else next(results), keys) for slot in slots]
        code, msg = trading.aggregate(data, rest=False)
        fault = self.faults.take_ack_fault("ws", op)
        if fault is None:
            session.send(_op_reply(req_id, op, code, msg, data, in_time))
        elif fault[0] is AckFault.TIMEOUT:
            session.send(_op_reply(req_id, op, *codes.REQUEST_TIMEOUT, [], in_time))
        self.ops.on_change()  # the orders/positions/account pushes follow the ack (or its loss)
