"""Text reports of backtest comparisons and promotion decisions, for terminals and notebooks.

`format_report` renders a comparison document (`hftlab.backtest.compare.Comparison.to_dict`) as a
metrics table with its notes; `format_decision` a promotion document (`hftlab.backtest.promote`).
"""

from __future__ import annotations

import math

COLUMNS = (("total_return", "return", "{:+.3%}"), ("gross_return", "gross", "{:+.3%}"),
           ("n_trades", "trades", "{:d}"), ("trade_mean_bps", "bp/trade", "{:+.2f}"), ("trade_t", "trade t", "{:.2f}"),
           ("psr", "psr", "{:.3f}"), ("hit_rate", "hit", "{:.2f}"), ("max_drawdown_pct", "max dd %", "{:.2f}"),
           ("sharpe", "sharpe/yr", "{:.1f}"), ("exposure", "exposure", "{:.2f}"), ("fees_paid", "fees", "{:.2f}"))


def costs_line(doc: dict) -> str:
    """The rule, costs and sizing of a comparison document, in one line."""
    c, w = doc["costs"], doc["window"]
    funding = f", funding at {c['funding_settlements']} settlement(s)" if c.get("funding_settlements") else ""
    size = doc.get("sizing") or {}
    sizing = f"sizing {size.get('mode')} {size.get('notional_usd', 0):g} USD (cap {size.get('cap_usd', 0):g})" if size else ""
    return (f"{c['execution']} at OKX {c['fee_tier']} {c['inst_type'].lower()} fees (maker {c['maker_fee']:.4%}, taker "
            f"{c['taker_fee']:.4%}), half-spread {c['mean_slippage_bps']:.2f} bp ({c['slippage']}), latency "
            f"{c['latency_ms']:g} ms{funding}, stop {c['stop_loss_pct']:g}%, {sizing}; Sharpe annualised from "
            f"{w.get('bar_seconds', 0):g} s bars; rule {doc['rule']}")


def format_report(doc: dict) -> str:
    """The metrics table and the notes of a comparison document (Comparison.to_dict)."""
    w = doc["window"]
    lines = [f"window {w['first_bar']} .. {w['last_bar']}: {w['bars']} bars ({w['what']})",
             f"data {doc['data']['path']}; {costs_line(doc)}"]
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
