"""OKX request signing against published and independently computed vectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hftlab.okx import auth


@pytest.fixture(scope="module")
def vectors(shared_data):
    with (shared_data / "okx/fixtures/test_vectors.json").open() as f:
        return json.load(f)["signature"]


def test_rest_sign_vectors(vectors):
    rest = [v for v in vectors if v["requestPath"] != auth.WS_LOGIN_PATH]
    assert len(rest) == 3
    for v in rest:
        assert v["prehash"] == v["timestamp"] + v["method"] + v["requestPath"] + v["body"]
        assert auth.rest_sign(v["secret"], v["timestamp"], v["method"], v["requestPath"], v["body"]) == v["sign_base64"]
        # the method is upper-cased whatever the caller passes
        assert auth.rest_sign(v["secret"], v["timestamp"], v["method"].lower(), v["requestPath"], v["body"]) == v["sign_base64"]


def test_nautilus_vector_verbatim():
    assert auth.sign("chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO",
                     "2020-12-08T09:08:57.715ZGET/api/v5/account/balance") == "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k="


def test_ws_login_vectors(vectors):
    login = [v for v in vectors if v["requestPath"] == auth.WS_LOGIN_PATH]
    assert len(login) == 2
    for v in login:
        assert auth.ws_login_sign(v["secret"], v["timestamp"]) == v["sign_base64"]
        assert auth.verify(v["secret"], v["prehash"], v["sign_base64"])
        assert not auth.verify(v["secret"] + "x", v["prehash"], v["sign_base64"])


def test_ws_login_args_use_unix_seconds(vectors):
    v = next(v for v in vectors if v["timestamp"] == "1704876947")
    args = auth.ws_login_args("key", v["secret"], "pass", now=1704876947.9)
    assert args == {"apiKey": "key", "passphrase": "pass", "timestamp": "1704876947", "sign": v["sign_base64"]}


def test_rest_headers(vectors):
    v = vectors[0]
    now = datetime(2020, 12, 8, 9, 8, 57, 715000, tzinfo=UTC).timestamp()
    h = auth.rest_headers("key", v["secret"], "pass", "GET", v["requestPath"], now=now)
    assert h["OK-ACCESS-TIMESTAMP"] == v["timestamp"]
    assert h["OK-ACCESS-SIGN"] == v["sign_base64"]
    assert h["OK-ACCESS-KEY"] == "key" and h["OK-ACCESS-PASSPHRASE"] == "pass"
    assert "x-simulated-trading" not in h
    assert auth.rest_headers("k", "s", "p", "GET", "/x", demo=True, now=now)["x-simulated-trading"] == "1"


@pytest.mark.parametrize("ms", [0, 1, 715, 999])
def test_rest_timestamp_round_trips(ms):
    now = 1607418537 + ms / 1000
    ts = auth.rest_timestamp(now)
    assert ts == f"2020-12-08T09:08:57.{ms:03d}Z"
    assert auth.parse_rest_timestamp(ts) == pytest.approx(now, abs=1e-6)


@pytest.mark.parametrize("bad", ["2020-12-08T09:08:57.715", "2020-12-08 09:08:57Z", "1607418537"])
def test_parse_rest_timestamp_rejects_other_formats(bad):
    with pytest.raises(ValueError):
        auth.parse_rest_timestamp(bad)
