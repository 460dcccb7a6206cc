import io
import logging

import pytest

from hftlab.cache.server import EmbeddedRedis
from hftlab.core.logs import setup_logging
from hftlab.core.secrets import SIM_CREDENTIALS, CredentialsError, load_credentials


def test_sim_defaults_without_keys():
    assert load_credentials("sim", environ={}) is SIM_CREDENTIALS


def test_real_venue_requires_keys_and_names_the_variables():
    with pytest.raises(CredentialsError) as e:
        load_credentials("okx-live", environ={"HFTLAB_API_KEY": "k-123456"})
    assert "HFTLAB_API_SECRET" in str(e.value) and "k-123456" not in str(e.value)


def test_credentials_file_and_environment(tmp_path):
    f = tmp_path / "creds.yaml"
    f.write_text("api_key: file-key-1\napi_secret: file-secret-1\npassphrase: file-pass-1\n")
    c = load_credentials("okx-demo", f, environ={"HFTLAB_API_SECRET": "env-secret-1"})
    assert c.api_key.get_secret_value() == "file-key-1"
    assert c.api_secret.get_secret_value() == "env-secret-1"
    f.write_text("api_key: a\nsecret: oops\n")
    with pytest.raises(CredentialsError, match="unknown keys"):
        load_credentials("okx-demo", f, environ={})


def test_secrets_never_in_repr_or_logs(tmp_path):
    env = {"HFTLAB_API_KEY": "AK-visible-nowhere", "HFTLAB_API_SECRET": "S3cr3t-value-xyz", "HFTLAB_API_PASSPHRASE": "pass-phrase-77"}
    creds = load_credentials("okx-live", environ=env)
    for text in (repr(creds), str(creds), f"{creds}"):
        assert not any(v in text for v in env.values())
    for fmt in ("text", "json"):
        buf = io.StringIO()
        setup_logging("DEBUG", fmt, stream=buf)
        log = logging.getLogger("hftlab.test")
        log.info("signing with %s and %s", env["HFTLAB_API_SECRET"], env["HFTLAB_API_PASSPHRASE"])
        try:
            raise RuntimeError(f"auth failed for key {env['HFTLAB_API_KEY']}")
        except RuntimeError:
            log.exception("boom")
        out = buf.getvalue()
        assert "signing with ***" in out and "boom" in out
        assert not any(v in out for v in env.values()), out
    setup_logging("WARNING")


def test_redis_password_never_in_repr_or_logs(tmp_path):
    r = EmbeddedRedis(tmp_path, password="redis-pass-secret-123")
    assert "redis-pass-secret-123" not in repr(r)
    buf = io.StringIO()
    setup_logging("DEBUG", stream=buf)
    logging.getLogger("hftlab.test").warning("connecting to %s", r.url)
    assert "redis-pass-secret-123" not in buf.getvalue()
    setup_logging("WARNING")
