"""May this run trade? Pure checks made before anything connects; every problem is named, and the
runner exits 2 listing them all.

- `okx-live` trades real money: it needs the explicit `--live` flag, credentials, and a champion
  trained on OKX data of the same instrument and timeframe with the features the runtime computes.
- `okx-demo` needs credentials (demo keys) and the same champion facts (demo quotes OKX's market).
- `--model URI` (any model, e.g. a candidate) is for the simulator only; OKX venues trade
  `models:/<name>@champion`, whose provenance is checked.
- On the simulator the champion must be a sim-world model (an OKX-trained model means nothing on the
  twin's price process); `--model` skips the check but is still refused if its features cannot be
  computed from the subscribed channels.
"""

from __future__ import annotations

from collections.abc import Iterable

from hftlab.models.provenance import Provenance
from hftlab.okx.channels import BOOK_CHANNELS


def venue_problems(venue: str, live_flag: bool, model_uri: str | None, credentials_error: str | None) -> list[str]:
    out = []
    if venue == "okx-live" and not live_flag:
        out.append("venue okx-live trades real money: pass --live to confirm")
    if venue != "sim" and credentials_error:
        out.append(credentials_error)
    if venue != "sim" and model_uri is not None:
        out.append(f"--model is for the simulator only; {venue} trades models:/<name>@champion")
    if venue == "sim" and live_flag:
        out.append("--live is only for venue okx-live")
    return out


def model_problems(venue_world: str, have: Provenance | None, want: Provenance, *, explicit_model: bool) -> list[str]:
    """`have`: the model version's recorded provenance (None: not a registered version, e.g. a model
    directory); `want`: the runtime's world, symbol, timeframe and the hash of the spec it loaded."""
    if explicit_model and venue_world == "sim":
        return []
    if have is None:
        return [f"the model is not a registered version with recorded provenance: {venue_world} venues trade a "
                "champion whose training data is known"]
    diffs = have.differences(want)
    return [f"the champion does not match this runtime: {'; '.join(diffs)}"] if diffs else []


def feature_problems(spec, channels: Iterable[str]) -> list[str]:
    """Features the model needs that the subscribed channels cannot feed."""
    chans = set(channels)
    out = []
    if spec.uses_book and not chans & BOOK_CHANNELS:
        out.append("the model uses book features: subscribe a book channel (trading.channels)")
    if spec.uses_flow and not chans & {"trades", "trades-all"}:
        out.append("the model uses trade-flow features: subscribe trades (trading.channels)")
    return out
