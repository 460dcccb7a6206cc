"""The strategy: what the model's probabilities make the system want to hold, one definition for
research and live (DESIGN rule 5).

Modules (none is imported by `import hftlab`):

- rule: the signal rule, class probabilities (down, flat, up) -> the position to hold (-1, 0, 1),
  in a batch form for backtests (`edge`, `decide`: numpy arrays, a numba kernel) and a streaming
  form for the live hot path (`SignalRule.step`: O(1) per bar, pure Python, numba never imported);
  tests/unit/strategy/test_rule.py holds them equal.

- sizing: how much to hold, by conviction and volatility (`notional` live, `notional_batch` for the
  backtest; the same arithmetic, held equal by a test)
- filters: which live decisions are trusted (incomplete window, book, confidence, cooldown,
  RSI/MACD/Bollinger regime agreement); they only ever flatten
- accuracy: realised accuracy of the predicted direction over a rolling window
- signal: the live pipeline of one instrument, closed bar -> features -> model -> rule -> filters ->
  sized target
- quoting: target -> orders in an execution style (taker IOC with a cap, maker post-only re-quoted
  by amend)
- config: the `strategy:` section

The rule answers only the direction, from the edge; sizing takes the edge the rule decided on
(`edge_of(proba)`, `SignalRule.step_edge(edge)`) and never reaches into the rule's state.
"""
