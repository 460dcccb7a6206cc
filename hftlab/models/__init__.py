"""The signal model: an attention LSTM trained with Lightning, judged beside baselines, served from MLflow.

Modules (import the one you need; none is imported by `import hftlab`, and only `predictor` and
`fastpath` belong on the live path):

- lstm: AttentionLSTM (the network) and SignalNet (normalisation + network + softmax)
- data: features and labels of bars, walk-forward splits with purge gaps, folds (numpy)
- datamodule, lightning_module: Lightning data module, module, callbacks, fit (imports lightning)
- baselines: majority, logistic regression, gradient-boosted trees on window summaries
- evaluate: metrics and the shift / bootstrap tests behind the verdicts
- experiment: the side-by-side walk-forward evaluation with the permuted-label control
- sanity: simulator controls (no signal planted / signal planted)
- tracking: MLflow logging and registry aliases (imports mlflow)
- provenance: what a model was trained on (world, venue, symbol, timeframe, feature-spec hash) as
  MLflow tags, and the bars-file metadata that says a file's world
- config: the `model` and `mlflow` sections
- train: a training run (`hftlab train`)
- predictor, fastpath: the live predictor (`load_champion`, `load_model`) and its numba kernel
"""
