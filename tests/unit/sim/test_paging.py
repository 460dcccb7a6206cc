"""OKX cursor paging: `after` older, `before` newer, newest first, and walks that end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hftlab.sim.paging import page

ROWS = list(range(250, 0, -1))  # ids, newest first


def _id(r: int) -> int:
    return r


def test_cursors():
    assert page(ROWS, _id, None, None, 3) == [250, 249, 248]
    assert page(ROWS, _id, 100, None, 3) == [99, 98, 97]                 # older than the cursor
    assert page(ROWS, _id, None, 100, 3) == [103, 102, 101]              # just newer, still newest first
    assert page(ROWS, _id, 105, 100, 10) == [104, 103, 102, 101]         # a window
    assert page(ROWS, _id, 1, None, 100) == [] and page(ROWS, _id, None, 250, 100) == []


@given(st.lists(st.integers(1, 10**6), unique=True, max_size=400), st.integers(1, 100))
def test_walks_in_either_direction_see_every_record_once_and_end(ids, limit):
    rows = sorted(ids, reverse=True)
    back, cursor = [], None
    while True:
        got = page(rows, _id, cursor, None, limit)
        if not got:
            break
        back += got
        cursor = got[-1]
    assert back == rows
    forward, cursor = [], 0
    while True:
        got = page(rows, _id, None, cursor, limit)
        if not got:
            break
        forward = got + forward
        cursor = got[0]
    assert forward == rows
