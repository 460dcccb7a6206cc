from hftlab.bench import feed

FORMATS = ("tbt", "books400")
PER_FORMAT = ("orjson_floor", "hftlab_book", "hftlab_feed", "hftlab_feed_and_book", "cryptofeed")


def test_feed_bench_measures_both_formats_with_every_contender(run_bench, shared_data):
    out = run_bench("feed", "--data", str(shared_data), "--frames", "10", "--repeat", "1", "--sim-seconds", "1")
    expected = {f"{f}_{k}_frame_us" for f in FORMATS for k in PER_FORMAT}
    expected |= {f"{f}_{k}" for f in FORMATS for k in ("frames_count", "book_vs_orjson_x", "book_vs_cryptofeed_x")}
    expected |= {"book_engine_compiled_count", "orjson_floor_frames_per_s", "hftlab_frames_per_s",
                 "cryptofeed_frames_per_s"}
    assert set(out) == expected
    assert all(out[k] > 0 for k in expected - {"book_engine_compiled_count"})
    assert out["tbt_frames_count"] == 3679  # one pass of the 2022 recording's book frames


def test_books400_recording_is_deterministic_and_four_hundred_levels_deep():
    a, b = feed.record_books400(7, 1.0), feed.record_books400(7, 1.0)
    assert a == b and a != feed.record_books400(8, 1.0)
    import orjson

    first = orjson.loads(a[0])
    assert first["action"] == "snapshot" and len(first["data"][0]["bids"]) == 400
    assert {orjson.loads(f)["arg"]["instId"] for f in a} == {"BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USDT-SWAP"}
    assert all(orjson.loads(f)["data"][0]["checksum"] == 0 for f in a)


def test_a_broken_chain_fails_the_books400_check():
    import pytest

    frames = feed.record_books400(7, 1.0)
    with pytest.raises(RuntimeError, match="did not apply every books400 frame"):
        feed._time_book("books400", frames[:4] + frames[5:], 1)  # one update lost
