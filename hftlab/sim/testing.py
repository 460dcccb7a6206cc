"""Bare OKX v5 peers for wire-level tests and measurements against the simulator: a WebSocket one
(`WireClient`) and a signed REST one (`RestProbe`); and a market that stands still (`STILL_SPOT`,
`STILL_SWAP`), whose book only the clients change.

They send exactly what they are told and return what came back exactly as received (JSON decoded,
or the text `pong`): no reconnects, no book keeping, no retries, so a test sees the venue's
behaviour, faults included. Trading clients belong in hftlab.okx; these are probes.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from websockets.asyncio.client import ClientConnection, connect
from yarl import URL

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.okx import auth
from hftlab.sim.instruments import Instrument, MarketProfile

Frame = dict[str, Any] | str

# No drift, no flow: the book is the seeded one (bid 99.9, ask 100.1) and every outcome is the orders' own doing.
STILL = MarketProfile(start_px=100.0, vol_annual=0.0, revert_std=0.0, limit_rate=0.0, market_rate=0.0,
                      market_branching=0.0, order_notional=100.0, half_spread_ticks=0.5)
STILL_SPOT = Instrument("TST-USDT", 77, "SPOT", "TST", "USDT", "0.1", "0.001", "0.01", STILL)
STILL_SWAP = Instrument("TST-USDT-SWAP", 79, "SWAP", "TST", "USDT", "0.1", "0.01", "0.01", STILL, ct_val="1")
STILL_BALANCES = {"USDT": "100000", "TST": "1000"}


def still_server(cfg=None, credentials: Sequence[Credentials] = (SIM_CREDENTIALS,), faults=None, **exchange: Any):
    """A SimServer (not started) on the still market (STILL_SPOT, STILL_SWAP) at wall time, every
    account funded with STILL_BALANCES; `faults` as SimServer takes them; `exchange` keywords go to
    SimExchange (amend_latency_ms, ...)."""
    from hftlab.sim.config import SimConfig
    from hftlab.sim.exchange import SimExchange
    from hftlab.sim.server import SimServer

    ex = SimExchange([STILL_SPOT, STILL_SWAP], seed=3, start_ms=int(time.time() * 1000),
                     initial_balances=STILL_BALANCES, **exchange)
    return SimServer(cfg or SimConfig(), exchange=ex, credentials=list(credentials), faults=faults)


class WireClient:
    def __init__(self, conn: ClientConnection):
        self.conn = conn

    @classmethod
    async def connect(cls, url: str, ssl_context: ssl.SSLContext | None = None) -> WireClient:
        # unbounded queue: a probe that stops reading must not stall the server or its own close
        return cls(await connect(url, compression=None, ping_interval=None, max_size=1 << 24, max_queue=None,
                                 ssl=ssl_context))

    async def __aenter__(self) -> WireClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self.conn.close()

    async def send(self, msg: dict | str) -> None:
        await self.conn.send(msg if isinstance(msg, str) else orjson.dumps(msg).decode())

    async def recv(self, timeout: float = 5.0) -> Frame:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        return raw if raw == "pong" else orjson.loads(raw)

    async def recv_until(self, pred: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """The first frame satisfying `pred`, skipping others; TimeoutError if none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.0, deadline - time.monotonic()))
            if pred(frame):
                return frame

    async def collect(self, seconds: float, pred: Callable[[Frame], bool] = lambda f: True) -> list[Frame]:
        """Every frame satisfying `pred` received within `seconds`."""
        out: list[Frame] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await self.recv(left)
            except TimeoutError:
                break
            if pred(frame):
                out.append(frame)
        return out

    async def login(self, creds: Credentials = SIM_CREDENTIALS, now: float | None = None) -> Frame:
        args = auth.ws_login_args(creds.api_key.get_secret_value(), creds.api_secret.get_secret_value(),
                                  creds.passphrase.get_secret_value(), now=now)
        await self.send({"op": "login", "args": [args]})
        return await self.recv_until(lambda f: isinstance(f, dict) and f.get("event") in ("login", "error"))

    async def subscribe(self, *args: dict, req_id: str | None = None) -> None:
        msg: dict[str, Any] = {"op": "subscribe", "args": list(args)}
        if req_id is not None:
            msg["id"] = req_id
        await self.send(msg)


class RestProbe:
    """Signed REST requests as OKX clients send them: the query string and the body are signed
    exactly as they go on the wire. Answers are (HTTP status, decoded JSON body)."""

    def __init__(self, base_url: str, creds: Credentials = SIM_CREDENTIALS, ssl_context: ssl.SSLContext | None = None,
                 timeout_s: float = 10.0):
        self.base_url = base_url
        self.creds = creds
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s),
                                              connector=aiohttp.TCPConnector(ssl=ssl_context or True))

    async def __aenter__(self) -> RestProbe:
        return self

    async def __aexit__(self, *exc) -> None:
        await self._session.close()

    def _headers(self, method: str, path: str, body: str) -> dict[str, str]:
        c = self.creds
        return auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                 c.passphrase.get_secret_value(), method, path, body)

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        """GET `/api/v5/<path>` with the non-empty `params` as its query."""
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        full = f"/api/v5/{path}" + (f"?{query}" if query else "")
        async with self._session.get(URL(self.base_url + full, encoded=True),
                                     headers=self._headers("GET", full, "")) as r:
            return r.status, await r.json(content_type=None)

    async def post(self, path: str, doc: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST `doc` (JSON) to `/api/v5/<path>`; `headers` are added (e.g. expTime)."""
        body = orjson.dumps(doc).decode()
        full = f"/api/v5/{path}"
        async with self._session.post(self.base_url + full, data=body,
                                      headers={**self._headers("POST", full, body), **(headers or {})}) as r:
            return r.status, await r.json(content_type=None)


def is_event(event: str) -> Callable[[Frame], bool]:
    return lambda f: isinstance(f, dict) and f.get("event") == event


def is_push(channel: str, inst_id: str | None = None) -> Callable[[Frame], bool]:
    def pred(f: Frame) -> bool:
        if not isinstance(f, dict) or "data" not in f or "arg" not in f or "event" in f:
            return False
        arg = f["arg"]
        return arg.get("channel") == channel and (inst_id is None or arg.get("instId") == inst_id)
    return pred


def is_op(req_id: str) -> Callable[[Frame], bool]:
    return lambda f: isinstance(f, dict) and f.get("id") == req_id and "op" in f
