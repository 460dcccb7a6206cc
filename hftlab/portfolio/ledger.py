"""The fill ledger: every venue fill, applied once, keyed by (inst_id, trade_id).

Venue facts arrive more than once: a push and its duplicate, the fills feed and the orders feed,
the REST gap-fill after a reconnect, the replay at start-up. The ledger is what makes them count
once, so that N restarts replaying the same facts (in the same order) rebuild identical state.

`last_trade_id(inst_id)` is the highest trade id seen on the instrument's own sequence. It is NOT a
safe "fills since" cursor: a push can bring a later fill while earlier ones were lost in a gap, so
reconciliation keeps its own cursor, advanced only by a complete read (execution/reconcile.py).
Trade ids are decimal integers; the negative ids venues give liquidation and ADL trades are off that
sequence and never count here, and an id that is not an integer is kept but cannot order anything.
"""

from __future__ import annotations

from collections.abc import Iterator

from hftlab.domain.orders import Fill


class FillLedger:
    __slots__ = ("_fills", "_cursor", "duplicates")

    def __init__(self) -> None:
        self._fills: dict[tuple[str, str], Fill] = {}  # in the order first applied
        self._cursor: dict[str, tuple[int, str]] = {}
        self.duplicates = 0

    def add(self, fill: Fill) -> bool:
        """Record `fill`; False (and counted) when its (inst_id, trade_id) is already here."""
        key = (fill.inst_id, fill.trade_id)
        if key in self._fills:
            self.duplicates += 1
            return False
        self._fills[key] = fill
        try:
            n = int(fill.trade_id)
        except ValueError:
            return True
        if n >= 0:
            best = self._cursor.get(fill.inst_id)
            if best is None or n > best[0]:
                self._cursor[fill.inst_id] = (n, fill.trade_id)
        return True

    def __len__(self) -> int:
        return len(self._fills)

    def __iter__(self) -> Iterator[Fill]:
        return iter(self._fills.values())

    def last_trade_id(self, inst_id: str) -> str | None:
        best = self._cursor.get(inst_id)
        return None if best is None else best[1]
