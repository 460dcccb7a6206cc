"""Fills -> positions, realised/unrealised PnL, fees, funding, equity, drawdown. Pure: no I/O.

`ledger` (each venue fill applied once, the per-instrument cursor for reconciliation), `positions`
(one instrument's position and PnL), `equity` (the portfolio: mark-to-market equity, high-water
mark, drawdown, daily PnL), `replay` (a list of plain fills -> equity over time, for comparing with
a backtest). Money is exact `Decimal` in the instruments' quote (settle) currency.
"""
