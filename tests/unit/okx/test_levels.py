"""Book sides: the compiled form (_levels.c) equals the definition (PyLevels), level by level."""

from __future__ import annotations

import gc
import importlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.okx import levels as lv

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):  # CI installs the package, and so builds the C form: it must be there
    compiled = importlib.import_module("hftlab.okx._levels")
else:
    compiled = pytest.importorskip("hftlab.okx._levels", reason="the C book sides are not built (pip install -e .)")
IMPLS = [lv.PyLevels, compiled.Levels]
ERRORS = (ValueError, TypeError, IndexError, KeyError)


def test_the_compiled_form_is_in_use_when_built():
    assert lv.COMPILED and lv.Levels is compiled.Levels and lv.first_bad_level is compiled.first_bad_level


@pytest.mark.parametrize("Levels", IMPLS)
def test_update_rules(Levels):
    asks = Levels(1.0)
    asks.load([["101", "1", "0", "1"], ["100.5", "2", "0", "3"], ["102", "0", "0", "0"]])
    assert asks.first(None) == [["100.5", "2", "0", "3"], ["101", "1", "0", "1"]] and len(asks) == 2
    assert asks.apply([["100.50", "0.000", "0", "0"]]) is True  # the same price spelt otherwise; any zero deletes
    assert asks.apply([["99", "0", "0", "0"]]) is False  # deleting a price never sent: a no-op
    assert asks.apply([["103", "5", "0", "1"], ["101", "7", "0", "2"]]) is True
    assert asks.first(None) == [["101", "7", "0", "2"], ["103", "5", "0", "1"]]
    assert asks.best() == ["101", "7", "0", "2"] and asks.best_key() == 101.0 and asks.first(1) == [asks.best()]
    bids = Levels(-1.0)
    bids.load([["99", "1"], ["100", "2"]])
    assert bids.first(None) == [["100", "2"], ["99", "1"]] and bids.best_key() == -100.0
    bids.clear()
    assert len(bids) == 0 and bids.best() is None and bids.best_key() is None and bids.first(5) == []


@pytest.mark.parametrize("Levels", IMPLS)
def test_levels_read_back_as_received_and_the_checksum_uses_the_exact_strings(Levels):
    received = [["1.50", "0.5000", "0", "3"], ["2", "7", "x" * 60], ("3", "1"), ["4", "1", "0", "1", "extra"],
                ["5", "2", "é"]]
    asks, bids = Levels(1.0), Levels(-1.0)
    asks.load(received)
    bids.load([["1.0", "2.50"]])
    assert asks.first(None) == received and bids.best() == ["1.0", "2.50"]
    text = (compiled.checksum_text if Levels is compiled.Levels else lv.py_checksum_text)(bids, asks)
    assert text == "1.0:2.50:1.50:0.5000:2:7:3:1:4:1:5:2".encode()


@pytest.mark.parametrize("Levels", IMPLS)
def test_a_change_below_the_top_25_does_not_touch_the_checksum(Levels):
    asks = Levels(1.0)
    asks.load([[str(100 + i), "1"] for i in range(40)])
    assert asks.apply([["130", "2"], ["131", "0"], ["200", "1"], ["300", "0"]]) is False
    assert asks.apply([["124", "2"]]) is True
    assert [x[0] for x in asks.first(None)][-3:] == ["138", "139", "200"]


@pytest.mark.parametrize("Levels", IMPLS)
@pytest.mark.parametrize("bad", [["nan", "1"], ["inf", "1"], ["abc", "1"], ["1", ""], ["1", "0x"], ["1"],
                                 [1, "1"], ("1", 2), {"0": "1"}, "11"])
def test_unreadable_levels_raise(Levels, bad):
    side = Levels(1.0)
    with pytest.raises(ERRORS):
        side.apply([bad])
    side.load([["5", "1"]])
    with pytest.raises(ERRORS):
        side.load([["6", "1"], bad])
    assert side.first(None) == [["5", "1"]]  # a failed load leaves the side as it was


def test_first_bad_level():
    good = [["1", "2", "0", "1"], ["2", "3"], ["0.5", "0"]]
    for f in (lv.py_first_bad_level, compiled.first_bad_level):
        assert f(good) == -1 and f([]) == -1
        assert f(good + [["1"]]) == 3 and f([("1", "2")]) == 0 and f([["1", 2]]) == 0 and f([None]) == 0


@pytest.mark.parametrize("bad", [["abc", "1"], ["-1", "1"], ["0", "1"], ["0.000", "1"], ["inf", "1"], ["nan", "1"],
                                 ["1e400", "1"], ["", "1"], ["1", "-2"], ["1", "abc"], ["1", "inf"], ["1", ""],
                                 ["1", "NaN"], ["-0", "1"], ["\ud800", "1"]])
def test_first_bad_level_refuses_prices_and_sizes_that_are_not_finite_numbers_positive_where_they_must_be(bad):
    for f in (lv.py_first_bad_level, compiled.first_bad_level):
        assert f([["1", "2"], bad]) == 1, f


def test_the_parser_check_takes_string_levels_out_of_the_collectors_care():
    good, holder = ["1", "2", "0", "1"], ["1", "2", []]
    compiled.first_bad_level([good, holder])
    assert not gc.is_tracked(good) and gc.is_tracked(holder)


# -- the two forms agree on any sequence of snapshots and updates ----------------------------------

prices = st.sampled_from(["99", "99.5", "100", "100.0", "100.1", "100.25", "101", "0.00001", "1e2", "100.10",
                          "7", "64000.2", "64000.20", "0.5", " 8", "9_0", "١٠"])
sizes = st.sampled_from(["0", "0.0", "0.000", "00", "1", "0.5", "2.50", "0.0001", "10", "1e-3", "0e0"])
extras = st.lists(st.sampled_from(["0", "1", "12", "é", "3" * 40]), max_size=4)  # long, non-ASCII, > 4 items: kept boxed
level = st.one_of(st.builds(lambda p, s, n: [p, s, "0", n], prices, sizes, st.sampled_from(["1", "2", "0"])),
                  st.builds(lambda p, s, x: [p, s, *x], prices, sizes, extras),
                  st.builds(lambda p, s: (p, s), prices, sizes))
grid = st.builds(lambda i, s: [f"{100 + i * 0.5:g}", s, "0", "1"], st.integers(0, 80), sizes)
side_levels = st.lists(st.one_of(level, grid), max_size=60)
sorted_levels = side_levels.map(lambda xs: sorted(xs, key=lambda x: float(x[0])))  # the merge path
ops = st.lists(st.tuples(st.sampled_from(["load", "apply"]), st.sampled_from([1.0, -1.0]),
                         st.one_of(side_levels, sorted_levels, sorted_levels.map(lambda xs: xs[::-1]))),
               min_size=1, max_size=25)


hostile = st.one_of(prices, sizes, st.sampled_from(["-1", "-0", "0", "abc", "", "inf", "-inf", "nan", "1e400",
                                                    "1e-400", " ", "1.2.3", "0x10", "+5", "5.", ".5", "\ud800",
                                                    "9" * 25, "0." + "0" * 30 + "1"]), st.text(max_size=8))
hostile_level = st.one_of(level, st.lists(hostile, min_size=0, max_size=5), st.tuples(hostile, hostile), st.none(),
                          st.integers(), st.lists(st.one_of(hostile, st.integers(), st.none()), max_size=4))


@settings(max_examples=600, deadline=None)
@given(st.lists(hostile_level, max_size=12))
def test_the_parser_check_compiled_equals_definition(levels):
    assert compiled.first_bad_level(levels) == lv.py_first_bad_level(levels)


def _outcome(side, op, levels):
    try:
        return getattr(side, op)(levels)
    except ERRORS:
        return "error"


@settings(max_examples=400, deadline=None)
@given(ops)
def test_compiled_equals_definition(steps):
    sides = {(impl, sign): impl(sign) for impl in IMPLS for sign in (1.0, -1.0)}
    for op, sign, levels in steps:
        ref, got = (_outcome(sides[(impl, sign)], op, levels) for impl in IMPLS)
        if ref == "error" or got == "error":
            assert ref == got
            for impl in IMPLS:  # a book clears itself after a malformed level
                sides[(impl, sign)].clear()
            continue
        if op == "apply":
            assert got == ref  # the top 25 touched, or not
        for s in (1.0, -1.0):
            a, b = sides[(IMPLS[0], s)], sides[(IMPLS[1], s)]
            assert b.first(None) == a.first(None) and len(b) == len(a) and b.best_key() == a.best_key()
        assert compiled.checksum_text(sides[(IMPLS[1], -1.0)], sides[(IMPLS[1], 1.0)]) == \
            lv.py_checksum_text(sides[(IMPLS[0], -1.0)], sides[(IMPLS[0], 1.0)])
