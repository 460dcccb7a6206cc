"""How big a position the signal asks for: one function for the backtest and the live runner.

    fraction = 1                                              (mode fixed)
    fraction = conviction * vol_scale                         (mode scaled)
        conviction = clip((|edge| - threshold) / (1 - threshold), 0, 1)
        vol_scale  = min(max_vol_scale, target_vol / realised_vol)    (1 without a target)
    notional   = notional_usd * fraction, capped at `cap_usd` (the risk engine's position limit),
                 and 0 below `min_fraction` of notional_usd

`edge` is P(up) - P(down) of the bar the decision is made on, `realised_vol` that bar's per-bar
volatility (e.g. the `rv_w` feature divided by sqrt(w)), both taken before the bar's successor opens.
The direction comes from the signal rule; sizing only says how much. Batch form for the backtest
(numpy arrays), scalar form for the live loop; they are the same arithmetic (a parity test holds them
equal).
"""

from __future__ import annotations

import math

import numpy as np


def fraction(edge: float, realised_vol: float, threshold: float, cfg) -> float:
    """The fraction of `cfg.notional_usd` to hold (0 .. max_vol_scale); NaN inputs give 0."""
    if cfg.mode == "fixed":
        return 1.0
    if not (edge == edge) or threshold >= 1.0:
        return 0.0
    conviction = min(max((abs(edge) - threshold) / (1.0 - threshold), 0.0), 1.0)
    scale = 1.0
    if cfg.target_vol_bps is not None:
        if not (realised_vol > 0.0) or math.isinf(realised_vol):
            return 0.0
        scale = min(cfg.max_vol_scale, cfg.target_vol_bps / 1e4 / realised_vol)
    f = conviction * scale
    return 0.0 if f < cfg.min_fraction else f


def notional(edge: float, realised_vol: float, threshold: float, cfg, cap_usd: float) -> float:
    return min(cfg.notional_usd * fraction(edge, realised_vol, threshold, cfg), cap_usd)


def notional_batch(edge: np.ndarray, realised_vol: np.ndarray, threshold: float, cfg, cap_usd: float) -> np.ndarray:
    """`notional` element-wise over arrays (the backtest's per-bar sizes)."""
    edge = np.asarray(edge, dtype=np.float64)
    vol = np.asarray(realised_vol, dtype=np.float64)
    if cfg.mode == "fixed":
        return np.full(edge.shape, min(cfg.notional_usd, cap_usd))
    if threshold >= 1.0:
        return np.zeros(edge.shape)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        conviction = np.clip((np.abs(edge) - threshold) / (1.0 - threshold), 0.0, 1.0)
        if cfg.target_vol_bps is not None:
            ok = (vol > 0.0) & np.isfinite(vol)
            scale = np.where(ok, np.minimum(cfg.max_vol_scale, cfg.target_vol_bps / 1e4 / np.where(ok, vol, 1.0)), 0.0)
        else:
            scale = np.ones(edge.shape)
        f = np.where(np.isnan(edge), 0.0, conviction * scale)
    f = np.where(f < cfg.min_fraction, 0.0, f)
    return np.minimum(cfg.notional_usd * f, cap_usd)
