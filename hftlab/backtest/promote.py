"""The promotion gate with MLflow around it: backtest, decide, record, and move the alias.

    result = promote(Registry.from_config(settings.mlflow), "7", settings.backtest, settings.promote, settings.mlflow,
                     venue_world=settings.venue.world)

1. what the candidate (a registered version, or the training run that registered it) and the
   current `champion` were trained on is read from their version tags (Registry.provenance);
2. the candidate, the champion and the candidate's baselines are backtested on the candidate's
   out-of-sample test block, same bars, same rule and costs (hftlab.backtest.runner.head_to_head),
   the champion only when the two can be compared (same world, symbol, timeframe and feature spec);
3. hftlab.backtest.gate decides on the candidate's evidence (gate.Evidence: trades, drawdown, the
   money statistic) and its per-bar return differences against the champion and each baseline
   (gate.Versus), refusing a candidate of another world than the venue's (`venue_world`) and any
   comparison across worlds, instruments, timeframes or feature specs;
4. a `promote` run in the experiment records the comparison, the decision and the plots; the
   candidate's version gets `promotion.*` tags (decision, reason, every check, the statistic, its
   floor, the t against the champion, margin, window, data, date, the run) whatever the outcome; only when promoted does the alias move (and the
   replaced champion's version gets `promotion.replaced_by`).

`dry_run` decides and logs the run but tags nothing and moves nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hftlab.backtest import gate
from hftlab.backtest.registry import ModelRef, Registry
from hftlab.backtest.runner import head_to_head, log_comparison


def promote(reg: Registry, candidate: str, backtest_cfg, promote_cfg, mlflow_cfg, *, venue_world: str, data=None,
            dry_run: bool = False, plot_dir=None) -> dict:
    """`backtest_cfg`: BacktestConfig (rule and costs), `promote_cfg`: PromoteConfig (the gate),
    `mlflow_cfg`: MlflowConfig (where the `promote` run goes), `venue_world`: the world the
    configured venue trades (hftlab.settings.venue_world)."""
    ref = reg.resolve(candidate)
    if ref.version is None or ref.name != reg.name:
        raise LookupError(f"{candidate!r} is not a registered version of {reg.name!r}: the gate promotes registered "
                          "versions (give the version number or the run id of the training run that registered it)")
    champion = reg.alias(promote_cfg.alias)
    is_champion = champion is not None and champion.version == ref.version
    trained_on = reg.provenance(ref)
    champion_trained_on = None if champion is None else reg.provenance(champion)
    comparable = champion_trained_on is not None and not trained_on.differences(champion_trained_on)
    rival = champion if comparable and not is_champion else None
    comp, report = head_to_head(reg, ref, rival, backtest_cfg, data=data)
    evidence = gate.Evidence.of(comp.strategies["candidate"].metrics)
    versus = _versus(comp, "champion") if "champion" in comp.strategies else None
    baselines = [_versus(comp, name) for name in promote_cfg.baselines if name in comp.strategies]
    decision = gate.decide(evidence, versus, baselines, report, promote_cfg, venue_world=venue_world,
                           candidate_provenance=trained_on, champion_provenance=champion_trained_on,
                           candidate_is_champion=is_champion)
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "date": date,
        "promoted": decision.promoted,
        "reason": decision.reason,
        "candidate": _ref(ref),
        "champion": _ref(champion),
        "alias": promote_cfg.alias,
        "venue_world": venue_world,
        "provenance": {"candidate": trained_on.to_dict(),
                       "champion": None if champion_trained_on is None else champion_trained_on.to_dict()},
        "decision": decision.to_dict(),
        "gate": promote_cfg.model_dump(),
        **comp.to_dict(),
        "dry_run": dry_run,
    }
    doc["mlflow_run_id"] = log_comparison(
        mlflow_cfg, comp, kind="promote", name=f"promote-v{ref.version}", plot_dir=plot_dir,
        tags={"hftlab.candidate_version": ref.version, "hftlab.promoted": str(decision.promoted).lower()},
        documents={"decision": doc})
    if not dry_run:
        reg.tag_version(ref, _tags(doc, decision, champion))
        if decision.promoted:
            reg.set_alias(ref, promote_cfg.alias)
            if champion is not None:
                reg.tag_version(champion, {"promotion.replaced_by": f"v{ref.version} ({date})"})
    return doc


def _ref(ref: ModelRef | None) -> dict | None:
    return None if ref is None else {"name": ref.name, "version": ref.version, "run_id": ref.run_id, "uri": ref.uri}


def _versus(comp, rival: str) -> gate.Versus:
    return gate.Versus(rival, comp.versus("candidate", rival), comp.strategies["candidate"].metrics["total_return"],
                       comp.strategies[rival].metrics["total_return"])


def _tags(doc: dict, decision: gate.Decision, champion: ModelRef | None) -> dict[str, str]:
    d = decision.to_dict()
    return {
        "promotion.decision": "promoted" if decision.promoted else "refused",
        "promotion.reason": decision.reason,
        "promotion.date": doc["date"],
        "promotion.metric": decision.metric,
        "promotion.candidate_value": str(d["candidate_value"]),
        "promotion.floor": str(decision.floor),
        "promotion.versus_champion_t": "none" if d["versus_champion"] is None else str(d["versus_champion"]),
        "promotion.margin": str(decision.margin),
        "promotion.previous_champion": "none" if champion is None else f"v{champion.version}",
        "promotion.venue_world": doc["venue_world"],
        "promotion.window": f"{doc['window']['start']} .. {doc['window']['end']} ({doc['window']['bars']} bars)",
        "promotion.data": str(doc["data"]["path"]),
        "promotion.checks": "; ".join(f"{c.name}={'ok' if c.passed else 'FAILED'}" for c in decision.checks),
        "promotion.mlflow_run": doc["mlflow_run_id"],
    }
