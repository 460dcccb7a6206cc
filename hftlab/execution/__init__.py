"""Execution: the order manager (approved orders -> venue requests, never duplicated or lost), its
journal, the in-flight table, rate budgets, reconciliation, the dead man's switch, and an in-memory
paper venue. Venue-neutral: it speaks `domain.venue.ExecutionVenue`; the OKX adapter lives in okx/."""
