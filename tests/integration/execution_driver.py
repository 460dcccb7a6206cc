"""A manager process for the kill -9 and dead man's switch tests: OrderManager + OkxVenue against a
simulator that lives in the test's process (and outlives this one).

    python execution_driver.py '<json config>'      (PYTHONPATH: the repository root)

The config names the simulator's URLs, the journal directory, the execution section, and a `mode`:

- `point`: run one kill point of the matrix with all the point's orders in one request (limit,
  post-only, IOC and market, spot and swap), then print `{"at": <point>}` and FREEZE: the event loop
  blocks in `time.sleep`, so nothing more is sent, read or written, until the test SIGKILLs the
  process. When the point needs the test to act (trade into our orders, arm a simulator fault) it
  prints `{"need": ...}` and waits for a line on stdin.
- `recover`: start on the journal, wait until the killed run's deadlines are past
  (`settle_until_ms`), reconcile and resolve until nothing is unproven, print `{"state": ...}` and
  freeze until killed.
- `deadman`: start with timers (heartbeat, periodic passes), rest two orders, print
  `{"at": "resting"}`; then answer each `report` line on stdin with the state after the next
  reconciliation pass that starts after it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal

from hftlab.domain.orders import ApprovedOrder, OrderIntent, OrdType, Side, issue_approval_key
from hftlab.execution.config import ExecutionConfig
from hftlab.execution.journal import Journal
from hftlab.execution.manager import OrderManager
from hftlab.execution.reconcile import PassOutcome
from hftlab.okx.venue import OkxVenue
from hftlab.portfolio.equity import Portfolio
from tests.okx_sim import SPOT_ID, SWAP_ID, endpoints_of, venue_on

D = Decimal
KEY = issue_approval_key()  # this process has no risk engine: the driver approves
RESTING = [(SPOT_ID, OrdType.LIMIT), (SPOT_ID, OrdType.POST_ONLY), (SWAP_ID, OrdType.LIMIT), (SWAP_ID, OrdType.POST_ONLY)]
TAKING = [(SPOT_ID, OrdType.IOC), (SPOT_ID, OrdType.MARKET), (SWAP_ID, OrdType.IOC), (SWAP_ID, OrdType.MARKET)]
PX = {OrdType.LIMIT: D(100), OrdType.POST_ONLY: D(100), OrdType.IOC: D("100.5"), OrdType.MARKET: None}


def say(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg, default=str) + "\n")
    sys.stdout.flush()


def freeze(msg: dict) -> None:
    """Announce the point and stop the whole process where it stands (until SIGKILL)."""
    say(msg)
    time.sleep(3600)


def approved(inst_id: str, ord_type: OrdType) -> ApprovedOrder:
    sz = D(2) if inst_id == SWAP_ID else D("0.05")
    intent = OrderIntent(inst_id, Side.BUY, sz, ord_type, PX[ord_type], f"{inst_id}:{ord_type.value}", reason="driver")
    return ApprovedOrder(intent, time.time_ns(), ("driver",), key=KEY)


class Gate:
    """The venue as the manager sees it, with the driver's stop points: `before[op]` runs as a
    request is handed over, `freeze_on` freezes the process once `op`'s n-th frame has left."""

    def __init__(self) -> None:
        self.venue: OkxVenue | None = None
        self.before: dict[str, object] = {}
        self.freeze_on: tuple[str, int] | None = None
        self.current: str | None = None  # the write being sent
        self.frames: dict[str, int] = {}
        self.sent_ids: list[str] = []

    def __getattr__(self, name):  # reads, limits, stream: the venue's own
        return getattr(self.venue, name)

    def frame_sent(self, ids: tuple[str, ...], wall_ns: int) -> None:
        op = self.current or "?"
        self.frames[op] = self.frames.get(op, 0) + 1
        if op == "place":
            self.sent_ids += ids
        if self.freeze_on is not None and self.freeze_on == (op, self.frames[op]):
            freeze({"at": op, "ids": list(ids)})

    async def _write(self, op: str, requests):
        hook = self.before.get(op)
        if hook is not None:
            hook(requests)
        self.current = op
        return await getattr(self.venue, op)(requests)

    async def place(self, requests):
        return await self._write("place", requests)

    async def amend(self, requests):
        return await self._write("amend", requests)

    async def cancel(self, requests):
        return await self._write("cancel", requests)


class Driver:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.gate = Gate()
        self.stdin: asyncio.StreamReader | None = None

    async def start(self, *, timers: bool) -> OrderManager:
        c = self.cfg
        ends = endpoints_of(c["rest"], lambda role: c["ws"][role])
        self.client, venue = await venue_on(ends, op_timeout_s=c.get("op_timeout_s", 2.0),
                                            on_sent=self.gate.frame_sent)
        self.gate.venue = venue
        self.config = ExecutionConfig(state_dir=c["state_dir"], **c["exec"])
        self.journal = Journal(self.config.journal_path)
        portfolio = Portfolio(venue.specs.values(), D(0), "USDT")
        self.m = OrderManager(self.gate, self.journal, portfolio, self.config)  # type: ignore[arg-type]
        self.first_pass = await self.m.start(timers=timers)
        loop = asyncio.get_running_loop()
        self.stdin = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self.stdin), sys.stdin)
        return self.m

    async def ask(self, need: dict) -> None:
        say({"need": need})
        await self.stdin.readline()

    async def until(self, pred, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                say({"error": f"timed out waiting for {what}", "orders": self.orders()})
                raise SystemExit(3)
            await asyncio.sleep(0.01)

    def orders(self) -> dict[str, list]:
        return {v.cl_ord_id: [v.inst_id, v.ord_type.value, v.state.value, str(v.sz), str(v.px), str(v.acc_fill_sz)]
                for v in self.m.orders()}

    def state(self) -> dict:
        m = self.m
        last = m.last_pass
        return {
            "open": sorted(v.cl_ord_id for v in m.open_orders()),
            "unknown": len(m.unknown_orders()),
            "orders": self.orders(),  # every order this process knows (a restart loads the unfinished ones)
            "journal_states": {cl: st.value for cl, st in self.journal.order_states().items()},
            "ledger": sorted([f.inst_id, f.trade_id, f.side.value, str(f.px), str(f.sz), str(f.fee), f.fee_ccy]
                             for f in m.portfolio.ledger),
            "journal_fills": sorted([f.inst_id, f.trade_id] for f in self.journal.fills()),
            "positions": {i: str(p.qty) for i, p in m.portfolio.positions.items()},
            "places": m.stats.places,
            "sent_places": list(self.gate.sent_ids),
            "pass": last.outcome.value if last else None,
            "passes": m.stats.reconcile_passes,
            "reconciling": m.reconciling,
            "illegal": m.stats.illegal_facts,
            "venue_rate_limited": m.stats.venue_rate_limited,
        }

    # -- the kill points ----------------------------------------------------------------------------

    async def journaled_not_sent(self) -> None:
        self.gate.before["place"] = lambda reqs: freeze({"at": "journaled_not_sent"})
        await self.m.submit_batch([approved(*k) for k in RESTING + TAKING])

    async def sent_not_acked(self) -> None:
        self.gate.freeze_on = ("place", 1)
        await self.m.submit_batch([approved(*k) for k in RESTING + TAKING])

    async def acked_no_push(self) -> None:
        self.m.on_event = lambda ev: None  # the process dies with the pushes unread
        tickets = await self.m.submit_batch([approved(*k) for k in RESTING + TAKING])
        assert all(t.sent for t in tickets), tickets
        freeze({"at": "acked_no_push"})

    async def _resting(self) -> list[str]:
        tickets = await self.m.submit_batch([approved(*k) for k in RESTING])
        ids = [t.cl_ord_id for t in tickets]
        await self.until(lambda: all(self.m.order(i).state.value == "live" for i in ids), "the resting orders live")
        return ids

    async def fills_applied_not_persisted(self) -> None:
        resting = await self._resting()
        self.journal.record_fill = lambda f: True  # from here on these writes never reach the disk
        self.journal.record_order = lambda o: None
        taking = [t.cl_ord_id for t in await self.m.submit_batch([approved(*k) for k in TAKING])]
        await self.until(lambda: all(self.m.order(i).state.terminal for i in taking), "the taking orders done")
        await self.ask({"trade": [[self.m.order(i).inst_id, i] for i in resting]})
        first = [resting[0], resting[2]]  # the first resting order of each instrument is first in its queue
        await self.until(lambda: all(self.m.order(i).acc_fill_sz > 0 for i in first), "the fills applied")
        freeze({"at": "fills_applied_not_persisted"})

    async def cancel_in_flight(self) -> None:
        resting = await self._resting()
        await self.ask({"delay_next_place_ms": 500})
        placing = asyncio.create_task(self.m.submit_batch([approved(*k) for k in TAKING]))
        await self.until(lambda: len(self.m.open_orders()) == 8, "the taking orders tracked")
        self.gate.freeze_on = ("cancel", 1)
        await self.m.cancel_batch([v.cl_ord_id for v in self.m.open_orders()])
        await placing

    async def amend_in_flight(self) -> None:
        resting = await self._resting()
        await self.ask({"drop_acks": len(resting)})
        self.m.on_event = lambda ev: None
        self.gate.freeze_on = ("amend", len(resting))
        await asyncio.gather(*(self.m.amend(i, new_sz=self.m.order(i).sz * 2, new_px=D("99.9")) for i in resting))

    # -- the other modes ----------------------------------------------------------------------------

    async def recover(self) -> None:
        wait_s = self.cfg["settle_until_ms"] / 1000 - time.time()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        m = self.m
        for _ in range(400):
            await m.reconcile()
            await m.resolve()
            last = m.last_pass
            if last.outcome is PassOutcome.SYNCED and not m.unknown_orders() and not m.busy:
                break
            await asyncio.sleep(0.05)
        freeze({"state": self.state()})

    async def deadman(self) -> None:
        ids = await self._resting()
        say({"at": "resting", "ids": ids})
        while True:
            line = await self.stdin.readline()
            if not line:
                return
            passes = self.m.stats.reconcile_passes
            await self.until(lambda: self.m.stats.reconcile_passes >= passes + 2 and not self.m.busy,
                             "a pass after the report was asked for")
            say({"state": self.state()})


async def main(cfg: dict) -> None:
    d = Driver(cfg)
    mode = cfg["mode"]
    await d.start(timers=mode == "deadman")
    if mode == "point":
        await getattr(d, cfg["point"])()
        say({"error": f"point {cfg['point']} returned without freezing"})
    else:
        await getattr(d, mode)()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
