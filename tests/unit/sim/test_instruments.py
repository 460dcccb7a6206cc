"""The simulator's listing: OKX instrument records with real sizes."""

from __future__ import annotations

import json

from hftlab.sim.instruments import default_instruments


def test_instrument_records_have_the_okx_shape_and_real_sizes(shared_data):
    doc = json.loads((shared_data / "okx/fixtures/docs_examples/rest_get_public_instruments.json").read_text())
    ref = doc["examples"][0]["json"]["data"][0]
    real = json.loads((shared_data / "okx/okx_v5_rest_instruments_2021-07-22_2022-02-27_2022-05-13.json").read_text())
    spot_2022 = real["2022-05-13"]
    for inst in default_instruments():
        rec = inst.to_okx()
        assert set(rec) == set(ref)
        assert isinstance(rec["instIdCode"], int)
        for k, v in rec.items():
            assert type(v) is type(ref[k]), k
        if inst.inst_type == "SPOT":
            assert {k: rec[k] for k in ("tickSz", "lotSz", "minSz")} == \
                {k: spot_2022[inst.inst_id][k] for k in ("tickSz", "lotSz", "minSz")}
    swap = {i.inst_id: i for i in default_instruments()}["BTC-USDT-SWAP"].to_okx()
    assert (swap["ctVal"], swap["lotSz"], swap["minSz"], swap["settleCcy"], swap["baseCcy"]) == \
        ("0.01", "0.01", "0.01", "USDT", "")

