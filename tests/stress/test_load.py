"""The load ramp, small: two instruments, one then two clients against `hftlab sim` at 20x with
checksums on. `hftlab soak load` ramps further; this holds that a step is measured as the ramp
defines it and that a client keeps every book valid at the rate of the first step. The frames/s are
printed, never asserted."""

from __future__ import annotations

import asyncio
import json

import pytest

from hftlab.soak.load import LoadConfig, LoadRamp, step_verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_small_ramp_measures_each_step_and_the_first_one_holds(tmp_path):
    cfg = LoadConfig(tmp_path, instruments=("BTC-USDT", "ETH-USDT"), clients=(1, 2), speed=20.0, step_s=3.0)
    doc = asyncio.run(LoadRamp(cfg).run())
    print(json.dumps(doc, indent=1))
    first = doc["steps"][0]
    assert first["clients"] == 1 and first["total_frames_per_s"] > 0
    assert first["checksums_verified"] > 0  # every update's CRC32 was checked, not only its seqId chain
    assert step_verdict(first, cfg.keep_up) is None, first
    assert doc["max_sustainable_frames_per_s"] is not None and doc["at_clients"] >= 1
    *before, last = doc["steps"]
    assert all(step_verdict(s, cfg.keep_up) is None for s in before)  # the ramp stops at the first failure
    assert doc["limit"] in (step_verdict(last, cfg.keep_up), "not reached at 2 clients")
