"""OKX v5 request signing, for the client and for the simulator that verifies it.

REST: sign = base64(HMAC_SHA256(secret, timestamp + METHOD + requestPath(+query) + body)), timestamp
ISO-8601 UTC with milliseconds. WebSocket login: the same over `ts + "GET" + "/users/self/verify"`,
ts in Unix seconds. Both are accepted within 30 s of the server's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

WS_LOGIN_PATH = "/users/self/verify"
MAX_SKEW_S = 30.0


def sign(secret: str, prehash: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def rest_timestamp(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}Z"


def rest_sign(secret: str, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    return sign(secret, f"{timestamp}{method.upper()}{request_path}{body}")


def ws_login_sign(secret: str, timestamp: str) -> str:
    return sign(secret, f"{timestamp}GET{WS_LOGIN_PATH}")


def rest_headers(api_key: str, secret: str, passphrase: str, method: str, request_path: str, body: str = "",
                 demo: bool = False, now: float | None = None) -> dict[str, str]:
    ts = rest_timestamp(now)
    headers = {
        "OK-ACCESS-KEY": api_key,
        "OK-ACCESS-SIGN": rest_sign(secret, ts, method, request_path, body),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
    }
    if demo:
        headers["x-simulated-trading"] = "1"
    return headers


def ws_login_args(api_key: str, secret: str, passphrase: str, now: float | None = None) -> dict[str, str]:
    ts = str(int(time.time() if now is None else now))
    return {"apiKey": api_key, "passphrase": passphrase, "timestamp": ts, "sign": ws_login_sign(secret, ts)}


def parse_rest_timestamp(ts: str) -> float:
    """ISO-8601 `2020-12-08T09:08:57.715Z` -> Unix seconds; ValueError if malformed."""
    if not ts.endswith("Z"):
        raise ValueError("timestamp must be ISO-8601 UTC ending in Z")
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def verify(expected_secret: str, prehash: str, signature: str) -> bool:
    return hmac.compare_digest(sign(expected_secret, prehash), signature)
