"""The one table from OKX codes to what a write's answer proves (okx-v5-protocol.md §5.6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hftlab.domain.venue import WriteOutcome
from hftlab.okx.outcomes import OUTCOMES, RATE_LIMIT_CODES, WS_OP_REFUSED, outcome

W = WriteOutcome
# §5.6's table, row by row.
PROTOCOL = {
    W.ACCEPTED: ["0"],
    W.AMBIGUOUS: ["50001", "50004", "50013", "50026", "51149"],
    W.REFUSED: ["50011", "50061", "50014", "51000", "51001", "51006", "51137", "51138", "51008", "51020", "51121",
                "51174", "50036", "50037"],
    W.EVIDENCE_NEEDED: ["51400", "51503", "51603"],
    W.DUPLICATE: ["51016", "50071"],
}


@pytest.mark.parametrize(("expected", "code"), [(oc, c) for oc, codes in PROTOCOL.items() for c in codes])
def test_every_code_of_the_protocol_table_has_its_class(expected, code):
    assert outcome(code) is expected


@given(st.text(max_size=8))
def test_a_code_the_table_does_not_know_proves_nothing(code):
    if code not in OUTCOMES:
        assert outcome(code) is W.AMBIGUOUS


def test_rate_limits_are_refusals_and_ws_gateway_refusals_are_never_order_answers():
    assert RATE_LIMIT_CODES == {"50011", "50061"}
    assert all(outcome(c) is W.REFUSED for c in RATE_LIMIT_CODES)
    # an op the WS gateway refused whole is sent again over REST: none of these may mean "it may have executed"
    assert {"60011", "60028", "64007"} <= WS_OP_REFUSED
    assert not WS_OP_REFUSED & {c for c, oc in OUTCOMES.items() if oc is W.AMBIGUOUS}
    assert "50004" not in WS_OP_REFUSED
