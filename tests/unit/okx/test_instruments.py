"""OKX instrument records -> InstrumentSpec: OKX's real answers and the simulator's listing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hftlab.domain.instruments import InstrumentSpec, InstType
from hftlab.okx.instruments import inst_id_code, instrument_spec
from hftlab.okx.rest import OkxRest
from hftlab.sim.instruments import default_instruments

INSTRUMENTS = "okx/okx_v5_rest_instruments_2021-07-22_2022-02-27_2022-05-13.json"


@pytest.fixture(scope="module")
def listings(shared_data) -> dict[str, dict[str, dict]]:
    with (shared_data / INSTRUMENTS).open() as f:
        return json.load(f)


def test_real_spot_and_swap_records(listings):
    day = listings["2022-05-13"]
    assert instrument_spec(day["BTC-USDT"]) == InstrumentSpec(
        "BTC-USDT", InstType.SPOT, "BTC", "USDT", Decimal("0.1"), Decimal("0.00000001"), Decimal("0.00001"),
        Decimal(1), None, "live")
    assert instrument_spec(day["BTC-USDT-SWAP"]) == InstrumentSpec(
        "BTC-USDT-SWAP", InstType.SWAP, "BTC", "USDT", Decimal("0.1"), Decimal("1"), Decimal("1"), Decimal("0.01"),
        None, "live")
    # what a spec cannot describe: an inverse swap (valued in USD, settled in BTC), futures, options
    assert instrument_spec(day["BTC-USD-SWAP"]) is None
    assert all(instrument_spec(r) is None for r in day.values() if r["instType"] in ("FUTURES", "OPTION"))


def test_every_real_spot_and_linear_swap_record_converts(listings):
    for day, records in listings.items():
        for r in records.values():
            spec = instrument_spec(r)
            linear = r["instType"] == "SPOT" or (r["instType"] == "SWAP" and r["ctType"] == "linear")
            assert (spec is not None) == linear, (day, r["instId"])
            if spec is None:
                continue
            assert spec.inst_id == r["instId"] and spec.inst_id_code is None, "2022 answers have no instIdCode"
            assert (spec.tick_sz, spec.lot_sz, spec.min_sz) == (Decimal(r["tickSz"]), Decimal(r["lotSz"]),
                                                               Decimal(r["minSz"]))
            if spec.is_swap:
                assert (spec.base_ccy, spec.quote_ccy, spec.ct_val) == (r["ctValCcy"], r["settleCcy"],
                                                                       Decimal(r["ctVal"]))
                assert r["uly"] == f"{spec.base_ccy}-{spec.quote_ccy}"
            else:
                assert (spec.base_ccy, spec.quote_ccy, spec.ct_val) == (r["baseCcy"], r["quoteCcy"], 1)


@pytest.mark.parametrize("inst", default_instruments(), ids=lambda i: i.inst_id)
def test_the_simulators_record_converts_to_its_own_spec(inst):
    assert instrument_spec(inst.to_okx()) == inst.spec()


@pytest.mark.parametrize(("code", "expected"), [(None, None), ("", None), ("1000000001", 1000000001), (7, 7)])
def test_inst_id_code_may_be_null_or_empty(code, expected):
    record = default_instruments()[0].to_okx()
    record["instIdCode"] = code
    assert inst_id_code(record) == expected and instrument_spec(record).inst_id_code == expected
    del record["instIdCode"]
    assert instrument_spec(record).inst_id_code is None


@pytest.mark.parametrize("broken", [{"tickSz": ""}, {"lotSz": "0"}, {"minSz": "abc"}, {"tickSz": None},
                                    {"quoteCcy": ""}])
def test_an_unreadable_record_is_an_error_naming_it(broken):
    record = {**default_instruments()[0].to_okx(), **broken}
    with pytest.raises(ValueError, match="BTC-USDT"):
        instrument_spec(record)


async def test_rest_listing_leaves_out_what_it_cannot_convert(listings, monkeypatch):
    day = listings["2022-05-13"]
    records = [day["BTC-USDT-SWAP"], day["BTC-USD-SWAP"], {**day["ETH-USDT-SWAP"], "tickSz": ""}]
    rest = OkxRest("http://127.0.0.1:9")

    async def instruments(inst_type, inst_id=None):
        assert inst_type == "SWAP"
        return records

    monkeypatch.setattr(rest, "instruments", instruments)
    assert [s.inst_id for s in await rest.instrument_specs(InstType.SWAP)] == ["BTC-USDT-SWAP"]
