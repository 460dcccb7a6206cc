"""Fault scenarios: YAML files and --fault flags become validated FaultSpecs; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hftlab.core.config import REPO_ROOT
from hftlab.sim.scenario import KINDS, ScenarioError, load_scenario, parse_flag, parse_scenario


def test_shipped_scenarios_load():
    files = sorted((REPO_ROOT / "config" / "scenarios").glob("*.yaml"))
    assert files
    kinds = set()
    for f in files:
        sc = load_scenario(f)
        assert sc.faults, f
        kinds |= {s.kind for s in sc.faults}
    assert kinds == set(KINDS)  # the examples show every kind


def test_defaults_and_triggers():
    sc = parse_scenario({"seed": 3, "faults": [
        {"kind": "drop", "every_s": 5},
        {"kind": "stall", "channel": "books", "at_s": [4, 1], "duration_s": 2},
        {"kind": "rate_limit", "rate_per_min": 6, "target": "ws"},
    ]}, "test")
    assert sc.seed == 3
    drop, stall, rate = sc.faults
    assert drop.params == {"role": "any", "mode": "abort"} and drop.trigger.every_s == 5
    assert stall.trigger.at_s == (1.0, 4.0) and stall.params["duration_s"] == 2.0 and stall.params["inst_id"] is None
    assert rate.trigger.rate_per_min == 6 and rate.params["count"] == 1


@pytest.mark.parametrize("doc, needle", [
    ({"faults": [{"kind": "explode", "every_s": 1}]}, "unknown kind 'explode'"),
    ({"faults": [{"kind": "drop", "evry_s": 1}]}, "unknown key(s) ['evry_s']"),
    ({"faults": [{"kind": "drop"}]}, "exactly one trigger"),
    ({"faults": [{"kind": "drop", "every_s": 1, "at_s": [2]}]}, "exactly one trigger"),
    ({"faults": [{"kind": "drop", "every_s": 1, "role": "admin"}]}, "role='admin' is not one of"),
    ({"faults": [{"kind": "stall", "every_s": 1, "duration_s": "long"}]}, "duration_s must be a number"),
    ({"faults": [{"kind": "duplicate", "every_s": 1, "count": 1.5}]}, "count must be a whole number"),
    ({"faults": [{"kind": "drop", "every_s": -1}]}, "must not be negative"),
    ({"faults": {"kind": "drop"}}, "faults must be a list"),
    ({"fault": []}, "unknown top-level key(s) ['fault']"),
    ({"seed": "x"}, "seed must be an integer"),
    ([1, 2], "top level must be a mapping"),
])
def test_mistakes_are_named(doc, needle):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(doc, "my.yaml")
    assert needle in str(e.value) and "my.yaml" in str(e.value)


def test_flag_form():
    spec = parse_flag("notice,role=private,at_s=5/12,close_after_s=3")
    assert spec.kind == "notice" and spec.trigger.at_s == (5.0, 12.0)
    assert spec.params == {"role": "private", "close_after_s": 3.0}
    with pytest.raises(ScenarioError, match="expected key=value"):
        parse_flag("drop,every_s")


def test_file_errors(tmp_path: Path):
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults: [\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


def test_order_path_kinds_from_flags():
    assert parse_flag("drop_ack,target=rest,hold_s=5,at_s=1").params == \
        {"target": "rest", "count": None, "duration_s": None, "hold_s": 5.0}
    assert parse_flag("answer_50004,every_s=10").params == {"target": "any", "count": None, "duration_s": None}
    assert parse_flag("delay_past_exptime,margin_ms=250,count=3,at_s=1").params == \
        {"margin_ms": 250.0, "count": 3, "duration_s": None}
    assert parse_flag("reject_ws_ops,duration_s=30,at_s=1").params == {"count": None, "duration_s": 30.0}
    assert parse_flag("liquidate,inst_id=BTC-USDT-SWAP,fraction=0.5,at_s=9").params == \
        {"inst_id": "BTC-USDT-SWAP", "fraction": 0.5}
    for bad, needle in (("liquidate,fraction=0,at_s=1", "fraction=0.0 must be greater than 0 and at most 1"),
                        ("liquidate,fraction=1.5,at_s=1", "fraction=1.5 must be"),
                        ("drop_ack,target=fix,at_s=1", "target='fix' is not one of")):
        with pytest.raises(ScenarioError, match=needle.replace("(", r"\(")):
            parse_flag(bad)
