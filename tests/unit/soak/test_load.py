"""A load step holds only when nothing was dropped, disconnected or invalid and every client kept up."""

from __future__ import annotations

import pytest

from hftlab.soak.load import step_verdict

HELD = {"dropped": 0, "reconnects": 0, "breaks": 0, "checksum_mismatches": 0, "books_valid": True,
        "offered_per_client_per_s": 1000.0, "min_client_frames_per_s": 990.0}


def test_a_clean_step_holds():
    assert step_verdict(HELD, 0.95) is None
    assert step_verdict({**HELD, "offered_per_client_per_s": None}, 0.95) is None  # the venue's count unread


@pytest.mark.parametrize("change, why", [
    ({"dropped": 1}, "queue drops"), ({"reconnects": 1}, "disconnected by the venue"),
    ({"breaks": 1}, "books invalid"), ({"checksum_mismatches": 2}, "books invalid"),
    ({"books_valid": False}, "books invalid"), ({"min_client_frames_per_s": 900.0}, "fell behind the venue"),
])
def test_each_failure_is_named(change, why):
    assert step_verdict({**HELD, **change}, 0.95) == why
