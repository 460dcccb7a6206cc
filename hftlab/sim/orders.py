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

from hftlab.sim import codes
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
    # The order stops with what it has filled, and OKX calls it filled: a market order that stops taking
    # (quote spent, price band or book exhausted), or an amendment to newSz <= accFillSz.
    DONE = "done"


_OPEN_EVENTS = {OrderEvent.FILL: OrderState.PARTIALLY_FILLED, OrderEvent.FILL_ALL: OrderState.FILLED,
                OrderEvent.CANCEL: OrderState.CANCELED}
TRANSITIONS: dict[OrderState, dict[OrderEvent, OrderState]] = {
    # An order that took nothing is canceled, never filled: DONE needs a fill first.
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

    # Reading: OKX lists no source for an order cancelled because its amendment failed with
    # cxlOnFail=true; "0" ("Order canceled by system") is the documented catch-all.
    SYSTEM = "0"
    USER = "1"
    FOK = "13"
    IOC = "14"
    CANCEL_ALL_AFTER = "20"
    POST_ONLY = "31"
    SELF_TRADE = "32"  # stpMode cancel_maker: the taker's own resting order


class AmendResult(StrEnum):
    """`amendResult` of the push that reports an amendment's outcome."""

    FAILED = "-1"
    OK = "0"
    CANCELED = "1"  # it failed and cxlOnFail cancelled the order


class Category(StrEnum):
    """`category`: who made the order."""

    NORMAL = "normal"
    FULL_LIQUIDATION = "full_liquidation"
    PARTIAL_LIQUIDATION = "partial_liquidation"


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
    answer: codes.Answer = codes.OK       # `code`/`msg` of the record: a failed amendment's refusal
    amends_in_flight: int = 0             # accepted amendments not yet applied
    category: Category = Category.NORMAL

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
