"""The simulator's order record and its state machine, in OKX's own states.

An order is `live` until it trades or ends; `partially_filled` once some of it traded and some is
still open; `filled` or `canceled` when it ends (terminal: nothing moves it again). The sim never
produces OKX's `mmp_canceled` (it has no market-maker protection), so that state is not listed.
Every change of state goes through `Order.apply` and the table below; an event the table does not
allow in the current state raises `IllegalTransition` and leaves the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from hftlab.sim.accounts import ZERO
from hftlab.sim.instruments import Instrument
from hftlab.sim.matching import Resting


class OrderState(StrEnum):
    """`state` as OKX writes it in order records."""

    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"

    @property
    def open(self) -> bool:
        return self in (OrderState.LIVE, OrderState.PARTIALLY_FILLED)


class OrderEvent(StrEnum):
    """What happens to an order."""

    FILL = "fill"  # a fill that leaves size open
    FILL_ALL = "fill_all"  # a fill that completes the order's size
    CANCEL = "cancel"  # the open size is cancelled (by the user, IOC/FOK rules, post-only, self-trade)
    DONE = "done"  # a market order stops taking (quote spent, price band or book exhausted): OKX calls it filled


_OPEN_EVENTS = {OrderEvent.FILL: OrderState.PARTIALLY_FILLED, OrderEvent.FILL_ALL: OrderState.FILLED,
                OrderEvent.CANCEL: OrderState.CANCELED}
TRANSITIONS: dict[OrderState, dict[OrderEvent, OrderState]] = {
    # A market order that took nothing is canceled, never filled: DONE needs a fill first.
    OrderState.LIVE: _OPEN_EVENTS,
    OrderState.PARTIALLY_FILLED: {**_OPEN_EVENTS, OrderEvent.DONE: OrderState.FILLED},
    OrderState.FILLED: {},
    OrderState.CANCELED: {},
}


class IllegalTransition(RuntimeError):
    """An event the order's state does not allow: a bug in the simulator, never a client's mistake."""

    def __init__(self, ord_id: int, state: OrderState, event: OrderEvent):
        super().__init__(f"order {ord_id}: {event} is not allowed in state {state}")
        self.ord_id, self.state, self.event = ord_id, state, event


class CancelSource(StrEnum):
    """`cancelSource` of a canceled order (protocol doc 5.3)."""

    USER = "1"
    FOK = "13"
    IOC = "14"
    POST_ONLY = "31"
    SELF_TRADE = "32"  # stpMode cancel_maker: the taker's own resting order


@dataclass(frozen=True, slots=True)
class LastFill:
    """The latest fill of an order, as its record shows it (strings as OKX writes them)."""

    px: str
    sz: str
    time: str
    trade_id: str
    fee: str
    pnl: str
    exec_type: str  # "T" taker, "M" maker


@dataclass(eq=False)
class Order:
    ord_id: int
    account: str
    inst: Instrument
    cl_ord_id: str
    tag: str
    side: str
    ord_type: str
    td_mode: str
    tgt_ccy: str
    reduce_only: bool
    pos_side: str
    px_idx: int | None
    sz: Decimal                # as requested: base/contracts, or quote for quote-ccy market orders
    lots: int                  # requested lots (0 for quote-ccy market orders)
    c_time: int
    u_time: int
    state: OrderState = OrderState.LIVE
    filled_lots: int = 0
    notional: Decimal = ZERO   # sum of px * sz filled
    fee: Decimal = ZERO
    fee_ccy: str = ""
    pnl: Decimal = ZERO
    cancel_source: CancelSource | None = None
    frozen_ccy: str = ""
    frozen: Decimal = ZERO
    resting: Resting | None = None
    last_fill: LastFill | None = None
    req_id: str = ""
    amend_result: str = ""

    @property
    def by_quote(self) -> bool:
        return self.lots == 0

    @property
    def live(self) -> bool:
        """Still open: it can trade, be amended or cancelled."""
        return self.state.open

    def apply(self, event: OrderEvent) -> OrderState:
        """Move to the state the table gives for `event`; IllegalTransition if it gives none."""
        to = TRANSITIONS[self.state].get(event)
        if to is None:
            raise IllegalTransition(self.ord_id, self.state, event)
        self.state = to
        return to
