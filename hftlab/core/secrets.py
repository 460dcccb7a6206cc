"""API credentials: from the environment or a file, never from committed config, never printed.

Environment: HFTLAB_API_KEY, HFTLAB_API_SECRET, HFTLAB_API_PASSPHRASE. A credentials file holds the
same three as `api_key: ...` lines (YAML). The simulator accepts documented default credentials
(SIM_CREDENTIALS) so that everything runs offline with no keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import SecretStr

from hftlab.core.logs import register_secret

ENV_NAMES = {"api_key": "HFTLAB_API_KEY", "api_secret": "HFTLAB_API_SECRET", "passphrase": "HFTLAB_API_PASSPHRASE"}


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: SecretStr
    api_secret: SecretStr
    passphrase: SecretStr

    def __repr__(self) -> str:  # dataclass repr would call SecretStr repr anyway; be explicit
        return "Credentials(api_key='**********', api_secret='**********', passphrase='**********')"

    __str__ = __repr__


# Documented simulator defaults: they only open the local twin, never a real account.
SIM_CREDENTIALS = Credentials(
    api_key=SecretStr("hftlab-sim-key"),
    api_secret=SecretStr("hftlab-sim-secret"),
    passphrase=SecretStr("hftlab-sim-passphrase"),
)


class CredentialsError(Exception):
    pass


def load_credentials(
    venue: str,
    credentials_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Credentials for `venue`; registers every value with the log redactor."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    if credentials_file is not None:
        try:
            data = yaml.safe_load(Path(credentials_file).read_text()) or {}
        except OSError as e:
            raise CredentialsError(f"cannot read credentials file {credentials_file}: {e.strerror}") from None
        except yaml.YAMLError:
            raise CredentialsError(f"credentials file {credentials_file} is not valid YAML") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"credentials file {credentials_file} must map api_key/api_secret/passphrase")
        unknown = set(data) - set(ENV_NAMES)
        if unknown:
            raise CredentialsError(f"credentials file {credentials_file}: unknown keys {sorted(unknown)}")
        values.update({k: str(v) for k, v in data.items() if v is not None})
    for field, env in ENV_NAMES.items():
        if environ.get(env):
            values[field] = environ[env]
    if not values and venue == "sim":
        creds = SIM_CREDENTIALS
    else:
        missing = [ENV_NAMES[f] for f in ENV_NAMES if not values.get(f)]
        if missing:
            raise CredentialsError(
                f"venue {venue!r} needs API credentials: set {', '.join(missing)} "
                "or point venue.credentials_file at a file with api_key, api_secret, passphrase"
            )
        creds = Credentials(**{k: SecretStr(v) for k, v in values.items()})
    for s in (creds.api_key, creds.api_secret, creds.passphrase):
        register_secret(s.get_secret_value())
    return creds
