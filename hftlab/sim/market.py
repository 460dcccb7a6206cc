"""The simulated order flow of one instrument, and its public tape (trades, candles, 24h stats).

Model (one step every `step_ms`, default 100 ms, dt = step_ms/1000 s; all randomness from the
instrument's own `numpy.random.Generator` (the probes' from a stream spawned from its seed), drawn in
amounts that do not depend on the agents, so the exogenous flow is the same whatever agents do; only
its effect on the book differs):

* Latent signal s: an Ornstein-Uhlenbeck process with unit stationary variance and time constant
  SIGNAL_TAU_S = 10 s:  s <- s*exp(-dt/10) + sqrt(1-exp(-2dt/10)) * N(0,1).
* Fair value f (log price): a random walk with volatility sigma = vol_annual/sqrt(365*86400) per
  sqrt(second), plus the two planted drifts below:
      log f <- log f + (lambda * SIGNAL_DRIFT * sigma * s + echo(t)) * dt + sigma * sqrt(dt) * N(0,1)
  With both strengths 0, f is a martingale: nothing predicts its changes.
* Quote anchor G = f * exp(u) / tickSz (in ticks), u an OU deviation (time constant revert_tau_s,
  stationary std revert_std * sigma): the mid mean-reverts around the random-walk fair value.
  The simulated makers' best bid is b* = floor(G - h), best ask a* = ceil(G + h), h = half_spread_ticks.
* Market orders: a Hawkes process (baseline market_rate/s, branching ratio market_branching,
  exponential kernel with decay market_decay/s; intensity held constant within a step). Sizes are
  log-normal (median market_notional in quote ccy).

The planted relation has two parts, each with its strength (`venue.sim.signal_strength` lambda and
`venue.sim.temporal_strength` mu, both in [0, 1]; mu defaults to lambda, so signal_strength 0 alone
means that nothing is predictable):

* **Linear** (lambda): every market order is a buy with probability P(buy) = 1/2 + FLOW_TILT/2 *
  tanh(s), FLOW_TILT = 0.8, whatever lambda is, and s drives the fair-value drift with strength
  lambda. So the taker order-flow imbalance (e.g. (buys - sells)/(buys + sells) over the last 10 s
  of public trades) estimates s, and the expected log-return over the next H seconds given s_t is
      lambda * SIGNAL_DRIFT * sigma * s_t * 10 * (1 - exp(-H/10)),
  a linear function of recent flow that a model of the latest bars or of window means expresses.
  With lambda = 0 the imbalance still clusters (herding) but carries no information about future
  prices; market orders have only transient impact (the makers re-peg to G every step).
  Measured on BTC-USDT with mu = 0 (300 non-overlapping 5 s windows, count imbalance of public trade
  messages over the past 5 s vs the log mid change over the next 5 s): lambda=0 gives |corr| < 0.15,
  lambda=1 0.32 to 0.43 depending on the seed (tests/unit/sim/test_market.py).
* **Temporal** (mu): probes arrive as a Poisson process (PROBE_RATE = 1/20 s; none in a market
  without market orders, market_rate 0). A probe is a burst
  of BURST_ORDERS = 10 market orders of one side d at one moment (each of median size BURST_SIZE = 20
  median market orders: a one-second bar of tens of times the usual volume, one-sided), then
  PROBE_GAP_S = 6 s later the same burst of the other side. ECHO_DELAY_S = 20 s after the first
  burst the fair value moves in its direction d, steadily over ECHO_LEG_S = 3 s, by ECHO_MOVE = 25
  one-second sigmas (times mu), then fades back over ECHO_FADE_S = 300 s (the probes add nothing to
  the long-run volatility). Bursts are exogenous flow (they happen at every strength); only the
  echo scales with mu. What predicts the leg is the *order* of two opposite bursts and the time
  since the first: their volumes and sides cancel in any window sum or mean, the newest bar and
  the last few bars see only the second burst while the leg is still more than a 10-bar horizon
  away (6 + 4 + 10 < 20), and the price shows nothing before the leg. So a model of window means
  (mean, std, newest row, mean of the last T/8 rows: hftlab.models.baselines) or of the latest bar
  cannot express it, and a sequence model that sees at least ECHO_DELAY_S + ECHO_LEG_S one-second
  bars can (tests/integration/test_temporal_signal.py holds the LSTM against logistic regression and
  gradient-boosted trees on it).

Why signal_strength 1 pays after costs (the arithmetic; BTC-USDT-SWAP, sigma = 0.35 / sqrt(365 *
86400) = 0.62 bp per sqrt(second)). One probe's leg is 25 * 0.62 = 15.6 bp (ETH 20 bp, SOL 27 bp). A
long (short) entered before the leg and left after it, as a maker on both sides at OKX's regular
swap tier (0.02% a fill: hftlab.backtest.fees), pays 2 * 2 = 4 bp in fees, and its fills are honest
(hftlab.backtest.fills: only when the market trades through the order's price, so entries wait for
a tick against them: tens of seconds of 1 s bars at most, zero-mean noise of about 0.62 bp * sqrt(the
wait) on a martingale between legs). Expected net per probe traded: 15.6 - 4 = 11.6 bp (taker at
0.05% a fill: 15.6 - 10 = 5.6 bp), and there are 180 probes an hour. The linear part alone does not
pay at that tier: with H = 10 s its expected move is 1.38 bp * s, so a maker round trip (4 bp) needs
|s| > 2.9, which s reaches 0.4% of the time. At signal_strength 0 neither part exists and every
trade's expected net is minus its costs.

* Limit orders: arrivals at rate limit_rate/s per side, at distance d >= 0 ticks behind b*/a* with
  density ~ (1 + d/arrival_scale_ticks)^-arrival_alpha up to depth_ticks, log-normal sizes (median
  order_notional). Cancels remove one order at a level, at rates that make each level's order count
  a birth-death process whose occupancy is touch_occupancy at the touch decaying to deep_occupancy
  (so >= 400 levels a side, realistic order counts per level). The makers' near-touch ladder
  (ladder_ticks) moves with the anchor each step (cancel and re-post, losing queue priority);
  simulated liquidity inside (b*, a*) is withdrawn; b* and a* always hold at least one order.
* A swap (a Market with a `leader`) takes its spot market's fair value (echo included) and s, plus
  an OU basis (BASIS_TAU_S = 60 s, stationary std BASIS_STD = 2 bp), so BTC-USDT-SWAP trades around
  BTC-USDT; its own tape carries the same bursts as its leader's, at the same moments.
* Agents' orders left crossing the makers' new quotes (a bid >= a*, an ask <= b*) are picked off
  by simulated takers at the start of the step (adverse selection), before the market orders.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from hftlab.domain.instruments import fmt as fmt_decimal
from hftlab.sim.instruments import Instrument
from hftlab.sim.matching import BUY, SELL, Book, LevelFill, Resting, SizeDemand

SIGNAL_TAU_S = 10.0
SIGNAL_DRIFT = 0.35          # drift per unit s, in fair-value sigmas per second (1/sqrt(s) units)
FLOW_TILT = 0.8
PROBE_RATE = 1 / 20          # probes per second (Poisson)
PROBE_GAP_S = 6.0            # a probe: a burst of one side, then PROBE_GAP_S later the same burst of the other
BURST_ORDERS = 10            # market orders in a burst, at one moment
BURST_SIZE = 20.0            # a burst order's median size, in median market-order sizes
ECHO_DELAY_S = 20.0          # the echo: ECHO_DELAY_S after a probe's first burst, the fair value moves in
ECHO_LEG_S = 3.0             # that burst's direction, steadily over ECHO_LEG_S,
ECHO_MOVE = 25.0             # by ECHO_MOVE one-second fair-value sigmas (at temporal_strength 1),
ECHO_FADE_S = 300.0          # then fades back steadily over ECHO_FADE_S
SECONDS_PER_YEAR = 365 * 86400
BASIS_TAU_S = 60.0           # a follower (swap) tracks its leader's fair value with an OU basis
BASIS_STD = 2e-4             # of this stationary std (log units, 2 bp)


@dataclass(frozen=True)
class SimTrade:
    """One public trade message (OKX `trades`: one per taker order and price, `count` maker fills)."""

    trade_id: str
    px: str
    sz: str
    side: str          # taker side
    ts_ms: int
    count: int


@dataclass
class Match:
    """One fill between a taker and one maker (simulated liquidity when maker is None)."""

    idx: int
    lots: int
    trade_id: int
    maker: Resting | None
    ts_ms: int
    count: int = 1      # orders behind it: simulated liquidity at one price trades as one aggregate


# --- candles -------------------------------------------------------------------------------------
_H = 3_600_000
BARS: dict[str, tuple[int, int]] = {     # bar -> (period ms, alignment offset ms: UTC+8 bars start 8 h early)
    "1s": (1000, 0), "1m": (60_000, 0), "3m": (180_000, 0), "5m": (300_000, 0), "15m": (900_000, 0),
    "30m": (1_800_000, 0), "1H": (_H, 0), "2H": (2 * _H, 0), "4H": (4 * _H, 0),
    "6H": (6 * _H, 8 * _H), "12H": (12 * _H, 8 * _H), "1D": (24 * _H, 8 * _H),
    "6Hutc": (6 * _H, 0), "12Hutc": (12 * _H, 0), "1Dutc": (24 * _H, 0),
}
BAR_KEEP = {"1s": 3600}          # bars kept per series (OKX serves the latest 1440)
_DEFAULT_KEEP = 1440


class CandleSeries:
    """Bars of one size: [start_ms, o, h, l, c, vol_lots, quote_units] with prices as tick indices."""

    def __init__(self, period: int, offset: int, keep: int, t_ms: int, px_idx: int):
        self.period, self.offset = period, offset
        self.bars: deque[list[int]] = deque(maxlen=keep)
        self.bars.append([self._start(t_ms), px_idx, px_idx, px_idx, px_idx, 0, 0])

    def _start(self, t: int) -> int:
        return (t + self.offset) // self.period * self.period - self.offset

    @property
    def next_start(self) -> int:
        return self.bars[-1][0] + self.period

    def roll(self, t: int) -> None:
        """Open the bar holding time t (and flat bars for empty periods before it)."""
        cur = self.bars[-1]
        start = self._start(t)
        if start <= cur[0]:
            return
        c = cur[4]
        first = max(cur[0] + self.period, start - (self.bars.maxlen - 1) * self.period)
        for s in range(first, start + 1, self.period):
            self.bars.append([s, c, c, c, c, 0, 0])

    def add(self, idx: int, lots: int) -> None:
        """A trade in the current bar (the caller rolled the series to the trade's time)."""
        b = self.bars[-1]
        if b[5] == 0:
            b[1] = b[2] = b[3] = idx
        else:
            if idx > b[2]:
                b[2] = idx
            if idx < b[3]:
                b[3] = idx
        b[4] = idx
        b[5] += lots
        b[6] += idx * lots


class Tape:
    """Public trades, candles and 24-hour statistics of one instrument."""

    def __init__(self, inst: Instrument, t_ms: int, px_idx: int, first_trade_id: int = 100_000_000):
        self.inst = inst
        self.next_id = first_trade_id
        self.pending: deque[SimTrade] = deque(maxlen=100_000)
        self.recent: deque[SimTrade] = deque(maxlen=1000)
        self.last_idx, self.last_lots, self.last_ts = px_idx, 0, t_ms
        self.series = {bar: CandleSeries(p, off, BAR_KEEP.get(bar, _DEFAULT_KEEP), t_ms, px_idx)
                       for bar, (p, off) in BARS.items()}
        self._day_cache: tuple[int, tuple[int, int, int, int, int]] | None = None
        self.quote_unit = inst.tick * inst.lot * inst.contract_value
        self._next_roll = min(s.next_start for s in self.series.values())

    def roll(self, t: int) -> None:
        if t < self._next_roll:
            return
        for s in self.series.values():
            s.roll(t)
        self._next_roll = min(s.next_start for s in self.series.values())

    def record(self, side: str, fills: list[LevelFill], ts: int) -> list[Match]:
        """Publish one taker's fills (one trade message per price) and number every maker fill."""
        out: list[Match] = []
        inst = self.inst
        for f in fills:
            if f.sim_lots:
                self.next_id += f.sim_orders
                out.append(Match(f.idx, f.sim_lots, self.next_id, None, ts, f.sim_orders))
            for maker, lots in f.agent:
                self.next_id += 1
                out.append(Match(f.idx, lots, self.next_id, maker, ts))
            lots = f.lots
            t = SimTrade(str(self.next_id), inst.px_str(f.idx), inst.sz_str(lots), side, ts,
                         f.sim_orders + len(f.agent))
            self.pending.append(t)
            self.recent.append(t)
            self.roll(ts)
            for s in self.series.values():
                s.add(f.idx, lots)
            self.last_idx, self.last_lots, self.last_ts = f.idx, lots, ts
        return out

    def take(self) -> list[SimTrade]:
        out = list(self.pending)
        self.pending.clear()
        return out

    def candles(self, bar: str, limit: int, after: int | None, before: int | None) -> list[list[str]]:
        if bar not in self.series:
            raise KeyError(bar)
        inst = self.inst
        cur_start = self.series[bar].bars[-1][0]
        rows = []
        for b in reversed(self.series[bar].bars):
            if after is not None and b[0] >= after:
                continue
            if before is not None and b[0] <= before:
                break
            vol = inst.sz(b[5])
            quote = fmt_decimal(self.quote_unit * b[6])
            vol_ccy = quote if not inst.is_swap else fmt_decimal(vol * inst.contract_value)
            rows.append([str(b[0]), inst.px_str(b[1]), inst.px_str(b[2]), inst.px_str(b[3]), inst.px_str(b[4]),
                         inst.sz_str(b[5]), vol_ccy, quote, "0" if b[0] == cur_start else "1"])
            if len(rows) >= limit:
                break
        return rows

    def day_stats(self) -> tuple[int, int, int, int, int]:
        """(open, high, low) tick indices, volume lots and quote units over the last 24 h of 1m bars."""
        bars = self.series["1m"].bars
        cur = bars[-1]
        if self._day_cache is None or self._day_cache[0] != cur[0]:
            closed = list(bars)[-1440:-1]
            traded = [b for b in closed if b[5]]
            hi = max((b[2] for b in traded), default=None)
            lo = min((b[3] for b in traded), default=None)
            o = closed[0][1] if closed else cur[1]
            self._day_cache = (cur[0], (o, hi, lo, sum(b[5] for b in closed), sum(b[6] for b in closed)))
        o, hi, lo, vol, quote = self._day_cache[1]
        if cur[5]:
            hi = cur[2] if hi is None else max(hi, cur[2])
            lo = cur[3] if lo is None else min(lo, cur[3])
        hi = self.last_idx if hi is None else hi
        lo = self.last_idx if lo is None else lo
        return o, hi, lo, vol + cur[5], quote + cur[6]


# --- the flow model ------------------------------------------------------------------------------
class _Draws:
    """Random numbers drawn in blocks (one generator call per few thousand numbers, not per step).

    Consumption depends only on the flow itself, never on agents, so the exogenous flow is the same
    whatever agents do.
    """

    def __init__(self, rng: np.random.Generator, block: int = 4096):
        self.rng, self.block = rng, block
        self._n = rng.standard_normal(block)
        self._u = rng.random(block)
        self._in = self._iu = 0

    def normal(self, n: int) -> np.ndarray:
        if self._in + n > self._n.size:
            self._n = np.concatenate([self._n[self._in:], self.rng.standard_normal(max(self.block, n))])
            self._in = 0
        out = self._n[self._in:self._in + n]
        self._in += n
        return out

    def uniform(self, n: int) -> np.ndarray:
        if self._iu + n > self._u.size:
            self._u = np.concatenate([self._u[self._iu:], self.rng.random(max(self.block, n))])
            self._iu = 0
        out = self._u[self._iu:self._iu + n]
        self._iu += n
        return out


def _poisson(lam: float, u: float) -> int:
    """Inverse-CDF Poisson draw for the small means of one step."""
    p = math.exp(-lam)
    f, k = p, 0
    while u > f and k < 1000:
        k += 1
        p *= lam / k
        f += p
    return k


class Market:
    """One instrument's book driven by the stochastic order flow described in the module docstring."""

    def __init__(self, inst: Instrument, rng: np.random.Generator, signal_strength: float = 0.0,
                 start_ms: int = 0, step_ms: int = 100, leader: Market | None = None,
                 temporal_strength: float | None = None):
        temporal_strength = signal_strength if temporal_strength is None else temporal_strength
        for name, v in (("signal_strength", signal_strength), ("temporal_strength", temporal_strength)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], not {v}")
        p = inst.profile
        self.inst, self.rng, self.p = inst, rng, p
        self.lam = signal_strength
        self.mu = temporal_strength
        self.leader = leader
        self.step_ms = step_ms
        self.dt = dt = step_ms / 1000.0
        self.tick = float(inst.tick)
        self.sigma = p.vol_annual / math.sqrt(SECONDS_PER_YEAR)
        self.a_s = math.exp(-dt / SIGNAL_TAU_S)
        self.b_s = math.sqrt(1 - self.a_s ** 2)
        self.a_u = math.exp(-dt / p.revert_tau_s)
        self.b_u = math.sqrt(1 - self.a_u ** 2) * p.revert_std * self.sigma
        self.a_basis = math.exp(-dt / BASIS_TAU_S)
        self.b_basis = math.sqrt(1 - self.a_basis ** 2) * BASIS_STD
        self.s = float(rng.standard_normal())
        self.u = 0.0
        self.basis = 0.0
        self.logf = math.log(p.start_px) if leader is None else leader.logf
        self.hawkes = 0.0
        # the temporal component: probes (first burst's market time, its direction, second burst sent) whose
        # echo is still to come, and the directions of this step's bursts, which a follower (swap) mirrors
        self.probes: deque[list[int]] = deque()
        self.bursts: list[int] = []
        self.echo_rate = ECHO_MOVE * self.sigma / ECHO_LEG_S       # log drift per second during a leg
        self.probe_rate = PROBE_RATE if p.market_rate > 0 else 0.0  # a market without takers has no probes
        self.burst_mu = math.log(BURST_SIZE)
        self.lot_base = float(inst.lot * inst.contract_value)   # base ccy per lot
        self.limit_mu = math.log(p.order_notional / p.start_px / self.lot_base)
        self.market_mu = math.log(p.market_notional / p.start_px / self.lot_base)
        self.min_lots = max(1, inst.min_lots)
        self.draws = _Draws(rng)
        # the probes draw from a stream of their own (spawned, so the main stream is untouched): the rest
        # of the flow is what it was before the temporal part existed
        self.probe_draws = _Draws(np.random.Generator(np.random.PCG64(rng.bit_generator.seed_seq.spawn(1)[0])), 256)
        self._px_cache: dict[int, str] = {}
        self._counts = np.zeros((0, 4), np.int64)
        self._ci = 0

        # arrival / cancel distance distributions (ticks behind the makers' touch)
        d = np.arange(p.depth_ticks, dtype=float)
        arrive = (1 + d / p.arrival_scale_ticks) ** -p.arrival_alpha
        arrive /= arrive.sum()
        occ = p.deep_occupancy + (p.touch_occupancy - p.deep_occupancy) * np.exp(-d / p.occupancy_decay_ticks)
        # a level's count is birth-death: births r(d), deaths r(d)/occ(d) when non-empty -> occupancy occ(d);
        # beyond depth_ticks nothing arrives and what is left decays at the deepest rate
        cancel = np.concatenate([arrive / occ, np.full(p.depth_ticks, arrive[-1] / occ[-1])])
        self.arrive_cdf = np.cumsum(arrive)
        self.cancel_rate = p.limit_rate * float(cancel.sum())
        self.cancel_cdf = np.cumsum(cancel) / cancel.sum()
        self.arrive_cdf[-1] = self.cancel_cdf[-1] = 1.0     # a uniform draw in [0, 1) always lands inside
        self.occ = occ

        g = self._anchor()
        # wide enough that every distance drawn from a re-centred anchor stays inside the window
        reach = 2 * p.depth_ticks + p.ladder_ticks + int(p.half_spread_ticks) + 8
        self.book = Book(int(round(g)), width=max(4096, 1 << math.ceil(math.log2(4 * reach))))
        self.bid_top, self.ask_top = self._tops(g)
        self._seed_book()
        self.tape = Tape(inst, start_ms, self.bid_top)

    # --- state -----------------------------------------------------------------------------------
    def px_str(self, idx: int) -> str:
        """The instrument's price string, cached: book feeds format the same prices over and over."""
        s = self._px_cache.get(idx)
        if s is None:
            if len(self._px_cache) > 200_000:
                self._px_cache.clear()
            s = self._px_cache[idx] = self.inst.px_str(idx)
        return s

    def _anchor(self) -> float:
        return math.exp(self.logf + self.u + self.basis) / self.tick

    def _tops(self, g: float) -> tuple[int, int]:
        h = self.inst.profile.half_spread_ticks
        b, a = math.floor(g - h), math.ceil(g + h)
        return b, max(a, b + 1)

    @property
    def fair_px(self) -> float:
        return math.exp(self.logf)

    @property
    def signal(self) -> float:
        """The latent s (for studying the planted relation; not observable through the API)."""
        return self.s

    def mid_px(self) -> float:
        b, a = self.book.best_bid(), self.book.best_ask()
        if b is None or a is None:
            return self._anchor() * self.tick
        return (a + b) / 2 * self.tick

    def _sizes(self, mu: float, z: np.ndarray) -> np.ndarray:
        lots = np.exp(mu + self.p.size_sigma * z)
        return np.maximum(lots.astype(np.int64), self.min_lots)

    def _limit_counts(self) -> np.ndarray:
        """(bid arrivals, ask arrivals, bid cancels, ask cancels) for one step, drawn in blocks."""
        if self._ci >= len(self._counts):
            lam = np.array([self.p.limit_rate, self.p.limit_rate, self.cancel_rate, self.cancel_rate]) * self.dt
            self._counts = self.rng.poisson(lam, size=(1024, 4))
            self._ci = 0
        self._ci += 1
        return self._counts[self._ci - 1]

    def _seed_book(self) -> None:
        """Fill both sides at the stationary occupancy so the book is realistic from the start."""
        rng, p = self.rng, self.p
        occ = self.occ
        for side, top, sign in ((self.book.bids, self.bid_top, -1), (self.book.asks, self.ask_top, 1)):
            live = rng.random(p.depth_ticks) < occ
            live[0] = True
            dist = np.flatnonzero(live)
            counts = rng.geometric(1 - occ[dist])
            pos = top + sign * dist - side.base
            per_order = self._sizes(self.limit_mu, rng.standard_normal(int(counts.sum())))
            sizes = np.add.reduceat(per_order, np.concatenate([[0], np.cumsum(counts)[:-1]]))
            side.sz[pos] = sizes
            side.cnt[pos] = counts
            side.top = top

    # --- one step --------------------------------------------------------------------------------
    def step(self, t_ms: int, floor_ms: int) -> list[Match]:
        """Advance one step ending at market time t_ms; returns the fills of agents' resting orders.

        Trades of this step are stamped in (floor_ms, t_ms] (floor_ms: the step start, or the last
        agent action if later, so that the tape stays in time order).
        """
        p, book, draws = self.p, self.book, self.draws
        dt = self.dt
        z0, z1, z2, u_mkt = *draws.normal(3).tolist(), float(draws.uniform(1)[0])
        if self.leader is None:
            self.logf += ((self.lam * SIGNAL_DRIFT * self.sigma * self.s + self._echo_drift(t_ms)) * dt
                          + self.sigma * math.sqrt(dt) * z0)
            self.s = self.s * self.a_s + self.b_s * z1
            self.bursts = self._probe_bursts(t_ms)
        else:
            self.basis = self.basis * self.a_basis + self.b_basis * z0
            self.logf, self.s, self.bursts = self.leader.logf, self.leader.s, self.leader.bursts
        self.u = self.u * self.a_u + self.b_u * z2
        g = self._anchor()
        book.recentre_if_needed(int(g))
        bids, asks = book.bids, book.asks
        b, a = self._tops(g)
        old_b, old_a = self.bid_top, self.ask_top
        self._shift_ladder(bids, old_b - p.ladder_ticks + 1, old_b + 1, b - old_b)
        self._shift_ladder(asks, old_a, old_a + p.ladder_ticks, a - old_a)
        # the makers withdraw whatever simulated liquidity is left inside their new quotes
        bids.clear_sim(b + 1, old_b + 1)
        asks.clear_sim(old_a, a)
        bids.top, asks.top = b, a
        self.bid_top, self.ask_top = b, a
        self.tape.roll(t_ms)

        matches: list[Match] = []
        lo = max(floor_ms, t_ms - self.step_ms)
        first = min(lo + 1, t_ms)
        # agents' quotes the makers' new prices cross are picked off first
        if bids.agents and max(bids.agents) >= a:
            matches += self._sim_take(SELL, 1 << 62, a, first)
        if asks.agents and min(asks.agents) <= b:
            matches += self._sim_take(BUY, 1 << 62, b, first)

        # market orders: Hawkes intensity, informed (tilted) sides, log-normal sizes
        n_mkt = _poisson((p.market_rate + self.hawkes) * dt, u_mkt)
        self.hawkes = self.hawkes * math.exp(-p.market_decay * dt) + p.market_branching * p.market_decay * n_mkt
        n_lim_b, n_lim_a, n_can_b, n_can_a = self._limit_counts().tolist()
        n_lim = n_lim_b + n_lim_a
        sizes = self._sizes(self.limit_mu, draws.normal(n_lim + 2))
        if n_mkt:
            u = draws.uniform(2 * n_mkt)
            buy = (u[:n_mkt] < 0.5 + FLOW_TILT / 2 * math.tanh(self.s)).tolist()
            m_sizes = self._sizes(self.market_mu, draws.normal(n_mkt)).tolist()
            for is_buy, lots, v in zip(buy, m_sizes, np.sort(u[n_mkt:]).tolist()):
                ts = min(t_ms, lo + 1 + int(v * (t_ms - lo)))
                matches += self._sim_take(BUY if is_buy else SELL, lots, None, ts)

        for direction in self.bursts:
            # a burst: BURST_ORDERS market orders of one side at the step's end (after its other market
            # orders, so the tape stays in time order)
            side = BUY if direction > 0 else SELL
            burst = self._sizes(self.market_mu + self.burst_mu, self.probe_draws.normal(BURST_ORDERS))
            for lots in burst.tolist():
                matches += self._sim_take(side, lots, None, t_ms)

        # cancels, then arrivals (both sides in one call each), then the makers' touch
        n_can = n_can_b + n_can_a
        u = draws.uniform(n_can + n_lim)
        off_b, off_a = b - bids.base, a - asks.base + book.width     # flat positions of the tops
        if n_can:
            pos = np.searchsorted(self.cancel_cdf, u[:n_can])
            pos[:n_can_b] = off_b - pos[:n_can_b]
            pos[n_can_b:] += off_a
            book.cancel_sim(pos)
        if n_lim:
            pos = np.searchsorted(self.arrive_cdf, u[n_can:])
            pos[:n_lim_b] = off_b - pos[:n_lim_b]
            pos[n_lim_b:] += off_a
            book.add_sim(pos, sizes[:n_lim])
        for side, top, lots in ((bids, b, sizes[-2]), (asks, a, sizes[-1])):
            q = top - side.base
            if side.sz[q] == 0:
                side.sz[q] = lots
                side.cnt[q] = 1
        return [m for m in matches if m.maker is not None]

    def _probe_bursts(self, t_ms: int) -> list[int]:
        """The directions of this step's bursts: a new probe's first (with chance PROBE_RATE * dt), and
        the second, opposite one of each probe PROBE_GAP_S old."""
        out = []
        for probe in self.probes:
            if not probe[2] and t_ms - probe[0] >= PROBE_GAP_S * 1000:
                probe[2] = 1
                out.append(-probe[1])
        u, side = self.probe_draws.uniform(2).tolist()
        if u < self.probe_rate * self.dt:
            direction = 1 if side < 0.5 else -1
            self.probes.append([t_ms, direction, 0])
            out.append(direction)
        return out

    def _echo_drift(self, t_ms: int) -> float:
        """The temporal component's log drift per second at market time t_ms (see the module doc)."""
        probes = self.probes
        leg, end = (ECHO_DELAY_S + ECHO_LEG_S) * 1000, (ECHO_DELAY_S + ECHO_LEG_S + ECHO_FADE_S) * 1000
        while probes and t_ms - probes[0][0] >= end:
            probes.popleft()
        if not self.mu:
            return 0.0
        moving = fading = 0
        for t0, d, _ in probes:
            age = t_ms - t0
            if age >= leg:
                fading += d
            elif age >= ECHO_DELAY_S * 1000:
                moving += d
        return self.mu * self.echo_rate * (moving - fading * ECHO_LEG_S / ECHO_FADE_S)

    def _shift_ladder(self, side, lo: int, hi: int, shift: int) -> None:
        """Makers re-peg the ladder [lo, hi) by `shift` ticks: cancel and re-post (behind agents)."""
        if shift == 0:
            return
        a, z = lo - side.base, hi - side.base
        if a < 0 or z > side.sz.size or not (0 <= a + shift and z + shift <= side.sz.size):
            return
        sz, cnt = side.sz[a:z].copy(), side.cnt[a:z].copy()
        side.clear_sim(lo, hi)
        side.sz[a + shift:z + shift] += sz
        side.cnt[a + shift:z + shift] += cnt

    def _sim_take(self, side: str, lots: int, limit: int | None, ts: int) -> list[Match]:
        fills = self.book.take(side, SizeDemand(lots), limit)
        return self.tape.record(side, fills, ts) if fills else []
