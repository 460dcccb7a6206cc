"""Pipelines run by papermill with real kernels: hand-off through run_dir, a failing step named by
notebook and cell, the run recorded in MLflow (a throwaway store)."""

import argparse
import json

import nbformat
import pytest

from hftlab.commands import pipeline as cli
from hftlab.pipeline.runner import run
from hftlab.pipeline.spec import load
from hftlab.settings import Settings

PARAMS = "run_dir = None\nconfig = None\nword: str = 'default'\n"


def notebook(path, *cells, params=PARAMS):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))


@pytest.fixture
def project(tmp_path):
    notebook(tmp_path / "write.ipynb", "import json, pathlib\n"
             "pathlib.Path(run_dir, 'handoff.json').write_text(json.dumps({'word': word}))")
    notebook(tmp_path / "read.ipynb",
             "import json, pathlib\ngot = json.loads(pathlib.Path(run_dir, 'handoff.json').read_text())",
             "assert got['word'] == word, got",
             "raise ValueError(f'broken on purpose after reading {got}')")
    notebook(tmp_path / "never.ipynb", "open(run_dir + '/never-ran', 'w').close()")
    settings = Settings.model_validate({
        "system": {"data_dir": str(tmp_path / "var")},
        "mlflow": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db", "artifact_location": str(tmp_path / "art")}})
    return tmp_path, settings


def test_a_failing_step_stops_the_run_and_names_notebook_and_cell(project):
    root, settings = project
    (root / "p.yaml").write_text("""
name: handoff
parameters: {word: hello}
steps:
  - {name: write, notebook: write.ipynb}
  - {name: read, notebook: read.ipynb}
  - {name: never, notebook: never.ipynb}
""")
    lines = []
    result = run(load(root / "p.yaml"), settings, progress=lines.append)
    assert not result.ok and [s["status"] for s in result.steps] == ["ok", "failed"]
    f = result.failure
    assert f.step == "read" and f.notebook.name == "read.ipynb"
    # as written: cell 0 parameters, 1 the read, 2 the assert, 3 the raise (papermill's copy has one more)
    assert f.cell_index == 3 and "ValueError: broken on purpose after reading {'word': 'hello'}" in f.error
    assert f.source_line.startswith("raise ValueError")
    assert f.executed == result.run_dir / "read.ipynb" and f.executed.is_file()
    assert "read.ipynb cell 3 (In [5] of the executed notebook)" in str(f)
    assert "broken on purpose" in "\n".join(lines)
    assert not (result.run_dir / "never-ran").exists() and not (result.run_dir / "never.ipynb").exists()
    assert result.run_dir.parent == settings.data_dir / "runs"
    assert json.loads((result.run_dir / "pipeline.json").read_text())["ok"] is False

    from hftlab.models.tracking import import_mlflow

    client = import_mlflow().MlflowClient(f"sqlite:///{root}/mlflow.db")
    logged = client.get_run(result.mlflow_run_id)
    assert logged.info.status == "FAILED" and logged.data.tags["hftlab.kind"] == "pipeline"
    assert "read.ipynb cell 3" in logged.data.tags["hftlab.failure"]
    assert {a.path for a in client.list_artifacts(result.mlflow_run_id)} >= {"write.ipynb", "read.ipynb",
                                                                          "pipeline.json", "p.yaml"}


def test_cli_runs_a_pipeline_with_overrides(project, capsys, monkeypatch):
    root, settings = project
    (root / "ok.yaml").write_text("name: ok\nsteps:\n  - {name: write, notebook: write.ipynb}\n")
    monkeypatch.setenv("HFTLAB__SYSTEM__DATA_DIR", str(root / "var"))
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(["run", str(root / "ok.yaml"), "-p", "word=bye", "--no-mlflow", "--json"])) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["steps"][0]["parameters"] == {"word": "bye"}
    executed = nbformat.read(doc["steps"][0]["executed"], as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) and "bye" in c.source for c in executed.cells)
    assert json.loads((root / "var" / "runs" / doc["run_dir"].split("/")[-1] / "handoff.json").read_text()) == {
        "word": "bye"}
    assert cli.run(p.parse_args(["validate", str(root / "ok.yaml"), "-p", "wrod=x"])) == 2
    assert "no step's notebook declares 'wrod'" in capsys.readouterr().err
