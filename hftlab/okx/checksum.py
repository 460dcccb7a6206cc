"""OKX's legacy order-book checksum (still sent non-zero by older recordings and the simulator's legacy mode).

CRC-32 of the top 25 levels interleaved `bidPx:bidSz:askPx:askSz:...` (a side that runs out is
skipped and the other continues), using the price and size strings exactly as received, read as
a signed 32-bit integer. Since 2026-06 OKX sends `checksum: 0`, which means "not provided".
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

DEPTH = 25


def checksum_string(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]], depth: int = DEPTH) -> str:
    """`bids` best first (descending), `asks` best first (ascending); levels are [px, sz, ...] strings."""
    parts: list[str] = []
    nb, na = min(len(bids), depth), min(len(asks), depth)
    for i in range(max(nb, na)):
        if i < nb:
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < na:
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    return ":".join(parts)


def crc32_signed(text: str) -> int:
    c = zlib.crc32(text.encode())
    return c - (1 << 32) if c & 0x80000000 else c


def okx_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    return crc32_signed(checksum_string(bids, asks))
