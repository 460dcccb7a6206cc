"""Private channel rules: which args a logged-in session may subscribe, and the fee tier of fills."""

from __future__ import annotations

from hftlab.sim import codes
from hftlab.sim.private import PrivateFeeds, snapshot_interval_s, valid_arg


def test_args_each_channel_needs(still):
    feeds = PrivateFeeds(still(), ["k"])
    assert valid_arg({"channel": "orders", "instType": "ANY"}) and not valid_arg({"channel": "orders"})
    assert feeds.refusal({"channel": "balance_and_position"}) is None
    assert feeds.refusal({"channel": "positions"}) == codes.wrong_channel({"channel": "positions"})
    nope = {"channel": "orders", "instType": "SPOT", "instId": "NOPE-USDT"}
    assert feeds.refusal(nope) == codes.wrong_channel(nope)


def test_fills_need_vip4(still):
    assert PrivateFeeds(still(), ["k"]).refusal({"channel": "fills"}) == codes.WS_FEE_TIER_TOO_LOW
    assert PrivateFeeds(still(), ["k"], vip_level=3).refusal({"channel": "fills"}) == codes.WS_FEE_TIER_TOO_LOW
    assert PrivateFeeds(still(), ["k"], vip_level=4).refusal({"channel": "fills", "instId": "TST-USDT"}) is None


def test_snapshot_interval():
    assert snapshot_interval_s({}) == 5.0
    assert snapshot_interval_s({"extraParams": '{"updateInterval": "0"}'}) is None
    assert snapshot_interval_s({"extraParams": '{"updateInterval": "2000"}'}) == 2.0
