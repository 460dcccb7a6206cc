"""The few OKX v5 REST calls the WebSocket client needs, async (aiohttp).

- `instruments` / `instrument_specs` / `inst_id_codes`: reference data (as `InstrumentSpec` through
  `okx/instruments.py`); `instIdCode` differs between production and demo, so it is always fetched
  from the venue in use, never configured;
- `books`: the REST snapshot that seeds a book when the WS snapshot is missing (protocol §3.4);
- `orders_pending`: open orders, to reconcile after every private (re)connect (the `orders`
  channel sends no snapshot);
- `server_time`.

Private calls are signed with `hftlab.okx.auth` (fresh timestamp per attempt); demo trading adds
`x-simulated-trading: 1`. Transient failures (HTTP 429/5xx, codes 50001/50011/50013/50026,
connection errors) are retried with jittered backoff; anything else raises `RestError` with OKX's
code and message.
"""

from __future__ import annotations

import asyncio
import logging
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
ORDERS_PAGE = 100  # orders-pending returns at most 100 per page


class RestError(Exception):
    def __init__(self, path: str, code: str, msg: str, status: int | None = None):
        self.path, self.code, self.msg, self.status = path, code, msg, status
        super().__init__(f"OKX REST {path}: code {code} {msg}" + (f" (HTTP {status})" if status else ""))


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

    def _headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        c = self.credentials
        assert c is not None
        return auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                 c.passphrase.get_secret_value(), method, request_path, body, demo=self.demo)

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
