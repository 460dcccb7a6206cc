"""One side of an OKX order book: price levels, best first, kept exactly as received.

`PyLevels`, `py_checksum_text` and `py_first_bad_level` are the definition; `hftlab/okx/_levels.c`
is their compiled form (built by pip with the package), exported here as `Levels`, `checksum_text`
and `first_bad_level` whenever it is built, and held equal to this one level by level by
tests/unit/okx/test_levels.py. Why compiled: a 400-level `books` update carries ~90 levels, and a
Python loop over them (float(), a dict operation, a bisect per level) costs more than decoding the
whole frame (`hftlab bench feed` measures both). Without a C compiler the package still installs
and runs on this module (`COMPILED` says which one is in use; a log line says so at import).

`Levels(sign)` keys each level by `sign * float(price)` (bids use -1.0, so both sides ascend best
first) and keeps the level as received (`[px, sz, "0", numOrders]`, strings untouched, for the
checksum and the readers): this definition keeps the list itself; the compiled form keeps the exact
bytes of its strings and builds an equal list when it is read, so that the frame's own objects are
freed with the frame rather than frames later, from cold memory (why: okx/_levels.c):

- `load(levels)`: replace the side (a snapshot); a zero size is skipped; a price given twice keeps
  its last level; on error the side is unchanged.
- `apply(levels)`: apply update levels in order (size `"0"`, or any zero such as `"0.000"`, deletes;
  deleting a price never sent is a no-op; else insert or replace); True if the top DEPTH levels
  changed. On error the side may be partly updated: the book then invalidates itself.
- `first(n)`, `best()`, `best_key()`, `len()`.

A level that cannot be read raises ValueError (a price that is not a finite number), TypeError
(not a list of strings) or IndexError (too short, an empty size): the book marks itself malformed.

`checksum_text(bids, asks)` is the checksum's input (bytes): the top DEPTH `px:sz` of each side
interleaved as `checksum.interleave` does. `first_bad_level(levels)` is the parser's check: the index
of the first level that is not a list starting with a price (a string float() reads as a finite
number > 0) and a size (finite, >= 0: zero deletes), or -1. Hostile input (`"abc"`, `"-1"`, `"inf"`,
`"1e400"`) is refused there, before any book sees it.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable

from hftlab.okx.checksum import DEPTH, interleave
from hftlab.okx.events import Level

_NOT_FINITE = "price must be a finite number"


class PyLevels:
    """The definition. Keys ascending (best first), the levels by key, and the top DEPTH `"px:sz"` strings kept as
    levels change, so the checksum never walks the side."""

    __slots__ = ("sign", "keys", "levels", "parts", "top")

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.clear()

    def clear(self) -> None:
        self.keys: list[float] = []
        self.levels: dict[float, Level] = {}  # as received
        self.parts: dict[float, str] = {}  # "px:sz"
        self.top: list[str] = []

    def __len__(self) -> int:
        return len(self.keys)

    def load(self, levels: Iterable[Level]) -> None:
        sign = self.sign
        book: dict[float, Level] = {}
        parts: dict[float, str] = {}
        for lv in levels:
            px, sz = _items(lv)
            k = float(px) * sign
            if k - k != 0.0:  # nan or inf would corrupt the ordering
                raise ValueError(_NOT_FINITE)
            if sz == "0" or (sz[0] == "0" and float(sz) == 0.0):  # "0" deletes; so would "0.000"
                continue
            book[k] = lv
            parts[k] = px + ":" + sz
        self.keys = keys = sorted(book)
        self.levels, self.parts = book, parts
        self.top = [parts[k] for k in keys[:DEPTH]]

    def apply(self, levels: Iterable[Level]) -> bool:
        sign, keys, book, parts, top = self.sign, self.keys, self.levels, self.parts, self.top
        touched = False
        for lv in levels:
            px, sz = _items(lv)
            k = float(px) * sign
            if k - k != 0.0:
                raise ValueError(_NOT_FINITE)
            if sz == "0" or (sz[0] == "0" and float(sz) == 0.0):
                if k in book:  # OKX deletes prices it never sent us: then a no-op
                    i = bisect_left(keys, k)
                    del keys[i], book[k], parts[k]
                    if i < DEPTH:
                        del top[i]
                        if len(keys) >= DEPTH:
                            top.append(parts[keys[DEPTH - 1]])
                        touched = True
            else:
                part = px + ":" + sz
                if k in book:
                    book[k] = lv
                    parts[k] = part
                    if len(keys) <= DEPTH or k <= keys[DEPTH - 1]:
                        top[bisect_left(keys, k)] = part
                        touched = True
                else:
                    i = bisect_left(keys, k)
                    keys.insert(i, k)
                    book[k] = lv
                    parts[k] = part
                    if i < DEPTH:
                        top.insert(i, part)
                        if len(top) > DEPTH:
                            del top[DEPTH]
                        touched = True
        return touched

    def first(self, n: int | None) -> list[Level]:
        book = self.levels
        return [book[k] for k in (self.keys if n is None else self.keys[:n])]

    def best(self) -> Level | None:
        return self.levels[self.keys[0]] if self.keys else None

    def best_key(self) -> float | None:
        return self.keys[0] if self.keys else None


def _items(lv: Level) -> tuple[str, str]:
    if type(lv) is not list and type(lv) is not tuple:
        raise TypeError(f"a level must be a list, got {type(lv).__name__}")
    px, sz = lv[0], lv[1]  # IndexError when shorter
    if type(px) is not str or type(sz) is not str:
        raise TypeError("price and size must be strings")
    return px, sz


def py_checksum_text(bids: PyLevels, asks: PyLevels) -> bytes:
    return interleave(bids.top, asks.top).encode()


def py_first_bad_level(levels: list) -> int:
    if not isinstance(levels, list):
        raise TypeError("levels must be a list")
    for i, lv in enumerate(levels):
        if type(lv) is not list or len(lv) < 2 or type(lv[0]) is not str or type(lv[1]) is not str:
            return i
        if not (_number_ok(lv[0], True) and _number_ok(lv[1], False)):
            return i
    return -1


def _number_ok(s: str, positive: bool) -> bool:
    """`s` is a number float() reads as finite and > 0 (`positive`) or >= 0."""
    try:
        v = float(s)
    except ValueError:
        return False
    return v - v == 0.0 and (v > 0.0 if positive else v >= 0.0)


try:  # the compiled form, when pip built it (see the module docstring)
    from hftlab.okx._levels import Levels, checksum_text, first_bad_level
    COMPILED = True
except ImportError:
    Levels, checksum_text, first_bad_level = PyLevels, py_checksum_text, py_first_bad_level
    COMPILED = False
    logging.getLogger(__name__).info("hftlab.okx._levels is not built: order books run on the Python "
                                     "definition (pip install -e . builds it with a C compiler)")
