"""Which instruments the simulator lists: every one it knows, or those the config names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hftlab.sim.config import SimConfig
from hftlab.sim.instruments import default_instruments
from hftlab.sim.server import listed_instruments


def test_every_instrument_by_default_and_only_those_named_otherwise():
    assert [i.inst_id for i in listed_instruments(SimConfig())] == [i.inst_id for i in default_instruments()]
    listed = listed_instruments(SimConfig(instruments=["ETH-USDT", "BTC-USDT"], null_inst_id_code=["ETH-USDT"]))
    assert [(i.inst_id, i.inst_id_code is None) for i in listed] == [("BTC-USDT", False), ("ETH-USDT", True)]


@pytest.mark.parametrize("instruments, needle", [(["NOPE-USDT"], "not instruments the simulator lists"),
                                                 ([], "at least 1")])
def test_an_unknown_or_empty_list_is_refused(instruments, needle):
    with pytest.raises(ValidationError, match=needle):
        SimConfig(instruments=instruments)
