"""Fault scenarios: what misbehaviour to inject and when, from a YAML file or `--fault` flags.

YAML (see config/scenarios/):

    seed: 11                  # optional; default: the simulator's seed
    faults:
      - kind: drop            # what (see KINDS for each kind's parameters and defaults)
        role: public
        every_s: 20           # when: every_s (+ start_s, until_s) | at_s: [5, 12] | rate_per_min: 2 (random)

Flag form, one fault per flag: `--fault drop,role=public,every_s=20` (a list value: `at_s=5/12`),
e.g. `--fault drop_ack,target=ws,at_s=10`, `--fault liquidate,fraction=0.5,every_s=60`.
Times are wall seconds since the server started. Random triggers draw from the scenario seed, so a
scenario replays the same way every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROLES = ("public", "business", "private", "any")
TARGETS = ("rest", "ws", "any")
MD_CHANNELS = ("books", "books5", "bbo-tbt", "tickers", "trades", "trades-all", "candle1s", "candle1m")


@dataclass(frozen=True, slots=True)
class Within:
    """Allowed values lo < v <= hi (a parameter's range)."""

    lo: float
    hi: float

    def __contains__(self, v: object) -> bool:
        return isinstance(v, (int, float)) and self.lo < v <= self.hi

    def __str__(self) -> str:
        return f"greater than {self.lo:g} and at most {self.hi:g}"


# kind -> {param: (default, type, allowed values (a tuple or a Within) or None)}
KINDS: dict[str, dict[str, tuple[Any, type, tuple | None]]] = {
    # close every matching connection: abort = TCP reset (client sees 1006), close = close frame 4006
    "drop": {"role": ("any", str, ROLES), "mode": ("abort", str, ("abort", "close"))},
    # event:notice 64008, then close after close_after_s
    "notice": {"role": ("any", str, ROLES), "close_after_s": (5.0, float, None)},
    # the next books publication is lost: the one after it has a prevSeqId nobody saw
    "skip_seq": {"inst_id": (None, str, None)},
    # the next `count` publications of channel[/inst_id] are sent twice
    "duplicate": {"channel": ("books", str, MD_CHANNELS), "inst_id": (None, str, None), "count": (1, int, None)},
    # the next publication of channel[/inst_id] is held back and sent after the one that follows it
    "reorder": {"channel": ("books", str, MD_CHANNELS), "inst_id": (None, str, None)},
    # the next `count` publications of channel[/inst_id] are cut in half: frames that are not JSON
    "garble": {"channel": ("books", str, MD_CHANNELS), "inst_id": (None, str, None), "count": (1, int, None)},
    # the next books publication carries a wrong checksum (a non-zero wrong value when checksums are off)
    "corrupt_checksum": {"inst_id": (None, str, None)},
    # publish nothing on channel[/inst_id] (None = every market-data channel) for duration_s
    "stall": {"channel": (None, str, MD_CHANNELS), "inst_id": (None, str, None), "duration_s": (5.0, float, None)},
    # the next `count` requests (or all within duration_s) get 50011
    "rate_limit": {"target": ("any", str, TARGETS), "count": (1, int, None),
                   "duration_s": (None, float, None)},
    # order acks (REST and WS) wait delay_ms more, for the next `count` acks or for duration_s
    "delay_acks": {"delay_ms": (500.0, float, None), "count": (None, int, None), "duration_s": (None, float, None)},
    # --- the order path (place, amend, cancel; single or batch). Each lasts for the next `count`
    # requests, or every request within duration_s (neither given: the next one).
    # the request executes but its answer never comes: no WS reply; the HTTP request hangs hold_s, then
    # the connection is dropped without a response (the client's timeout fires first)
    "drop_ack": {"target": ("any", str, TARGETS), "count": (None, int, None), "duration_s": (None, float, None),
                 "hold_s": (30.0, float, None)},
    # the request executes, then is answered 50004 ("does not mean that the request was successful or
    # failed"): HTTP 400 on REST, the op's reply code on WS
    "answer_50004": {"target": ("any", str, TARGETS), "count": (None, int, None), "duration_s": (None, float, None)},
    # a place/amend carrying an expTime is held until margin_ms past it, then refused with 50037: it
    # does not execute (requests without an expTime pass untouched and are not counted)
    "delay_past_exptime": {"margin_ms": (100.0, float, None), "count": (None, int, None),
                           "duration_s": (None, float, None)},
    # every WebSocket trading op is answered with 64007 and does nothing; REST keeps working (a
    # client's per-operation REST fallback)
    "reject_ws_ops": {"count": (None, int, None), "duration_s": (None, float, None)},
    # the venue liquidates every account's position in inst_id (fraction 1 closes it): a negative trade
    # id, no orders/fills push; only positions, account, balance_and_position and REST show it
    "liquidate": {"inst_id": ("BTC-USDT-SWAP", str, None), "fraction": (1.0, float, Within(0.0, 1.0))},
    # the market moves: inst_id's fair value jumps by pct percent and stays there (the book follows)
    "jump": {"inst_id": ("BTC-USDT", str, None), "pct": (-3.0, float, Within(-50.0, 100.0))},
}
TRIGGER_KEYS = ("at_s", "every_s", "start_s", "until_s", "rate_per_min")


class ScenarioError(ValueError):
    """An invalid scenario; the message names the source, the fault and what to change."""


@dataclass(frozen=True, slots=True)
class Trigger:
    at_s: tuple[float, ...] = ()
    every_s: float | None = None
    start_s: float | None = None  # first firing of every_s (default: every_s) / earliest random firing
    until_s: float | None = None
    rate_per_min: float | None = None


@dataclass(frozen=True, slots=True)
class FaultSpec:
    kind: str
    trigger: Trigger
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    faults: tuple[FaultSpec, ...] = ()
    seed: int | None = None


def _number(where: str, key: str, value: Any, kind: type, signed: bool = False) -> Any:
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: {key} must be text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise ScenarioError(f"{where}: {key} must be a whole number, got {value!r}")
    if value < 0 and not signed:
        raise ScenarioError(f"{where}: {key} must not be negative, got {value!r}")
    return kind(value)


def parse_fault(raw: Mapping[str, Any], where: str) -> FaultSpec:
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: a fault is a mapping with `kind` and a trigger, got {raw!r}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"{where}: unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    schema = KINDS[kind]
    unknown = set(raw) - set(schema) - set(TRIGGER_KEYS) - {"kind"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)} for kind {kind}; "
                            f"parameters: {sorted(schema)}, triggers: {list(TRIGGER_KEYS)}")
    params: dict[str, Any] = {}
    for key, (default, typ, allowed) in schema.items():
        value = raw.get(key, default)
        if value is not None:
            # a parameter whose range reaches below zero (a jump's pct) takes a sign
            value = _number(where, key, value, typ, signed=isinstance(allowed, Within) and allowed.lo < 0)
            if isinstance(allowed, Within) and value not in allowed:
                raise ScenarioError(f"{where}: {key}={value!r} must be {allowed}")
            if isinstance(allowed, tuple) and value not in allowed:
                raise ScenarioError(f"{where}: {key}={value!r} is not one of {list(allowed)}")
        params[key] = value
    at = raw.get("at_s", ())
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        at = (at,)
    if not isinstance(at, Sequence) or isinstance(at, str):
        raise ScenarioError(f"{where}: at_s must be a list of seconds, got {at!r}")
    trig = Trigger(
        at_s=tuple(sorted(_number(where, "at_s", a, float) for a in at)),
        **{k: (None if raw.get(k) is None else _number(where, k, raw[k], float))
           for k in ("every_s", "start_s", "until_s", "rate_per_min")},
    )
    modes = [bool(trig.at_s), trig.every_s is not None, trig.rate_per_min is not None]
    if sum(modes) != 1:
        raise ScenarioError(f"{where}: give exactly one trigger: at_s (list), every_s, or rate_per_min")
    if trig.every_s is not None and trig.every_s <= 0 or trig.rate_per_min is not None and trig.rate_per_min <= 0:
        raise ScenarioError(f"{where}: every_s and rate_per_min must be positive")
    return FaultSpec(kind=kind, trigger=trig, params=params)


def parse_scenario(doc: Any, source: str) -> Scenario:
    if doc is None:
        return Scenario()
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"{source}: the top level must be a mapping with `faults:` (and optionally `seed:`)")
    unknown = set(doc) - {"faults", "seed"}
    if unknown:
        raise ScenarioError(f"{source}: unknown top-level key(s) {sorted(unknown)}; known: faults, seed")
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ScenarioError(f"{source}: seed must be an integer, got {seed!r}")
    faults = doc.get("faults") or []
    if not isinstance(faults, list):
        raise ScenarioError(f"{source}: faults must be a list")
    return Scenario(faults=tuple(parse_fault(f, f"{source}: faults[{i}]") for i, f in enumerate(faults)), seed=seed)


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ScenarioError(f"cannot read scenario file {path}: {e.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(f"scenario file {path} is not valid YAML: {e}") from None
    return parse_scenario(doc, str(path))


def parse_flag(text: str) -> FaultSpec:
    """`drop,role=public,every_s=20` -> FaultSpec (values read as YAML scalars; lists as a/b/c)."""
    kind, _, rest = text.partition(",")
    raw: dict[str, Any] = {"kind": kind.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ScenarioError(f"--fault {text!r}: expected key=value, got {item!r}")
        parts = [yaml.safe_load(v) for v in value.split("/")]
        raw[key.strip()] = parts if key.strip() == "at_s" else parts[0]
    return parse_fault(raw, f"--fault {text!r}")
