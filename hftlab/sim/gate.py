"""Who may trade: REST header and WebSocket login verification, as OKX performs it.

Pure functions over the request's parts and the server's wall clock; each returns the account (the
API key) or a Denial carrying OKX's code and message. Signatures are checked with hftlab.okx.auth,
the same code the client signs with, so one HMAC implementation serves both sides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hftlab.core.secrets import Credentials
from hftlab.okx import auth
from hftlab.sim import codes


@dataclass(frozen=True, slots=True)
class Denial:
    code: str
    msg: str


class Keyring:
    """The API keys the simulator accepts: key -> (secret, passphrase)."""

    def __init__(self, credentials: Credentials | Iterable[Credentials]):
        creds = [credentials] if isinstance(credentials, Credentials) else list(credentials)
        if not creds:
            raise ValueError("the simulator needs at least one set of API credentials")
        self._keys = {
            c.api_key.get_secret_value(): (c.api_secret.get_secret_value(), c.passphrase.get_secret_value())
            for c in creds
        }

    @property
    def accounts(self) -> list[str]:
        return list(self._keys)

    def get(self, api_key: str) -> tuple[str, str] | None:
        return self._keys.get(api_key)


def check_rest(keyring: Keyring, headers: Mapping[str, str], method: str, request_path: str, body: str,
               now: float) -> str | Denial:
    """Verify OK-ACCESS-* headers. `request_path` includes the query string exactly as sent; `body`
    is the raw request body text (empty for GET). `now` is Unix seconds."""
    key = headers.get("OK-ACCESS-KEY", "")
    sign = headers.get("OK-ACCESS-SIGN", "")
    ts = headers.get("OK-ACCESS-TIMESTAMP", "")
    passphrase = headers.get("OK-ACCESS-PASSPHRASE", "")
    for value, missing in ((key, codes.REST_NO_KEY), (sign, codes.REST_NO_SIGN), (ts, codes.REST_NO_TIMESTAMP),
                           (passphrase, codes.REST_NO_PASSPHRASE)):
        if not value:
            return Denial(*missing)
    try:
        ts_s = auth.parse_rest_timestamp(ts)
    except ValueError:
        return Denial(*codes.REST_INVALID_TIMESTAMP)
    if abs(now - ts_s) > auth.MAX_SKEW_S:
        return Denial(*codes.REST_TS_EXPIRED)
    entry = keyring.get(key)
    if entry is None:
        return Denial(*codes.REST_INVALID_KEY)
    secret, expected_passphrase = entry
    if passphrase != expected_passphrase:
        return Denial(*codes.REST_BAD_PASSPHRASE)
    if not auth.verify(secret, f"{ts}{method.upper()}{request_path}{body}", sign):
        return Denial(*codes.REST_INVALID_SIGN)
    return key


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_ws_login(keyring: Keyring, arg: object, now: float) -> str | Denial:
    """Verify one `login` arg {apiKey, passphrase, timestamp (Unix seconds), sign}."""
    if not isinstance(arg, dict):
        return Denial(*codes.WS_INVALID_ARGS)
    for name in ("apiKey", "passphrase", "timestamp", "sign"):
        value = arg.get(name)
        # python-okx (OKX's own SDK) sends the timestamp as a JSON number, and OKX takes it
        if not (isinstance(value, str) and value) and not (name == "timestamp" and _is_number(value)):
            return Denial(*codes.empty_param(name, ws=True))
    ts = str(arg["timestamp"])
    try:
        ts_s = float(ts)
    except ValueError:
        return Denial(*codes.WS_INVALID_TIMESTAMP)
    if not math.isfinite(ts_s):
        return Denial(*codes.WS_INVALID_TIMESTAMP)
    # A millisecond timestamp lands decades away and is reported as expired, as OKX does.
    if abs(now - ts_s) > auth.MAX_SKEW_S:
        return Denial(*codes.WS_TS_EXPIRED)
    entry = keyring.get(arg["apiKey"])
    if entry is None:
        return Denial(*codes.WS_INVALID_APIKEY)
    secret, passphrase = entry
    if arg["passphrase"] != passphrase:
        return Denial(*codes.WS_WRONG_PASSPHRASE)
    if not auth.verify(secret, f"{ts}GET{auth.WS_LOGIN_PATH}", arg["sign"]):
        return Denial(*codes.WS_INVALID_SIGN)
    return arg["apiKey"]
