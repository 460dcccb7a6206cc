"""The promotion decision, as a pure function of two backtests, a training report and what the two
models were trained on.

A candidate becomes champion only if

0. it may be judged here at all (models of different worlds never compete:
   hftlab.models.provenance):
   - provenance: its version records the world, symbol, timeframe and feature-spec hash of its
     training data;
   - world: that world is the one the venue trades (`venue_world`: a model of the simulator's
     price process means nothing on OKX, and the other way round);
   - comparable: when there is a champion, both were trained on the same world, symbol, timeframe
     and feature spec; otherwise they "cannot compare" (a head-to-head on one of their bars files
     would judge the other on data it was not made for, and a different feature spec is a
     different live pipeline, a deliberate change rather than a promotion);
1. it passes every check:
   - trades: at least `min_trades` trades in the window (fewer cannot be judged);
   - drawdown: its max drawdown in the window is at most `max_drawdown_pct`;
   - controls: each of `required_controls` in its training report passed (the permuted-label
     control: with shuffled training labels every model sat at chance, so the pipeline does not
     leak the future);
   - floor: its metric is at least `min_metric` (0 by default: a money-loser is never promoted);
2. and either there is no champion yet (the first model that passes becomes champion), or its
   metric beats the champion's on the same window by more than `margin`.

A candidate that already is the champion is left alone. Every outcome carries the reason in one
line and every check with its numbers; the provenance checks come first in both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from hftlab.models.provenance import Provenance, world_mismatch


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    metric: str
    candidate_value: float
    champion_value: float | None
    margin: float
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("candidate_value", "champion_value"):
            if isinstance(d[k], float) and not math.isfinite(d[k]):
                d[k] = None if math.isnan(d[k]) else ("inf" if d[k] > 0 else "-inf")
        return d


def provenance_checks(venue_world: str, candidate: Provenance, champion: Provenance | None) -> list[Check]:
    """Whether the candidate may be judged on this venue, and against this champion (None: none)."""
    missing = candidate.missing()
    out = [Check("provenance", not missing,
                 f"the candidate's version does not record its {', '.join(missing)} (retrain it: training records them)"
                 if missing else "world, symbol, timeframe and feature spec recorded")]
    mismatch = world_mismatch(candidate.world, venue_world)
    out.append(Check("world", mismatch is None, mismatch or f"trained on {venue_world} data, the venue's world"))
    if champion is not None:
        diffs = candidate.differences(champion)
        unrecorded = champion.missing()
        hint = (f" (the champion's version does not record its {', '.join(unrecorded)}: a model registered before "
                "provenance tags cannot be compared; remove its alias to let the next model that passes the checks "
                "become champion)") if unrecorded else ""
        out.append(Check("comparable", not diffs,
                         "cannot compare: candidate vs champion: " + "; ".join(diffs) + hint if diffs
                         else "same world, symbol, timeframe and feature spec as the champion"))
    return out


def checks(candidate: dict, report: dict, cfg) -> list[Check]:
    """The candidate's checks (see the module doc). `candidate`: its backtest metrics."""
    out = [
        Check("trades", candidate["n_trades"] >= cfg.min_trades,
              f"{candidate['n_trades']} trade(s) in the window, minimum {cfg.min_trades}"),
        Check("drawdown", candidate["max_drawdown_pct"] <= cfg.max_drawdown_pct,
              f"max drawdown {candidate['max_drawdown_pct']:.2f}%, bound {cfg.max_drawdown_pct:g}%"),
    ]
    controls = report.get("controls") or {}
    for key in cfg.required_controls:
        c = controls.get(key)
        if c is None:
            out.append(Check(f"control:{key}", False, f"the training report has no {key!r} control "
                                                       "(train without skipping it)"))
        else:
            out.append(Check(f"control:{key}", bool(c.get("passed")),
                             f"{'passed' if c.get('passed') else 'FAILED'}: {c.get('what', '')}".strip()))
    v = float(candidate[cfg.metric])
    out.append(Check("floor", v >= cfg.min_metric,
                     f"{cfg.metric} {v:.4g}, floor {cfg.min_metric:g}" if not math.isnan(v)
                     else f"{cfg.metric} is undefined, floor {cfg.min_metric:g}"))
    return out


def decide(candidate: dict, champion: dict | None, report: dict, cfg, *, venue_world: str,
           candidate_provenance: Provenance, champion_provenance: Provenance | None,
           candidate_is_champion: bool = False) -> Decision:
    """candidate / champion: backtest metrics on the same window (champion None: there is none, or
    it was not backtested because it cannot be compared or is the candidate); `cfg`: PromoteConfig;
    `venue_world`: the world the venue trades; the provenances: what each version was trained on
    (champion_provenance None: there is no champion)."""
    metric = cfg.metric
    cand = float(candidate[metric])
    champ = None if champion is None else float(champion[metric])
    grounds = provenance_checks(venue_world, candidate_provenance, champion_provenance)
    found = grounds + checks(candidate, report, cfg)

    def decision(promoted: bool, reason: str) -> Decision:
        return Decision(promoted, reason, metric, cand, champ, cfg.margin, found)

    if candidate_is_champion:
        return decision(False, "not promoted: the candidate already is the champion")
    refused = [c for c in grounds if not c.passed]
    if refused:
        return decision(False, "not promoted: " + "; ".join(c.detail for c in refused))
    failed = [c for c in found if not c.passed]
    if failed:
        return decision(False, "not promoted: failed " + "; ".join(f"{c.name} ({c.detail})" for c in failed))
    if champ is None:
        if champion_provenance is not None:
            raise ValueError("there is a champion it can be compared with, but no backtest of it")
        return decision(True, f"promoted: first model to pass the checks ({metric} {cand:.4g})")
    if math.isnan(cand) or math.isnan(champ):
        return decision(False, f"not promoted: {metric} is undefined (candidate {cand}, champion {champ})")
    gain = cand - champ
    if gain > cfg.margin:
        return decision(True, f"promoted: {metric} {cand:.4g} beats the champion's {champ:.4g} by {gain:.4g} "
                              f"(margin {cfg.margin:g})")
    return decision(False, f"not promoted: {metric} {cand:.4g} vs the champion's {champ:.4g} "
                           f"({gain:+.4g}; it must win by more than {cfg.margin:g})")
