"""Normalisation fitted on the training window only, saved as JSON with the spec, applied identically live.

`Normaliser.fit(features, until=...)` learns a centre and a scale per feature from the rows before
`until` (z-score: mean and population std; robust: median and IQR / 1.349, which is the std for
normal data), ignoring NaN (warm-up). `transform` computes (x - centre) / scale, optionally
clipped to [-clip, clip]; NaN stays NaN. A feature with zero or undefined spread in the training
window keeps scale 1. The same arithmetic runs on a DataFrame (research) and on one vector (live).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hftlab.features.spec import FeatureSpec

METHODS = ("zscore", "robust")
_IQR_TO_STD = 1.3489795003921634  # IQR of the standard normal distribution


@dataclass(frozen=True)
class Normaliser:
    names: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    method: str = "zscore"
    clip: float | None = None
    rows: int = 0  # training rows the statistics came from
    _c: np.ndarray = field(init=False, repr=False, compare=False)
    _s: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "center", tuple(float(v) for v in self.center))
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not (len(self.names) == len(self.center) == len(self.scale)):
            raise ValueError("names, center and scale must have the same length")
        if not all(math.isfinite(v) for v in self.center) or not all(math.isfinite(v) and v > 0 for v in self.scale):
            raise ValueError("center must be finite and scale finite and > 0")
        if self.clip is not None and not (self.clip > 0 and math.isfinite(self.clip)):
            raise ValueError(f"clip must be None or a finite number > 0, got {self.clip!r}")
        object.__setattr__(self, "_c", np.array(self.center, dtype=np.float64))
        object.__setattr__(self, "_s", np.array(self.scale, dtype=np.float64))

    @classmethod
    def fit(cls, features, *, method: str = "zscore", clip: float | None = None, until=None) -> Normaliser:
        """Statistics of `features` (a DataFrame, columns = feature names) over the training window:
        the rows whose index is < `until` (all rows when None). Later rows are never read."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        train = features if until is None else features[features.index < until]
        if len(train) == 0:
            raise ValueError(f"no training rows before until={until!r}")
        x = train.to_numpy(dtype=np.float64, na_value=np.nan)
        center, scale = [], []
        for j, name in enumerate(train.columns):
            col = x[:, j]
            col = col[np.isfinite(col)]
            if col.size == 0:
                raise ValueError(f"feature {name!r} has no finite value in the training window ({len(train)} rows): "
                                 "a longer window, or a spec without it")
            if method == "zscore":
                c, s = float(np.mean(col)), float(np.std(col))
            else:
                q25, c, q75 = (float(v) for v in np.quantile(col, [0.25, 0.5, 0.75]))
                s = (q75 - q25) / _IQR_TO_STD
            center.append(c)
            scale.append(s if s > 0.0 and math.isfinite(s) else 1.0)
        return cls(tuple(str(c) for c in train.columns), tuple(center), tuple(scale), method, clip, len(train))

    def transform(self, x):
        """(x - centre) / scale for a DataFrame (columns picked by name, in order), a vector of
        len(names), or a 2-D array with len(names) columns."""
        if hasattr(x, "columns"):
            missing = [n for n in self.names if n not in x.columns]
            if missing:
                raise ValueError(f"features lack columns {missing}")
            out = self._apply(x[list(self.names)].to_numpy(dtype=np.float64, na_value=np.nan))
            return type(x)(out, index=x.index, columns=list(self.names))
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[-1:] != (len(self.names),):
            raise ValueError(f"expected {len(self.names)} features in the last dimension, got shape {arr.shape}")
        return self._apply(arr)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        out = (x - self._c) / self._s
        if self.clip is not None:
            np.clip(out, -self.clip, self.clip, out=out)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "names": list(self.names), "center": list(self.center),
                "scale": list(self.scale), "clip": self.clip, "rows": self.rows}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Normaliser:
        try:
            return cls(tuple(doc["names"]), tuple(doc["center"]), tuple(doc["scale"]), doc["method"], doc.get("clip"),
                       int(doc.get("rows", 0)))
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a Normaliser document ({e!r}): {str(doc)[:200]}") from None


def dump_bundle(spec: FeatureSpec, normaliser: Normaliser) -> str:
    """The spec and its fitted normaliser as one JSON document: what travels with the model."""
    if tuple(normaliser.names) != spec.names:
        raise ValueError("normaliser and spec disagree on the feature names")
    return json.dumps({"spec": spec.to_dict(), "normaliser": normaliser.to_dict()}, sort_keys=True)


def load_bundle(text: str) -> tuple[FeatureSpec, Normaliser]:
    doc = json.loads(text)
    if not isinstance(doc, dict) or "spec" not in doc or "normaliser" not in doc:
        raise ValueError("not a feature bundle: expected a JSON object with `spec` and `normaliser`")
    spec = FeatureSpec.from_dict(doc["spec"])
    normaliser = Normaliser.from_dict(doc["normaliser"])
    if tuple(normaliser.names) != spec.names:
        raise ValueError("bundle's normaliser and spec disagree on the feature names")
    return spec, normaliser
