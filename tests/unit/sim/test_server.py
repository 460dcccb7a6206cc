"""The simulator server: which instruments it lists (every one it knows, or those the config names),
and its own tasks are supervised (a market loop that fails is counted and comes back)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from hftlab.sim.config import SimConfig
from hftlab.sim.instruments import default_instruments
from hftlab.sim.server import SimServer, listed_instruments


def test_every_instrument_by_default_and_only_those_named_otherwise():
    assert [i.inst_id for i in listed_instruments(SimConfig())] == [i.inst_id for i in default_instruments()]
    listed = listed_instruments(SimConfig(instruments=["ETH-USDT", "BTC-USDT"], null_inst_id_code=["ETH-USDT"]))
    assert [(i.inst_id, i.inst_id_code is None) for i in listed] == [("BTC-USDT", False), ("ETH-USDT", True)]


@pytest.mark.parametrize("instruments, needle", [(["NOPE-USDT"], "not instruments the simulator lists"),
                                                 ([], "at least 1")])
def test_an_unknown_or_empty_list_is_refused(instruments, needle):
    with pytest.raises(ValidationError, match=needle):
        SimConfig(instruments=instruments)


async def _until(pred, what: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_market_loop_that_fails_is_restarted_and_counted():
    async with SimServer(SimConfig(seed=1, book_interval_ms=20)) as sim:
        real, calls = sim.clock.wall_delay_s, []

        def flaky(market_ms: int) -> float:
            calls.append(market_ms)
            if len(calls) == 3:
                raise RuntimeError("clock bug")
            return real(market_ms)

        sim.clock.wall_delay_s = flaky
        await _until(lambda: sim.stats.task_failures["feed"] == 1, "the failure")
        steps = sim.stats.steps
        await _until(lambda: sim.stats.steps > steps + 5, "the market to go on")
