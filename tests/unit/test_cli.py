import json
import subprocess
import sys

from hftlab.cli import COMMANDS, main

HEAVY = ("torch", "lightning", "mlflow", "numba", "sklearn", "pandas", "matplotlib")


def test_import_hftlab_stays_light():
    code = "import sys, hftlab, hftlab.cli, hftlab.settings; print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"`import hftlab` pulled in heavy modules: {out}"


def test_help_and_unknown_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert main([]) == 2


def test_every_registered_command_builds_its_parser():
    from hftlab.cli import build_parser

    for name in COMMANDS:
        try:
            parser, _module = build_parser(name)
        except ModuleNotFoundError as e:  # a subsystem still missing must say so, not crash oddly
            raise AssertionError(f"command {name!r} is registered but its module is missing: {e}") from None
        text = parser.format_help()
        assert all(opt in text for opt in ("--config", "--log-level", "--log-json")), name


def test_python_dash_m_and_bench_json():
    proc = subprocess.run(
        [sys.executable, "-m", "hftlab", "bench", "cache", "--json", "--rate", "2000", "--seconds", "0.1",
         "--burst", "3000", "--overflow", "300"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # stdout is exactly one JSON object; progress went to stderr
    assert doc["benchmark"] == "cache"
    assert set(doc["results"]) >= {"burst_manager_events_per_s", "burst_one_per_event_events_per_s",
                                   "burst_pipeline_events_per_s", "rate_manager_p99_us"}
    assert doc["results"]["overflow_dropped_count"] == 300
    assert doc["results"]["overflow_written_count"] == doc["results"]["backlog_max_count"]
    assert {"cpu", "cores", "python"} <= set(doc["machine"]) and "redis" in doc["versions"]
    assert "a burst of 3,000 events" in proc.stderr


def test_unknown_benchmark_exits_2(capsys):
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
