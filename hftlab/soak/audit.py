"""Orders and fills: what the venue did, held against what the journal says we did.

The venue's facts (every order it opened for our account with our tag, every fill it made) against
the journal the live runner leaves behind, after its last, clean stop:

- `duplicated`: venue orders beyond the first for one clOrdId (an intent executed twice);
- `lost`: venue orders whose clOrdId the journal does not know (an order we sent and forgot), and
  journal orders the venue has while the journal says it refused them (REJECTED);
- `phantom`: journal orders in a state only an existing order can be in (live, filled, cancelled,
  ...) that the venue never opened;
- `unresolved`: journal orders whose fate is still not proven at the end (UNKNOWN, PENDING_*);
- `state_mismatches`: orders both know whose final states differ;
- fills: venue fills the journal lacks (`fills_lost`) or has and the venue does not (`fills_phantom`).

Every one must be 0 after a clean stop, whatever was killed on the way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from hftlab.domain.orders import OrderState

# the venue's order states (OKX's spelling) as the journal names them
VENUE_STATE = {"live": OrderState.LIVE, "partially_filled": OrderState.PARTIALLY_FILLED,
               "filled": OrderState.FILLED, "canceled": OrderState.CANCELLED}
UNRESOLVED = frozenset({OrderState.UNKNOWN, OrderState.PENDING_SUBMIT, OrderState.PENDING_CANCEL})


@dataclass(frozen=True, slots=True)
class VenueOrder:
    cl_ord_id: str
    ord_id: str
    state: str  # as the venue writes it: live | partially_filled | filled | canceled


@dataclass(frozen=True, slots=True)
class OrdersAudit:
    venue_orders: int
    journal_orders: int
    duplicated: int
    lost: int
    phantom: int
    unresolved: int
    state_mismatches: int
    venue_fills: int
    journal_fills: int
    fills_lost: int
    fills_phantom: int
    examples: tuple[str, ...] = ()  # a few of the clOrdIds behind a non-zero count

    @property
    def clean(self) -> bool:
        return not (self.duplicated or self.lost or self.phantom or self.unresolved or self.state_mismatches
                    or self.fills_lost or self.fills_phantom)

    def as_dict(self) -> dict:
        return {**asdict(self), "examples": list(self.examples), "clean": self.clean}


def audit(venue_orders: Iterable[VenueOrder], venue_fills: Iterable[tuple[str, str]],
          journal_orders: Mapping[str, OrderState], journal_fills: Iterable[tuple[str, str]]) -> OrdersAudit:
    """`venue_fills` and `journal_fills`: (instId, tradeId) of each fill."""
    venue = list(venue_orders)
    per_id = Counter(o.cl_ord_id for o in venue)
    latest = {o.cl_ord_id: o for o in sorted(venue, key=lambda o: int(o.ord_id))}
    bad: list[str] = []

    def note(ids: Iterable[str]) -> int:
        ids = sorted(ids)
        bad.extend(ids[:3])
        return len(ids)

    duplicated = sum(n - 1 for n in per_id.values())
    note(c for c, n in per_id.items() if n > 1)
    lost = note(c for c in per_id if c not in journal_orders)
    lost += note(c for c, s in journal_orders.items() if s is OrderState.REJECTED and c in per_id)
    phantom = note(c for c, s in journal_orders.items()
                   if s not in UNRESOLVED and s is not OrderState.REJECTED and c not in per_id)
    unresolved = note(c for c, s in journal_orders.items() if s in UNRESOLVED)
    mismatched = note(c for c, s in journal_orders.items()
                      if c in latest and s not in UNRESOLVED and s is not OrderState.REJECTED
                      and VENUE_STATE.get(latest[c].state) is not s)
    vf, jf = set(venue_fills), set(journal_fills)
    return OrdersAudit(len(venue), len(journal_orders), duplicated, lost, phantom, unresolved, mismatched,
                       len(vf), len(jf), len(vf - jf), len(jf - vf), tuple(bad[:10]))
