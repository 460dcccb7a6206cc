import pytest

from hftlab.pipeline.spec import PipelineError, load, parse_overrides, with_overrides

PARAMS_A = 'run_dir = None\nconfig = None\nsymbol: str = "BTC-USDT"\nduration_s: float = 20.0\n'
PARAMS_B = 'run_dir = None\nconfig = None\nsymbol: str = "BTC-USDT"\nmax_epochs: int = 2\nfast: bool = True\n'


@pytest.fixture
def books(tmp_path, notebook):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    notebook(nbs / "a.ipynb", PARAMS_A, "print(1)")
    notebook(nbs / "b.ipynb", PARAMS_B, "print(2)")
    notebook(nbs / "plain.ipynb", None, "print(3)")
    (tmp_path / "pipelines").mkdir()
    return tmp_path


def write(root, text):
    path = root / "pipelines" / "p.yaml"
    path.write_text(text)
    return path


GOOD = """
name: demo
parameters: {symbol: ETH-USDT}
steps:
  - {name: collect, notebook: ../notebooks/a.ipynb, parameters: {duration_s: 60}}
  - {name: train, notebook: ../notebooks/b.ipynb, parameters: {max_epochs: 5}}
"""


def test_a_valid_pipeline_and_what_each_step_gets(books):
    pipe = load(write(books, GOOD))
    assert [s.name for s in pipe.steps] == ["collect", "train"]
    assert pipe.step_parameters(pipe.steps[0]) == {"symbol": "ETH-USDT", "duration_s": 60}
    assert pipe.step_parameters(pipe.steps[1]) == {"symbol": "ETH-USDT", "max_epochs": 5}
    assert pipe.steps[0].notebook == books / "notebooks" / "a.ipynb"
    bare = pipe.notebook_defaults()
    assert all(bare.step_parameters(s) == {} for s in bare.steps)


def test_every_problem_is_reported_at_once(books):
    text = """
name: Bad Name
colour: blue
parameters: {nobody: 1, run_dir: x}
steps:
  - {name: collect, notebook: ../notebooks/a.ipynb, parameters: {duration_s: "60s", durations: 3}}
  - {name: collect, notebook: ../notebooks/missing.ipynb}
  - {name: plain, notebook: ../notebooks/plain.ipynb, retries: 2}
  - {name: train, notebook: train.py}
  - {name: train2, notebook: ../notebooks/b.ipynb, parameters: {fast: 1, config: [x.yaml]}}
"""
    with pytest.raises(PipelineError) as e:
        load(write(books, text))
    msg = "\n".join(e.value.problems)
    for expected in ("name: required", "colour: unknown key", "duration_s: a.ipynb expects float, got str '60s'",
                     "durations: not a parameter of a.ipynb (it declares: symbol, duration_s)",
                     "steps[1]: name: 'collect' is used by an earlier step", "missing.ipynb does not exist",
                     "plain.ipynb has no cell tagged 'parameters'", "retries: unknown key",
                     "notebook: required, a path to an .ipynb file", "fast: b.ipynb expects bool, got int 1",
                     "config: reserved", "parameters: nobody: no step's notebook declares it",
                     "parameters: run_dir: reserved"):
        assert expected in msg, f"{expected!r} not in:\n{msg}"


def test_unreadable_files_and_shapes(books):
    with pytest.raises(PipelineError, match="cannot read"):
        load(books / "pipelines" / "nope.yaml")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load(write(books, "name: [unclosed"))
    with pytest.raises(PipelineError, match="steps: required"):
        load(write(books, "name: x\nsteps: []\n"))
    (books / "notebooks" / "broken.ipynb").write_text("{not json")
    with pytest.raises(PipelineError, match="cannot be read as a notebook"):
        load(write(books, "name: x\nsteps:\n  - {name: a, notebook: ../notebooks/broken.ipynb}\n"))


def test_overrides_by_parameter_and_by_step(books):
    pipe = load(write(books, GOOD))
    over = parse_overrides(["symbol=SOL-USDT", "train.max_epochs=9", "duration_s=1.5", "train.fast=false"])
    assert over == {"symbol": "SOL-USDT", "train.max_epochs": 9, "duration_s": 1.5, "train.fast": False}
    p = with_overrides(pipe, over)
    assert p.step_parameters(p.steps[0]) == {"symbol": "SOL-USDT", "duration_s": 1.5}
    assert p.step_parameters(p.steps[1]) == {"symbol": "SOL-USDT", "max_epochs": 9, "fast": False}
    with pytest.raises(PipelineError) as e:
        with_overrides(pipe, parse_overrides(["nope=1", "train.duration_s=3", "deploy.x=1", "max_epochs=many",
                                              "run_dir=/tmp"]))
    msg = "\n".join(e.value.problems)
    for expected in ("-p nope: no step's notebook declares 'nope'", "-p train: duration_s: not a parameter of b.ipynb",
                     "-p deploy.x: no step 'deploy'", "max_epochs: b.ipynb expects int, got str 'many'",
                     "-p run_dir: reserved"):
        assert expected in msg, f"{expected!r} not in:\n{msg}"
    with pytest.raises(PipelineError, match="key=value"):
        parse_overrides(["novalue"])


def test_the_repository_pipeline_is_valid():
    from hftlab.core.config import REPO_ROOT

    pipe = load(REPO_ROOT / "pipelines" / "research.yaml")
    assert [s.name for s in pipe.steps] == ["collect", "features", "train", "backtest", "promote", "live"]
    assert all(s.notebook.parent == REPO_ROOT / "notebooks" for s in pipe.steps)
