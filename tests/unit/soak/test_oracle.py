"""The oracle of the venue's books: a book is right at a seqId if its top levels are the venue's then."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hftlab.soak.oracle import DEPTH, BookOracle, Verdict


def rows(*levels):
    return [(px, sz, 1) for px, sz in levels]


def client(levels):
    return [[px, sz, "0", "1"] for px, sz in levels]


def oracle():
    o = BookOracle(history=3)
    o.start("BTC-USDT", 10, rows(("100", "1"), ("99", "2")), rows(("101", "1"), ("102", "3")))
    return o


def test_a_book_matching_the_venue_at_its_seq_id_matches_and_at_another_does_not():
    o = oracle()
    o.on_books("BTC-USDT", 12, rows(("100", "0"), ("99.5", "4")), [])
    before = (client([("100", "1"), ("99", "2")]), client([("101", "1"), ("102", "3")]))
    after = (client([("99.5", "4"), ("99", "2")]), client([("101", "1"), ("102", "3")]))
    assert o.verify("BTC-USDT", 10, *before) is Verdict.MATCH
    assert o.verify("BTC-USDT", 12, *after) is Verdict.MATCH
    assert o.verify("BTC-USDT", 12, *before) is Verdict.MISMATCH
    assert o.verify("BTC-USDT", 12, client([("99.5", "4"), ("99", "9")]), after[1]) is Verdict.MISMATCH  # a size
    assert o.verify_top("BTC-USDT", 12, ("99.5", "4"), ("101", "1")) is Verdict.MATCH
    assert o.verify_top("BTC-USDT", 12, ("100", "1"), ("101", "1")) is Verdict.MISMATCH


def test_a_seq_id_never_spent_or_forgotten_is_unknown_never_a_verdict():
    o = oracle()
    for seq in (11, 13, 14, 15):
        o.on_books("BTC-USDT", seq, [], rows(("101", str(seq))))
    assert o.verify("BTC-USDT", 12, [], []) is Verdict.UNKNOWN  # never spent
    assert o.verify("BTC-USDT", 10, [], []) is Verdict.UNKNOWN  # beyond the history of 3
    assert o.verify("ETH-USDT", 15, [], []) is Verdict.UNKNOWN
    assert o.verify("BTC-USDT", None, [], []) is Verdict.UNKNOWN
    assert o.truth("BTC-USDT", 15).ask == ("101", "15")


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 3)), min_size=1, max_size=200))
def test_the_top_is_the_best_levels_of_what_was_applied(changes):
    """Against a plain dict book: bids best (highest) first, deletions by size 0, the top DEPTH levels."""
    o = BookOracle()
    o.start("X", 0, [], [])
    book: dict[str, str] = {}
    for seq, (px, sz) in enumerate(changes, 1):
        o.on_books("X", seq, [(str(px), str(sz), 1)], [])
        if sz:
            book[str(px)] = str(sz)
        else:
            book.pop(str(px), None)
    best = sorted(book.items(), key=lambda kv: -float(kv[0]))[:DEPTH]
    assert o.verify("X", len(changes), client(best), []) is Verdict.MATCH
    assert o.truth("X", len(changes)).bid == (best[0] if best else None)
