"""OKX's cursor paging, one rule for every list the venue serves (protocol doc 5.5).

Records come newest first. `after=<id>` returns records older than the cursor (smaller id),
`before=<id>` newer ones (larger id); both bound a window. With `before` alone the page is the
`limit` records just newer than the cursor (still newest first), so a client that walks towards the
present by passing the newest id it has as `before` sees every record exactly once; one that walks
back in time passes the oldest id it has as `after`. A walk ends on a page that brings nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def page(rows: Sequence[T], key: Callable[[T], int], after: int | None, before: int | None, limit: int) -> list[T]:
    """The page of `rows` (newest first, `key` decreasing) that the cursors select, at most `limit` long."""
    picked = [r for r in rows if (after is None or key(r) < after) and (before is None or key(r) > before)]
    if before is not None and after is None:
        return picked[-limit:]
    return picked[:limit]
