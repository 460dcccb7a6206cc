"""Run a pipeline: each step's notebook executed by papermill, in order, into a timestamped folder.

    result = run(load("pipelines/research.yaml"), settings, config=None)

- The run folder `<system.data_dir>/runs/<UTC timestamp>/` holds the executed notebooks
  (`01_collect.ipynb`, ...) and every file the steps hand each other: it is the `run_dir`
  parameter of every step (see hftlab.pipeline.research); `config` carries the config files.
- Progress: one line per step start and end on stderr (papermill's per-cell bar when stderr is a
  terminal). The kernels' own stderr goes to kernels.log in the folder.
- A failing step stops the run: StepFailure names the step, the notebook, the cell (index in the
  executed notebook, which papermill saves with the traceback) and the error.
- At the end, finished or failed, pipeline.json goes into the folder and an MLflow run (kind
  `pipeline`) in the configured experiment records the parameters, each step's seconds and status,
  and the executed notebooks with the small files of the folder as artifacts. Text artifacts
  (notebooks, kernels.log, JSON, YAML) are logged through `core.logs.redact`, with the venue's
  credentials registered first: a secret a kernel printed reaches no MLflow store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hftlab.core.jsonutil import json_default
from hftlab.core.logs import redact
from hftlab.pipeline.spec import Pipeline

ARTIFACT_SUFFIXES = (".ipynb", ".json", ".png", ".yaml", ".log")
TEXT_SUFFIXES = (".ipynb", ".json", ".yaml", ".log")  # logged redacted
KERNEL_LOG = "kernels.log"  # the kernels' own stderr
START_TIMEOUT_S = 180  # a kernel on two busy cores can take a while to answer


@dataclass
class StepFailure(Exception):
    step: str
    notebook: Path
    executed: Path
    cell_index: int | None     # in the notebook as written (0-based)
    exec_count: int | None
    error: str
    source_line: str = ""

    def __str__(self) -> str:
        where = f"cell {self.cell_index}" if self.cell_index is not None else "before any cell ran"
        if self.exec_count is not None:
            where += f" (In [{self.exec_count}] of the executed notebook)"
        src = f"\n  cell source: {self.source_line}" if self.source_line else ""
        return (f"step {self.step!r} failed: {self.notebook.name} {where}: {self.error}{src}\n"
                f"  executed notebook with the traceback: {self.executed}")


@dataclass
class Result:
    pipeline: str
    run_dir: Path
    steps: list[dict] = field(default_factory=list)   # name, notebook, executed, seconds, status, parameters
    failure: StepFailure | None = None
    mlflow_run_id: str | None = None
    interrupted: bool = False  # SIGINT/SIGTERM: stopped after the step that was running

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict:
        return {"pipeline": self.pipeline, "run_dir": str(self.run_dir), "ok": self.ok,
                "interrupted": self.interrupted, "steps": self.steps,
                "failure": None if self.failure is None else str(self.failure), "mlflow_run_id": self.mlflow_run_id}


def new_run_dir(runs_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path, k = runs_dir / stamp, 1
    while path.exists():
        k += 1
        path = runs_dir / f"{stamp}-{k}"
    path.mkdir(parents=True)
    return path


@contextlib.contextmanager
def _stop_requests():
    """SIGINT/SIGTERM set a flag instead of raising in the middle of papermill's kernel handling.

    Ctrl-C in a terminal reaches the kernel too (same process group): the running notebook stops
    on its own (collect ends early and flushes; a long cell raises KeyboardInterrupt), papermill
    shuts the kernel down, and the pipeline stops before the next step. Nothing is left running.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {sig: signal.signal(sig, lambda *_: flag.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(pipe: Pipeline, settings, *, config: list[str] | None = None, runs_dir: Path | None = None,
        progress: Callable[[str], None] = _stderr, log_mlflow: bool = True) -> Result:
    from hftlab.pipeline.kernel import ensure_kernel

    run_dir = new_run_dir(Path(runs_dir) if runs_dir else settings.data_dir / "runs")
    kernel = ensure_kernel()
    logging.getLogger("papermill").setLevel(logging.WARNING)  # our progress lines say what it would
    result = Result(pipe.name, run_dir)
    n = len(pipe.steps)
    progress(f"pipeline {pipe.name}: {n} steps, run folder {run_dir} (kernel {kernel})")
    t_all = time.perf_counter()
    with _stop_requests() as stop:
        _run_steps(pipe, result, run_dir, config, kernel, progress, stop)
    (run_dir / "pipeline.json").write_text(json.dumps(result.to_dict(), indent=1, default=json_default))
    if log_mlflow:
        result.mlflow_run_id = log_run(pipe, result, settings)
        (run_dir / "pipeline.json").write_text(json.dumps(result.to_dict(), indent=1, default=json_default))
    status = "INTERRUPTED" if result.interrupted else "finished" if result.ok else "FAILED"
    progress(f"pipeline {pipe.name}: {status} in {time.perf_counter() - t_all:.0f} s; executed notebooks in {run_dir}")
    return result


def _run_steps(pipe: Pipeline, result: Result, run_dir: Path, config, kernel: str, progress, stop) -> None:
    n = len(pipe.steps)
    for i, step in enumerate(pipe.steps, 1):
        params = {**pipe.step_parameters(step), "run_dir": str(run_dir), "config": config}
        executed = run_dir / step.notebook.name
        shown = ", ".join(f"{k}={v}" for k, v in pipe.step_parameters(step).items())
        progress(f"[{i}/{n}] {step.name}: {step.notebook.name}" + (f" ({shown})" if shown else "") + " ...")
        t0 = time.perf_counter()
        failure = _execute(step, executed, params, kernel)
        seconds = round(time.perf_counter() - t0, 1)
        result.steps.append({"name": step.name, "notebook": str(step.notebook), "executed": str(executed),
                             "seconds": seconds, "status": "failed" if failure else "ok",
                             "parameters": pipe.step_parameters(step)})
        if stop.is_set():
            result.interrupted = True
            result.failure = failure or StepFailure(step.name, step.notebook, executed, None, None,
                                                    "interrupted (SIGINT/SIGTERM) while this step ran")
            progress(f"[{i}/{n}] {step.name}: interrupted after {seconds} s; stopping the pipeline")
            return
        if failure:
            result.failure = failure
            progress(f"[{i}/{n}] {step.name}: FAILED after {seconds} s\n{failure}")
            return
        progress(f"[{i}/{n}] {step.name}: done in {seconds} s")


def _kernel_manager(stderr):
    """A kernel manager whose kernel talks over local IPC sockets (no TCP port, nothing in plain text
    on the network) and writes its own stderr (start-up and shutdown chatter) to `stderr`."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class KernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        async def start_kernel(self, **kw):
            kw.setdefault("stderr", stderr)
            return await super().start_kernel(**kw)

    return KernelManager


def _execute(step, executed: Path, params: dict, kernel: str) -> StepFailure | None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        with open(executed.parent / KERNEL_LOG, "a") as log:
            pm.execute_notebook(str(step.notebook), str(executed), parameters=params, kernel_name=kernel,
                                cwd=str(step.notebook.parent), progress_bar=sys.stderr.isatty(), log_output=False,
                                start_timeout=START_TIMEOUT_S, kernel_manager_class=_kernel_manager(log))
    except PapermillExecutionError as e:
        first = next((line for line in (e.source or "").splitlines() if line.strip()), "")
        return StepFailure(step.name, step.notebook, executed, _source_index(executed, e.cell_index), e.exec_count,
                           f"{e.ename}: {e.evalue}", first.strip()[:200])
    except Exception as e:  # the kernel died or never started, the notebook could not be read or written
        return StepFailure(step.name, step.notebook, executed, None, None, f"{type(e).__name__}: {e}")
    return None


def _source_index(executed: Path, index: int) -> int:
    """The failing cell's index in the notebook as written: papermill inserts its injected-parameters
    cell into the executed copy (after the parameters cell)."""
    import nbformat

    try:
        cells = nbformat.read(str(executed), as_version=4).cells
    except (OSError, ValueError):
        return index
    injected = next((i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])), None)
    return index - 1 if injected is not None and index > injected else index


def log_run(pipe: Pipeline, result: Result, settings) -> str:
    """The pipeline as an MLflow run of its own; returns its id."""
    import tempfile

    from hftlab.core.secrets import CredentialsError, load_credentials
    from hftlab.models import tracking

    try:  # registers the venue's credentials with the redactor (the kernels loaded them, not us)
        load_credentials(settings.venue.name, settings.venue.credentials_file)
    except CredentialsError:
        pass
    mlflow = tracking.import_mlflow()
    experiment_id = tracking.use_experiment(settings.mlflow)
    tags = {"hftlab.kind": "pipeline", "hftlab.pipeline": pipe.name, "hftlab.run_dir": str(result.run_dir),
            "hftlab.status": "ok" if result.ok else "failed"}
    if result.failure:
        tags["hftlab.failure"] = redact(str(result.failure))[:4000]
    run = mlflow.start_run(experiment_id=experiment_id, run_name=f"pipeline-{pipe.name}-{result.run_dir.name}", tags=tags)
    status = "FAILED"
    try:
        params = {"pipeline.file": str(pipe.path)}
        for s in result.steps:
            params.update(tracking.flat_params(s["name"], s["parameters"]))
        mlflow.log_params(params)
        mlflow.log_metrics({f"step.{s['name']}.seconds": s["seconds"] for s in result.steps})
        with tempfile.TemporaryDirectory(prefix="hftlab-artifacts-") as staging:
            for path, where in run_artifacts(pipe.path, result.run_dir, Path(staging)):
                mlflow.log_artifact(str(path), artifact_path=where)
        status = "FINISHED" if result.ok else "FAILED"
    finally:
        mlflow.end_run(status=status)
    return run.info.run_id


def run_artifacts(pipeline_file: Path, run_dir: Path, staging: Path) -> list[tuple[Path, str | None]]:
    """(file to log, artifact path) for the pipeline file and the run folder's small files, the text
    ones as redacted copies under `staging`."""
    files = [(Path(pipeline_file), None)]
    for f in sorted(run_dir.rglob("*")):
        if f.is_file() and f.suffix in ARTIFACT_SUFFIXES and "recording" not in f.parts:
            rel = f.parent.relative_to(run_dir)
            files.append((f, None if str(rel) == "." else str(rel)))
    out = []
    for i, (f, where) in enumerate(files):
        if f.suffix in TEXT_SUFFIXES:
            copy = staging / str(i) / f.name
            copy.parent.mkdir(parents=True)
            copy.write_text(redact(f.read_text(errors="replace")))
            f = copy
        out.append((f, where))
    return out
