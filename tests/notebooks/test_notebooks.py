"""The research notebooks: stored clean, parameterised for papermill, and executed under nbval.

nbval runs each notebook top to bottom in a fresh kernel of this interpreter (lax mode: outputs
are not compared; the notebooks' own `assert` cells check what can be checked). It cannot inject
parameters, so the notebooks' defaults are the small, fast ones; the configuration points every
notebook at a throwaway data directory and MLflow store (HFTLAB_CONFIG), and the notebooks hand
data to each other through <data_dir>/runs/notebooks, in order 01 -> 06.
"""

import os
import re
import subprocess
import sys

import nbformat
import pytest

from hftlab.core.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
# The nbval run's own limit stays inside the test's: when it expires the child is killed and its
# output reported; were pytest's timeout first, the test would die blind and the child run on.
NBVAL_TIMEOUT_S = 900
TEST_TIMEOUT_S = NBVAL_TIMEOUT_S + 60
STEPS = ["01_collect", "02_features", "03_train", "04_backtest", "05_promote", "06_live"]


def test_the_six_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == STEPS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_with_a_parameters_cell(path):
    import papermill as pm

    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs before committing"
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells[0].cell_type == "markdown", "a narrative first, then one parameters cell"
    declared = pm.inspect_notebook(str(path))
    assert {"run_dir", "config"} <= set(declared)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert any(re.search(r"^assert ", c.source, re.M) for c in code), "an asserting cell"


@pytest.mark.slow
@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_notebooks_run_under_nbval(tmp_path):
    config = tmp_path / "notebooks.yaml"
    config.write_text(
        f"system: {{data_dir: {tmp_path / 'var'}, log_level: WARNING}}\n"
        f"mlflow: {{tracking_uri: 'sqlite:///{tmp_path}/mlflow.db', artifact_location: {tmp_path / 'artifacts'}, "
        "experiment: notebooks}\n")
    env = {**os.environ, "HFTLAB_CONFIG": str(config), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("HFTLAB__MLFLOW__TRACKING_URI", None)
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q",
           "--no-header", *[str(p) for p in NOTEBOOKS]]
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=NBVAL_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:  # the child is killed by now
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"nbval ran past {NBVAL_TIMEOUT_S} s:\n{out[-6000:]}")
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    cells = sum(1 for p in NOTEBOOKS for c in nbformat.read(str(p), as_version=4).cells if c.cell_type == "code")
    assert re.search(rf"\b{cells} passed\b", proc.stdout), tail
    run_dir = tmp_path / "var" / "runs" / "notebooks"
    for name in ("bars.parquet", "features.json", "train.json", "backtest.json", "promote.json", "live.json"):
        assert (run_dir / name).is_file(), name


def test_the_nbval_run_times_out_inside_its_test(request):
    """The nbval child ran up to 900 s under pytest's 300 s default: the test died first, blind."""
    marks = [m.args[0] for m in test_notebooks_run_under_nbval.pytestmark if m.name == "timeout"]
    test_limit = marks[0] if marks else float(request.config.getini("timeout"))
    assert NBVAL_TIMEOUT_S < test_limit
