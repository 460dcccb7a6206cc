"""Backtests of signal models at OKX's costs, and the promotion gate that decides the `champion`.

Modules (none is imported by `import hftlab`; numba, torch and mlflow load inside functions):

- config: BacktestConfig (signal rule, fee tier, fill style, latency, funding, sizing, stop) and
  PromoteConfig (the gate)
- fees: OKX's fee schedule by tier and instrument type (spot, swap; maker rebates), funding times
- fills: the maker-fill model (a resting order fills only when the market trades through it)
- engine: wanted positions + bars -> fills, equity and trades (taker or maker, latency, stop-loss,
  funding, the exit of a position still open at the end)
- metrics: returns, Sharpe with its bar period, the probabilistic Sharpe ratio, per-trade net
  returns and their t-statistic, drawdown, turnover; the per-bar difference t between two strategies
- predict: a model's (or a baseline's) probabilities over a window of bars
- window: which bars a backtest covers (a run's out-of-sample test block) and the bars file
- compare: several strategies on the same window, side by side with buy-and-hold, each through the
  signal rule (hftlab.strategy.rule) and the live sizing (hftlab.strategy.sizing)
- plots: equity, drawdown, price with fills (PNG, Agg)
- runner: a registered model's backtest, the gate's head-to-head, logging either as an MLflow run
- registry: MLflow look-ups (run <-> registered version, champion, training report, what a version
  was trained on: `Registry.provenance`)
- gate: the promotion decision (pure, over frozen dataclasses; never across worlds, series or
  feature specs); promote: the gate with MLflow around it
- controls: the null-world control (the same pipeline where nothing is predictable must not pass
  the gate's money test)
- report: the metrics table and the promotion decision as text (`hftlab backtest`, `hftlab promote`,
  notebooks)
"""
