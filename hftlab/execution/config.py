"""The execution section (`execution:`). Every field has a safe default in code."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hftlab.core.config import Section, repo_path
from hftlab.domain.venue import CAA_MAX_S, CAA_MIN_S


class ExecutionConfig(Section):
    tag: str = Field("hftlab", pattern=r"^[A-Za-z0-9]{1,16}$",
                     description="order tag marking hftlab's orders (the kill switch and Cancel-All-After scope)")
    state_dir: Path = Field(Path("var/execution"),
                            description="where the journal lives (relative: to the repository root)")
    journal_sync: Literal["normal", "full"] = Field(
        "normal", description="normal survives a process kill; full also survives power loss (~10x the write cost)")
    order_deadline_ms: int = Field(5_000, ge=100, le=60_000,
                                   description="expTime of every place and amend: now + this")
    deadline_grace_ms: int = Field(2_000, ge=0, le=60_000,
                                   description="clock skew + venue processing allowed past a deadline before "
                                               "'does not exist' can mean 'never arrived'")
    caa_timeout_s: int = Field(30, ge=CAA_MIN_S, le=CAA_MAX_S, description="Cancel-All-After timeout")
    caa_heartbeat_s: float = Field(5.0, ge=1.0, description="Cancel-All-After heartbeat (at most 1 request/s)")
    adoption: Literal["adopt", "cancel"] = Field(
        "cancel", description="what to do with an order carrying our tag that the journal does not know")
    reconcile_interval_s: float = Field(30.0, gt=0)
    resolve_retry_s: float = Field(1.0, gt=0, description="how often unresolved (UNKNOWN) orders are queried again")
    budget_fraction: float = Field(0.8, gt=0, le=1, description="share of each venue rate limit the manager uses")
    cancel_reserve: float = Field(0.25, ge=0, lt=1,
                                  description="share of a bucket that cancels share with other ops kept for cancels")
    budget_wait_s: float = Field(0.5, ge=0, description="longest wait for rate budget before refusing locally")

    @model_validator(mode="after")
    def _heartbeat_within_timeout(self) -> ExecutionConfig:
        if self.caa_heartbeat_s * 3 > self.caa_timeout_s:
            raise ValueError("caa_heartbeat_s must be at most a third of caa_timeout_s (two heartbeats may be lost)")
        return self

    @property
    def journal_path(self) -> Path:
        return repo_path(self.state_dir) / "journal.sqlite"
