"""Private channels (`orders`, `positions`, `account`) as OKX pushes them.

`orders`: no snapshot on subscribe, one push per order event. `positions` and `account`: a
snapshot (`eventType: snapshot`, `curPage`, `lastPage`) right after the subscribe ack, then
`event_update` pushes, plus a full snapshot every `updateInterval` ms (default 5000; "0" = events
only), taken from `extraParams`. Pushes echo the subscription's arg with the account's `uid`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import orjson

from hftlab.sim.hub import Session

DEFAULT_SNAPSHOT_INTERVAL_S = 5.0
INST_TYPES = ("ANY", "SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")


def uid_for(account: str) -> str:
    """A stable numeric user id for an API key (OKX's `uid` is a decimal string)."""
    return str(int.from_bytes(hashlib.sha256(account.encode()).digest()[:7], "big"))


def snapshot_interval_s(arg: dict) -> float | None:
    """`extraParams: "{\\"updateInterval\\": \\"0\\"}"` -> None (events only); default 5 s."""
    raw = arg.get("extraParams")
    if not raw:
        return DEFAULT_SNAPSHOT_INTERVAL_S
    try:
        ms = float(orjson.loads(raw).get("updateInterval", DEFAULT_SNAPSHOT_INTERVAL_S * 1000))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return DEFAULT_SNAPSHOT_INTERVAL_S
    return None if ms <= 0 else ms / 1000.0


def valid_arg(arg: dict) -> bool:
    """The parameters each private channel requires (orders/positions: instType)."""
    if arg["channel"] in ("orders", "positions"):
        return arg.get("instType") in INST_TYPES
    return True


@dataclass(slots=True)
class PrivateSub:
    session: Session
    arg: dict  # as subscribed
    push_arg: dict  # arg + uid, as pushed
    interval_s: float | None
    next_snapshot: float = field(default=0.0)


def _record_matches(arg: dict, record: dict) -> bool:
    inst_type = arg.get("instType")
    if inst_type not in (None, "ANY") and record.get("instType") != inst_type:
        return False
    inst_id = arg.get("instId")
    if inst_id and record.get("instId") != inst_id:
        return False
    family = arg.get("instFamily")
    if family:
        rec_inst = record.get("instId", "")
        rec_family = record.get("instFamily") or "-".join(rec_inst.split("-")[:2])
        if rec_family != family:
            return False
    return True


def _account_view(arg: dict, record: dict) -> dict:
    ccy = arg.get("ccy")
    if not ccy:
        return record
    return {**record, "details": [d for d in record.get("details", []) if d.get("ccy") == ccy]}


class PrivateFeeds:
    def __init__(self, exchange, accounts: list[str]):
        self.ex = exchange
        self.accounts = list(accounts)
        self.subs: dict[str, list[PrivateSub]] = {}  # account -> subscriptions

    def conn_count(self, account: str, channel: str) -> int:
        return len({id(s.session) for s in self.subs.get(account, ()) if s.arg["channel"] == channel})

    def subscribe(self, session: Session, arg: dict) -> bytes | None:
        """Register; returns the snapshot frame for positions/account (None for orders)."""
        account = session.account
        interval = snapshot_interval_s(arg) if arg["channel"] != "orders" else None
        sub = PrivateSub(session, dict(arg), {**arg, "uid": uid_for(account)}, interval)
        if interval is not None:
            sub.next_snapshot = time.monotonic() + interval
        self.unsubscribe(session, arg)
        self.subs.setdefault(account, []).append(sub)
        return None if arg["channel"] == "orders" else self._snapshot(account, sub)

    def unsubscribe(self, session: Session, arg: dict) -> None:
        lst = self.subs.get(session.account or "", [])
        lst[:] = [s for s in lst if not (s.session is session and s.arg == arg)]

    def drop_session(self, session: Session) -> None:
        if session.account in self.subs:
            self.subs[session.account] = [s for s in self.subs[session.account] if s.session is not session]

    def _snapshot(self, account: str, sub: PrivateSub) -> bytes:
        if sub.arg["channel"] == "positions":
            data = [p for p in self.ex.positions(account) if _record_matches(sub.arg, p)]
        else:
            data = [_account_view(sub.arg, self.ex.balances(account))]
        return orjson.dumps({"arg": sub.push_arg, "eventType": "snapshot", "curPage": 1, "lastPage": True,
                             "data": data})

    def flush(self) -> None:
        """Drain every account's exchange events and push them to matching subscriptions."""
        for account in self.accounts:
            events = self.ex.take_private_events(account)  # drained even when nobody listens
            subs = self.subs.get(account)
            if not events or not subs:
                continue
            for channel, record in events:
                for sub in subs:
                    if sub.arg["channel"] != channel or sub.session.closing:
                        continue
                    if channel == "account":
                        frame = {"arg": sub.push_arg, "eventType": "event_update",
                                 "data": [_account_view(sub.arg, record)]}
                    elif not _record_matches(sub.arg, record):
                        continue
                    elif channel == "positions":
                        frame = {"arg": sub.push_arg, "eventType": "event_update", "data": [record]}
                    else:
                        frame = {"arg": sub.push_arg, "data": [record]}
                    sub.session.send(orjson.dumps(frame))

    def periodic(self, now: float) -> None:
        for account, subs in self.subs.items():
            for sub in subs:
                if sub.interval_s is not None and now >= sub.next_snapshot:
                    sub.next_snapshot = now + sub.interval_s
                    sub.session.send(self._snapshot(account, sub))
