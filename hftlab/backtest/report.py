"""Text reports of backtest comparisons and promotion decisions, for terminals and notebooks.

`format_report` renders a comparison document (`hftlab.backtest.compare.Comparison.to_dict`) as a
metrics table with its notes; `format_decision` a promotion document (`hftlab.backtest.promote`).
"""

from __future__ import annotations

import math

COLUMNS = (("total_return", "return", "{:+.3%}"), ("gross_return", "gross", "{:+.3%}"), ("sharpe", "sharpe", "{:.2f}"),
           ("sortino", "sortino", "{:.2f}"), ("max_drawdown_pct", "max dd %", "{:.2f}"), ("hit_rate", "hit", "{:.2f}"), ("n_trades", "trades", "{:d}"),
           ("turnover", "turnover", "{:.1f}"), ("exposure", "exposure", "{:.2f}"), ("fees_paid", "fees", "{:.2f}"))


def format_report(doc: dict) -> str:
    """The metrics table and the notes of a comparison document (Comparison.to_dict)."""
    w, c = doc["window"], doc["costs"]
    lines = [f"window {w['first_bar']} .. {w['last_bar']}: {w['bars']} bars ({w['what']})",
             f"data {doc['data']['path']}; fee {c['fee']:.4%} per fill, slippage {c['mean_slippage_bps']:.2f} bp "
             f"({c['slippage']}), stop {c['stop_loss_pct']:g}%, rule {doc['rule']}"]
    names = list(doc["metrics"])
    width = max(len(n) for n in names)
    lines.append(f"  {'strategy':<{width}}  " + "  ".join(f"{h:>9}" for _k, h, _f in COLUMNS))
    for n in names:
        m = doc["metrics"][n]
        cells = []
        for key, _h, fmt in COLUMNS:
            v = m.get(key)
            cells.append(f"{'-' if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v):>9}")
        lines.append(f"  {n:<{width}}  " + "  ".join(cells))
    lines += [f"note: {n}" for n in doc.get("notes", [])]
    if doc.get("mlflow_run_id"):
        lines.append(f"MLflow run {doc['mlflow_run_id']}")
    return "\n".join(lines)


def format_decision(doc: dict) -> str:
    cand, champ = doc["candidate"], doc["champion"]
    head = f"candidate {cand['name']} v{cand['version']} (run {cand['run_id']}) vs " + (
        f"champion v{champ['version']}" if champ else "no champion yet")
    checks = ", ".join(f"{c['name']} {'ok' if c['passed'] else 'FAILED'} ({c['detail']})" for c in doc["decision"]["checks"])
    verdict = "PROMOTED" + doc["reason"][len("promoted"):] if doc["promoted"] else doc["reason"]
    tail = " (dry run: nothing tagged, alias unchanged)" if doc["dry_run"] else ""
    return "\n".join([head, format_report(doc), f"checks: {checks}", verdict + tail])
