"""OKX instrument records (`GET /api/v5/public/instruments`, protocol §5.5) -> `InstrumentSpec`.

One table says where each field of the spec comes from. A spot record names its currencies in
`baseCcy`/`quoteCcy`; a swap leaves those empty and names the underlying in `ctValCcy` and the
settle currency in `settleCcy`, with `ctVal` base per contract. Only linear swaps (`ctType linear`)
are specs: `InstrumentSpec` values a contract as `ctVal` base priced in the settle currency, which an
inverse swap (`ctVal` in USD, settled in the coin) is not. `instIdCode` (what WS order ops name an
instrument by; it differs between production and demo) may be null, "" or absent: then None.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hftlab.domain.instruments import InstrumentSpec, InstType

# InstrumentSpec field -> the OKX field it is read from, for a spot record and for a swap record.
SPEC_FIELDS: dict[str, tuple[str, str]] = {
    "inst_id": ("instId", "instId"),
    "base_ccy": ("baseCcy", "ctValCcy"),
    "quote_ccy": ("quoteCcy", "settleCcy"),
    "tick_sz": ("tickSz", "tickSz"),
    "lot_sz": ("lotSz", "lotSz"),
    "min_sz": ("minSz", "minSz"),
    "state": ("state", "state"),
}
_DECIMALS = ("tick_sz", "lot_sz", "min_sz")


def inst_id_code(record: Mapping[str, Any]) -> int | None:
    code = record.get("instIdCode")
    return None if code in (None, "") else int(code)


def instrument_spec(record: Mapping[str, Any]) -> InstrumentSpec | None:
    """The spec of one record; None for what a spec cannot describe (not SPOT or SWAP, an inverse
    swap). Raises ValueError for a record that lacks a field or has a malformed one."""
    try:
        inst_type = InstType(record.get("instType"))
    except ValueError:
        return None
    swap = inst_type is InstType.SWAP
    if swap and record.get("ctType") != "linear":
        return None
    column = 1 if swap else 0
    try:
        values: dict[str, Any] = {name: record[src[column]] for name, src in SPEC_FIELDS.items()}
        for name in _DECIMALS:
            values[name] = Decimal(values[name])
        ct_val = Decimal(record["ctVal"]) if swap else Decimal(1)
        code = inst_id_code(record)
    except (KeyError, InvalidOperation, TypeError, ValueError) as e:
        raise ValueError(f"instrument {record.get('instId')!r}: unreadable record ({type(e).__name__}: {e})") from None
    if not values["base_ccy"] or not values["quote_ccy"]:
        raise ValueError(f"instrument {values['inst_id']!r}: no base or quote currency")
    return InstrumentSpec(inst_type=inst_type, ct_val=ct_val, inst_id_code=code, **values)
