"""The one JSON `default` for everything hftlab writes: summaries, reports, run documents, logs.

numpy scalars and arrays become numbers and lists, paths and enums strings, Decimals exact
decimal strings, datetimes ISO-8601, dataclasses dicts. Anything else is a bug in the caller and
raises TypeError naming the type, rather than being written as an opaque `repr`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
from decimal import Decimal
from pathlib import PurePath
from typing import Any


def json_default(o: Any) -> Any:
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, PurePath):
        return str(o)
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    np = _numpy()
    if np is not None:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _numpy():
    import sys

    return sys.modules.get("numpy")  # a numpy value implies numpy is imported; never import it here


def dumps(doc: Any, *, indent: int | None = None) -> str:
    return json.dumps(doc, indent=indent, default=json_default)
