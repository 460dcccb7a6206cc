import math

import numpy as np
import pytest

from hftlab.domain.market import TopOfBook
from hftlab.features import FeatureSpec
from hftlab.strategy.config import StrategyConfig
from hftlab.strategy.filters import Filters, Veto

NAMES = FeatureSpec().names
RSI, HIST, PCTB = (next(i for i, n in enumerate(NAMES) if n.startswith(p)) for p in ("rsi_", "macd_hist_", "bb_pctb_"))
NOW = 10**18
TOP = TopOfBook("X", "99", "1", "101", "1", 0, 1, True, NOW)
UP = np.array([0.1, 0.2, 0.7])


def features(rsi=60.0, hist=0.001, pctb=0.7):
    f = np.zeros(len(NAMES))
    f[RSI], f[HIST], f[PCTB] = rsi, hist, pctb
    return f


def apply(flt, position=1, proba=UP, complete=True, top=TOP, f=None, now=NOW):
    return flt.apply(position, proba, complete, top, features() if f is None else f, now)


def test_a_clean_signal_passes():
    assert apply(Filters(StrategyConfig(regime=["rsi", "macd", "bollinger"]), NAMES)) == (1, None)


@pytest.mark.parametrize("kw, veto", [
    (dict(complete=False), Veto.INCOMPLETE),
    (dict(proba=np.array([math.nan] * 3)), Veto.INCOMPLETE),
    (dict(top=None), Veto.BOOK),
    (dict(top=TopOfBook("X", "99", "1", "101", "1", 0, 1, False, NOW)), Veto.BOOK),
    (dict(top=TopOfBook("X", "99", "1", "101", "1", 0, 1, True, NOW - 3 * 10**9)), Veto.BOOK),
    (dict(proba=np.array([0.3, 0.3, 0.4])), Veto.CONFIDENCE),
    (dict(f=features(rsi=75)), Veto.REGIME),
    (dict(f=features(rsi=45)), Veto.REGIME),
    (dict(f=features(hist=-0.001)), Veto.REGIME),
    (dict(f=features(pctb=1.2)), Veto.REGIME),
    (dict(f=features(pctb=0.3)), Veto.REGIME),
    (dict(position=-1, f=features()), Veto.REGIME),  # every indicator says up
])
def test_each_filter_flattens_and_is_counted(kw, veto):
    flt = Filters(StrategyConfig(min_confidence=0.5, regime=["rsi", "macd", "bollinger"]), NAMES)
    assert apply(flt, **kw) == (0, veto)
    assert flt.vetoes == {veto: 1}


def test_shorts_agree_mirrored():
    flt = Filters(StrategyConfig(regime=["rsi", "macd", "bollinger"]), NAMES)
    assert apply(flt, position=-1, f=features(rsi=40, hist=-0.002, pctb=0.2)) == (-1, None)


def test_cooldown_blocks_a_new_entry_but_never_an_exit():
    flt = Filters(StrategyConfig(cooldown_s=10), NAMES)
    assert apply(flt, position=1, now=NOW) == (1, None)
    assert apply(flt, position=0, now=NOW + 10**9) == (0, None)  # exit at once
    assert apply(flt, position=-1, now=NOW + 2 * 10**9) == (0, Veto.COOLDOWN)
    assert apply(flt, position=-1, now=NOW + 12 * 10**9, top=TopOfBook("X", "99", "1", "101", "1", 0, 1, True,
                                                                       NOW + 12 * 10**9)) == (-1, None)


def test_a_regime_filter_without_its_feature_is_refused():
    with pytest.raises(ValueError, match="rsi"):
        Filters(StrategyConfig(regime=["rsi"]), ("ret_1",))
