"""Private channels (`orders`, `positions`, `account`, `balance_and_position`, `fills`) as OKX pushes them.

`orders`: no snapshot on subscribe, one push per order event. `positions` and `account`: a
snapshot (`eventType: snapshot`, `curPage`, `lastPage`) right after the subscribe ack, then
`event_update` pushes, plus a full snapshot every `updateInterval` ms (default 5000; "0" = events
only), taken from `extraParams`. `balance_and_position`: a snapshot of the non-zero balances and
positions, then one push per event (`eventType` filled, liquidation, ... inside the data item, with
the trades behind it). `fills`: no snapshot, one push per fill (a taker's fills aggregated by
price), served only to accounts of fee tier VIP4 and up (64003 otherwise). Pushes echo the
subscription's arg with the account's `uid`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import orjson

from hftlab.sim import codes
from hftlab.sim.hub import Session

DEFAULT_SNAPSHOT_INTERVAL_S = 5.0
INST_TYPES = ("ANY", "SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
FILLS_VIP_LEVEL = 4
PERIODIC = ("positions", "account")          # the channels with a periodic snapshot
SNAPSHOT = PERIODIC + ("balance_and_position",)  # the channels with a snapshot on subscribe


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
    def __init__(self, exchange, accounts: list[str], vip_level: int = 0):
        self.ex = exchange
        self.accounts = list(accounts)
        self.vip_level = vip_level
        self.subs: dict[str, list[PrivateSub]] = {}  # account -> subscriptions

    def refusal(self, arg: dict) -> codes.Answer | None:
        """Why a logged-in session may not subscribe this private arg (None: it may)."""
        if not valid_arg(arg) or (arg.get("instId") and arg["instId"] not in self.ex.instruments):
            return codes.wrong_channel(arg)
        if arg["channel"] == "fills" and self.vip_level < FILLS_VIP_LEVEL:
            return codes.WS_FEE_TIER_TOO_LOW
        return None

    def conn_count(self, account: str, channel: str) -> int:
        return len({id(s.session) for s in self.subs.get(account, ()) if s.arg["channel"] == channel})

    def subscribe(self, session: Session, arg: dict) -> bytes | None:
        """Register; returns the snapshot frame of the channels that have one (None for orders, fills)."""
        account = session.account
        interval = snapshot_interval_s(arg) if arg["channel"] in PERIODIC else None
        sub = PrivateSub(session, dict(arg), {**arg, "uid": uid_for(account)}, interval)
        if interval is not None:
            sub.next_snapshot = time.monotonic() + interval
        self.unsubscribe(session, arg)
        self.subs.setdefault(account, []).append(sub)
        return self._snapshot(account, sub) if arg["channel"] in SNAPSHOT else None

    def unsubscribe(self, session: Session, arg: dict) -> None:
        lst = self.subs.get(session.account or "", [])
        lst[:] = [s for s in lst if not (s.session is session and s.arg == arg)]

    def drop_session(self, session: Session) -> None:
        if session.account in self.subs:
            self.subs[session.account] = [s for s in self.subs[session.account] if s.session is not session]

    def _snapshot(self, account: str, sub: PrivateSub) -> bytes:
        if sub.arg["channel"] == "balance_and_position":
            return orjson.dumps({"arg": sub.push_arg, "data": [self.ex.balance_and_position(account)]})
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
                    elif channel == "balance_and_position":
                        frame = {"arg": sub.push_arg, "data": [record]}
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
