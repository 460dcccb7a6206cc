"""FeatureSpec: which features, with which parameters, in which order. Serialised with the model.

The feature vector, in `names` order:

| name | value at bar t | inputs |
|---|---|---|
| `ret_{h}` | log(close[t] / close[t-h]), one per horizon | close |
| `rv_{w}` | sqrt(sum of squared 1-bar log returns over the last w bars) | close |
| `log_volume` | log(1 + volume) | volume |
| `tfi_{w}` | (buy - sell) / (buy + sell) summed over the last w bars; 0 when no volume | buy_volume, sell_volume |
| `spread_bps` | (best ask - best bid) / mid * 1e4 | book at bar close |
| `obi_{n}` | (bid size - ask size) / (bid size + ask size) over the top n levels | book at bar close |
| `rsi_{p}` | Wilder RSI | close |
| `macd_{f}_{s}_{g}`, `macd_signal_...`, `macd_hist_...` | MACD line, signal, histogram, each / close | close |
| `bb_pctb_{p}_{k}` | (close - lower) / (upper - lower); 0.5 when the bands meet | close |
| `bb_width_{p}_{k}` | (upper - lower) / middle | close |

Price-level indicators are divided by the close so that the vector is scale-free across
instruments and years. Features whose inputs a data source lacks are switched off in the spec,
not filled: `flow_window=0` drops `tfi` (OKX candles have no buy/sell split), `book_levels=0`
drops `spread_bps` and `obi` (no recorded book). Asking for a feature without its input is a
ValueError, so a model can never be trained on a silently empty column.

Missing data: a close that is not finite and > 0, or a volume that is not finite and >= 0, is NaN;
it makes NaN every feature whose window holds it and resets the indicators (their warm-up
restarts; see `hftlab.features.indicators`). A bar absent from the data should be a NaN row:
features count bars, not seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from hftlab.features.indicators import check_macd, check_nbdev, check_period

SPEC_VERSION = 1


@dataclass(frozen=True)
class FeatureSpec:
    return_horizons: tuple[int, ...] = (1, 5, 15)
    vol_window: int = 20
    flow_window: int = 1  # 0: no trade-flow imbalance
    book_levels: int = 5  # 0: no book features
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_period: int = 20
    bb_nbdev: float = 2.0

    def __post_init__(self) -> None:
        horizons = self.return_horizons
        if isinstance(horizons, (str, bytes)) or not hasattr(horizons, "__iter__"):
            raise ValueError(f"return_horizons must be a sequence of integers >= 1, got {horizons!r}")
        horizons = tuple(check_period("return_horizons item", h, 1) for h in horizons)
        if not horizons or len(set(horizons)) != len(horizons):
            raise ValueError(f"return_horizons must be non-empty and without repeats, got {horizons}")
        object.__setattr__(self, "return_horizons", horizons)
        check_period("vol_window", self.vol_window, 1)
        check_period("flow_window", self.flow_window, 0)
        check_period("book_levels", self.book_levels, 0)
        check_period("rsi_period", self.rsi_period, 2)
        check_macd(self.macd_fast, self.macd_slow, self.macd_signal)
        check_period("bb_period", self.bb_period, 2)
        object.__setattr__(self, "bb_nbdev", check_nbdev(self.bb_nbdev))

    @property
    def uses_flow(self) -> bool:
        return self.flow_window > 0

    @property
    def uses_book(self) -> bool:
        return self.book_levels > 0

    @property
    def names(self) -> tuple[str, ...]:
        macd = f"{self.macd_fast}_{self.macd_slow}_{self.macd_signal}"
        bb = f"{self.bb_period}_{self.bb_nbdev:g}"
        out = [f"ret_{h}" for h in self.return_horizons]
        out += [f"rv_{self.vol_window}", "log_volume"]
        if self.uses_flow:
            out.append(f"tfi_{self.flow_window}")
        if self.uses_book:
            out += ["spread_bps", f"obi_{self.book_levels}"]
        out += [f"rsi_{self.rsi_period}", f"macd_{macd}", f"macd_signal_{macd}", f"macd_hist_{macd}",
                f"bb_pctb_{bb}", f"bb_width_{bb}"]
        return tuple(out)

    @property
    def window(self) -> int:
        """Bars of clean history after which every feature is defined (the longest lookback + 1).

        RSI and MACD are recursive (Wilder smoothing, EMAs): past this point their value still
        depends on where the series started, as in TA-Lib. Streaming equals batch when both start
        at the same bar; a live runner should warm up on the bars the batch saw, or on many times
        the longest EMA span so that the difference decays below what matters.
        """
        lookbacks = [
            max(self.return_horizons),
            self.vol_window,
            self.flow_window - 1,
            self.rsi_period,
            self.macd_slow + self.macd_signal - 2,
            self.bb_period - 1,
        ]
        return max(lookbacks) + 1

    def required_columns(self) -> tuple[str, ...]:
        cols = ["close", "volume"]
        if self.uses_flow:
            cols += ["buy_volume", "sell_volume"]
        return tuple(cols)

    def to_dict(self) -> dict[str, Any]:
        params = asdict(self)
        params["return_horizons"] = list(self.return_horizons)
        return {"version": SPEC_VERSION, "params": params, "names": list(self.names), "window": self.window}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec; the stored names and window must be what this code derives from the
        parameters, otherwise the features would not be the ones the model was trained on."""
        if not isinstance(doc, dict) or doc.get("version") != SPEC_VERSION:
            raise ValueError(f"not a FeatureSpec document of version {SPEC_VERSION}: {str(doc)[:200]}")
        params = dict(doc.get("params") or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"FeatureSpec: unknown parameters {unknown}; known: {sorted(known)}")
        if "return_horizons" in params:
            params["return_horizons"] = tuple(params["return_horizons"])
        spec = cls(**params)
        if "names" in doc and list(doc["names"]) != list(spec.names):
            raise ValueError(f"FeatureSpec: stored names {doc['names']} differ from those this code derives "
                             f"{list(spec.names)}: the spec was written by a different feature version")
        if "window" in doc and doc["window"] != spec.window:
            raise ValueError(f"FeatureSpec: stored window {doc['window']} differs from {spec.window}")
        return spec

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        return cls.from_dict(json.loads(text))


def spec_hash(spec: FeatureSpec) -> str:
    """A stable fingerprint of a spec: SHA-256 (hex) of its canonical JSON (`to_dict`, keys sorted, no
    whitespace). Equal for specs that compute the same features in the same order, in any process;
    it changes with any parameter, and with SPEC_VERSION or the names this code derives. A model
    records it (MLflow tag `hftlab.feature_spec_hash`) so that a runtime computing other features
    can refuse it, and the promotion gate never compares models fed different features."""
    canonical = json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
