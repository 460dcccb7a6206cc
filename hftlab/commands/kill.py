"""The kill switch: `hftlab kill [--flatten] [--state-dir DIR | --venue V]`.

Halts the live runner that owns the state directory (its trading state becomes HALTED, persisted:
only cancels go out until a manual reset), makes it cancel every order with our tag found AT THE
VENUE (not only those it tracks), and with --flatten closes every position with reduce-only market
orders. Idempotent: a second kill finds nothing more to do. It talks to the runner's loopback
control endpoint (`<state_dir>/runner.json`); when no runner is running it halts the state directory
(the next start stays HALTED) and cancels the tagged orders at the venue itself.
Exit 0 when the venue lists no order of ours afterwards, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from hftlab.commands.common import add_common, load_settings


def add_arguments(p) -> None:
    add_common(p)
    p.add_argument("--venue", choices=["sim", "okx-demo", "okx-live"], help="whose runner (default venue.name)")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="the runner's state directory (default: the one "
                                                                 "runner running under execution.state_dir)")
    p.add_argument("--flatten", action="store_true", help="also close every position (reduce-only market orders)")
    p.add_argument("--sim-url", metavar="URL", help="without a running runner: the simulator to cancel at")
    p.add_argument("--live", action="store_true", help="confirm --flatten on okx-live without a running runner "
                                                        "(it places real orders)")


def run(args) -> int:
    from hftlab.core.config import repo_path
    from hftlab.live.control import read_runner, request, running_runners

    settings = load_settings(args, {"HFTLAB__VENUE__NAME": args.venue} if args.venue else None)
    if args.state_dir:
        state_dir = args.state_dir.resolve()
        info = read_runner(state_dir)
    else:  # the one runner running under the execution state directory, whichever session it is
        found = running_runners(repo_path(settings.execution.state_dir))
        if len(found) > 1:
            print("hftlab kill: several runners are running; name one with --state-dir:\n  "
                  + "\n  ".join(f"{d} (pid {i.pid}, {i.venue})" for d, i in found), file=sys.stderr)
            return 2
        state_dir, info = found[0] if found else (repo_path(settings.execution.state_dir) / settings.venue.name, None)
    if info is not None:
        try:
            doc = asyncio.run(request(info, "POST", "/kill", {"flatten": args.flatten}))
        except (OSError, RuntimeError) as e:
            print(f"hftlab kill: the runner (pid {info.pid}) did not answer: {e}; sending SIGUSR1", file=sys.stderr)
            import os
            import signal

            os.kill(info.pid, signal.SIGUSR1)
            return 1
        print(json.dumps(doc))
        return 0 if doc.get("open_orders", 1) == 0 else 1
    return _without_runner(settings, state_dir, args)


def _without_runner(settings, state_dir: Path, args) -> int:
    """No runner: latch HALTED in the state directory and cancel our tagged orders at the venue."""
    from hftlab.core.secrets import CredentialsError, load_credentials
    from hftlab.okx.channels import Endpoints
    from hftlab.risk.state import StateFile, TradingState

    venue = settings.venue.name
    if args.flatten and venue == "okx-live" and not args.live:
        print("hftlab kill: --flatten on okx-live places real orders: pass --live to confirm", file=sys.stderr)
        return 2
    f = StateFile(state_dir / "risk.json")
    saved = f.load()
    saved.state = TradingState.HALTED
    if "kill_switch: hftlab kill" not in saved.reasons:
        saved.reasons.append("kill_switch: hftlab kill")
    f.save(saved)
    print(f"hftlab kill: no runner is running for {state_dir}; it is HALTED for the next start", file=sys.stderr)
    if venue == "sim" and not args.sim_url:
        print("hftlab kill: the embedded simulator ended with its runner, so nothing of ours is left open there; "
              "for a running `hftlab sim` name it with --sim-url", file=sys.stderr)
        print(json.dumps({"state": "halted", "runner": None, "venue_open_after": 0}))
        return 0
    try:
        creds = load_credentials(venue, settings.venue.credentials_file)
    except CredentialsError as e:
        print(f"hftlab kill: {e}", file=sys.stderr)
        return 2
    endpoints = Endpoints.from_base_url(args.sim_url) if venue == "sim" else Endpoints.from_venue(settings.venue)
    from hftlab.execution.manager import StartupError
    from hftlab.live.offline import cancel_tagged

    try:
        done = asyncio.run(cancel_tagged(settings, state_dir, endpoints, creds, flatten=args.flatten,
                                         progress=lambda m: print(f"hftlab kill: {m}", file=sys.stderr)))
    except (OSError, StartupError) as e:
        print(f"hftlab kill: could not reach the venue to cancel: {e}; Cancel-All-After, if armed, still cancels "
              "our orders when its timer runs out", file=sys.stderr)
        return 1
    print(json.dumps({"state": "halted", "runner": None, **done.to_dict()}))
    return 0 if done.open_after == 0 else 1
