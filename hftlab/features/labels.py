"""Training labels from future closes: the only place in hftlab.features that looks ahead.

`make_labels(close, horizon, dead_zone_bps)` labels bar t by the return close[t+horizon] /
close[t] - 1: +1 above the dead zone, -1 below minus it, 0 inside it. With
`method="triple_barrier"`, the first of three barriers decides instead: +1 when the return from
close[t] first reaches +upper_bps within `horizon` bars, -1 when it first reaches -lower_bps, and
at the horizon (neither touched) the fixed-horizon label above. Barriers are checked on closes
only. The result is a float array in {-1, 0, 1} with NaN where a close from t to t + horizon lies
beyond the data or is missing (for the triple barrier too, even when a barrier was touched
earlier: which bars get a label must not depend on how the path turned out). Features never read
these arrays, and tests perturb the future to prove it.
"""

from __future__ import annotations

import math

import numpy as np

from hftlab.features.indicators import check_period

METHODS = ("fixed", "triple_barrier")


def make_labels(close, horizon: int, dead_zone_bps: float, *, method: str = "fixed",
                upper_bps: float | None = None, lower_bps: float | None = None) -> np.ndarray:
    horizon = check_period("horizon", horizon, 1)
    dz = _bps("dead_zone_bps", dead_zone_bps, allow_zero=True)
    x = np.ascontiguousarray(close, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"close must be one-dimensional, got shape {x.shape}")
    x = np.where(np.isfinite(x) & (x > 0.0), x, np.nan)
    if method == "fixed":
        if upper_bps is not None or lower_bps is not None:
            raise ValueError("upper_bps/lower_bps apply to method='triple_barrier' only")
        out = np.full(x.size, np.nan)
        if x.size > horizon:
            r = x[horizon:] / x[:-horizon] - 1.0
            lab = np.where(r > dz, 1.0, np.where(r < -dz, -1.0, 0.0))
            out[:-horizon] = np.where(np.isnan(r), np.nan, lab)
        return out
    if method == "triple_barrier":
        if upper_bps is None or lower_bps is None:
            raise ValueError("method='triple_barrier' needs upper_bps and lower_bps")
        up = _bps("upper_bps", upper_bps, allow_zero=False)
        lo = _bps("lower_bps", lower_bps, allow_zero=False)
        from hftlab.features import kernels

        out = np.empty_like(x)
        kernels.triple_barrier_into(x, horizon, up, lo, dz, out)
        return out
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _bps(name: str, value, *, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0 (basis points), got {value!r}")
    return float(value) * 1e-4
