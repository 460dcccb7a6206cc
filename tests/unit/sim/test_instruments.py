"""The simulator's listing: OKX instrument records with real sizes, and the venue-neutral spec of each."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hftlab.domain.instruments import InstrumentSpec, InstType
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


@pytest.mark.parametrize("inst", default_instruments(), ids=lambda i: i.inst_id)
def test_spec_carries_what_the_okx_record_says(inst):
    """spec() agrees with the record GET /api/v5/public/instruments serves for the same listing, so a
    client building InstrumentSpec from the venue's answer gets the simulator's own spec."""
    rec = inst.to_okx()
    spec = inst.spec()
    assert isinstance(spec, InstrumentSpec)
    assert (spec.inst_id, spec.inst_type, spec.inst_id_code) == (rec["instId"], InstType(rec["instType"]),
                                                                 rec["instIdCode"])
    assert (spec.tick_sz, spec.lot_sz, spec.min_sz) == (Decimal(rec["tickSz"]), Decimal(rec["lotSz"]),
                                                        Decimal(rec["minSz"]))
    assert all(isinstance(v, Decimal) for v in (spec.tick_sz, spec.lot_sz, spec.min_sz, spec.ct_val))
    if spec.is_swap:
        # OKX names a linear swap's underlying by ctValCcy and its settle currency by settleCcy
        assert (spec.base_ccy, spec.quote_ccy, spec.ct_val) == (rec["ctValCcy"], rec["settleCcy"],
                                                                Decimal(rec["ctVal"]))
    else:
        assert (spec.base_ccy, spec.quote_ccy, spec.ct_val) == (rec["baseCcy"], rec["quoteCcy"], Decimal(1))
    assert spec.tradable and spec.on_lot_grid(spec.min_sz) and not spec.on_lot_grid(spec.min_sz + spec.lot_sz / 2)


def test_specs_of_the_default_listing():
    specs = {i.inst_id: i.spec() for i in default_instruments()}
    assert {k: (s.inst_type, s.base_ccy, s.quote_ccy) for k, s in specs.items()} == {
        "BTC-USDT": (InstType.SPOT, "BTC", "USDT"), "ETH-USDT": (InstType.SPOT, "ETH", "USDT"),
        "SOL-USDT": (InstType.SPOT, "SOL", "USDT"), "BTC-USDT-SWAP": (InstType.SWAP, "BTC", "USDT")}
    swap = specs["BTC-USDT-SWAP"]
    assert (swap.tick_sz, swap.lot_sz, swap.min_sz, swap.ct_val) == (Decimal("0.1"), Decimal("0.01"),
                                                                     Decimal("0.01"), Decimal("0.01"))
    assert swap.notional(64000.0, 2.0) == 1280.0            # 2 contracts of 0.01 BTC
    assert specs["BTC-USDT"].notional(64000.0, 0.5) == 32000.0
    assert len({s.inst_id_code for s in specs.values()}) == len(specs)
