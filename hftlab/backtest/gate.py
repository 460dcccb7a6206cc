"""The promotion decision, as a pure function of the evidence from one backtest window, a training
report and what the models were trained on.

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
1. it passes every check, on its out-of-sample window after every cost:
   - trades: at least `min_trades` trades (fewer cannot be judged);
   - drawdown: its max drawdown is at most `max_drawdown_pct`;
   - controls: each of `required_controls` in its training report passed: `permuted_labels` (fitted
     to shuffled training labels, no model recovered a material part of its real skill: the labels
     do not leak into training) and `null_world` (the same pipeline on a world where nothing is predictable, the
     simulator at signal 0, did not pass this gate's money test: the only control that catches a
     feature reading the future, which a shuffled-label fit cannot learn from);
   - money: its statistic (`metric`) reaches the floor: `trade_t`, the t-statistic of its per-trade
     net returns (default floor 2: about 97.7% one-sided confidence that it makes money after
     costs), or `psr`, the probabilistic Sharpe ratio of its bar returns (default floor 0.95);
   - baselines: it beats each of `baselines` (majority, logistic regression, gradient-boosted
     trees through the same rule and costs) on the same window: the t-statistic of the per-bar
     return difference above `baseline_margin` (0: it made more); a baseline that could not be
     backtested fails the check;
2. and either there is no champion yet (the first model that passes becomes champion), or it beats
   the champion on the same window: the t-statistic of their per-bar return difference above
   `margin` (2 by default: a significant improvement, not a lucky one).

A candidate that already is the champion is left alone. Every outcome carries the reason in one
line and every check with its numbers; the provenance checks come first in both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from hftlab.models.provenance import Provenance, world_mismatch


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Evidence:
    """What the backtest says about the candidate on the window (hftlab.backtest.metrics)."""

    n_trades: int
    max_drawdown_pct: float
    trade_t: float
    trade_mean_bps: float
    psr: float
    total_return: float

    @classmethod
    def of(cls, metrics: Mapping[str, float]) -> Evidence:
        return cls(int(metrics["n_trades"]), float(metrics["max_drawdown_pct"]), float(metrics["trade_t"]),
                   float(metrics["trade_mean_bps"]), float(metrics["psr"]), float(metrics["total_return"]))

    def statistic(self, metric: str) -> float:
        return {"trade_t": self.trade_t, "psr": self.psr}[metric]


@dataclass(frozen=True)
class Versus:
    """The candidate against another strategy on the same bars: `t` is the t-statistic of the
    candidate's per-bar returns minus the rival's (NaN: too few bars to say); None returns: the
    rival could not be backtested (why says why)."""

    rival: str
    t: float
    candidate_return: float
    rival_return: float | None
    why: str = ""


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    metric: str
    candidate_value: float
    floor: float
    versus_champion: float | None      # t of the per-bar difference against the champion
    margin: float
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("candidate_value", "versus_champion"):
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


def money_check(ev: Evidence, cfg) -> Check:
    """Whether the evidence reaches the floor of `cfg.metric` (the check `money`)."""
    v, floor = ev.statistic(cfg.metric), cfg.floor
    if math.isnan(v):
        return Check("money", False, f"{cfg.metric} is undefined ({ev.n_trades} trade(s)), floor {floor:g}")
    return Check("money", v >= floor, f"{cfg.metric} {v:.3g} (mean {ev.trade_mean_bps:+.2f} bp a trade over "
                                      f"{ev.n_trades} trades, return {ev.total_return:+.3%}), floor {floor:g}")


def _beats(vs: Versus | None, name: str, margin: float) -> Check:
    if vs is None or vs.rival_return is None:
        why = vs.why if vs is not None and vs.why else "it was not backtested beside the candidate"
        return Check(f"baseline:{name}", False, f"{name}: {why}")
    ok = not math.isnan(vs.t) and vs.t > margin
    return Check(f"baseline:{name}", ok, f"t {vs.t:.3g} of the per-bar difference (candidate {vs.candidate_return:+.3%}, "
                                         f"{name} {vs.rival_return:+.3%}), must exceed {margin:g}")


def checks(candidate: Evidence, baselines: Sequence[Versus], report: dict, cfg) -> list[Check]:
    """The candidate's checks (see the module doc)."""
    out = [
        Check("trades", candidate.n_trades >= cfg.min_trades,
              f"{candidate.n_trades} trade(s) in the window, minimum {cfg.min_trades}"),
        Check("drawdown", candidate.max_drawdown_pct <= cfg.max_drawdown_pct,
              f"max drawdown {candidate.max_drawdown_pct:.2f}%, bound {cfg.max_drawdown_pct:g}%"),
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
    out.append(money_check(candidate, cfg))
    by_name = {v.rival: v for v in baselines}
    out += [_beats(by_name.get(name), name, cfg.baseline_margin) for name in cfg.baselines]
    return out


def decide(candidate: Evidence, champion: Versus | None, baselines: Sequence[Versus], report: dict, cfg, *,
           venue_world: str, candidate_provenance: Provenance, champion_provenance: Provenance | None,
           candidate_is_champion: bool = False) -> Decision:
    """`candidate`: its evidence on the window; `champion`: the candidate against the champion on the
    same window (None: there is none, or it was not backtested because it cannot be compared or is
    the candidate); `baselines`: the candidate against each baseline; `cfg`: PromoteConfig;
    `venue_world`: the world the venue trades; the provenances: what each version was trained on
    (champion_provenance None: there is no champion)."""
    value = candidate.statistic(cfg.metric)
    vs = None if champion is None else float(champion.t)
    grounds = provenance_checks(venue_world, candidate_provenance, champion_provenance)
    found = grounds + checks(candidate, baselines, report, cfg)

    def decision(promoted: bool, reason: str) -> Decision:
        return Decision(promoted, reason, cfg.metric, value, cfg.floor, vs, cfg.margin, found)

    if candidate_is_champion:
        return decision(False, "not promoted: the candidate already is the champion")
    refused = [c for c in grounds if not c.passed]
    if refused:
        return decision(False, "not promoted: " + "; ".join(c.detail for c in refused))
    failed = [c for c in found if not c.passed]
    if failed:
        return decision(False, "not promoted: failed " + "; ".join(f"{c.name} ({c.detail})" for c in failed))
    if champion is None:
        if champion_provenance is not None:
            raise ValueError("there is a champion it can be compared with, but no backtest of it")
        return decision(True, f"promoted: first model to pass the checks ({cfg.metric} {value:.3g})")
    if math.isnan(vs):
        return decision(False, "not promoted: too few bars to compare the candidate with the champion")
    if vs > cfg.margin:
        return decision(True, f"promoted: beats the champion on the same window (t {vs:.3g} of the per-bar "
                              f"difference, margin {cfg.margin:g}; candidate {champion.candidate_return:+.3%}, "
                              f"champion {champion.rival_return:+.3%})")
    return decision(False, f"not promoted: does not beat the champion by enough (t {vs:.3g} of the per-bar "
                           f"difference, it must exceed {cfg.margin:g}; candidate {champion.candidate_return:+.3%}, "
                           f"champion {champion.rival_return:+.3%})")
