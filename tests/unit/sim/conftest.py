"""A market that stands still, for tests of the exchange core: no drift, no flow, so its book is
the seeded one (bid 99.9, ask 100.1) and every outcome is the orders' own doing."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from hftlab.sim.exchange import SimExchange
from hftlab.sim.instruments import Instrument
from hftlab.sim.testing import STILL_SPOT as TST
from hftlab.sim.testing import STILL_SWAP
BALANCES = {"USDT": "10000", "TST": "100"}
NUM = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")


def _still(**kw) -> SimExchange:
    return SimExchange([TST], seed=3, initial_balances=BALANCES, **kw)


def _order(ex: SimExchange, account: str = "k", **req) -> dict:
    base = {"instId": "TST-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "99.9", "sz": "1"}
    return ex.place_order(account, {**base, **req})


def _orders_of(events) -> list[dict]:
    return [r for ch, r in events if ch == "orders"]


def _touch(ex: SimExchange, inst_id: str = "TST-USDT") -> tuple[Decimal, Decimal, Decimal, Decimal]:
    bids, asks = ex.book_levels(inst_id, 1)
    return Decimal(bids[0][0]), Decimal(bids[0][1]), Decimal(asks[0][0]), Decimal(asks[0][1])


@pytest.fixture(scope="session")
def tst() -> Instrument:
    """TST-USDT, the still market's instrument: tick 0.1, lot 0.001, min 0.01, instIdCode 77."""
    return TST


@pytest.fixture(scope="session")
def okx_number() -> re.Pattern:
    """A non-negative number as OKX writes it: no exponent, no leading or trailing zeros."""
    return NUM


@pytest.fixture
def still() -> Callable[..., SimExchange]:
    """A SimExchange listing only TST-USDT (the still market), with BALANCES; keywords go to SimExchange."""
    return _still


@pytest.fixture
def order() -> Callable[..., dict]:
    """order(ex, account="k", **fields): place a 1 TST limit buy at 99.9, `fields` overriding."""
    return _order


@pytest.fixture
def orders_of() -> Callable[..., list[dict]]:
    """The `orders` records among take_private_events' pushes."""
    return _orders_of


@pytest.fixture
def touch() -> Callable[..., tuple[Decimal, Decimal, Decimal, Decimal]]:
    """(bid px, bid sz, ask px, ask sz) of an instrument's book."""
    return _touch


@pytest.fixture(scope="session")
def tsw() -> Instrument:
    """TST-USDT-SWAP, a still swap beside TST-USDT: ctVal 1, lot and min 0.01, instIdCode 79."""
    return STILL_SWAP
