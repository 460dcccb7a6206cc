"""OKX's legacy book checksum against published vectors, real books and a reference implementation."""

from __future__ import annotations

import json
import zlib

from hypothesis import given
from hypothesis import strategies as st

from hftlab.okx.book import OrderBook, Status
from hftlab.okx.checksum import checksum_string, crc32_signed, interleave, okx_checksum
from hftlab.okx.parse import parse_frame


def _vectors(shared_data):
    with (shared_data / "okx/fixtures/test_vectors.json").open() as f:
        return json.load(f)["checksum"]


def _reference_checksum(bids, asks):
    """The protocol doc's reference (§3.1), written independently of hftlab.okx.checksum."""
    parts = []
    for i in range(25):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    c = zlib.crc32(":".join(parts).encode())
    return c - (1 << 32) if c & 0x80000000 else c


def test_string_vectors(shared_data):
    vectors = [v for v in _vectors(shared_data) if "input_string" in v]
    assert len(vectors) == 3
    for v in vectors:
        assert crc32_signed(v["input_string"]) == v["crc32_signed"]
        assert crc32_signed(v["input_string"]) & 0xFFFFFFFF == v["crc32_unsigned"]


def test_docs_example_book_computes_but_does_not_match_its_illustrative_value(shared_data):
    (v,) = [v for v in _vectors(shared_data) if "book" in v]
    assert okx_checksum(v["book"]["bids"], v["book"]["asks"]) == v["computed"]
    assert v["computed"] != v["docs_claimed_checksum"]


def test_docs_short_string_layout():
    # docs: 1 bid and 3 asks -> "bid1:ask1:ask2:ask3"
    bids = [["3366.1", "7"]]
    asks = [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert okx_checksum(bids, asks) == 831078360


def test_gocryptotrader_okx_snapshot(shared_data):
    raw = (shared_data / "okx/fixtures/gocryptotrader_okx_books_snapshot_20220806.json").read_bytes()
    (msg,) = parse_frame(raw, 0)
    assert msg.checksum == -1462286744
    assert okx_checksum(msg.bids, msg.asks) == -1462286744  # OKX sends levels best first
    book = OrderBook(msg.channel, msg.inst_id)
    assert book.apply(msg) is Status.SNAPSHOT
    assert book.checksum() == -1462286744
    assert book.stats.checksum_verified == 1
    assert book.checksum() & 0xFFFFFFFF == 2832680552  # what gocryptotrader asserts


def test_okcoin_snapshot_then_update(shared_data):
    path = shared_data / "okx/fixtures/gocryptotrader_okcoin_v5_books_snapshot_update_20230710.ndjson"
    msgs = [e for line in path.read_bytes().splitlines() if line.strip() for e in parse_frame(line, 0)]
    assert [m.checksum for m in msgs] == [-872896843, 1109161389]
    book = OrderBook()
    assert [book.apply(m) for m in msgs] == [Status.SNAPSHOT, Status.UPDATE]
    assert book.stats.checksum_verified == 2 and book.depth() == (266, 126)


def test_strings_are_used_verbatim():
    # "0.5000" must not become "0.5", nor 0.00001 "1e-05"
    assert checksum_string([["0.00001", "0.5000"]], [["0.00002", "10"]]) == "0.00001:0.5000:0.00002:10"


_px = st.text("0123456789.", min_size=1, max_size=8)
_levels = st.lists(st.tuples(_px, _px).map(list), max_size=40)


@given(_levels, _levels)
def test_matches_reference(bids, asks):
    assert okx_checksum(bids, asks) == _reference_checksum(bids, asks)


@given(st.lists(st.text(max_size=5), max_size=25), st.lists(st.text(max_size=5), max_size=25))
def test_interleave_order(bid_parts, ask_parts):
    expected = []
    for i in range(max(len(bid_parts), len(ask_parts))):
        expected += bid_parts[i:i + 1] + ask_parts[i:i + 1]
    assert interleave(bid_parts, ask_parts) == ":".join(expected)


@given(st.text())
def test_crc32_signed_is_zlib_crc32_as_signed_int32(text):
    c = crc32_signed(text)
    assert -(2**31) <= c < 2**31
    assert c & 0xFFFFFFFF == zlib.crc32(text.encode())
