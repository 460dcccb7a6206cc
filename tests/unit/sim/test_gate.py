"""The simulator's signature checks accept OKX's published vectors and refuse what OKX refuses."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from hftlab.core.secrets import SIM_CREDENTIALS, Credentials
from hftlab.okx import auth
from hftlab.sim import gate


def _keyring(secret: str, key: str = "k", passphrase: str = "p") -> gate.Keyring:
    return gate.Keyring(Credentials(SecretStr(key), SecretStr(secret), SecretStr(passphrase)))


def _vectors(shared_data):
    return json.loads((shared_data / "okx/fixtures/test_vectors.json").read_text())["signature"]


def test_rest_vectors_verify(shared_data):
    rest = [v for v in _vectors(shared_data) if v["requestPath"] != auth.WS_LOGIN_PATH]
    assert rest
    for v in rest:
        ring = _keyring(v["secret"])
        headers = {"OK-ACCESS-KEY": "k", "OK-ACCESS-SIGN": v["sign_base64"], "OK-ACCESS-TIMESTAMP": v["timestamp"],
                   "OK-ACCESS-PASSPHRASE": "p"}
        now = auth.parse_rest_timestamp(v["timestamp"])
        assert gate.check_rest(ring, headers, v["method"], v["requestPath"], v["body"], now) == "k", v["source"]
        tampered = dict(headers, **{"OK-ACCESS-SIGN": v["sign_base64"][::-1]})
        assert gate.check_rest(ring, tampered, v["method"], v["requestPath"], v["body"], now).code == "50113"
        # the query string and the body are signed: changing either breaks the signature
        assert gate.check_rest(ring, headers, v["method"], v["requestPath"] + "&x=1", v["body"], now).code == "50113"


def test_ws_login_vectors_verify(shared_data):
    ws = [v for v in _vectors(shared_data) if v["requestPath"] == auth.WS_LOGIN_PATH]
    assert ws
    for v in ws:
        ring = _keyring(v["secret"])
        arg = {"apiKey": "k", "passphrase": "p", "timestamp": v["timestamp"], "sign": v["sign_base64"]}
        assert gate.check_ws_login(ring, arg, float(v["timestamp"]) + 5) == "k", v["source"]


@pytest.mark.parametrize("change, code", [
    ({"OK-ACCESS-KEY": ""}, "50103"),
    ({"OK-ACCESS-SIGN": ""}, "50106"),
    ({"OK-ACCESS-TIMESTAMP": ""}, "50107"),
    ({"OK-ACCESS-PASSPHRASE": ""}, "50104"),
    ({"OK-ACCESS-TIMESTAMP": "1700000000000"}, "50112"),
    ({"OK-ACCESS-KEY": "someone-else"}, "50111"),
    ({"OK-ACCESS-PASSPHRASE": "wrong"}, "50105"),
])
def test_rest_refusals(change, code):
    c = SIM_CREDENTIALS
    headers = auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                c.passphrase.get_secret_value(), "GET", "/api/v5/account/balance", now=1_700_000_000)
    ring = gate.Keyring(c)
    assert gate.check_rest(ring, headers, "GET", "/api/v5/account/balance", "", 1_700_000_000) == \
        c.api_key.get_secret_value()
    headers.update(change)
    denial = gate.check_rest(ring, headers, "GET", "/api/v5/account/balance", "", 1_700_000_000)
    assert isinstance(denial, gate.Denial) and denial.code == code


def test_rest_timestamp_window():
    c = SIM_CREDENTIALS
    ring = gate.Keyring(c)
    headers = auth.rest_headers(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                                c.passphrase.get_secret_value(), "GET", "/api/v5/account/balance", now=1_700_000_000)
    assert isinstance(gate.check_rest(ring, headers, "GET", "/api/v5/account/balance", "", 1_700_000_029), str)
    assert gate.check_rest(ring, headers, "GET", "/api/v5/account/balance", "", 1_700_000_031).code == "50102"
    assert gate.check_rest(ring, headers, "GET", "/api/v5/account/balance", "", 1_699_999_969).code == "50102"


@pytest.mark.parametrize("change, now_offset, code", [
    ({}, 31, "60006"),                                   # expired
    ({"timestamp": "1700000000000"}, 0, "60006"),         # milliseconds instead of seconds
    ({"timestamp": "soon"}, 0, "60004"),
    ({"sign": "AAAA"}, 0, "60007"),
    ({"apiKey": "nobody"}, 0, "60005"),
    ({"passphrase": "nope"}, 0, "60024"),
    ({"sign": ""}, 0, "60027"),
])
def test_ws_login_refusals(change, now_offset, code):
    c = SIM_CREDENTIALS
    arg = auth.ws_login_args(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                             c.passphrase.get_secret_value(), now=1_700_000_000)
    ring = gate.Keyring(c)
    assert gate.check_ws_login(ring, arg, 1_700_000_000) == c.api_key.get_secret_value()
    arg.update(change)
    denial = gate.check_ws_login(ring, arg, 1_700_000_000 + now_offset)
    assert isinstance(denial, gate.Denial) and denial.code == code


def test_keyring_needs_credentials():
    with pytest.raises(ValueError, match="at least one"):
        gate.Keyring([])


def test_ws_login_takes_a_numeric_timestamp_as_python_okx_sends_it():
    """OKX's SDK (python-okx WsUtils.initLoginParams) puts `int(time.time())` in the JSON as a number."""
    c = SIM_CREDENTIALS
    arg = auth.ws_login_args(c.api_key.get_secret_value(), c.api_secret.get_secret_value(),
                             c.passphrase.get_secret_value(), now=1_700_000_000)
    ring = gate.Keyring(c)
    assert gate.check_ws_login(ring, {**arg, "timestamp": int(arg["timestamp"])}, 1_700_000_000) == \
        c.api_key.get_secret_value()
    for bad in (True, None, [1], {}):
        assert gate.check_ws_login(ring, {**arg, "timestamp": bad}, 1_700_000_000).code == "60027"
