"""The OKX v5 REST calls the WebSocket client and the execution venue need, async (aiohttp).

- `instruments` / `instrument_specs` / `inst_id_codes` / `trading_specs`: reference data (as
  `InstrumentSpec` through `okx/instruments.py`); `instIdCode` differs between production and demo,
  so it is always fetched from the venue in use (with its headers), never configured, and
  `trading_specs` refuses an instrument whose code is null (`InstrumentRefused`, naming it);
- `books`: the REST snapshot that seeds a book when the WS snapshot is missing (protocol §3.4);
- `orders_pending`: open orders, to reconcile after every private (re)connect (the `orders`
  channel sends no snapshot);
- `server_time`;
- `post`: one signed trading request (place, amend, cancel, batch or not, Cancel-All-After),
  answered as a `RestAnswer` whatever its code (the caller classes it, okx/outcomes.py).

Reads (`get`) are signed with `hftlab.okx.auth` (fresh timestamp per attempt); demo trading adds
`x-simulated-trading: 1` to every request. Signatures carry the venue's time, not ours: OKX refuses
a timestamp more than 30 s off its clock (50102), so `clock_offset_s` (venue minus local, measured by
`sync_clock` over `/public/time`, half the round trip taken off) is added to every timestamp, and a
50102 answer measures it again: a read is then retried at once, a write's answer is returned as is
(it was refused, so it did not execute) and the next write is signed right. Transient read failures (HTTP 429/5xx, codes
50001/50011/50013/50026, connection errors) are retried with jittered backoff; anything else raises
`RestError` with OKX's code and message.

Writes are NEVER retried: a retried place is a resend, and a clOrdId protects against a duplicate
only while the first order is pending (protocol §5.6). `post` raises `RestNotSent` when no
connection could be made (nothing reached the venue) and `RestAnswerLost` when the request may have
gone out but no answer came back (timeout, connection dropped): then the request may have executed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from yarl import URL

from hftlab.core.backoff import Backoff
from hftlab.core.secrets import Credentials
from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.okx import auth
from hftlab.okx.instruments import inst_id_code, instrument_spec

log = logging.getLogger(__name__)

PREFIX = "/api/v5"
TRANSIENT_CODES = frozenset({"50001", "50011", "50013", "50026"})
TS_EXPIRED = "50102"  # the request's timestamp is more than 30 s off the venue's clock
ORDERS_PAGE = 100  # orders-pending returns at most 100 per page


class RestError(Exception):
    def __init__(self, path: str, code: str, msg: str, status: int | None = None):
        self.path, self.code, self.msg, self.status = path, code, msg, status
        super().__init__(f"OKX REST {path}: code {code} {msg}" + (f" (HTTP {status})" if status else ""))


class RestNotSent(ConnectionError):
    """A write that never left: no connection to the venue could be made. It did not execute."""


class RestAnswerLost(ConnectionError):
    """A write whose answer did not come back (timeout, dropped connection): it may have executed."""


class InstrumentRefused(ValueError):
    """An instrument the venue cannot be traded on through this client (not listed, not describable
    as a spec, or listed without the instIdCode WebSocket order ops need)."""


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """A trading request's answer as OKX gave it: HTTP status, top-level `code`/`msg` ("" when the
    body was not OKX's JSON), the per-item `data`, and the gateway's receive/send times (µs)."""

    status: int
    code: str
    msg: str
    data: list[dict]
    in_time_us: int | None = None
    out_time_us: int | None = None


def _micros(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


class OkxRest:
    def __init__(self, base_url: str, credentials: Credentials | None = None, *, demo: bool = False,
                 timeout_s: float = 10.0, retries: int = 3, backoff: Backoff | None = None):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.demo = demo
        self.timeout_s = timeout_s
        self.retries = retries
        self._backoff = backoff or Backoff(0.2, 2.0)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0
        self.retried = 0
        self.clock_offset_s = 0.0  # the venue's clock minus ours (sync_clock)

    def __repr__(self) -> str:
        return f"OkxRest({self.base_url!r}, demo={self.demo}, signed={self.credentials is not None})"

    async def __aenter__(self) -> OkxRest:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                                                  json_serialize=lambda o: orjson.dumps(o).decode())
        return self._session

    async def get(self, path: str, params: dict[str, Any] | None = None, *, private: bool = False) -> list[dict]:
        """`data` of a GET to `/api/v5{path}`; raises RestError (OKX error) or aiohttp.ClientError."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        request_path = f"{PREFIX}{path}" + (f"?{query}" if query else "")
        if private and self.credentials is None:
            raise RestError(request_path, "-", "private endpoint needs credentials (hftlab.core.secrets.load_credentials)")
        backoff = Backoff(self._backoff.initial_s, self._backoff.max_s, rng=self._backoff.rng)
        resynced = False
        for attempt in range(self.retries + 1):
            headers = self._headers("GET", request_path) if private else (
                {"x-simulated-trading": "1"} if self.demo else {})
            try:
                self.requests += 1
                # encoded=True: send the path exactly as signed (aiohttp must not re-quote it)
                async with self._http().get(URL(self.base_url + request_path, encoded=True), headers=headers) as resp:
                    status = resp.status
                    body = await resp.read()
                doc = orjson.loads(body) if body else {}
                code = str(doc.get("code", "")) if isinstance(doc, dict) else ""
                if status == 200 and code == "0":
                    return doc.get("data") or []
                msg = doc.get("msg", "") if isinstance(doc, dict) else ""
                error = RestError(request_path, code or "-", msg or body[:200].decode(errors="replace"), status)
                if code == TS_EXPIRED and private and not resynced:
                    resynced = True
                    if await self.try_sync_clock():
                        continue  # signed again with the venue's time, at once
                if not (status == 429 or status >= 500 or code in TRANSIENT_CODES):
                    raise error
            except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as e:
                error = RestError(request_path, "-", f"{type(e).__name__}: {e}")
            if attempt < self.retries:
                self.retried += 1
                delay = backoff.next_delay()
                log.warning("%s; retrying in %.2f s (%d/%d)", error, delay, attempt + 1, self.retries)
                await asyncio.sleep(delay)
        raise error

    async def post(self, path: str, body: dict | list, *, exp_time_ms: int | None = None,
                   timeout_s: float | None = None, on_sent: Callable[[int], None] | None = None) -> RestAnswer:
        """One signed POST to `/api/v5{path}`, never retried. `exp_time_ms`: OKX's `expTime` header (a
        place/amend arriving later is dropped, 50037). `on_sent(wall_ns)` is called as the request is
        handed to the connection. Raises RestNotSent (no connection: nothing was sent) or
        RestAnswerLost (sent, perhaps executed, no answer)."""
        request_path = f"{PREFIX}{path}"
        if self.credentials is None:
            raise RestNotSent(f"{request_path}: a trading request needs credentials")
        text = orjson.dumps(body).decode()
        headers = self._headers("POST", request_path, text)
        if exp_time_ms is not None:
            headers["expTime"] = str(exp_time_ms)
        timeout = aiohttp.ClientTimeout(total=timeout_s if timeout_s is not None else self.timeout_s)
        self.requests += 1
        try:
            if on_sent is not None:
                on_sent(time.time_ns())
            async with self._http().post(URL(self.base_url + request_path, encoded=True), data=text,
                                         headers=headers, timeout=timeout) as resp:
                status = resp.status
                raw = await resp.read()
        except aiohttp.ClientConnectorError as e:  # the connection was never made: nothing was sent
            raise RestNotSent(f"{request_path}: {type(e).__name__}: {e}") from e
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise RestAnswerLost(f"{request_path}: {type(e).__name__}: {e}") from e
        try:
            doc = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            return RestAnswer(status, "", raw[:200].decode(errors="replace"), [])
        data = doc.get("data")
        if str(doc.get("code", "")) == TS_EXPIRED:  # refused, not executed: sign the next one right
            await self.try_sync_clock()
        return RestAnswer(status, str(doc.get("code", "")), str(doc.get("msg", "")),
                          [d for d in data if isinstance(d, dict)] if isinstance(data, list) else [],
                          _micros(doc.get("inTime")), _micros(doc.get("outTime")))

    def _headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        c = self.credentials
        assert c is not None
        return auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                 c.passphrase.get_secret_value(), method, request_path, body, demo=self.demo,
                                 now=self.venue_now())

    # ----- the venue's clock ------------------------------------------------------------------
    def venue_now(self) -> float:
        """Unix seconds on the venue's clock, as far as we know it (what signatures carry)."""
        return time.time() + self.clock_offset_s

    async def sync_clock(self) -> float:
        """Measure `clock_offset_s` over `/public/time` (the venue's time is taken as of the middle of
        the round trip); returns it. Raises RestError or aiohttp.ClientError."""
        t0 = time.time()
        server_ms = await self.server_time()
        t1 = time.time()
        self.clock_offset_s = server_ms / 1000.0 - (t0 + t1) / 2
        log.info("venue clock offset %+.3f s (round trip %.3f s)", self.clock_offset_s, t1 - t0)
        return self.clock_offset_s

    async def try_sync_clock(self) -> bool:
        """`sync_clock`, logged instead of raised; False when the venue's clock could not be read."""
        try:
            await self.sync_clock()
            return True
        except (RestError, aiohttp.ClientError, TimeoutError, KeyError, IndexError, ValueError) as e:
            log.warning("cannot read the venue's clock: %s", e)
            return False

    # ----- the calls --------------------------------------------------------------------------
    async def server_time(self) -> int:
        return int((await self.get("/public/time"))[0]["ts"])

    async def instruments(self, inst_type: str, inst_id: str | None = None) -> list[dict]:
        return await self.get("/public/instruments", {"instType": inst_type, "instId": inst_id})

    async def instrument_specs(self, inst_type: InstType) -> list[InstrumentSpec]:
        """The venue's listing of `inst_type` as specs. Records a spec cannot describe (inverse swaps)
        are left out; an unreadable one is logged and left out, so nothing trades it."""
        specs = []
        for r in await self.instruments(inst_type.value):
            try:
                spec = instrument_spec(r)
            except ValueError as e:
                log.warning("%s", e)
                continue
            if spec is not None:
                specs.append(spec)
        return specs

    async def trading_specs(self, inst_ids: Iterable[str]) -> list[InstrumentSpec]:
        """The specs of the instruments to trade, as this venue lists them now (with this
        environment's headers: demo and production codes differ). Raises InstrumentRefused naming
        the instrument when the venue does not list it, a spec cannot describe it (inverse swaps),
        or its `instIdCode` is null: a code is never guessed."""
        out = []
        for inst_id in dict.fromkeys(inst_ids):
            inst_type = InstType.SWAP if inst_id.endswith("-SWAP") else InstType.SPOT
            records = await self.instruments(inst_type.value, inst_id)
            if not records:
                raise InstrumentRefused(f"{inst_id}: the venue does not list it ({inst_type.value})")
            try:
                spec = instrument_spec(records[0])
            except ValueError as e:
                raise InstrumentRefused(str(e)) from None
            if spec is None:
                raise InstrumentRefused(f"{inst_id}: not an instrument hftlab can trade (only spot and linear swaps)")
            if spec.inst_id_code is None:
                raise InstrumentRefused(f"{inst_id}: the venue lists it without an instIdCode, which WebSocket "
                                        "order ops need; it is refused rather than guessed")
            out.append(spec)
        return out

    async def inst_id_codes(self, inst_type: str) -> dict[str, int]:
        """instId -> instIdCode of this venue (what WS order ops take since 2026); None codes skipped."""
        return {r["instId"]: code for r in await self.instruments(inst_type)
                if (code := inst_id_code(r)) is not None}

    async def price_limit(self, inst_id: str) -> tuple[float, float] | None:
        """(highest buy, lowest sell) price the venue accepts now (`/public/price-limit`); None when the
        venue does not limit the instrument (`enabled` false) or says nothing."""
        data = await self.get("/public/price-limit", {"instId": inst_id})
        if not data or data[0].get("enabled") is False or not data[0].get("buyLmt") or not data[0].get("sellLmt"):
            return None
        return float(data[0]["buyLmt"]), float(data[0]["sellLmt"])

    async def books(self, inst_id: str, sz: int = 400) -> dict:
        """`data[0]` of `/market/books`: {asks, bids, ts, seqId} — feed it to BookKeeper.seed_from_rest."""
        data = await self.get("/market/books", {"instId": inst_id, "sz": sz})
        if not data:
            raise RestError("/market/books", "-", f"empty answer for {inst_id}")
        return data[0]

    async def orders_pending(self, inst_type: str | None = None) -> list[dict]:
        """Every open order (pages of 100, newest first, walked with `after=<ordId>`)."""
        out: list[dict] = []
        after: str | None = None
        while True:
            page = await self.get("/trade/orders-pending", {"instType": inst_type, "after": after,
                                                            "limit": ORDERS_PAGE}, private=True)
            out.extend(page)
            if len(page) < ORDERS_PAGE:
                return out
            after = page[-1]["ordId"]
