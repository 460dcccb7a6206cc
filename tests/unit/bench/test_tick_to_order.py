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


def test_the_order_frame_is_the_ws_order_op():
    from decimal import Decimal

    import orjson

    from hftlab.bench.tick_to_order import _order_args
    from hftlab.domain.orders import OrderIntent, OrdType, Side
    from hftlab.sim.instruments import default_instruments

    spec = next(i.spec() for i in default_instruments() if i.inst_id == "BTC-USDT-SWAP")
    intent = OrderIntent("BTC-USDT-SWAP", Side.BUY, Decimal("0.05"), OrdType.IOC, Decimal("64010.5"), "s")
    args = _order_args(intent, spec, "t2o1")
    assert args == {"instIdCode": spec.inst_id_code, "tdMode": "cross", "side": "buy", "ordType": "ioc",
                    "sz": "0.05", "px": "64010.5", "clOrdId": "t2o1"}
    assert orjson.loads(orjson.dumps(args)) == args
