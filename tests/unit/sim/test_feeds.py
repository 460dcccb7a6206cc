"""The books' observer: every seqId the venue spends is announced with its changes, published or not."""

from __future__ import annotations

import orjson

from hftlab.sim.exchange import SimExchange
from hftlab.sim.faults import FaultInjector
from hftlab.sim.feeds import MarketFeeds
from hftlab.sim.hub import Hub, SimStats
from hftlab.sim.instruments import default_instruments


class Subscriber:
    def __init__(self):
        self.frames = []

    def send(self, payload: bytes, md: bool = False) -> None:
        self.frames.append(orjson.loads(payload))


def test_every_spent_seq_id_is_announced_with_the_changes_a_lost_one_included():
    inst = next(i for i in default_instruments() if i.inst_id == "BTC-USDT")
    ex = SimExchange([inst], seed=3, start_ms=1_767_225_600_000)
    faults = FaultInjector()
    hub = Hub(SimStats(), faults)
    sub = Subscriber()
    hub.subs[("books", "BTC-USDT")] = [sub]
    feeds = MarketFeeds(ex, hub, faults, seed=3)
    seen = []
    feeds.on_books = lambda inst_id, seq, bids, asks: seen.append((inst_id, seq, list(bids), list(asks)))
    faults.skip_seq("BTC-USDT")
    t = ex.now_ms
    while len(sub.frames) < 5:
        t += 100
        ex.advance_to(t)
        feeds.step(t)
    published = [f["data"][0] for f in sub.frames]
    assert [s for _, s, _, _ in seen][1:] == [p["seqId"] for p in published]  # the first one was lost
    assert published[0]["prevSeqId"] == seen[0][1]
    for (_, _, bids, asks), p in zip(seen[1:], published):
        assert [list(b[:2]) for b in bids] == [b[:2] for b in p["bids"]]
        assert [list(a[:2]) for a in asks] == [a[:2] for a in p["asks"]]
