"""Logging: stdlib logging, readable text by default, JSON lines on request; secrets redacted.

Any value passed to `register_secret` is replaced by `***` in every formatted record (message,
arguments and traceback), whatever logger emitted it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

import orjson

from hftlab.core.jsonutil import json_default

_secrets: set[str] = set()
_lock = threading.Lock()
REDACTED = "***"


def register_secret(value: str | None) -> None:
    # Very short values would redact ordinary words; real secrets are never that short.
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not _secrets:
        return text
    for s in sorted(_secrets, key=len, reverse=True):
        if s in text:
            text = text.replace(s, REDACTED)
    return text


class _RedactingText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingJson(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        for k, v in record.__dict__.items():
            if k.startswith("ctx_"):
                doc[k[4:]] = v
        return redact(orjson.dumps(doc, default=json_default).decode())


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (pytest and notebooks swap it), like logging.lastResort."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: str = "INFO", fmt: str = "text", stream=None) -> None:
    """Configure the root logger once per process (idempotent: replaces our previous handler)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_hftlab", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler._hftlab = True  # type: ignore[attr-defined]
    if fmt == "json":
        handler.setFormatter(_RedactingJson())
    else:
        f = _RedactingText("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        f.converter = time.gmtime
        handler.setFormatter(f)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter that would drown our progress lines.
    for noisy in ("websockets", "aiohttp.access", "asyncio", "urllib3", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
