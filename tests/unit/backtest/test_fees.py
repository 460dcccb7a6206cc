import numpy as np
import pytest

from hftlab.backtest.fees import FUNDING_PERIOD_MS, TIERS, funding_rates, inst_type_of, rates
from hftlab.domain.instruments import InstType


def test_regular_tier_is_okxs_published_rates_per_instrument_type():
    assert rates("regular", InstType.SPOT) == rates("regular", InstType.SPOT, None, None)
    assert (rates("regular", InstType.SPOT).maker, rates("regular", InstType.SPOT).taker) == (0.0008, 0.001)
    assert (rates("regular", InstType.SWAP).maker, rates("regular", InstType.SWAP).taker) == (0.0002, 0.0005)
    assert rates("regular", InstType.SWAP, taker=0.0003).taker == 0.0003  # a stated rate wins
    for tier in TIERS.values():  # higher tiers never cost more, makers never more than takers
        for kind in InstType:
            assert tier[kind].maker <= tier[kind].taker
    assert TIERS["vip8"][InstType.SWAP].maker < 0  # a maker rebate at the top
    with pytest.raises(ValueError, match="unknown fee tier"):
        rates("vip99", InstType.SPOT)


def test_instrument_type_from_the_name_unless_stated():
    assert inst_type_of("BTC-USDT-SWAP") is InstType.SWAP and inst_type_of("BTC-USDT") is InstType.SPOT
    assert inst_type_of(None) is InstType.SPOT and inst_type_of("BTC-USDT", "SWAP") is InstType.SWAP


def test_funding_settles_in_the_bar_holding_each_eight_hour_mark():
    period = 5 * 60_000
    ts = np.arange(0, 2 * FUNDING_PERIOD_MS + 2 * period, period, dtype=np.int64) - period  # -5 min .. 16:05
    out = funding_rates(ts, period, 0.0001, InstType.SWAP)
    assert np.flatnonzero(out).tolist() == [1, 1 + FUNDING_PERIOD_MS // period, 1 + 2 * FUNDING_PERIOD_MS // period]
    recorded = np.full(ts.size, np.nan)
    recorded[1] = -0.0003
    assert funding_rates(ts, period, 0.0001, InstType.SWAP, recorded)[1] == -0.0003
    assert not funding_rates(ts, period, 0.0001, InstType.SPOT).any()
