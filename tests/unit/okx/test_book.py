"""The order-book engine: chain rule, checksum, invalidation, the one-resync rule, REST seeding, real data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftlab.domain.market import TopOfBook
from hftlab.okx.book import BookKeeper, OrderBook, RestSnapshot, SeedResult, Status, splice_rest_snapshot
from hftlab.okx.checksum import okx_checksum
from hftlab.okx.events import BookMsg
from hftlab.okx.parse import parse_frame
from hftlab.okx.replay import frames_of

WS = "okx/ws"
FILE_2022 = f"{WS}/okx_v5_2022-02-27_books-l2-tbt_trades_tickers.ws.jsonl"
FILES_2026 = [f"{WS}/okx-spot_BTC-USDT_2026-07-23.jsonl", f"{WS}/okx-swap_BTC-USDT-SWAP_2026-07-03.jsonl",
              f"{WS}/okx-swap_BTC-USDT-SWAP_2026-07-23.jsonl"]


def msg(action, bids=(), asks=(), seq=None, prev=None, checksum=None, channel="books", inst="BTC-USDT", recv_ns=1):
    return BookMsg(channel, inst, action, [list(x) for x in asks], [list(x) for x in bids], 1, recv_ns,
                   checksum, seq, prev)


def book_msgs(shared_data, path) -> list[BookMsg]:
    return [e for raw, ns in frames_of(shared_data / path) for e in parse_frame(raw, ns) if isinstance(e, BookMsg)]


def pairs(levels):
    return [lv[:2] for lv in levels]


# -- rules, one at a time --------------------------------------------------------------------------

def test_docs_chain_example_snapshot_update_idle_reset_update():
    book = OrderBook()
    steps = [msg("snapshot", [("10", "1")], [("11", "1")], seq=10, prev=-1), msg("update", [("10", "2")], seq=15, prev=10),
             msg("update", seq=15, prev=15), msg("update", [("9", "1")], seq=3, prev=15), msg("update", seq=5, prev=3)]
    assert [book.apply(m) for m in steps] == [Status.SNAPSHOT] + [Status.UPDATE] * 4
    assert (book.valid, book.seq_id, book.stats.keepalives, book.stats.resets, book.stats.seq_checked) == (True, 5, 1, 1, 4)
    assert pairs(book.bids()) == [["10", "2"], ["9", "1"]]


def test_gap_invalidates_and_ignores_updates_until_a_snapshot():
    book = OrderBook()
    book.apply(msg("snapshot", [("10", "1")], [("11", "1")], seq=10, prev=-1))
    assert book.apply(msg("update", [("10", "5")], seq=20, prev=12)) is Status.BREAK
    assert not book.valid and "prevSeqId 12" in book.reason and book.bids() == []
    assert book.apply(msg("update", [("10", "7")], seq=25, prev=20)) is Status.IGNORED
    assert book.apply(msg("snapshot", [("10", "3")], [("11", "1")], seq=30, prev=-1)) is Status.SNAPSHOT
    assert book.valid and pairs(book.bids()) == [["10", "3"]]
    assert (book.stats.breaks, book.stats.ignored, book.stats.snapshots) == (1, 1, 2)


def test_missing_prev_seq_id_is_unknown_not_zero():
    book = OrderBook()
    book.apply(msg("snapshot", [("10", "1")], seq=10, prev=-1))
    assert book.apply(msg("update", [("9", "1")])) is Status.UPDATE  # 2022-era: no ids at all
    assert book.seq_id == 10 and book.stats.seq_checked == 0
    legacy = OrderBook()
    legacy.apply(msg("snapshot", [("10", "1")]))  # no seqId on the snapshot either
    assert legacy.apply(msg("update", [("9", "1")], seq=7, prev=6)) is Status.UPDATE
    assert legacy.apply(msg("update", [("9", "2")], seq=8, prev=0)) is Status.BREAK  # now the chain is known


def test_checksum_zero_or_absent_is_skipped_non_zero_is_verified():
    bids, asks = [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    book = OrderBook()
    assert book.apply(msg("snapshot", bids, asks, checksum=0)) is Status.SNAPSHOT
    assert book.apply(msg("snapshot", bids, asks)) is Status.SNAPSHOT
    assert book.apply(msg("snapshot", bids, asks, checksum=831078360)) is Status.SNAPSHOT
    assert (book.stats.checksum_absent, book.stats.checksum_verified) == (2, 1)
    assert book.apply(msg("update", [("3366.1", "8")], checksum=831078360)) is Status.MISMATCH
    assert not book.valid and "checksum mismatch" in book.reason
    assert book.stats.checksum_mismatched == 1


def test_size_zero_deletes_and_unknown_prices_are_a_no_op():
    book = OrderBook()
    book.apply(msg("snapshot", [("10", "1"), ("9", "2")], [("11", "1")]))
    top_before = book.checksum()
    assert book.apply(msg("update", [("8.5", "0")], [("12", "0")])) is Status.UPDATE  # never sent: no-op
    assert book.checksum() == top_before and book.depth() == (2, 1)
    book.apply(msg("update", [("10", "0")], [("11", "0.000")]))
    assert pairs(book.bids()) == [["9", "2"]] and book.asks() == []


def test_prices_keep_their_strings_and_order_numerically():
    book = OrderBook()
    book.apply(msg("snapshot", [("9.5", "1"), ("10", "1.50"), ("9.75", "2")], [("100", "1"), ("20.25", "0.00001")]))
    assert pairs(book.bids()) == [["10", "1.50"], ["9.75", "2"], ["9.5", "1"]]
    assert pairs(book.asks()) == [["20.25", "0.00001"], ["100", "1"]]
    assert book.best_bid()[:2] == ["10", "1.50"] and pairs(book.asks(1)) == [["20.25", "0.00001"]]
    assert book.top_of_book() == TopOfBook("", "10", "1.50", "20.25", "0.00001", ts_ms=1, seq_id=None, valid=True,
                                           recv_ns=1)
    book.invalidate("test")
    assert book.top_of_book() == TopOfBook("", None, None, None, None, ts_ms=1, seq_id=None, valid=False, recv_ns=1)


def test_crossed_books_are_counted_not_rejected():
    book = OrderBook()
    assert book.apply(msg("snapshot", [("101", "1")], [("100", "1")])) is Status.SNAPSHOT
    assert book.valid and book.crossed and book.stats.crossed == 1
    book.apply(msg("update", asks=[("102", "1"), ("100", "0")]))
    assert not book.crossed and book.stats.crossed == 1


@pytest.mark.parametrize("channel", ["books5", "bbo-tbt"])
def test_top_channels_replace_the_book(channel):
    book = OrderBook(channel)
    book.apply(msg(None, [("10", "1"), ("9", "1")], [("11", "1")], seq=5, channel=channel))
    assert book.apply(msg(None, [("8", "1")], [("12", "1")], seq=9, channel=channel)) is Status.SNAPSHOT
    assert pairs(book.bids()) == [["8", "1"]] and pairs(book.asks()) == [["12", "1"]] and book.seq_id == 9


@pytest.mark.parametrize("level", [("abc", "1"), ("nan", "1"), ("inf", "1"), ("10", "")])
def test_malformed_levels_invalidate(level):
    book = OrderBook()
    book.apply(msg("snapshot", [("10", "1")]))
    assert book.apply(msg("update", [level])) is Status.MALFORMED
    assert not book.valid and book.stats.malformed == 1 and "malformed" in book.reason


# -- the property: the book equals a plain dict book under any sequence ---------------------------

PRICES = [f"{p / 4:g}" for p in range(370, 430)]  # 92.5, 92.75, ... : one string per number
SIZES = ["0", "1", "2.5", "0.001", "10", "0.50"]
_change = st.tuples(st.sampled_from(PRICES), st.sampled_from(SIZES))
_snap_level = st.tuples(st.sampled_from(PRICES), st.sampled_from(SIZES[1:]))
_side = st.lists(_snap_level, max_size=8) | st.lists(_snap_level, min_size=30, max_size=60)
_check = st.sampled_from(["correct", "correct", "zero", "absent", "wrong"])
_op = st.one_of(
    # deep snapshots too, so that changes cross the 25-level edge of the checksum
    st.tuples(st.just("snapshot"), _side, _side, st.booleans(), _check),
    st.tuples(st.sampled_from(["chain", "chain", "chain", "gap", "keepalive", "reset", "unknown"]),
              st.lists(_change, max_size=6), st.lists(_change, max_size=6), st.integers(1, 50), _check),
)


@dataclass
class RefBook:
    """What the engine must do, written as plainly as possible."""

    valid: bool = False
    last: int | None = None
    bids: dict[float, tuple[str, str]] = field(default_factory=dict)
    asks: dict[float, tuple[str, str]] = field(default_factory=dict)
    pending: bool = False  # a resync request is in flight
    crossed: int = 0

    def sorted_bids(self):
        return [list(self.bids[k]) for k in sorted(self.bids, reverse=True)]

    def sorted_asks(self):
        return [list(self.asks[k]) for k in sorted(self.asks)]


def _apply_levels(side, changes):
    for px, sz in changes:
        if sz == "0":
            side.pop(float(px), None)
        else:
            side[float(px)] = (px, sz)


def _checksum_for(ref, mode):
    correct = okx_checksum(ref.sorted_bids(), ref.sorted_asks())
    return {"correct": correct, "zero": 0, "absent": None, "wrong": correct + 1 if correct != -1 else 1}[mode]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=1, max_size=40), st.integers(0, 10**12))
def test_book_matches_a_dict_reference(ops, seq0):
    requests = []
    keeper = BookKeeper(on_resync=lambda c, i, r: requests.append(r))
    ref, seq, expected_requests = RefBook(), seq0, 0
    for op in ops:
        kind = op[0]
        if kind == "snapshot":
            _, bids, asks, with_seq, mode = op
            seq += 7
            new = RefBook(valid=True, last=seq if with_seq else None, pending=ref.pending, crossed=ref.crossed)
            _apply_levels(new.bids, bids)
            _apply_levels(new.asks, asks)
            checksum = _checksum_for(new, mode)
            m = msg("snapshot", bids, asks, seq if with_seq else None, -1 if with_seq else None, checksum)
            ref, expected = new, Status.SNAPSHOT
            ref.pending = False
        else:
            _, bids, asks, step, mode = op
            last = ref.last
            if kind == "keepalive":
                bids, asks, prev, new_seq = [], [], last, last
            elif kind == "unknown":
                prev, new_seq = None, None
            elif kind == "gap":
                prev, new_seq = (last if last is not None else 0) + step, (last or 0) + 2 * step
            elif kind == "reset":
                prev, new_seq = last, max(0, (last or 0) - step)
            else:
                prev, new_seq = last, (last or 0) + step
            if not ref.valid:
                expected, checksum = Status.IGNORED, None
            elif prev is not None and last is not None and prev != last:
                expected, checksum = Status.BREAK, None
            else:
                _apply_levels(ref.bids, bids)
                _apply_levels(ref.asks, asks)
                if new_seq is not None:
                    ref.last = new_seq
                checksum = _checksum_for(ref, mode)
                expected = Status.UPDATE
            m = msg("update", bids, asks, new_seq, prev, checksum)
        if expected in (Status.SNAPSHOT, Status.UPDATE) and checksum and mode == "wrong":
            expected = Status.MISMATCH
        status = keeper.apply(m)
        assert status is expected, (op, status, expected)
        if expected in (Status.BREAK, Status.MISMATCH, Status.IGNORED):
            ref.valid, ref.bids, ref.asks = False, {}, {}
            if not ref.pending:
                ref.pending, expected_requests = True, expected_requests + 1
        elif ref.bids and ref.asks and max(ref.bids) >= min(ref.asks):
            ref.crossed += 1
        book = keeper.books[("books", "BTC-USDT")]
        assert book.valid is ref.valid
        assert (keeper.get("books", "BTC-USDT") is book) is ref.valid
        if ref.valid:
            assert pairs(book.bids()) == ref.sorted_bids() and pairs(book.asks()) == ref.sorted_asks()
            assert book.checksum() == okx_checksum(ref.sorted_bids(), ref.sorted_asks())
        assert len(requests) == expected_requests
        assert keeper.resync_pending("books", "BTC-USDT") is ref.pending
        assert book.stats.crossed == ref.crossed


_deep_change = st.tuples(st.sampled_from(PRICES), st.sampled_from(["0", "0", "1", "2.5", "0.50"]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_snap_level, min_size=30, max_size=60), st.lists(_snap_level, min_size=30, max_size=60),
       st.lists(st.tuples(st.lists(_deep_change, max_size=8), st.lists(_deep_change, max_size=8)), min_size=1,
                max_size=30))
def test_deep_book_top_levels_follow_every_change(bids, asks, updates):
    """Inserts, replacements and deletes on either side of the 25th level keep the checksum's top exact."""
    ref = RefBook()
    _apply_levels(ref.bids, bids)
    _apply_levels(ref.asks, asks)
    book = OrderBook()
    checksums = [okx_checksum(ref.sorted_bids(), ref.sorted_asks())]
    book.apply(msg("snapshot", bids, asks, checksum=checksums[0]))
    for bid_changes, ask_changes in updates:
        _apply_levels(ref.bids, bid_changes)
        _apply_levels(ref.asks, ask_changes)
        checksums.append(okx_checksum(ref.sorted_bids(), ref.sorted_asks()))
        assert book.apply(msg("update", bid_changes, ask_changes, checksum=checksums[-1])) is Status.UPDATE
        assert pairs(book.bids()) == ref.sorted_bids() and pairs(book.asks()) == ref.sorted_asks()
    # an emptied book has checksum crc32("") == 0, which reads as "not provided"
    assert book.stats.checksum_verified == sum(1 for c in checksums if c)


# -- BookKeeper: one resync in flight ---------------------------------------------------------------

def test_one_resync_in_flight_per_book():
    calls = []
    keeper = BookKeeper(on_resync=lambda channel, inst, reason: calls.append((channel, inst, reason)))
    keeper.apply(msg("snapshot", [("10", "1")], seq=1, prev=-1))
    keeper.apply(msg("snapshot", [("10", "1")], seq=1, prev=-1, inst="ETH-USDT"))
    assert keeper.apply(msg("update", seq=9, prev=5)) is Status.BREAK
    assert calls == [("books", "BTC-USDT", "sequence break: prevSeqId 5 after seqId 1")]
    for i in range(20):  # the storm: every later update, a client-side drop, a bad checksum
        assert keeper.apply(msg("update", seq=10 + i, prev=9 + i)) is Status.IGNORED
    assert keeper.invalidate("books", "BTC-USDT", "dropped from the queue") is False  # not served any more
    assert len(calls) == 1 and keeper.resync_pending("books", "BTC-USDT")
    assert keeper.get("books", "BTC-USDT") is None and keeper.get("books", "ETH-USDT") is not None
    # the other book is independent
    assert keeper.invalidate("books", "ETH-USDT", "dropped from the queue") is True
    assert calls[-1] == ("books", "ETH-USDT", "dropped from the queue")
    # a snapshot re-arms: the next trouble asks again
    keeper.apply(msg("snapshot", [("10", "1")], seq=50, prev=-1))
    assert not keeper.resync_pending("books", "BTC-USDT")
    keeper.apply(msg("update", [("10", "1")], seq=60, prev=55))
    assert len(calls) == 3
    assert keeper.books[("books", "BTC-USDT")].stats.resyncs == 2


def test_an_update_before_any_snapshot_asks_once():
    calls = []
    keeper = BookKeeper(on_resync=lambda *a: calls.append(a))
    for i in range(5):
        assert keeper.apply(msg("update", seq=i + 1, prev=i)) is Status.IGNORED
    assert calls == [("books", "BTC-USDT", "no snapshot yet")]


def test_bind_resync_routes_later_requests():
    calls = []
    keeper = BookKeeper()
    keeper.apply(msg("update", seq=2, prev=1))  # unbound: nobody to ask, the book just waits
    keeper.bind_resync(lambda *a: calls.append(a))
    keeper.apply(msg("snapshot", [("10", "1")], seq=3, prev=-1))
    keeper.apply(msg("update", seq=9, prev=5))
    assert calls == [("books", "BTC-USDT", "sequence break: prevSeqId 5 after seqId 3")]


def test_keeper_stats_sum_the_books():
    keeper = BookKeeper()
    keeper.apply(msg("snapshot", [("10", "1")]))
    keeper.apply(msg("snapshot", [("10", "1")], inst="ETH-USDT"))
    keeper.apply(msg("update", [("9", "1")], inst="ETH-USDT"))
    s = keeper.stats()
    assert (s.snapshots, s.updates, s.checksum_absent) == (2, 1, 3)
    assert s.as_dict()["updates"] == 1


# -- REST seeding (protocol doc §3.4) -------------------------------------------------------------

def test_rest_snapshot_from_the_docs_example(shared_data):
    with (shared_data / "okx/fixtures/docs_examples/rest_get_market_books.json").open() as f:
        data0 = json.load(f)["examples"][0]["json"]["data"][0]
    snap = RestSnapshot.from_response(data0)
    assert (snap.seq_id, snap.ts_ms, snap.asks[0][:2]) == (3235851742, 1629966436396, ["41006.8", "0.60038921"])
    with pytest.raises(ValueError, match="seqId"):
        RestSnapshot.from_response({"asks": [], "bids": [], "ts": "1"})


def test_splice_rules():
    ups = [msg("update", seq=s, prev=p) for p, s in [(100, 105), (105, 110), (110, 120)]]
    assert splice_rest_snapshot(99, ups) is None  # snapshot older than the first buffered update's prevSeqId
    assert [m.seq_id for m in splice_rest_snapshot(100, ups)] == [105, 110, 120]
    assert [m.seq_id for m in splice_rest_snapshot(107, ups)] == [110, 120]
    assert splice_rest_snapshot(120, ups) == []
    assert splice_rest_snapshot(5, []) == []
    ws_snapshot = msg("snapshot", seq=100, prev=-1)
    assert [m.seq_id for m in splice_rest_snapshot(100, [ws_snapshot, *ups])] == [105, 110, 120]


def _rest_answer(book: OrderBook, seq_id: int) -> dict:
    return {"asks": book.asks(), "bids": book.bids(), "ts": "1784812293006", "seqId": seq_id}


@pytest.mark.parametrize("path", FILES_2026)
def test_seed_from_rest_with_real_updates(shared_data, path):
    """The WS snapshot is gone: updates arrive first, are buffered, then a REST snapshot taken after the
    first update arrives; the spliced book must equal the one built from the WS snapshot."""
    snapshot, *updates = book_msgs(shared_data, path)
    assert snapshot.action == "snapshot" and len(updates) == 3
    full = OrderBook()
    for m in [snapshot, *updates]:
        full.apply(m)
    after_first = OrderBook()
    for m in [snapshot, updates[0]]:
        after_first.apply(m)

    calls = []
    keeper = BookKeeper(on_resync=lambda *a: calls.append(a))
    for m in updates:
        assert keeper.apply(m) is Status.IGNORED
    assert len(calls) == 1
    assert keeper.seed_from_rest(snapshot.channel, snapshot.inst_id,
                                 _rest_answer(after_first, updates[0].seq_id)) is SeedResult.SEEDED
    book = keeper.get(snapshot.channel, snapshot.inst_id)
    assert book is not None and book.seq_id == updates[-1].seq_id
    assert book.bids() == full.bids() and book.asks() == full.asks()
    assert not keeper.resync_pending(snapshot.channel, snapshot.inst_id)
    assert book.stats.rest_seeds == 1


def test_seed_from_rest_refetch_break_inequality_and_skips():
    ups = [msg("update", [("10", str(i))], seq=s, prev=p) for i, (p, s) in enumerate([(100, 105), (105, 110)], 1)]
    rest = {"asks": [["11", "1", "0", "1"]], "bids": [["10", "9", "0", "1"]], "ts": "1"}

    keeper = BookKeeper()
    for m in ups:
        keeper.apply(m)
    assert keeper.seed_from_rest("books", "BTC-USDT", {**rest, "seqId": 90}) is SeedResult.REFETCH
    assert keeper.resync_pending("books", "BTC-USDT")
    # REST's seqId need not be a WS seqId: 107 sits between 105 and 110 (prevSeqId 105 <= 107 < 110)
    assert keeper.seed_from_rest("books", "BTC-USDT", {**rest, "seqId": 107}) is SeedResult.SEEDED
    assert pairs(keeper.get("books", "BTC-USDT").bids()) == [["10", "2"]]

    gapped = BookKeeper()
    gapped.apply(msg("update", seq=105, prev=100))
    gapped.apply(msg("update", seq=130, prev=120))  # 105 -> 120 was lost
    assert gapped.seed_from_rest("books", "BTC-USDT", {**rest, "seqId": 110}) is SeedResult.BREAK
    assert gapped.get("books", "BTC-USDT") is None and gapped.resync_pending("books", "BTC-USDT")

    # nothing buffered: the REST snapshot is ahead of the live stream; older updates are skipped
    ahead = BookKeeper()
    assert ahead.seed_from_rest("books", "BTC-USDT", {**rest, "seqId": 200}) is SeedResult.SEEDED
    assert ahead.apply(msg("update", [("10", "0")], seq=190, prev=180)) is Status.SKIPPED
    assert ahead.apply(msg("update", [("10", "0")], seq=210, prev=200)) is Status.UPDATE
    assert ahead.apply(msg("update", seq=220, prev=205)) is Status.BREAK  # strict again after the first


# -- real recordings -------------------------------------------------------------------------------

def test_2022_recording_counts_and_every_checksum(shared_data):
    msgs = book_msgs(shared_data, FILE_2022)
    keeper = BookKeeper()
    statuses = [keeper.apply(m) for m in msgs]
    s = keeper.stats()
    # 10 books; every snapshot arrives twice (the recorder re-subscribed) and each arrival is counted
    assert (s.snapshots, s.updates) == (20, 3659)
    assert s.checksum_verified == 3679 and s.checksum_mismatched == 0 and s.breaks == 0
    assert statuses.count(Status.SNAPSHOT) == 20 and len(keeper.books) == 10
    assert all(b.valid for b in keeper.books.values())


def test_2022_duplicate_snapshots_are_harmless(shared_data):
    msgs = book_msgs(shared_data, FILE_2022)
    snaps = [m for m in msgs if m.action == "snapshot"]
    assert len({(m.inst_id, m.checksum, m.ts_ms) for m in snaps}) == 10  # each one twice, identical
    for m in snaps:
        book = OrderBook(m.channel, m.inst_id)
        book.apply(m)
        before = (book.bids(), book.asks(), book.checksum())
        assert book.apply(m) is Status.SNAPSHOT
        assert (book.bids(), book.asks(), book.checksum()) == before == (book.bids(), book.asks(), m.checksum)


@pytest.mark.parametrize("path", FILES_2026)
def test_2026_recordings_checksum_zero_and_seq_chain(shared_data, path):
    msgs = book_msgs(shared_data, path)
    assert all(m.checksum == 0 for m in msgs)
    keeper = BookKeeper()
    assert [keeper.apply(m) for m in msgs] == [Status.SNAPSHOT, Status.UPDATE, Status.UPDATE, Status.UPDATE]
    s = keeper.stats()
    assert (s.checksum_absent, s.checksum_verified, s.seq_checked, s.breaks) == (4, 0, 3, 0)


def test_negative_control_dropped_update_in_2022_is_a_mismatch(shared_data):
    msgs = book_msgs(shared_data, FILE_2022)
    # drop an ELON-USDT update that changes its top 25 levels, so the next checksum must differ
    i = next(i for i, m in enumerate(msgs) if m.action == "update" and m.inst_id == "ELON-USDT" and i > 200)
    keeper = BookKeeper()
    for m in msgs[:i] + msgs[i + 1:]:
        keeper.apply(m)
    s = keeper.stats()
    assert s.checksum_mismatched == 1 and s.breaks == 0
    assert not keeper.books[("books-l2-tbt", "ELON-USDT")].valid


@pytest.mark.parametrize("path", FILES_2026)
def test_negative_control_dropped_update_in_a_seq_chain_is_a_break(shared_data, path):
    snapshot, u1, u2, u3 = book_msgs(shared_data, path)
    calls = []
    keeper = BookKeeper(on_resync=lambda *a: calls.append(a))
    assert [keeper.apply(m) for m in (snapshot, u1, u3)] == [Status.SNAPSHOT, Status.UPDATE, Status.BREAK]
    assert keeper.stats().breaks == 1 and len(calls) == 1


def test_seq_ids_beyond_32_bits_survive(shared_data):
    msgs = book_msgs(shared_data, FILES_2026[1])
    assert all(m.seq_id > 2**32 for m in msgs)
    assert orjson.loads(orjson.dumps(msgs[0].seq_id)) == msgs[0].seq_id


# -- the book engine on hostile messages (the parser bypassed): a Status, never an exception ------

_hostile_str = st.sampled_from(["1", "100.5", "0", "-1", "-0", "abc", "", "inf", "nan", "1e400", "1e-400", " 5",
                                "9" * 30, "\u0661", "0x1"])
_hostile_level = st.one_of(st.lists(_hostile_str | st.integers() | st.none() | st.floats(), max_size=5),
                           st.tuples(_hostile_str, _hostile_str), st.none(), st.integers(), _hostile_str,
                           st.dictionaries(_hostile_str, _hostile_str, max_size=2))
_hostile_side = st.lists(_hostile_level, max_size=6) | st.none() | _hostile_str | st.integers()
_hostile_int = st.none() | st.integers(-(2**70), 2**70) | st.sampled_from([-1, 0, 1, 2, 3])
_hostile_msg = st.builds(
    BookMsg, st.sampled_from(["books", "books5", "bbo-tbt"]), st.sampled_from(["A", "B"]),
    st.sampled_from(["snapshot", "update", None, "bogus", 3]), _hostile_side, _hostile_side,
    st.integers(-(2**70), 2**70), st.integers(0, 2**62), _hostile_int, _hostile_int, _hostile_int)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_hostile_msg, min_size=1, max_size=20))
def test_hostile_messages_never_raise_out_of_the_book_engine(msgs):
    keeper = BookKeeper()
    for m in msgs:
        assert isinstance(keeper.apply(m), Status)
        for book in keeper.books.values():
            if book.valid:  # a valid book can always be read
                book.top_of_book()
                book.checksum()
