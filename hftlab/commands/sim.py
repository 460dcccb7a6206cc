"""Run the local OKX v5 exchange until interrupted (SIGINT/SIGTERM), printing its URLs and progress.

Clients point at the printed REST and WebSocket URLs and sign with the simulator's credentials
(the documented defaults hftlab.core.secrets.SIM_CREDENTIALS, or HFTLAB_API_KEY/SECRET/PASSPHRASE).
With --tls the URLs are https/wss and the printed CA certificate is the one to trust (for most
Python clients: SSL_CERT_FILE=<ca>). Listening beyond loopback (`--host 0.0.0.0`) without --tls puts
logins, signatures and orders on the network in clear text: the simulator says so, on stderr, before
it starts. Prometheus metrics of the simulator are served on
`monitor.prometheus_port` + 2 (printed); memory above `system.max_memory_usage` stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from pathlib import Path

from hftlab.commands.common import add_common, load_settings

log = logging.getLogger("hftlab.sim")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--host", help="listen address (default venue.sim.host, 127.0.0.1); beyond loopback, use --tls")
    p.add_argument("--port", type=int, help="listen port (default venue.sim.port; 0 = a free port)")
    p.add_argument("--seed", type=int, help="market and fault randomness (default venue.sim.seed)")
    p.add_argument("--speed", type=float, help="market seconds per wall second (default venue.sim.speed)")
    p.add_argument("--legacy-checksum", action="store_true", help="fill books checksums (OKX before 2026-06)")
    p.add_argument("--tls", action="store_true",
                   help="serve https/wss with a CA and certificate made at start-up (the CA path is printed)")
    p.add_argument("--scenario", metavar="FILE", help="YAML fault scenario (see config/scenarios/)")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="inject a fault, e.g. drop,role=public,every_s=20 (repeatable; see hftlab.sim.scenario)")
    p.add_argument("--replay", nargs="+", default=[], metavar="FILE",
                   help="serve recorded frames (.jsonl, recorder .parquet) or candles (<INST>_<BAR>_*.csv)")
    p.add_argument("--idle-timeout", type=float, metavar="S",
                   help="close connections sent nothing for S seconds with 4004 (default venue.sim.idle_timeout_s, as OKX: 30)")
    p.add_argument("--progress-interval", type=float, default=10.0, metavar="S", help="seconds between progress lines")


def bind_warning(host: str, tls: bool) -> str | None:
    """What to tell a user who exposes the simulator's plain ws:// and http:// beyond this machine."""
    import ipaddress

    if tls or host in ("localhost", ""):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to any interface
    return (f"hftlab sim: WARNING: listening on {host} over plain http:// and ws://: logins, signatures and "
            "orders cross the network unencrypted and anyone who can reach the port can trade on the "
            "simulator's accounts; add --tls, or keep the default 127.0.0.1")


def _sim_config(args: argparse.Namespace):
    from pydantic import ValidationError

    from hftlab.core.config import ConfigError
    from hftlab.sim.config import SimConfig

    settings = load_settings(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("seed", args.seed),
                                   ("speed", args.speed), ("idle_timeout_s", args.idle_timeout)) if v is not None}
    if args.scenario:
        overrides["scenario"] = Path(args.scenario).resolve()  # a command-line path is relative to the cwd
    if args.legacy_checksum:
        overrides["legacy_checksum"] = True
    if args.tls:
        overrides["tls"] = True
    try:
        sim = SimConfig.model_validate({**settings.venue.sim.model_dump(), **overrides})
    except ValidationError as e:
        problems = [("command line", ".".join(map(str, err["loc"])), err["msg"]) for err in e.errors()]
        raise ConfigError(problems) from None
    return settings, sim


async def _serve(args: argparse.Namespace, settings, cfg) -> int:
    from hftlab.core.secrets import ENV_NAMES, SIM_CREDENTIALS, load_credentials
    from hftlab.monitor.process import ProcessMonitor
    from hftlab.monitor.resources import memory_limit_bytes
    from hftlab.sim.faults import FaultInjector
    from hftlab.sim.scenario import Scenario, load_scenario, parse_flag
    from hftlab.sim.server import SimServer

    scenario = load_scenario(cfg.scenario) if cfg.scenario else Scenario()
    flags = tuple(parse_flag(f) for f in args.fault)
    faults = FaultInjector(Scenario(faults=scenario.faults + flags, seed=scenario.seed), seed=cfg.seed)
    creds = load_credentials("sim", settings.venue.credentials_file)
    server = SimServer(cfg, credentials=creds, faults=faults, replay=args.replay)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    limit = memory_limit_bytes(settings.system.max_memory_usage)
    monitor = ProcessMonitor(settings.monitor, "sim", memory_limit_bytes=limit, on_stop=stop.set)
    monitor.sources.record(server.stats)
    await server.start()
    try:
        await monitor.start()
        source = "documented sim defaults (hftlab.core.secrets.SIM_CREDENTIALS)" if creds is SIM_CREDENTIALS else \
            f"environment/credentials file ({', '.join(ENV_NAMES.values())})"
        print(f"hftlab sim: REST {server.rest_url}", flush=True)
        for role in ("public", "business", "private"):
            print(f"hftlab sim: WS {role:<8} {server.ws_url(role)}", flush=True)
        if server.ca_path is not None:
            print(f"hftlab sim: TLS CA {server.ca_path} (trust it, e.g. SSL_CERT_FILE={server.ca_path})", flush=True)
        print(f"hftlab sim: credentials: {source}; instruments: {', '.join(server.exchange.instruments)}; "
              f"speed {cfg.speed:g}x; {len(faults.specs)} scheduled fault(s)", flush=True)
        if monitor.url:
            print(f"hftlab sim: metrics {monitor.url}", flush=True)
        print("hftlab sim: running; Ctrl-C to stop", flush=True)
        last_frames, last_t = 0, time.monotonic()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), args.progress_interval)
            except TimeoutError:
                st = server.stats
                now = time.monotonic()
                rate = (st.frames_sent - last_frames) / (now - last_t)
                last_frames, last_t = st.frames_sent, now
                print(f"hftlab sim: {st.connections_open} client(s) ({st.by_role}), {rate:.0f} frames/s, "
                      f"{st.frames_sent} frames, {st.rest_requests} REST, lag {st.lag_ms:.0f} ms, "
                      f"{len(server.fault_log)} fault(s)", file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await monitor.close()
        await server.stop()
    print("hftlab sim: stopped", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    from hftlab.core.secrets import CredentialsError
    from hftlab.sim.replay import ReplayError
    from hftlab.sim.scenario import ScenarioError

    settings, cfg = _sim_config(args)  # ConfigError -> exit 2 (hftlab.cli), before the heavy imports
    warning = bind_warning(cfg.host, cfg.tls)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    try:
        return asyncio.run(_serve(args, settings, cfg))
    except (ScenarioError, ReplayError, CredentialsError) as e:
        print(f"hftlab sim: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"hftlab sim: {e}", file=sys.stderr)
        return 1
