"""OKX's legacy order-book checksum (still sent non-zero by older recordings and the simulator's legacy mode).

CRC-32 of the top 25 levels interleaved `bidPx:bidSz:askPx:askSz:...` (a side that runs out is
skipped and the other continues), using the price and size strings exactly as received, read as
a signed 32-bit integer. Since 2026-06 OKX sends `checksum: 0`, which means "not provided".
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

DEPTH = 25


def interleave(bid_parts: list[str], ask_parts: list[str]) -> str:
    """Join `"px:sz"` strings, best first per side (at most DEPTH each), in OKX's checksum order."""
    if len(bid_parts) == len(ask_parts):
        parts = bid_parts + ask_parts  # the right length; every slot is overwritten below
        parts[0::2] = bid_parts
        parts[1::2] = ask_parts
    else:
        n = min(len(bid_parts), len(ask_parts))
        bids, asks = bid_parts[:n], ask_parts[:n]
        parts = bids + asks
        parts[0::2] = bids
        parts[1::2] = asks
        parts += bid_parts[n:] or ask_parts[n:]
    return ":".join(parts)


def checksum_string(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]], depth: int = DEPTH) -> str:
    """`bids` best first (descending), `asks` best first (ascending); levels are [px, sz, ...] strings."""
    return interleave([f"{b[0]}:{b[1]}" for b in bids[:depth]], [f"{a[0]}:{a[1]}" for a in asks[:depth]])


def crc32_signed(text: str | bytes) -> int:
    c = zlib.crc32(text if type(text) is bytes else text.encode())
    return c - 0x100000000 if c & 0x80000000 else c


def okx_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    return crc32_signed(checksum_string(bids, asks))
