"""The kill switch without a runner: `hftlab kill` when no live runner is running (it crashed, or was
stopped with orders left to Cancel-All-After).

It does what the runner's kill does, from the same pieces: an order manager on the runner's journal
(so orders the crashed runner left UNKNOWN are resolved from venue facts, never resent), every order
with our tag that the venue lists is cancelled, positions are optionally flattened by reduce-only
market orders through the risk engine (HALTED lets them through), and the manager shuts down waiting
for the venue to confirm. The embedded simulator dies with its runner, so with venue `sim` there is a
venue to talk to only when one is named (`--sim-url`, a running `hftlab sim`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

log = logging.getLogger("hftlab.live")


@dataclass(frozen=True)
class OfflineKill:
    venue_open_before: int  # orders with our tag the venue listed
    cancels: int  # cancel requests sent
    flattened: tuple[str, ...]
    open_after: int  # our orders still open when the manager gave up waiting (0: done)

    def to_dict(self) -> dict:
        return {"venue_open_before": self.venue_open_before, "cancels": self.cancels,
                "flattened": list(self.flattened), "venue_open_after": self.open_after}


async def cancel_tagged(settings, state_dir: Path, endpoints, credentials, *, flatten: bool,
                        progress: Callable[[str], None] = log.info) -> OfflineKill:
    """Cancel every order with `execution.tag` at the venue of `endpoints` (and flatten), on the
    journal of `state_dir`. Raises OSError/RuntimeError (StartupError) when the venue is unreachable."""
    from hftlab.execution.journal import Journal
    from hftlab.execution.manager import OrderManager
    from hftlab.live.flatten import ManagerBook, flatten_positions
    from hftlab.okx.venue import open_venue
    from hftlab.portfolio.equity import Portfolio
    from hftlab.risk.engine import Account, RiskEngine
    from hftlab.risk.state import StateFile

    symbols = list(dict.fromkeys([*(settings.live.symbols or []), *settings.trading.symbols]))
    client_cfg = settings.client.model_copy(update={"reconcile_orders": False})
    client, venue = await open_venue(endpoints, credentials, symbols, client_config=client_cfg)
    try:
        specs = venue.specs
        state_dir.mkdir(parents=True, exist_ok=True)
        risk = RiskEngine(settings.risk, specs, state_file=StateFile(state_dir / "risk.json"))
        portfolio = Portfolio(specs.values(), Decimal(repr(settings.live.capital_usd)), "USDT",
                              high_water=risk.high_water, day_open=risk.day_open)
        journal = Journal(state_dir / "journal.sqlite", settings.execution.journal_sync)
        try:
            manager = OrderManager(venue, journal, portfolio, settings.execution)
            report = await manager.start(timers=False)
            progress(f"order manager on {state_dir / 'journal.sqlite'}: {report.venue_open} open at the venue, "
                     f"{len(report.adopted)} adopted")
            try:
                kill = await manager.cancel_all_tagged()
                flattened: list[str] = []
                if flatten:
                    book = ManagerBook(manager)
                    account = Account(equity_known=False, reconciled=manager.last_pass is not None,
                                      reconciling=manager.reconciling)
                    flattened = await flatten_positions(manager, risk, specs, {}, book, account)
                done = await manager.shutdown(cancel_orders=True)
            except BaseException:
                manager.detach()
                raise
        finally:
            journal.close()
    finally:
        await venue.close()
        await client.close()
    return OfflineKill(kill.venue_open, len(kill.tickets), tuple(flattened), len(done.open_left))
