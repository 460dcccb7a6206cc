"""The invariants a soak and a load ramp must hold, read from their figures: what is violated.

Pure: figures in, sentences out (empty: every invariant held). Memory growth and event-loop lag are
figures to read, not invariants: they depend on the machine.
"""

from __future__ import annotations


def violations(soak: dict | None, load: dict | None = None) -> list[str]:
    out: list[str] = []
    if load is not None and load["max_sustainable_frames_per_s"] is None:
        out.append(f"load: not even the first step held ({load['limit']})")
    if soak is None:
        return out
    books, frames = soak["books"], soak["frames_lost"]
    if books["invalid_served"]:
        out.append(f"{books['invalid_served']} invalid book(s) served to consumers")
    if not books["valid_at_end"]:
        out.append("the probe's books were not all valid again at the end")
    if frames["unexplained"]:
        out.append(f"{frames['unexplained']} trade(s) lost outside the documented drop policies")
    if frames["trade_duplicates_delivered"]:
        out.append(f"{frames['trade_duplicates_delivered']} duplicate trade(s) delivered")
    for kind, n in soak["faults"]["by_kind"].items():
        if n["planned"] and not n["took_effect"]:
            out.append(f"fault {kind} was planned {n['planned']} time(s) and never took effect")
    orders = soak["orders"]
    if orders is not None:
        for key in ("lost", "duplicated", "phantom", "unresolved", "state_mismatches", "fills_lost", "fills_phantom"):
            if orders[key]:
                out.append(f"orders: {orders[key]} {key.replace('_', ' ')} (e.g. {', '.join(orders['examples'][:3])})")
    for name, p in soak["processes"].items():
        if p["crashes"]:
            out.append(f"the {name} exited by itself {len(p['crashes'])} time(s) (exit codes "
                       f"{sorted({c['exit_code'] for c in p['crashes']})})")
        if not p["stopped_cleanly"]:
            out.append(f"the {name} did not stop cleanly at the end")
        last = p.get("last_session")
        if last is not None:
            if last["duplicate_orders"]:
                out.append(f"the runner's last session counted {last['duplicate_orders']} duplicate order(s)")
            if last["open_orders_match_venue"] is not True or last["positions_match_venue"] is not True:
                out.append("the runner's last session did not end matching the venue (open orders, positions)")
    if soak["redis"]["not_resumed"]:
        out.append(f"the collector's Redis writes did not resume after {soak['redis']['not_resumed']} restart(s)")
    out += [f"error: {e.splitlines()[0]}" for e in soak["errors"]]
    return out
