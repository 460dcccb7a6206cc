"""A bare OKX v5 WebSocket peer for wire-level tests and measurements against the simulator.

It sends exactly what it is told and returns frames exactly as received (JSON decoded, or the text
`pong`): no reconnects, no book keeping, no retries, so a test sees the venue's behaviour, faults
included. Trading clients belong in hftlab.okx; this is a probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.okx import auth

Frame = dict[str, Any] | str


class WireClient:
    def __init__(self, conn: ClientConnection):
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> WireClient:
        # unbounded queue: a probe that stops reading must not stall the server or its own close
        return cls(await connect(url, compression=None, ping_interval=None, max_size=1 << 24, max_queue=None))

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
