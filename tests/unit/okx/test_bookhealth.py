"""Book health on explicit monotonic time: stale watchdog, one resync in flight, REST seed, retries."""

from __future__ import annotations

import pytest

from hftlab.okx.book import BookKeeper, SeedResult
from hftlab.okx.bookhealth import BookHealth
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import BookMsg
from hftlab.okx.rest import RestError

BTC, ETH = ("books", "BTC-USDT"), ("books", "ETH-USDT")
CONFIG = ClientConfig(stale_after_s=10.0, snapshot_timeout_s=2.0, resync_timeout_s=5.0)


def msg(action, seq, prev, inst="BTC-USDT", bids=(("100", "1"),), asks=(("101", "1"),)) -> BookMsg:
    return BookMsg("books", inst, action, [list(a) for a in asks], [list(b) for b in bids], 1, 1, 0, seq, prev)


class Sockets:
    """What BookHealth drives: resubscribes (recorded), the sockets' state, the REST books call."""

    def __init__(self):
        self.up = True
        self.resubscribed: list[tuple[str, str]] = []
        self.rest_answers: list = []
        self.fetched = 0

    def resubscribe(self, channel: str, inst_id: str) -> bool:
        if not self.up:
            return False
        self.resubscribed.append((channel, inst_id))
        return True

    async def fetch(self, inst_id: str) -> dict:
        self.fetched += 1
        answer = self.rest_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(keys=(BTC, ETH), config=CONFIG, now=0.0):
    sockets, keeper = Sockets(), BookKeeper()
    health = BookHealth(config, keeper, resubscribe=sockets.resubscribe, connected=lambda role: sockets.up,
                        fetch_books=sockets.fetch)
    keeper.bind_resync(lambda channel, inst_id, reason: health.resync(channel, inst_id, reason, sockets.now))
    sockets.now = now
    for key in keys:
        health.subscribed(key, now)
    return health, keeper, sockets


def deliver(health, keeper, sockets, m: BookMsg, now: float) -> None:
    """What the client does with a book push: liveness first, then the owner applies it."""
    sockets.now = now
    health.pushed((m.channel, m.inst_id), now, m.action == "snapshot")
    keeper.apply(m)


def test_a_silent_book_is_invalidated_and_resynced_once():
    health, keeper, sockets = make()
    deliver(health, keeper, sockets, msg("snapshot", 1, -1), 0.0)
    deliver(health, keeper, sockets, msg("snapshot", 1, -1, inst="ETH-USDT"), 8.0)
    sockets.now = 10.5
    assert health.tick(10.5) == []
    assert keeper.get(*BTC) is None and keeper.get(*ETH) is not None, "only the silent book"
    assert sockets.resubscribed == [BTC] and health.stats.stale_resyncs == 1
    sockets.now = 11.0
    health.tick(11.0)
    assert sockets.resubscribed == [BTC], "a resync in flight is not asked for again"


def test_one_resync_in_flight_per_book_until_a_snapshot_answers_it():
    health, keeper, sockets = make()
    deliver(health, keeper, sockets, msg("snapshot", 1, -1), 0.0)
    for i in range(5):  # a break, then the storm of updates that no longer chain
        deliver(health, keeper, sockets, msg("update", 10 + i, 5 + i), 0.1)
    health.resync(*BTC, "asked again by someone", 0.2)
    assert sockets.resubscribed == [BTC]
    deliver(health, keeper, sockets, msg("snapshot", 20, -1), 0.3)
    assert keeper.get(*BTC) is not None
    deliver(health, keeper, sockets, msg("update", 30, 25), 0.4)  # new trouble: a new request
    assert sockets.resubscribed == [BTC, BTC] and health.stats.resubscribes == 2


def test_an_unanswered_resync_is_sent_again_after_resync_timeout():
    health, keeper, sockets = make(keys=(BTC,))
    deliver(health, keeper, sockets, msg("snapshot", 1, -1), 1.0)
    deliver(health, keeper, sockets, msg("update", 3, 2), 2.0)
    health.pushed(BTC, 2.5, False)  # an ignored update: not an answer
    health.tick(6.0)
    assert sockets.resubscribed == [BTC]
    health.tick(7.1)
    assert sockets.resubscribed == [BTC, BTC] and health.stats.resync_retries == 1
    deliver(health, keeper, sockets, msg("snapshot", 9, -1), 8.0)
    health.tick(12.0)  # answered: settled, nothing more
    assert sockets.resubscribed == [BTC, BTC] and keeper.get(*BTC) is not None


def test_no_ws_snapshot_within_snapshot_timeout_makes_the_book_due_for_a_rest_seed_once():
    health, keeper, sockets = make(keys=(BTC, ETH))
    for inst in ("BTC-USDT", "ETH-USDT"):
        deliver(health, keeper, sockets, msg("snapshot", 1, -1, inst=inst), 0.0)
        deliver(health, keeper, sockets, msg("update", 3, 2, inst=inst), 1.0)
    deliver(health, keeper, sockets, msg("snapshot", 4, -1, inst="ETH-USDT"), 1.5)  # ETH's snapshot came
    assert health.tick(2.9) == []
    assert health.tick(3.1) == [BTC]
    assert health.tick(3.2) == [], "one seed per request"
    assert health.tick(6.1) == [] and sockets.resubscribed[-1] == BTC  # the retry ...
    assert health.tick(8.2) == [BTC]  # ... gets its own seed


def test_a_request_made_while_the_socket_is_down_is_carried_by_the_reconnect():
    health, keeper, sockets = make(keys=(BTC,))
    deliver(health, keeper, sockets, msg("snapshot", 1, -1), 0.0)
    sockets.up = False
    health.lost([BTC, ("trades", "BTC-USDT")], "close 4004")
    assert keeper.get(*BTC) is None and health.stats.books_invalidated_on_loss == 1
    assert sockets.resubscribed == [] and health.tick(50.0) == []  # nothing happens while down
    sockets.up = True
    health.subscribed(BTC, 60.0)  # the reconnect subscribes afresh: its snapshot answers
    assert health.tick(61.0) == [] and health.tick(62.1) == [BTC]
    health.lost([BTC], "again")
    assert health.stats.books_invalidated_on_loss == 1, "only books being served are counted"


def test_a_dropped_resync_snapshot_asks_again_at_once():
    health, keeper, sockets = make(keys=(BTC,))
    deliver(health, keeper, sockets, msg("snapshot", 1, -1), 0.0)
    health.dropped(msg("update", 2, 1), 0.1)
    assert keeper.get(*BTC) is None and sockets.resubscribed == [BTC]
    health.dropped(msg("update", 3, 2), 0.2)
    assert sockets.resubscribed == [BTC], "the request in flight covers it"
    answer = msg("snapshot", 5, -1)
    health.pushed(BTC, 0.3, True)  # it reached the queue ...
    health.dropped(answer, 0.4)  # ... and was dropped from it
    assert sockets.resubscribed == [BTC, BTC]


async def test_seed_builds_the_book_from_rest_and_refetches_a_stale_answer():
    health, keeper, sockets = make(keys=(BTC,))
    keeper.invalidate(*BTC, "no snapshot will come")
    for seq in (11, 12, 13):
        keeper.apply(msg("update", seq, seq - 1))
    sockets.rest_answers = [{"asks": [["101", "1", "0", "1"]], "bids": [["100", "2", "0", "1"]], "ts": "5",
                             "seqId": 9},  # older than the first buffered update's prevSeqId: again
                            {"asks": [["101", "1", "0", "1"]], "bids": [["100", "2", "0", "1"]], "ts": "6",
                             "seqId": 12}]
    assert await health.seed(*BTC) is SeedResult.SEEDED
    assert sockets.fetched == 2 and health.stats.rest_seeds == {"refetch": 1, "seeded": 1}
    book = keeper.get(*BTC)
    assert book is not None and book.seq_id == 13


async def test_seed_gives_up_on_rest_errors_and_when_a_snapshot_came_meanwhile():
    health, keeper, sockets = make(keys=(BTC,))
    keeper.invalidate(*BTC, "no snapshot will come")
    sockets.rest_answers = [RestError("/market/books", "50001", "busy")]
    assert await health.seed(*BTC) is None
    keeper.apply(msg("snapshot", 20, -1))
    sockets.rest_answers = [{"asks": [], "bids": [], "ts": "1", "seqId": 30}]
    assert await health.seed(*BTC) is None and not health.stats.rest_seeds
    assert keeper.get(*BTC).seq_id == 20


def test_without_an_owner_nothing_is_watched():
    sockets = Sockets()
    health = BookHealth(CONFIG, None, resubscribe=sockets.resubscribe, connected=lambda role: True,
                        fetch_books=sockets.fetch)
    health.subscribed(BTC, 0.0)
    health.dropped(msg("update", 2, 1), 1.0)
    health.resync(*BTC, "nobody owns it", 1.0)
    assert health.tick(100.0) == [] and sockets.resubscribed == []


@pytest.mark.parametrize("channel", ["trades", "tickers", "candle1m"])
def test_only_book_channels_are_watched(channel):
    health, keeper, sockets = make(keys=((channel, "BTC-USDT"),))
    assert health.tick(1000.0) == [] and not keeper.books
