"""The monitoring section (`monitor:`)."""

from __future__ import annotations

from pydantic import Field

from hftlab.core.config import Section


class MonitorConfig(Section):
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = Field(9108, ge=0, le=65535, description="0 disables the endpoint")
    interval_s: float = Field(5.0, gt=0, le=3600)
