"""The client's per-frame path without sockets: hostile frames are counted, recorded raw, never passed on."""

from __future__ import annotations

import time

import orjson

from hftlab.okx.channels import Endpoints
from hftlab.okx.client import MALFORMED, AsyncOKXClient
from hftlab.okx.config import ClientConfig
from hftlab.okx.events import ParseError, Trade

NOW_MS = time.time_ns() // 1_000_000


class Conn:
    role = "public"

    def handle_control(self, ev) -> None:
        pass

    def __repr__(self) -> str:
        return "<conn test>"


def make(**config):
    taps, reasons = [], []
    client = AsyncOKXClient(Endpoints("http://x", "ws://x/public", "ws://x/business", "ws://x/private"),
                            ClientConfig(**config), on_frame=lambda raw, ns, ch, inst: taps.append((ch, inst, raw)),
                            on_malformed=reasons.append)
    return client, taps, reasons


def trade_frame(trade_id: int, ts: int, px: str = "100.5") -> str:
    return orjson.dumps({"arg": {"channel": "trades", "instId": "BTC-USDT"},
                         "data": [{"instId": "BTC-USDT", "tradeId": str(trade_id), "px": px, "sz": "1",
                                   "side": "buy", "ts": str(ts)}]}).decode()


def test_hostile_frames_are_malformed_recorded_raw_with_their_reason_and_never_queued():
    client, taps, reasons = make(max_ts_ahead_s=60)
    conn, recv_ns = Conn(), NOW_MS * 1_000_000
    frames = [trade_frame(1, NOW_MS - 10), trade_frame(2, NOW_MS, px="abc"), "{broken",
              trade_frame(3, NOW_MS + 3_600_000), trade_frame(4, NOW_MS - 20), trade_frame(5, NOW_MS)]
    for f in frames:
        client._on_frame(conn, f, recv_ns)
    queued = client.get_batch(100)
    assert [e.trade_id for e in queued if isinstance(e, Trade)] == ["1", "5"]
    assert client.stats.parse_errors == 4 and client.stats.events["trades"] == 2
    assert [(ch, raw) for ch, _inst, raw in taps] == [("trades", frames[0]), (MALFORMED, frames[1]),
                                                      (MALFORMED, frames[2]), (MALFORMED, frames[3]),
                                                      (MALFORMED, frames[4]), ("trades", frames[5])]
    assert all(isinstance(r, ParseError) for r in reasons)
    assert ["px is not a number" in reasons[0].reason, "invalid JSON" in reasons[1].reason,
            "ahead of local time" in reasons[2].reason, "older than the newest" in reasons[3].reason] == [True] * 4


def test_without_a_local_time_check_a_fast_simulator_is_believed():
    client, _taps, reasons = make(max_ts_ahead_s=None)
    client._on_frame(Conn(), trade_frame(1, NOW_MS + 10 * 3_600_000), NOW_MS * 1_000_000)
    assert not reasons and len(client.get_batch(10)) == 1
