"""Price-time priority book shared by the simulated order flow and the agents' orders.

Simulated liquidity is held as aggregate size and order count per price (numpy arrays over a
window of ticks that follows the price); agents' orders are individual `Resting` entries queued at
their price. Each resting order remembers `ahead`: the simulated size queued in front of it. Size
that arrives later queues behind it; market orders eat the queue front to back, so an agent's order
fills only once the simulated size ahead of it has traded; a cancel of simulated size at that price
is assumed to hit the queue uniformly, so it shortens `ahead` in proportion.

Prices are tick indices (int), sizes lots (int); see hftlab.sim.instruments.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

BUY, SELL = "buy", "sell"


@dataclass(eq=False)
class Resting:
    """An agent's order in the book."""

    ord_id: int
    account: str
    side: str
    idx: int
    rem: int            # lots still open
    ahead: int = 0      # simulated lots queued in front of it at idx


@dataclass
class LevelFill:
    """What one taker consumed at one price."""

    idx: int
    sim_lots: int = 0                   # traded against simulated liquidity
    sim_orders: int = 0                 # simulated orders that traded (for the trade `count`)
    agent: list[tuple[Resting, int]] = field(default_factory=list)   # (maker, lots)

    @property
    def lots(self) -> int:
        return self.sim_lots + sum(n for _, n in self.agent)


class Side:
    """One side of the book: simulated size/count per tick over a window, agents' orders by price.

    `top` is the best price simulated liquidity may occupy (the market model keeps it current), so
    scans start there instead of sweeping the whole window.
    """

    def __init__(self, is_bid: bool, sz: np.ndarray, cnt: np.ndarray, scratch: np.ndarray, base: int):
        self.is_bid = is_bid
        self.base = base
        self.sz, self.cnt, self._scratch = sz, cnt, scratch      # views into the Book's arrays
        self.top = base + sz.size - 1 if is_bid else base
        self.agents: dict[int, list[Resting]] = {}

    # --- simulated liquidity ---------------------------------------------------------------------
    def sim_size(self, idx: int) -> int:
        p = idx - self.base
        return int(self.sz[p]) if 0 <= p < self.sz.size else 0

    def add_sim(self, pos: np.ndarray, lots: np.ndarray) -> None:
        """Simulated orders join the back of their queues (positions are window offsets)."""
        np.add.at(self.sz, pos, lots)
        np.add.at(self.cnt, pos, 1)

    def cancel_sim(self, pos: np.ndarray) -> None:
        """Each position cancels one average-sized simulated order (a repeated position, several)."""
        cut, before = _cancel(self.sz, self.cnt, self._scratch, pos)
        if self.agents:
            self.shorten_queues(pos.tolist(), cut.tolist(), before.tolist())

    def shorten_queues(self, pos: list[int], cut: list[int], before: list[int]) -> None:
        """Cancels hit the queue uniformly: agents' `ahead` shrinks in proportion."""
        for p, removed, size in set(zip(pos, cut, before)):
            q = self.agents.get(p + self.base)
            if q and removed:
                for o in q:
                    o.ahead -= removed * o.ahead // size

    def clear_sim(self, lo: int, hi: int) -> None:
        """Remove all simulated liquidity at tick indices lo..hi-1 (makers repricing)."""
        a, b = max(lo - self.base, 0), min(hi - self.base, self.sz.size)
        if a >= b:
            return
        self.sz[a:b] = 0
        self.cnt[a:b] = 0
        for idx, q in self.agents.items():
            if lo <= idx < hi:
                for o in q:
                    o.ahead = 0

    def recentre(self, new_base: int) -> None:
        shift = new_base - self.base
        n = self.sz.size
        for arr in (self.sz, self.cnt):
            moved = np.zeros_like(arr)
            if shift >= 0:
                moved[: max(n - shift, 0)] = arr[shift:]
            else:
                moved[-shift:] = arr[: max(n + shift, 0)]
            arr[:] = moved
        self.base = new_base
        self.top = min(max(self.top, new_base), new_base + n - 1)
        for idx, q in self.agents.items():
            if not 0 <= idx - new_base < n:
                for o in q:
                    o.ahead = 0

    def _sim_chunks(self, first: int = 32) -> Iterator[np.ndarray]:
        """Simulated prices best first, in chunks (tick indices) growing from `first`."""
        n = self.sz.size
        p = self.top - self.base
        size = first
        if self.is_bid:
            p = min(p, n - 1)
            while p >= 0:
                a = max(0, p - size + 1)
                nz = np.flatnonzero(self.sz[a:p + 1])
                if nz.size:
                    yield nz[::-1] + (a + self.base)
                p = a - 1
                size = min(size * 4, 4096)
        else:
            p = max(p, 0)
            while p < n:
                z = min(n, p + size)
                nz = np.flatnonzero(self.sz[p:z])
                if nz.size:
                    yield nz + (p + self.base)
                p = z
                size = min(size * 4, 4096)

    # --- agents ----------------------------------------------------------------------------------
    def add_agent(self, o: Resting) -> None:
        o.ahead = self.sim_size(o.idx)
        self.agents.setdefault(o.idx, []).append(o)

    def remove_agent(self, o: Resting) -> None:
        q = self.agents[o.idx]
        q.remove(o)
        if not q:
            del self.agents[o.idx]

    # --- views -----------------------------------------------------------------------------------
    def best(self) -> int | None:
        sim = next((int(c[0]) for c in self._sim_chunks()), None)
        if not self.agents:
            return sim
        a = max(self.agents) if self.is_bid else min(self.agents)
        if sim is None:
            return a
        return max(sim, a) if self.is_bid else min(sim, a)

    def levels(self, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tick indices, lots, order counts) of the best `depth` prices, best first."""
        got, n = [], 0
        for c in self._sim_chunks(first=depth * 3):
            got.append(c)
            n += c.size
            if n >= depth:
                break
        idx = np.concatenate(got)[:depth] if got else np.zeros(0, np.int64)
        pos = idx - self.base
        sz, cnt = self.sz[pos], self.cnt[pos]
        if not self.agents:
            return idx, sz, cnt
        extra = {i: (sum(o.rem for o in q), len(q)) for i, q in self.agents.items()}
        all_idx = np.union1d(idx, np.fromiter(extra, np.int64, len(extra)))
        if self.is_bid:
            all_idx = all_idx[::-1]
        all_idx = all_idx[:depth]
        pos = all_idx - self.base
        inside = (pos >= 0) & (pos < self.sz.size)
        sz = np.zeros(all_idx.size, np.int64)
        cnt = np.zeros(all_idx.size, np.int64)
        sz[inside] = self.sz[pos[inside]]
        cnt[inside] = self.cnt[pos[inside]]
        for k, i in enumerate(all_idx.tolist()):
            e = extra.get(i)
            if e:
                sz[k] += e[0]
                cnt[k] += e[1]
        return all_idx, sz, cnt

    # --- taking ----------------------------------------------------------------------------------
    def prices(self, limit: int | None = None) -> Iterator[int]:
        """Prices with liquidity, best first, up to `limit` (inclusive)."""
        def sim() -> Iterator[int]:
            for c in self._sim_chunks():
                for i in c.tolist():
                    if limit is not None and (i < limit if self.is_bid else i > limit):
                        return
                    yield i
        if not self.agents:
            return sim()
        a = sorted((i for i in self.agents if limit is None or (i >= limit if self.is_bid else i <= limit)),
                   reverse=self.is_bid)
        key = (lambda i: -i) if self.is_bid else None
        return _dedup(heapq.merge(sim(), a, key=key))

    def take(self, demand: Demand, limit: int | None, taker: str | None,
             on_self_trade: Callable[[Resting], None]) -> list[LevelFill]:
        """Consume liquidity best price first while the demand wants more (price-time priority).

        `taker` is the account taking (None for simulated flow); the taker's own resting orders are
        cancelled through `on_self_trade` instead of trading (OKX's default stpMode cancel_maker).
        """
        fills: list[LevelFill] = []
        for idx in self.prices(limit):
            x = demand.want(idx)
            if x <= 0:
                break
            f = self._take_level(idx, x, taker, on_self_trade)
            if f.lots:
                demand.took(idx, f.lots)
                fills.append(f)
        return fills

    def _take_level(self, idx: int, x: int, taker: str | None,
                    on_self_trade: Callable[[Resting], None]) -> LevelFill:
        p = idx - self.base
        inside = 0 <= p < self.sz.size
        sim_total = int(self.sz[p]) if inside else 0
        f = LevelFill(idx)
        sim_taken = 0
        for o in list(self.agents.get(idx, ())):
            gap = min(o.ahead, sim_total) - sim_taken
            if gap > 0:
                n = min(x, gap)
                sim_taken += n
                x -= n
            if x <= 0:
                break
            if taker is not None and o.account == taker:
                on_self_trade(o)
                continue
            n = min(x, o.rem)
            o.rem -= n
            x -= n
            f.agent.append((o, n))
            if o.rem == 0:
                self.remove_agent(o)
        if x > 0:
            sim_taken += min(x, sim_total - sim_taken)
        if sim_taken:
            for o in self.agents.get(idx, ()):
                o.ahead = max(0, o.ahead - sim_taken)
            c = int(self.cnt[p])
            left = sim_total - sim_taken
            self.sz[p] = left
            # orders wholly consumed on average; at least one order stays while size does
            self.cnt[p] = max(1, c - sim_taken * c // sim_total) if left else 0
            f.sim_lots = sim_taken
            f.sim_orders = min(c, max(1, -(-sim_taken * c // sim_total)))
        return f


def _cancel(sz: np.ndarray, cnt: np.ndarray, scratch: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cancel one average order per position (repeats cancel several); returns (lots cut, size before)."""
    np.add.at(scratch, pos, 1)
    n = scratch[pos]
    scratch[pos] = 0
    c = cnt[pos]
    s = sz[pos]
    gone = np.minimum(c, n)
    cut = s * gone // np.maximum(c, 1)
    sz[pos] = s - cut
    cnt[pos] = c - gone
    return cut, s


def _dedup(it: Iterator[int]) -> Iterator[int]:
    last = None
    for i in it:
        if i != last:
            yield i
            last = i


class Demand(Protocol):
    """How much a taker wants at each price; `took` is told what it got there."""

    def want(self, idx: int) -> int: ...

    def took(self, idx: int, lots: int) -> None: ...


class SizeDemand:
    def __init__(self, lots: int):
        self.left = lots

    def want(self, idx: int) -> int:
        return self.left

    def took(self, idx: int, lots: int) -> None:
        self.left -= lots


class QuoteDemand:
    """Trade up to `budget` of quote currency (and at most `max_lots`); `lot_value(idx)` is one
    lot's quote value at idx."""

    def __init__(self, budget, lot_value: Callable[[int], object], max_lots: int | None = None):
        self.left = budget
        self.lot_value = lot_value
        self.lots_left = max_lots

    def want(self, idx: int) -> int:
        n = int(self.left // self.lot_value(idx))
        return n if self.lots_left is None else min(n, self.lots_left)

    def took(self, idx: int, lots: int) -> None:
        self.left -= self.lot_value(idx) * lots
        if self.lots_left is not None:
            self.lots_left -= lots


class Book:
    """Both sides of one instrument's book.

    Simulated size and counts of both sides share one (2, width) array (row 0 bids, row 1 asks), so
    the market model can add and cancel on both sides in one vectorised call: a flat position is
    `row * width + offset`.
    """

    def __init__(self, centre: int, width: int = 8192):
        self.width = width
        base = centre - width // 2
        self.sz = np.zeros((2, width), np.int64)
        self.cnt = np.zeros((2, width), np.int64)
        self._scratch = np.zeros((2, width), np.int64)
        self.bids = Side(True, self.sz[0], self.cnt[0], self._scratch[0], base)
        self.asks = Side(False, self.sz[1], self.cnt[1], self._scratch[1], base)

    def add_sim(self, flat: np.ndarray, lots: np.ndarray) -> None:
        """Simulated orders at flat positions (both sides at once) join the back of their queues."""
        np.add.at(self.sz.reshape(-1), flat, lots)
        np.add.at(self.cnt.reshape(-1), flat, 1)

    def cancel_sim(self, flat: np.ndarray) -> None:
        """Cancel one average simulated order at each flat position (both sides at once)."""
        cut, before = _cancel(self.sz.reshape(-1), self.cnt.reshape(-1), self._scratch.reshape(-1), flat)
        if self.bids.agents or self.asks.agents:
            w = self.width
            for side, keep in ((self.bids, flat < w), (self.asks, flat >= w)):
                if side.agents:
                    side.shorten_queues((flat[keep] % w).tolist(), cut[keep].tolist(), before[keep].tolist())

    def side(self, side: str) -> Side:
        """The side a resting order of `side` joins."""
        return self.bids if side == BUY else self.asks

    def opposite(self, side: str) -> Side:
        """The side a taker of `side` consumes."""
        return self.asks if side == BUY else self.bids

    def recentre_if_needed(self, centre: int) -> None:
        off = centre - self.bids.base
        if self.width // 4 <= off < 3 * self.width // 4:
            return
        base = centre - self.width // 2
        self.bids.recentre(base)
        self.asks.recentre(base)

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def take(self, side: str, demand: Demand, limit: int | None = None, taker: str | None = None,
             on_self_trade: Callable[[Resting], None] = lambda o: None) -> list[LevelFill]:
        """A taker of `side` consumes the opposite side (see Side.take)."""
        return self.opposite(side).take(demand, limit, taker, on_self_trade)

    def liquidity(self, side: str, limit: int | None, taker: str | None = None) -> Iterator[tuple[int, int]]:
        """(price, lots) a taker of `side` could trade, best first, up to `limit` (own orders excluded)."""
        s = self.opposite(side)
        for idx in s.prices(limit):
            n = s.sim_size(idx) + sum(o.rem for o in s.agents.get(idx, ()) if o.account != taker)
            if n:
                yield idx, n
