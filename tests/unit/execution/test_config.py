"""The execution section: safe defaults in code, the venue's bounds, and its place in Settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hftlab.core.config import REPO_ROOT
from hftlab.execution.config import ExecutionConfig
from hftlab.settings import load_config


def test_defaults_are_safe():
    c = ExecutionConfig()
    assert c.adoption == "cancel"  # an order of ours nobody knows about is cancelled, not trusted
    assert c.journal_sync == "normal"
    assert 10 <= c.caa_timeout_s <= 120 and 1 <= c.caa_heartbeat_s <= c.caa_timeout_s / 3
    assert 0 < c.budget_fraction < 1 and c.cancel_reserve > 0
    assert c.journal_path == REPO_ROOT / "var" / "execution" / "journal.sqlite"


@pytest.mark.parametrize("bad", [dict(tag="hft-lab"), dict(tag="x" * 17), dict(caa_timeout_s=9),
                                 dict(caa_timeout_s=121), dict(caa_heartbeat_s=0.5),
                                 dict(caa_timeout_s=10, caa_heartbeat_s=4), dict(adoption="ignore"),
                                 dict(journal_sync="off"), dict(budget_fraction=1.5), dict(order_deadline_ms=0),
                                 dict(nope=1)])
def test_invalid_values_are_refused(bad):
    with pytest.raises(ValidationError):
        ExecutionConfig(**bad)


def test_settings_compose_the_section():
    s = load_config(environ={"HFTLAB__EXECUTION__TAG": "desk1", "HFTLAB__EXECUTION__ADOPTION": "adopt"})
    assert (s.execution.tag, s.execution.adoption) == ("desk1", "adopt")
    assert load_config(environ={}).execution == ExecutionConfig()
