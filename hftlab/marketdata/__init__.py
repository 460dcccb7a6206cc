"""Market data in domain terms, shared by collect and live: bars from trades (`bars`)."""
