"""Order operations shared by REST (`/api/v5/trade/...`, instId) and WebSocket (`order`, ... , instIdCode).

The gateway's part lives here: resolving WS `instIdCode`s, `expTime` (a place or amend that arrives
after it is dropped with 50037 and does nothing), OKX's rate windows (60 requests / 2 s per user,
instrument and op, 50011; each batch op 300 ORDERS / 2 s per user, instrument and op, a batch of one
counting as the single op; 1000 new+amend orders / 2 s per sub-account, 50061; cancels do not count
towards the latter), the top-level code of a (batch) op and the result shape of each op and
transport (exactly the keys OKX documents). Validating the order itself (parameters, lot size,
balance, duplicates) and its fate are the exchange's.
"""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from hftlab.sim import codes, validation
from hftlab.sim.validation import Rejected

ID_CHARS = re.compile(r"^[A-Za-z0-9]{1,32}$")  # WS request ids, as clOrdId
MAX_BATCH = 20

# (op, transport) -> the keys of each data[] item, in OKX's order (docs examples).
_PLACE_WS = ("clOrdId", "ordId", "tag", "ts", "sCode", "sMsg")
_PLACE = _PLACE_WS + ("subCode",)
_CANCEL = ("clOrdId", "ordId", "ts", "sCode", "sMsg")
_AMEND = ("clOrdId", "ordId", "ts", "reqId", "sCode", "sMsg", "subCode")
RESULT_KEYS = {
    ("order", "ws"): _PLACE_WS, ("batch-orders", "ws"): _PLACE, ("order", "rest"): _PLACE,
    ("batch-orders", "rest"): _PLACE,
    ("cancel-order", "ws"): _CANCEL, ("batch-cancel-orders", "ws"): _CANCEL, ("cancel-order", "rest"): _CANCEL,
    ("cancel-batch-orders", "rest"): _CANCEL,
    ("amend-order", "ws"): _AMEND, ("batch-amend-orders", "ws"): _AMEND, ("amend-order", "rest"): _AMEND,
    ("amend-batch-orders", "rest"): _AMEND,
}
KIND = {"order": "place", "batch-orders": "place", "cancel-order": "cancel", "batch-cancel-orders": "cancel",
        "cancel-batch-orders": "cancel", "amend-order": "amend", "batch-amend-orders": "amend",
        "amend-batch-orders": "amend"}
BATCH_OPS = frozenset({"batch-orders", "batch-cancel-orders", "cancel-batch-orders", "batch-amend-orders",
                       "amend-batch-orders"})

# OKX: 60 requests / 2 s per user and instrument for each of place, cancel, amend (REST and WS share it).
WINDOW_S = 2.0
PER_INST_LIMIT = 60
BATCH_LIMIT = 300  # orders per 2 s per user and instrument, for each batch op (place, cancel, amend)
SUB_ACCOUNT_LIMIT = 1000  # new + amend orders per 2 s per sub-account (fill-ratio tiers raise it to 10 000)
EXPIRING = frozenset({"place", "amend"})  # the ops expTime applies to


def micros() -> str:
    return str(time.time_ns() // 1000)


def shape(result: dict[str, Any], keys: Sequence[str]) -> dict[str, str]:
    return {k: "" if result.get(k) is None else str(result[k]) for k in keys}


def aggregate(results: Sequence[dict], rest: bool) -> tuple[str, str]:
    """OKX's top-level code for a (batch) op: "0" all ok, "1" all failed, "2" partly."""
    ok = sum(1 for r in results if r.get("sCode") == "0")
    if ok == len(results):
        return "0", ""
    code, msg = codes.BATCH_ALL_FAILED if ok == 0 else codes.BATCH_PARTIAL
    return code, msg if rest else ""


class RateWindow:
    """Sliding window counter per key (wall clock)."""

    def __init__(self, limit: int = PER_INST_LIMIT, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[tuple, collections.deque[float]] = {}

    def allow(self, key: tuple) -> bool:
        now = self._clock()
        q = self._hits.setdefault(key, collections.deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True


def _failed(item: dict, code: tuple[str, str], **extra: str) -> dict:
    return {"clOrdId": item.get("clOrdId") or "", "ordId": item.get("ordId") or "", "tag": item.get("tag") or "",
            "reqId": item.get("reqId") or "", "ts": str(int(time.time() * 1000)), "sCode": code[0], "sMsg": code[1],
            "subCode": "", **extra}


class Trading:
    """Runs order ops against the exchange for an authenticated account."""

    def __init__(self, exchange, on_change: Callable[[], None] = lambda: None, limits: RateWindow | None = None,
                 account_limits: RateWindow | None = None, wall: Callable[[], float] = time.time,
                 batch_limits: RateWindow | None = None):
        self.ex = exchange
        self.on_change = on_change
        self.limits = limits or RateWindow()
        self.batch_limits = batch_limits or RateWindow(BATCH_LIMIT)
        self.account_limits = account_limits or RateWindow(SUB_ACCOUNT_LIMIT)
        self._wall = wall

    def resolve_code(self, item: Any) -> tuple[dict | None, dict | None]:
        """WS items name the instrument by instIdCode; returns (item with instId, None) or (None, failure)."""
        if not isinstance(item, dict):
            return None, _failed({}, codes.WS_INVALID_ARGS)
        code = item.get("instIdCode")
        if code is None or code == "":
            return None, _failed(item, codes.empty_param("instIdCode"))
        try:
            inst = self.ex.by_code.get(int(code))
        except (TypeError, ValueError):
            inst = None
        if inst is None:
            return None, _failed(item, codes.NO_INSTRUMENT)
        resolved = {k: v for k, v in item.items() if k != "instIdCode"}
        resolved["instId"] = inst.inst_id
        return resolved, None

    def run(self, account: str, op: str, items: Sequence[dict], exp_time: Any = None) -> list[dict]:
        """One result per item (not yet shaped). `exp_time`: the request's expTime (REST header, WS
        field), checked as the request is processed. Call `on_change` once the reply is out."""
        kind = KIND[op]
        if kind in EXPIRING:
            try:
                validation.not_expired(validation.exp_time(exp_time), int(self._wall() * 1000))
            except Rejected as r:
                return [_failed(item, r.answer) for item in items]
        # OKX: a batch op's limit counts its orders; a batch of one counts as the single op.
        window = self.batch_limits if op in BATCH_OPS and len(items) > 1 else self.limits
        return [self._one(account, kind, item, window) for item in items]

    def _one(self, account: str, kind: str, item: dict, window: RateWindow) -> dict:
        inst_id = item.get("instId")
        if not inst_id:
            return _failed(item, codes.empty_param("instId"))
        if not window.allow((account, kind, inst_id)):
            return _failed(item, codes.RATE_LIMIT)
        # Reading: the per-endpoint window is checked first; a request it refuses is not counted here.
        if kind != "cancel" and not self.account_limits.allow((account,)):
            return _failed(item, codes.SUB_ACCOUNT_RATE_LIMIT)
        if kind == "place":
            return self.ex.place_order(account, item)
        ord_id, cl_ord_id = item.get("ordId") or None, item.get("clOrdId") or None
        if kind == "cancel":
            return self.ex.cancel_order(account, inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
        try:
            cxl_on_fail = validation.flag(item.get("cxlOnFail"), "cxlOnFail")
        except Rejected as r:
            return _failed(item, r.answer)
        return self.ex.amend_order(account, inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id, new_sz=item.get("newSz"),
                                   new_px=item.get("newPx"), req_id=item.get("reqId"), cxl_on_fail=cxl_on_fail)
