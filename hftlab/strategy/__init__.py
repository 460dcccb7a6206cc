"""The strategy: what the model's probabilities make the system want to hold, one definition for
research and live (DESIGN rule 5).

Modules (none is imported by `import hftlab`):

- rule: the signal rule, class probabilities (down, flat, up) -> the position to hold (-1, 0, 1),
  in a batch form for backtests (`edge`, `decide`: numpy arrays, a numba kernel) and a streaming
  form for the live hot path (`SignalRule.step`: O(1) per bar, pure Python, numba never imported);
  tests/unit/strategy/test_rule.py holds them equal.

The live signal pipeline lands here next, beside the rule and in the same two forms: filters
(which decisions are trusted) and sizing (how much to hold). The rule therefore answers only the
direction, from the edge; a sizing function takes what the rule decided and the edge it decided
on (`edge_of(proba)`, `SignalRule.step_edge(edge)`) and never reaches into the rule's state.
"""
