"""The research loop's last step: trade the champion on the simulator for a short session
(`hftlab live`, as a user runs it) and show what happened (notebook 06_live).

    doc = live_session(run_dir, config, duration_s=60)      # -> run_dir/live.json, run_dir/live/
    doc = live_session(run_dir, config, 60, speed=10, signal_strength=1.0,
                       rule={"threshold": 0.5, "execution": "maker"})
    tables = records(run_dir)                                # fills, orders, equity, latency (pandas)
    figures(run_dir, tables)                                 # run_dir/live/*.png

With no champion the runner trades the newest candidate in SHADOW mode (labelled in its output):
the whole live path is exercised on every run. The session runs in a subprocess (its own event
loop and signal handling, as from a terminal); its summary is the last stdout line (`--json`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LIVE_DIR = "live"


def live_session(run_dir: Path | str, config: list[str] | None, duration_s: float, *, speed: float | None = None,
                 signal_strength: float | None = None, rule: dict | None = None, timeout_s: float | None = None,
                 extra: list[str] | None = None) -> dict:
    """`speed`: the embedded simulator's market seconds per wall second (default venue.sim.speed);
    `signal_strength`: its planted relation (default venue.sim.signal_strength: the research pipeline
    trades the world it trained on); `rule`: the signal rule the research steps backtested
    (threshold, exit_threshold, allow_short: the `backtest` settings the live runner trades by, and
    execution: maker or taker, its `strategy.style`). None leaves a setting as configured."""
    run_dir = Path(run_dir)
    state = run_dir / LIVE_DIR  # the embedded simulator is new each session: so is its state
    if (state / "journal.sqlite").exists():
        import shutil

        shutil.rmtree(state)
    cmd = [sys.executable, "-m", "hftlab.live", "--duration", str(duration_s), "--json", "--state-dir", str(state)]
    for c in config or []:
        cmd += ["--config", str(c)]
    cmd += list(extra or [])
    env = {**os.environ, **settings_env(speed=speed, signal_strength=signal_strength, rule=rule)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s or duration_s + 300)
    (run_dir / "live.log").write_text(proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"hftlab live exited {proc.returncode}:\n{tail}")
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    (run_dir / "live.json").write_text(json.dumps(doc, indent=1))
    return doc


def settings_env(*, speed: float | None, signal_strength: float | None, rule: dict | None) -> dict[str, str]:
    """The HFTLAB__ environment overrides that give the live session these settings."""
    env = {}
    if speed:
        env["HFTLAB__VENUE__SIM__SPEED"] = repr(float(speed))
    if signal_strength is not None:
        env["HFTLAB__VENUE__SIM__SIGNAL_STRENGTH"] = repr(float(signal_strength))
    for key, value in (rule or {}).items():
        if value is None:
            continue
        if key == "execution":
            env["HFTLAB__STRATEGY__STYLE"] = str(value)
        elif key in ("threshold", "exit_threshold"):
            env[f"HFTLAB__BACKTEST__{key.upper()}"] = repr(float(value))
        elif key == "allow_short":
            env["HFTLAB__BACKTEST__ALLOW_SHORT"] = "true" if value else "false"
        else:
            raise ValueError(f"not a rule setting of the live session: {key!r}")
    return env


def records(run_dir: Path | str) -> dict:
    """The session's Parquet records as pandas DataFrames, by table."""
    from hftlab.live.records import TABLES, read

    root = Path(run_dir) / LIVE_DIR / "records"
    return {t: read(root, t).to_pandas() for t in TABLES}


def figures(run_dir: Path | str, tables: dict) -> list[Path]:
    """Equity, position, fills on price, tick-to-order histogram (PNG, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out_dir = Path(run_dir) / LIVE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    eq, fills, lat = tables["equity"], tables["fills"], tables["latency"]
    ax = axes[0, 0]
    if len(eq):
        ax.plot(pd.to_datetime(eq.ts_ms, unit="ms"), eq.equity)
    ax.set_title("equity (mark to market)")
    ax = axes[0, 1]
    if len(fills):
        f = fills.assign(t=pd.to_datetime(fills.ts_ms, unit="ms"), q=fills.sz.astype(float),
                         s=fills.side.map({"buy": 1.0, "sell": -1.0}))
        ax.step(f.t, (f.q * f.s).cumsum(), where="post")
    ax.set_title("position (from fills)")
    ax = axes[1, 0]
    if len(fills):
        for side, colour in (("buy", "tab:green"), ("sell", "tab:red")):
            s = f[f.side == side]
            ax.scatter(s.t, s.px.astype(float), s=10, c=colour, label=side)
        ax.legend()
    ax.set_title("fills on price")
    ax = axes[1, 1]
    if len(lat):
        ax.hist(lat.tick_to_order_us, bins=40)
    ax.set_title("tick-to-order (µs)")
    fig.tight_layout()
    path = out_dir / "session.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return [path]
