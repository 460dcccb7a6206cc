"""Run the embedded redis-server in the foreground until Ctrl-C / SIGTERM.

Uses the `redis` section of the configuration (port 0 picks a free one). Prints the address; the
password is in `<data_dir>/redis.conf` (mode 0600) or `$HFTLAB_REDIS_PASSWORD` when set.
"""

from __future__ import annotations

import signal
import threading


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    add_common(p)
    p.add_argument("--port", type=int, help="override redis.port")


def run(args) -> int:
    from hftlab.cache.server import EmbeddedRedis
    from hftlab.commands.common import load_settings

    settings = load_settings(args)
    if args.port is not None:
        settings.redis.port = args.port
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with EmbeddedRedis.from_config(settings.redis) as server:
        print(f"redis-server running on {server.host}:{server.port} (pid {server.pid}); "
              f"password in {server.data_dir / 'redis.conf'}; Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            if server.proc is None or server.proc.poll() is not None:
                print("redis-server exited unexpectedly; see", server.data_dir / "redis.log", flush=True)
                return 1
    print("redis-server stopped", flush=True)
    return 0
