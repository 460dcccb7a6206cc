"""What the venue says at the end of a session, held against local state (the summary's checks).

- `open_orders_match_venue`: the clOrdIds of our unfinished orders (UNKNOWN included) == the venue's
  pending orders carrying our tag, as sets;
- `positions_match_venue`: per instrument, the position booked from our fills == the venue's: a
  swap's position as the venue lists it; a spot holding as the change of the base balance since the
  state directory's first session (recorded then in `initial_balances.json`: a state directory
  belongs to one account);
- `duplicate_orders`: venue orders sharing one clOrdId (two ordIds for one of our ids, among the
  venue's pending orders and its fills): an intent executed twice. Must be 0.
Reads that fail are reported as such (None), never as a match.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.domain.venue import PagingStalled, VenueUnavailable

log = logging.getLogger(__name__)
INITIAL = "initial_balances.json"


async def record_initial_balances(venue, state_dir: Path) -> dict[str, Decimal]:
    """The base balances at the state directory's first session (read from the file afterwards)."""
    path = Path(state_dir) / INITIAL
    if path.exists():
        return {k: Decimal(v) for k, v in json.loads(path.read_text()).items()}
    balances = {b.ccy: b.total for b in await venue.balances()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: str(v) for k, v in balances.items()}))
    return balances


async def venue_checks(venue, manager, specs: dict[str, InstrumentSpec], state_dir: Path) -> dict:
    out: dict = {}
    try:
        venue_open = await venue.open_orders(manager.tag)
        local = {v.cl_ord_id for v in manager.open_orders()}
        remote = {o.cl_ord_id for o in venue_open}
        out["open_orders_match_venue"] = local == remote
        out["open_orders"] = {"local": len(local), "venue": len(remote)}
        if local != remote:
            out["open_orders_diff"] = {"only_local": sorted(local - remote), "only_venue": sorted(remote - local)}
        ids: dict[str, set[str]] = defaultdict(set)
        for o in venue_open:
            ids[o.cl_ord_id].add(o.ord_id)
        for inst in specs:
            for f in await venue.fills_since(inst, None):
                if f.cl_ord_id:
                    ids[f.cl_ord_id].add(f.ord_id)
        out["duplicate_orders"] = sum(len(v) - 1 for v in ids.values())
        positions = {p.inst_id: p.qty for p in await venue.positions()}
        balances = {b.ccy: b.total for b in await venue.balances()}
        initial = await record_initial_balances(venue, state_dir)
        per = {}
        for inst, spec in specs.items():
            mine = manager.exposure(inst).position
            if spec.inst_type is InstType.SWAP:
                theirs = positions.get(inst, Decimal(0))
            else:
                theirs = balances.get(spec.base_ccy, Decimal(0)) - initial.get(spec.base_ccy, Decimal(0))
            per[inst] = {"local": str(mine), "venue": str(theirs), "match": mine == theirs}
        out["positions_match_venue"] = all(v["match"] for v in per.values())
        out["positions_vs_venue"] = per
    except (VenueUnavailable, PagingStalled, OSError) as e:
        log.error("the end-of-session check against the venue failed: %s", e)
        out.setdefault("open_orders_match_venue", None)
        out.setdefault("positions_match_venue", None)
        out.setdefault("duplicate_orders", None)
        out["venue_check_error"] = f"{type(e).__name__}: {e}"
    return out
