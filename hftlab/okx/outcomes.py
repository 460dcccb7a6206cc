"""What an OKX answer proves about a write: OKX codes -> `WriteOutcome`, in one table
(okx-v5-protocol.md §5.6; the classes are defined in hftlab.domain.venue).

A place, amend or cancel is answered per item (`sCode`, with a top-level `code` "0" all ok, "1" all
failed, "2" partly) or, when the gateway refuses the whole request before any item is looked at,
by a top-level code alone with no items. Both go through `outcome`. A code this table does not know
proves nothing: AMBIGUOUS, so an unfamiliar refusal can never be taken for "did nothing" and lead
to a resend.

Two more sets, about the WebSocket gateway and rate limits:
- `WS_OP_REFUSED`: top-level codes with which the WS gateway refuses an op before it reaches the
  order engine (not logged in, wrong URL, malformed request, "WebSocket internal error"). The op
  provably did not execute, so it may be sent again over REST. A WS timeout, a socket that closed
  before the answer, or any other code is no such proof, and a REST copy would be a resend.
- `RATE_LIMIT_CODES`: the venue's "refused: rate limit" (per endpoint, per sub-account).
"""

from __future__ import annotations

from hftlab.domain.venue import WriteOutcome

_A, _R, _E, _D = WriteOutcome.AMBIGUOUS, WriteOutcome.REFUSED, WriteOutcome.EVIDENCE_NEEDED, WriteOutcome.DUPLICATE

OUTCOMES: dict[str, WriteOutcome] = {
    "0": WriteOutcome.ACCEPTED,
    # "does not mean that the request was successful or failed": service unavailable, request timeout,
    # system busy, system error, and 51149 (order timed out)
    "50001": _A, "50004": _A, "50013": _A, "50026": _A, "51149": _A,
    # refused: the request did nothing
    "50011": _R, "50061": _R,  # rate limits (per endpoint; new+amend per sub-account)
    "50014": _R, "50015": _R,  # a required parameter is missing / one of two is required
    "50036": _R, "50037": _R,  # expTime invalid / passed: dropped unexecuted
    "50101": _R, "50102": _R, "50103": _R, "50104": _R, "50105": _R, "50106": _R, "50107": _R,  # authentication
    "50111": _R, "50112": _R, "50113": _R,
    "51000": _R,  # parameter error (clOrdId, tag, ...)
    "51001": _R,  # unknown instrument
    "51006": _R, "51137": _R, "51138": _R,  # price limits
    "51008": _R,  # balance
    "51020": _R,  # below the minimum size
    "51121": _R,  # not a multiple of the lot size
    "51169": _R,  # reduce-only with no position to reduce
    "51174": _R,  # too many pending orders on the instrument
    "51511": _R,  # an amend of a post-only order to a price that would take
    "51513": _R,  # 3 amends already in progress
    # the venue could not do it and says only vaguely why: query before deciding
    "51400": _E,  # cancel failed: filled, cancelled or does not exist
    "51503": _E,  # amend failed: the order is already filled or cancelled
    "51603": _E,  # the order does not exist (on a cancel or amend; a query reads it as not found)
    # an order with this clOrdId is pending: adopt it
    "51016": _D, "50071": _D,
}

WS_OP_REFUSED = frozenset({
    "60011",  # please log in
    "60012",  # invalid request
    "60013",  # invalid args
    "60028",  # the operation is not supported by this URL
    "64007",  # operation failed due to WebSocket internal error
})

RATE_LIMIT_CODES = frozenset({"50011", "50061"})
ORDER_NOT_FOUND = "51603"  # what `GET /trade/order` answers for an order the venue does not hold


def outcome(code: str) -> WriteOutcome:
    """The class of one answer code; AMBIGUOUS for a code the table does not know."""
    return OUTCOMES.get(code, WriteOutcome.AMBIGUOUS)
