"""`hftlab bench risk`: what one pre-trade check costs (the RiskEngine's `check`, approve and deny).

The approve path runs every check (instrument grid, fail-closed facts, freshness, stop, notional,
worst-case position, gross and net over every exposed instrument, open orders, collar, band,
throttle) and builds the ApprovedOrder; the deny path stops at the position limit. The book holds
exposure in `--instruments` instruments so the gross/net sums have work to do. One thread, warm.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from hftlab.bench import progress


def add_arguments(p) -> None:
    p.add_argument("--checks", type=int, default=50_000, help="checks per path")
    p.add_argument("--instruments", type=int, default=3, help="instruments carrying exposure")


def run(args) -> dict[str, float]:
    from hftlab.domain.instruments import InstrumentSpec, InstType
    from hftlab.domain.market import TopOfBook
    from hftlab.domain.orders import OrderIntent, OrdType, Side
    from hftlab.risk.checks import Exposure, Market
    from hftlab.risk.config import RiskConfig
    from hftlab.risk.engine import Account, RiskEngine

    d = Decimal
    names = [f"X{i}-USDT" for i in range(max(1, args.instruments))]
    specs = {n: InstrumentSpec(n, InstType.SPOT, n.split("-")[0], "USDT", d("0.1"), d("0.0001"), d("0.0001"))
             for n in names}
    now = time.time_ns()
    far = now + 3_600 * 10**9  # the book stays fresh for the whole run
    markets = {n: Market(TopOfBook(n, "49999.9", "1", "50000.1", "1", 0, 1, True, far), 50_000.0, far) for n in names}

    class Book:
        def __init__(self, position: Decimal):
            self.e = {n: Exposure(position, d("0.001"), d("0.001"), d("50000")) for n in names}

        def exposure(self, inst_id):
            return self.e[inst_id]

        def open_order_count(self):
            return 2

        def exposed_instruments(self):
            return self.e.keys()

    cfg = RiskConfig(max_orders_per_s=1000, max_open_orders=1000)
    account = Account(equity_known=True, reconciled=True, reconciling=False)
    buy = OrderIntent(names[0], Side.BUY, d("0.01"), OrdType.LIMIT, d("50000"), "bench")
    out: dict[str, float] = {}
    for label, position in (("approve", d("0.01")), ("deny", d("0.199"))):
        engine = RiskEngine(cfg, specs)
        engine._throttle.try_acquire = lambda n=1.0: True  # measure the checks, not the throttle's refusals
        book = Book(position)
        progress(f"risk: {args.checks:,} checks, {label} path ...")
        samples = []
        for i in range(args.checks):
            t0 = time.perf_counter_ns()
            v = engine.check(buy, markets, book, account, now)
            samples.append(time.perf_counter_ns() - t0)
            if label == "approve":
                if i == 0 and not hasattr(v, "intent"):
                    raise RuntimeError(f"the approve path was denied: {v}")
                engine.release(v)
        samples.sort()
        out[f"{label}_check_p50_us"] = samples[len(samples) // 2] / 1e3
        out[f"{label}_check_p99_us"] = samples[int(len(samples) * 0.99)] / 1e3
        out[f"{label}_check_mean_us"] = statistics.fmean(samples) / 1e3
    out["checks_count"] = args.checks
    return out
