"""Risk: pure limit checks -> typed denials, and the RiskEngine (ACTIVE / REDUCING / HALTED)."""
