"""StreamingFeatures: one series, closed bars in order, normaliser must fit the spec; no numba live."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hftlab.domain.market import Bar
from hftlab.features import FeatureSpec, Normaliser, StreamingFeatures

SPEC = FeatureSpec(book_levels=2)


def bar(ts, close=100.0, inst="BTC-USDT", tf="1s"):
    return Bar(inst, tf, ts, close, close, close, close, 1.0, 1, close, 0.6, 0.4)


def test_vector_layout_and_book_at_bar_close():
    sf = StreamingFeatures(SPEC)
    v = sf.update_bar(bar(0))
    assert v.shape == (len(SPEC.names),) and sf.names == SPEC.names
    assert np.isnan(v[SPEC.names.index("spread_bps")])  # no book yet
    sf.update_book([["99", "3"], ["98", "1"]], [["101", "1"], ["102", "4"]])
    sf.update_book([["99", "1"]], [["101", "1"]])  # only the latest book counts
    v = sf.update_bar(bar(1000))
    assert v[SPEC.names.index("spread_bps")] == pytest.approx(200.0)
    assert v[SPEC.names.index("obi_2")] == 0.0
    assert v[SPEC.names.index("tfi_1")] == pytest.approx(0.2)
    assert np.array_equal(sf.raw, v, equal_nan=True)


def test_one_series_in_order():
    sf = StreamingFeatures(SPEC)
    sf.update_bar(bar(1000))
    with pytest.raises(ValueError, match="one StreamingFeatures per series"):
        sf.update_bar(bar(2000, inst="ETH-USDT"))
    with pytest.raises(ValueError, match="one StreamingFeatures per series"):
        sf.update_bar(bar(2000, tf="1m"))
    with pytest.raises(ValueError, match="not after the previous bar"):
        sf.update_bar(bar(1000))


def test_normaliser_must_match_the_spec():
    norm = Normaliser(("a",), (0.0,), (1.0,))
    with pytest.raises(ValueError, match="normaliser was fitted on features"):
        StreamingFeatures(SPEC, norm)
    with pytest.raises(TypeError, match="FeatureSpec"):
        StreamingFeatures(SPEC.to_dict())


def test_normalised_output():
    n = len(SPEC.names)
    norm = Normaliser(SPEC.names, tuple(range(n)), (2.0,) * n)
    sf = StreamingFeatures(SPEC, norm)
    for t in range(40):
        out = sf.update_bar(bar(t * 1000, 100.0 + (t % 5)))
    np.testing.assert_array_equal(out, (sf.raw - np.arange(n)) / 2.0)


def test_live_path_never_imports_numba_or_pandas():
    code = (
        "import sys, hftlab, hftlab.features as F\n"
        "from hftlab.domain.market import Bar\n"
        "sf = F.StreamingFeatures(F.FeatureSpec())\n"
        "sf.update_book([['1', '1']], [['2', '1']])\n"
        "[sf.update_bar(Bar('A', '1s', t, 1.0, 1.0, 1.0, 1.0 + t % 3, 1.0, 1, 1.0, 0.5, 0.5)) for t in range(50)]\n"
        "r, m, b = F.RSI(), F.MACD(), F.Bollinger()\n"
        "print(sorted(k for k in ('numba', 'pandas') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
