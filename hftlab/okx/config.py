"""The OKX client's configuration section (`client:`): timing and limits, OKX's defaults, and OKX's URLs."""

from __future__ import annotations

from pydantic import Field, model_validator

from hftlab.core.config import Section
from hftlab.okx.timestamps import MAX_AHEAD_S, MAX_BEHIND_S


class ClientConfig(Section):
    """The OKX WebSocket client's timing and limits; OKX's defaults. Tests shrink the timings."""

    ping_interval_s: float = Field(25.0, gt=0, lt=30, description="silence before a text ping (OKX closes at 30 s)")
    pong_timeout_s: float = Field(10.0, gt=0)
    stale_after_s: float = Field(90.0, gt=0, description="a silent subscribed book is resynced after this")
    snapshot_timeout_s: float = Field(5.0, gt=0, description="no WS snapshot after resubscribing: seed from REST")
    resync_timeout_s: float = Field(30.0, gt=0)
    connect_timeout_s: float = Field(10.0, gt=0)
    login_timeout_s: float = Field(10.0, gt=0)
    ack_timeout_s: float = Field(10.0, gt=0)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    stable_after_s: float = Field(10.0, gt=0, description="a connection up this long resets the backoff")
    rollover_grace_s: float = Field(1.0, ge=0, description="64008: keep the old socket this long after the new one")
    ops_per_hour: int = Field(480, ge=1, le=480, description="subscribe/unsubscribe/login per connection (OKX: 480)")
    ops_burst: int = Field(240, ge=1, le=480)
    max_frame_bytes: int = Field(1 << 24, ge=1 << 16)
    queue_maxsize: int = Field(100_000, ge=100, description="events between the sockets and the consumers")
    reconcile_orders: bool = True
    max_ts_ahead_s: float | None = Field(
        MAX_AHEAD_S, gt=0, description="a push whose exchange ts is further ahead of local time is malformed "
                                       "(okx/timestamps.py); null: no check (a simulator faster than real time)")
    max_ts_behind_s: float | None = Field(MAX_BEHIND_S, gt=0, description="and one further behind it; null: no check")

    @model_validator(mode="after")
    def _backoff(self) -> ClientConfig:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s cannot exceed backoff_max_s")
        if self.ops_burst > self.ops_per_hour:
            raise ValueError("ops_burst cannot exceed ops_per_hour")
        return self


# A simulator running faster than real time is ahead of local time by design, and one replaying a
# recording is behind it: against one, exchange times are not checked against local time.
UNCHECKED_CLOCK = {"max_ts_ahead_s": None, "max_ts_behind_s": None}


OKX_URLS: dict[str, dict[str, str]] = {
    "okx-live": {
        "rest_url": "https://www.okx.com",
        "ws_public_url": "wss://ws.okx.com:8443/ws/v5/public",
        "ws_private_url": "wss://ws.okx.com:8443/ws/v5/private",
        "ws_business_url": "wss://ws.okx.com:8443/ws/v5/business",
    },
    "okx-demo": {
        "rest_url": "https://www.okx.com",
        "ws_public_url": "wss://wspap.okx.com:8443/ws/v5/public",
        "ws_private_url": "wss://wspap.okx.com:8443/ws/v5/private",
        "ws_business_url": "wss://wspap.okx.com:8443/ws/v5/business",
    },
}
