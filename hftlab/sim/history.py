"""What the venue remembers of finished business, and the windows OKX serves it in.

* `orders-history`: orders that ended in the last 7 days; a cancelled order that never filled only
  for 2 hours after it ended (OKX: "incomplete orders that have been canceled are only reserved for
  2 hours").
* `orders-history-archive`: orders that ended in the last 3 months, never a cancelled order without
  fills (OKX: "does not contain ... Canceled orders without any fills").
* `fills`: the last 3 days; `fills-history`: the last 3 months.

Windows run on market time (the times the records carry); 3 months is read as 90 days. Pure
functions over order records and the request's filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DAY_MS = 86_400_000
ORDERS_HISTORY_MS = 7 * DAY_MS
ARCHIVE_MS = 90 * DAY_MS
CANCELED_UNFILLED_MS = 2 * 3_600_000
FILLS_MS = 3 * DAY_MS
FILLS_HISTORY_MS = 90 * DAY_MS


def _unfilled_cancel(rec: Mapping[str, Any]) -> bool:
    return rec["state"] == "canceled" and rec["accFillSz"] == "0"


def in_orders_history(rec: Mapping[str, Any], now_ms: int) -> bool:
    """A finished order record that GET /trade/orders-history still serves."""
    ended = int(rec["uTime"])
    if _unfilled_cancel(rec):
        return ended >= now_ms - CANCELED_UNFILLED_MS
    return ended >= now_ms - ORDERS_HISTORY_MS


def in_archive(rec: Mapping[str, Any], now_ms: int) -> bool:
    """A finished order record that GET /trade/orders-history-archive serves."""
    return not _unfilled_cancel(rec) and int(rec["uTime"]) >= now_ms - ARCHIVE_MS


def _one_of(value: str, wanted: str | None) -> bool:
    """Filters take one value or several separated by commas (`ordType=post_only,fok,ioc`)."""
    return not wanted or value in wanted.split(",")


def select_orders(rows: Sequence[Mapping[str, Any]], q: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """Order records matching the query's filters: instType, instFamily, instId, ordType, state,
    category, and begin/end on cTime."""
    begin, end = q.get("begin"), q.get("end")
    return [r for r in rows
            if _one_of(r["instType"], q.get("instType")) and _one_of(r["instId"], q.get("instId"))
            and _one_of(family(r["instId"], r["instType"]), q.get("instFamily"))
            and _one_of(r["ordType"], q.get("ordType")) and _one_of(r["state"], q.get("state"))
            and _one_of(r["category"], q.get("category"))
            and (not begin or int(r["cTime"]) >= int(begin)) and (not end or int(r["cTime"]) <= int(end))]


def select_fills(rows: Sequence[Mapping[str, Any]], q: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """Fill records matching instType, instFamily, instId, ordId, subType, and begin/end on ts."""
    begin, end = q.get("begin"), q.get("end")
    return [r for r in rows
            if _one_of(r["instType"], q.get("instType")) and _one_of(r["instId"], q.get("instId"))
            and _one_of(family(r["instId"], r["instType"]), q.get("instFamily"))
            and _one_of(r["ordId"], q.get("ordId")) and _one_of(r["subType"], q.get("subType"))
            and (not begin or int(r["ts"]) >= int(begin)) and (not end or int(r["ts"]) <= int(end))]


def family(inst_id: str, inst_type: str) -> str:
    """`instFamily` of a contract (BTC-USDT-SWAP -> BTC-USDT); spot has none."""
    return "-".join(inst_id.split("-")[:2]) if inst_type != "SPOT" else ""
