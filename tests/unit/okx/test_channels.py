"""Channel -> socket routing and subscribe batching (<= 64 KB of args per request)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftlab.okx.channels import (
    BUSINESS,
    PRIVATE,
    PUBLIC,
    Endpoints,
    arg_key,
    args_for,
    batch_args,
    role_for,
)
from hftlab.settings import VenueConfig


@pytest.mark.parametrize(("channel", "role"), [
    ("books", PUBLIC), ("books5", PUBLIC), ("bbo-tbt", PUBLIC), ("trades", PUBLIC), ("tickers", PUBLIC),
    ("trades-all", BUSINESS), ("candle1s", BUSINESS), ("candle1m", BUSINESS), ("candle1Dutc", BUSINESS),
    ("mark-price-candle1m", BUSINESS), ("orders", PRIVATE), ("positions", PRIVATE), ("account", PRIVATE),
])
def test_channels_route_to_the_documented_url(channel, role):
    assert role_for(channel) == role


def test_arg_key_ignores_the_uid_okx_adds_to_private_pushes():
    assert arg_key({"channel": "orders", "instType": "ANY"}) == arg_key({"channel": "orders", "instType": "ANY", "uid": "77"})
    assert arg_key({"channel": "books", "instId": "BTC-USDT"}) == ("books", "BTC-USDT")


def test_args_for_expands_market_channels_per_symbol_and_private_ones_once():
    args = args_for(["books", "orders", "account"], ["BTC-USDT", "ETH-USDT"])
    assert args == [
        {"channel": "books", "instId": "BTC-USDT"}, {"channel": "books", "instId": "ETH-USDT"},
        {"channel": "orders", "instType": "ANY"}, {"channel": "account"},
    ]


_args = st.lists(
    st.builds(lambda ch, inst: {"channel": ch, "instId": inst},
              st.sampled_from(["books", "trades", "tickers", "candle1m"]),
              st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789", min_size=3, max_size=40)),
    max_size=400,
)


@settings(deadline=None)
@given(args=_args, max_bytes=st.integers(200, 70_000))
def test_batches_keep_every_arg_in_order_and_each_fits(args, max_bytes):
    batches = batch_args(args, max_bytes)
    assert [a for b in batches for a in b] == args
    for b in batches:
        assert b and len(orjson.dumps(b)) <= max_bytes
    # greedy packing: no batch could have taken the next batch's first arg
    for b, nxt in zip(batches, batches[1:]):
        assert len(orjson.dumps([*b, nxt[0]])) > max_bytes


def test_a_typical_subscription_is_one_frame_and_a_huge_one_few():
    args = args_for(["books", "trades", "tickers"], ["BTC-USDT", "ETH-USDT", "SOL-USDT"])
    assert batch_args(args) == [args]
    big = [{"channel": "books", "instId": f"INSTRUMENT{i:05d}-USDT-SWAP"} for i in range(3000)]
    total = len(orjson.dumps(big))
    per_arg = len(orjson.dumps(big[0])) + 1
    # greedy packing wastes less than one arg per frame
    assert len(batch_args(big)) <= -(-total // (60_000 - per_arg))


def test_an_arg_that_can_never_fit_is_an_error():
    with pytest.raises(ValueError, match="larger than"):
        batch_args([{"channel": "books", "instId": "X" * 500}], max_bytes=100)


def test_endpoints_from_venue_config():
    ep = Endpoints.from_venue(VenueConfig(name="okx-demo"))
    assert ep.public == "wss://wspap.okx.com:8443/ws/v5/public" and ep.demo
    assert ep.ws(BUSINESS).endswith("/business") and ep.ws(PRIVATE).endswith("/private")
    live = Endpoints.from_venue(VenueConfig(name="okx-live"))
    assert live.public.startswith("wss://ws.okx.com") and not live.demo
    with pytest.raises(ValueError, match="venue.rest_url"):
        Endpoints.from_venue(VenueConfig(name="sim"))
