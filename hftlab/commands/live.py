"""Trade the champion: `hftlab live` (also `python -m hftlab.live`).

    hftlab live --duration 300 --json                      # the embedded simulator, the sim champion
    hftlab sim --port 8088 &                               # a venue that outlives the runner ...
    hftlab live --sim-url http://127.0.0.1:8088 --model models:/hftlab-signal-sim/3 --duration 60
    hftlab live --venue okx-demo                           # OKX demo trading (demo API keys)
    hftlab live --venue okx-live --live                    # real money: the flag, keys and an OKX champion

Signals from the model's closed bars pass the strategy's filters and sizing, every order passes the
risk engine before the order manager sends it, and positions and PnL come from the fills. Progress
lines every few seconds on stderr; SIGINT/SIGTERM (or --duration) stop new orders, cancel open ones
(`live.on_exit`), flush the journal, disarm Cancel-All-After and print the summary (`--json`: one
JSON object as the last line of stdout). `hftlab kill` (or SIGUSR1) halts a running runner.

State (the order journal, the risk state with HALTED and the high-water mark, the records) lives in
--state-dir, default `<execution.state_dir>/<venue>`: one directory per account, so a restart
recovers its orders and a HALTED latch survives it (`--reset-halt` clears it, a person's decision,
and exits). The embedded simulator is born and dies with its session, and so is its account: its
default state directory is new each session (`<execution.state_dir>/sim-embedded/<time>`); trade a
running `hftlab sim` (--sim-url) for a venue that outlives the runner.

Exit codes: 0 the session ran; 1 the venue could not be reached or failed during the run; 2 bad
usage: okx-live without --live or without credentials, no model it may trade, invalid config.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from hftlab.commands.common import add_common, load_settings


def add_arguments(p) -> None:
    add_common(p)
    p.add_argument("--venue", choices=["sim", "okx-demo", "okx-live"], help="where to trade (default venue.name)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--model", metavar="URI", help="simulator only: trade this model (models:/name/version, a run "
                                                  "id, a model directory) instead of the champion")
    p.add_argument("--sim-url", metavar="URL", help="trade a running `hftlab sim` at this URL (e.g. "
                                                    "http://127.0.0.1:8088) instead of an embedded one")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="journal, risk state, records "
                                                                 "(default <execution.state_dir>/<venue>)")
    p.add_argument("--live", action="store_true", help="confirm trading real money on okx-live")
    p.add_argument("--no-redis", action="store_true", help="do not publish live state to Redis")
    p.add_argument("--reset-halt", action="store_true", help="clear a HALTED trading state in --state-dir and exit")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object (last line of stdout)")


def _progress(line: str) -> None:
    print(f"hftlab live: {line}", file=sys.stderr, flush=True)


def run(args) -> int:
    from hftlab.core.config import repo_path
    from hftlab.core.secrets import CredentialsError, load_credentials
    from hftlab.live.preflight import venue_problems

    settings = load_settings(args, {"HFTLAB__VENUE__NAME": args.venue} if args.venue else None)
    venue = settings.venue.name
    embedded = venue == "sim" and not args.sim_url
    if args.state_dir:
        state_dir = args.state_dir.resolve()
    elif embedded:  # the embedded simulator is born and dies with this session: so is its account
        state_dir = repo_path(settings.execution.state_dir) / "sim-embedded" / time.strftime("%Y%m%dT%H%M%SZ",
                                                                                            time.gmtime())
    else:  # one directory per account: the journal and the HALTED latch outlive the runner
        state_dir = repo_path(settings.execution.state_dir) / venue
    if args.reset_halt:
        return _reset_halt(settings, state_dir)
    try:
        creds = load_credentials(venue, settings.venue.credentials_file)
        creds_error = None
    except CredentialsError as e:
        creds, creds_error = None, str(e)
    problems = venue_problems(venue, args.live, args.model, creds_error)
    if args.sim_url and venue != "sim":
        problems.append("--sim-url is for venue sim")
    if problems:
        for p in problems:
            print(f"hftlab live: {p}", file=sys.stderr)
        return 2
    if args.duration is not None and args.duration <= 0:
        print("hftlab live: --duration must be > 0 seconds", file=sys.stderr)
        return 2
    from hftlab.live.session import SessionConfig, SessionError
    from hftlab.okx.channels import Endpoints

    if venue == "sim":
        endpoints = Endpoints.from_base_url(args.sim_url) if args.sim_url else None
    else:
        endpoints = Endpoints.from_venue(settings.venue)
    cfg = SessionConfig(
        venue=venue, world=settings.venue.world, endpoints=endpoints, sim=settings.venue.sim, credentials=creds,
        client=settings.client, channels=list(settings.trading.channels), mlflow=settings.mlflow,
        model_uri=args.model, symbols=settings.live.symbols, timeframe=settings.strategy.timeframe,
        execution=settings.execution, risk=settings.risk, live=settings.live,
        redis=None if args.no_redis else settings.redis, state_dir=state_dir)
    try:
        summary = asyncio.run(_session(cfg, settings, args.duration))
    except SessionError as e:
        for p in e.problems:
            print(f"hftlab live: {p}", file=sys.stderr)
        return 2 if e.usage else 1
    except OSError as e:
        print(f"hftlab live: the venue could not be reached: {e}", file=sys.stderr)
        return 1
    if args.json:
        from hftlab.live.runner import dump

        sys.stdout.write(dump(summary) + "\n")
    else:
        print(format_summary(summary))
    return 0


async def _session(cfg, settings, duration):
    from hftlab.live.runner import LiveRunner
    from hftlab.live.session import open_session

    _progress(f"venue {cfg.venue}, state in {cfg.state_dir}" + (f", {duration:g} s" if duration else ""))
    async with open_session(cfg, progress=_progress) as session:
        from hftlab.monitor.resources import memory_limit_bytes

        runner = LiveRunner(session, risk_cfg=settings.risk, strategy_cfg=settings.strategy,
                            rule_cfg=settings.backtest, live_cfg=settings.live, horizon=settings.model.horizon,
                            state_dir=cfg.state_dir, duration_s=duration, progress=_progress,
                            monitor_cfg=settings.monitor,
                            memory_limit_bytes=memory_limit_bytes(settings.system.max_memory_usage))
        return await runner.run()


def _reset_halt(settings, state_dir: Path) -> int:
    from hftlab.risk.state import StateFile, TradingState

    f = StateFile(state_dir / "risk.json")
    saved = f.load()
    if saved.state is not TradingState.HALTED:
        print(f"hftlab live: {state_dir} is {saved.state.value}: nothing to reset")
        return 0
    print(f"hftlab live: clearing HALTED in {state_dir} (was: {'; '.join(saved.reasons)})")
    saved.state, saved.reasons = TradingState.ACTIVE, []
    f.save(saved)
    return 0


def format_summary(s: dict) -> str:
    pnl = s.get("pnl") or {}
    t2o = s["tick_to_order_us"]
    lines = [
        f"live session on {s['venue']}: {s['elapsed_s']:.0f} s, stopped by {s['stopped_by']}, "
        f"model {s['model']['name']} v{s['model']['version']}{' (SHADOW)' if s['model']['shadow'] else ''}",
        f"  orders submitted {s['orders_submitted']} (of {s['intents']} intents), fills {s['fills']}, "
        f"duplicate orders {s['duplicate_orders']}",
        f"  positions {s['positions']}: match the venue: {s['positions_match_venue']}; open orders match the "
        f"venue: {s['open_orders_match_venue']}",
        f"  PnL realised {pnl.get('realised', 0):+,.2f}, unrealised {pnl.get('unrealised', 0):+,.2f}, "
        f"fees {pnl.get('fees', 0):+,.2f}; trading state {s['trading_state'].upper()}",
        f"  risk denials {s['risk_denials'] or 'none'}; tick-to-order p50 {t2o['p50']:.0f} us, p99 {t2o['p99']:.0f} us "
        f"({t2o['count']} orders)",
    ]
    return "\n".join(lines)

