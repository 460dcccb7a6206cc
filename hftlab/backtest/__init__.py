"""Backtests of signal models with vectorbt, and the promotion gate that decides the `champion`.

Modules (none is imported by `import hftlab`; vectorbt, torch and mlflow load inside functions):

- config: BacktestConfig (signal rule, fees, slippage, sizing, stop) and PromoteConfig (the gate)
- engine: positions + bars -> a vectorbt Portfolio with fees, spread slippage and a stop-loss
- metrics: total return, Sharpe, Sortino, max drawdown, hit rate, turnover, trades, exposure
- predict: a model's (or a baseline's) probabilities over a window of bars
- window: which bars a backtest covers (a run's out-of-sample test block) and the bars file
- compare: several strategies on the same window, side by side with buy-and-hold, each through the
  signal rule (hftlab.strategy.rule: class probabilities -> long/flat/short positions)
- plots: equity, drawdown, price with signals (PNG, Agg)
- runner: a registered model's backtest, the gate's head-to-head, logging either as an MLflow run
- registry: MLflow look-ups (run <-> registered version, champion, training report, what a version
  was trained on: `Registry.provenance`)
- gate: the promotion decision (pure; never across worlds, series or feature specs); promote: the
  gate with MLflow around it
- report: the metrics table and the promotion decision as text (`hftlab backtest`, `hftlab promote`,
  notebooks)
"""
