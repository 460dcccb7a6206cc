"""Features: one definition for research (batch over DataFrames) and live (streaming, bar by bar).

    spec = FeatureSpec(flow_window=0, book_levels=0)         # what candles can feed
    feats = compute_features(bars, spec)                     # research
    norm = Normaliser.fit(feats, until=train_end)            # training window only
    live = StreamingFeatures(spec, norm); live.update_bar(bar)  # the same vector, live

Names are loaded on first use, so `import hftlab.features` imports neither numba nor pandas;
numba loads with the first batch computation, and the streaming path never loads it.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "FeatureSpec": "hftlab.features.spec",
    "compute_features": "hftlab.features.batch",
    "StreamingFeatures": "hftlab.features.streaming",
    "Normaliser": "hftlab.features.normalise",
    "dump_bundle": "hftlab.features.normalise",
    "load_bundle": "hftlab.features.normalise",
    "make_labels": "hftlab.features.labels",
    "indicator_panel": "hftlab.features.panel",
    "book_features": "hftlab.features.book",
    "rsi": "hftlab.features.indicators",
    "macd": "hftlab.features.indicators",
    "bollinger": "hftlab.features.indicators",
    "RSI": "hftlab.features.indicators",
    "MACD": "hftlab.features.indicators",
    "Bollinger": "hftlab.features.indicators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hftlab.features' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
