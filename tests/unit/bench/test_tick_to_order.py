from hftlab.bench.tick_to_order import STAGES


def test_tick_to_order_bench_times_every_stage_and_sends_orders(run_bench):
    out = run_bench("tick-to-order", "--sim-seconds", "150")
    expected = {f"{k}_{q}_us" for k in (*STAGES, "decision", "e2e") for q in ("p50", "p99", "p999")}
    expected |= {"frames_count", "bars_count", "decisions_count", "orders_count", "risk_denials_count",
                 "gc_collections_count", "gc_pause_max_us"}
    assert set(out) == expected
    # 150 market seconds of 1 s bars; the model needs its 64-bar window, then decides every bar
    assert 140 <= out["bars_count"] <= 150 and 0 < out["decisions_count"] <= out["bars_count"] - 63
    assert 0 < out["orders_count"] <= out["decisions_count"]
    assert all(out[f"{k}_p50_us"] > 0 for k in (*STAGES, "decision", "e2e"))
    assert out["e2e_p50_us"] >= out["frame_p50_us"]


def test_the_order_frame_is_the_adapters_ws_order_op():
    """The bench's order leaves through OkxVenue.place: okx/records.py's serialisation, one WS `order` op."""
    import asyncio
    from decimal import Decimal

    from hftlab.bench.tick_to_order import _PrivateClient, _Socket
    from hftlab.domain.orders import OrdType, Side
    from hftlab.domain.venue import PlaceRequest, WriteOutcome
    from hftlab.okx.channels import PRIVATE
    from hftlab.okx.config import ClientConfig
    from hftlab.okx.connection import Connection, SocketStats
    from hftlab.okx.execution import OrderChannel
    from hftlab.okx.records import place_args
    from hftlab.okx.rest import OkxRest
    from hftlab.okx.venue import OkxVenue
    from hftlab.sim.instruments import default_instruments

    spec = next(i.spec() for i in default_instruments() if i.inst_id == "BTC-USDT-SWAP")
    req = PlaceRequest("42", "hftlab", spec.inst_id, Side.BUY, OrdType.IOC, Decimal("0.05"), Decimal("64010.5"),
                       1_785_000_005_000)

    async def place():
        sock = _Socket()
        conn = Connection(PRIVATE, "ws://stand-in/private", sock, ClientConfig(), stats=SocketStats(),
                          on_frame=lambda *a: None, on_refused=lambda *a: None)
        conn.ready = True
        rest = OkxRest("http://127.0.0.1:1")
        channel = OrderChannel(rest, on_push=lambda ev: None, spawn=lambda c, n: asyncio.ensure_future(c),
                               reconcile_orders=False)
        channel.attach(conn)
        sock.channel = channel
        stamps = []
        venue = OkxVenue(_PrivateClient(channel, rest), rest, {spec.inst_id: spec},
                         on_sent=lambda ids, ns: stamps.append(ids))
        result = (await venue.place([req]))[0]
        await rest.close()
        return sock.last, result, stamps

    frame, result, stamps = asyncio.run(place())
    assert frame["op"] == "order" and frame["args"] == [place_args(req, spec, ws=True)]
    assert frame["expTime"] == "1785000005000" and frame["args"][0]["instIdCode"] == spec.inst_id_code
    assert result.outcome is WriteOutcome.ACCEPTED and stamps == [("42",)]
