"""The running runner's control endpoint: the kill switch and a status read, on loopback only.

The runner serves `POST /kill` (JSON body `{"flatten": bool}`) and `GET /status` on
`live.control_host:control_port` (loopback; port 0 = a free one) and writes where it listens to
`<state_dir>/runner.json` (mode 0600, with a random token every request must carry in the
`X-Hftlab-Token` header, so only the user who can read the state dir can stop it). `hftlab kill`
reads that file; SIGUSR1 to the runner's pid does the same as `POST /kill` without flattening.
The file is removed on a clean stop; a stale one (the pid is gone) is ignored.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web

RUNNER_FILE = "runner.json"
TOKEN_HEADER = "X-Hftlab-Token"


@dataclass(frozen=True)
class RunnerInfo:
    pid: int
    host: str
    port: int
    token: str
    venue: str
    started: float

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def read_runner(state_dir: Path) -> RunnerInfo | None:
    """The runner that owns `state_dir`, if one is running."""
    path = Path(state_dir) / RUNNER_FILE
    try:
        info = RunnerInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if info.alive() else None


def running_runners(root: Path) -> list[tuple[Path, RunnerInfo]]:
    """Every live runner whose state directory is under `root` (each owns one)."""
    out = []
    for f in sorted(Path(root).rglob(RUNNER_FILE)) if Path(root).is_dir() else []:
        info = read_runner(f.parent)
        if info is not None:
            out.append((f.parent, info))
    return out


class Control:
    def __init__(self, host: str, port: int, state_dir: Path, venue: str, *,
                 on_kill: Callable[[bool, str], Awaitable[dict]], status: Callable[[], dict]):
        self.host, self.port, self.state_dir, self.venue = host, port, Path(state_dir), venue
        self._on_kill = on_kill
        self._status = status
        self._token = secrets.token_urlsafe(24)
        self._runner: web.AppRunner | None = None

    async def start(self) -> RunnerInfo:
        app = web.Application()
        app.router.add_post("/kill", self._kill)
        app.router.add_get("/status", self._get_status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for
        info = RunnerInfo(os.getpid(), self.host, port, self._token, self.venue, time.time())
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / RUNNER_FILE
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(info), f)
        os.replace(path.with_suffix(".tmp"), path)
        self.info = info
        return info

    async def stop(self) -> None:
        try:
            (self.state_dir / RUNNER_FILE).unlink()
        except FileNotFoundError:
            pass
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorised(self, request: web.Request) -> bool:
        return secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), self._token)

    async def _kill(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "missing or wrong token"}, status=403)
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "the body must be JSON: {\"flatten\": true|false}"}, status=400)
        flatten = bool(body.get("flatten", False)) if isinstance(body, dict) else False
        return web.json_response(await self._on_kill(flatten, "kill request over HTTP"))

    async def _get_status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "missing or wrong token"}, status=403)
        return web.json_response(self._status())


async def request(info: RunnerInfo, method: str, path: str, body: dict | None = None, timeout_s: float = 10.0) -> dict:
    """A call to a running runner's control endpoint (used by `hftlab kill`)."""
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
        async with s.request(method, info.url + path, json=body, headers={TOKEN_HEADER: info.token}) as r:
            doc = await r.json()
            if r.status != 200:
                raise RuntimeError(f"the runner answered {r.status}: {doc.get('error', doc)}")
            return doc
