"""Run or check a papermill pipeline: `hftlab pipeline run|validate FILE [-p key=value ...]`.

    hftlab pipeline run pipelines/research.yaml -p duration_s=300 -p train.max_epochs=8
    hftlab pipeline validate pipelines/research.yaml

`-p key=value` sets a parameter in every step whose notebook declares it, `-p step.key=value` in
one step (values are YAML: 60, 0.5, true, [a, b]). The notebooks run with this interpreter's
kernel; executed notebooks go to <system.data_dir>/runs/<UTC timestamp>/ (or --runs-dir) and,
with the steps' parameters and times, into an MLflow run. Exit 0 when every step ran, 1 when a
step failed (the message names the notebook and the cell), 2 for an invalid pipeline or config.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hftlab.core.jsonutil import json_default


def add_arguments(p) -> None:
    from hftlab.commands.common import add_common

    p.add_argument("action", choices=["run", "validate"], help="run the pipeline, or only validate it")
    p.add_argument("file", type=Path, help="pipeline YAML (e.g. pipelines/research.yaml)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter: key=value (every step declaring it) or step.key=value")
    p.add_argument("--notebook-defaults", action="store_true",
                   help="ignore the file's parameters: each notebook runs with its own small, fast defaults")
    p.add_argument("--runs-dir", type=Path, metavar="DIR", help="parent of the run folder (default <data_dir>/runs)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the pipeline run to MLflow")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_common(p)


def run(args) -> int:
    from hftlab.commands.common import load_settings
    from hftlab.pipeline.spec import PipelineError, load, parse_overrides, with_overrides

    settings = load_settings(args)
    try:
        pipe = load(args.file)
        if args.notebook_defaults:
            pipe = pipe.notebook_defaults()
        pipe = with_overrides(pipe, parse_overrides(args.param))
    except PipelineError as e:
        print(f"hftlab pipeline: {args.file}: invalid pipeline:", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.action == "validate":
        print(f"{args.file}: pipeline {pipe.name!r} is valid: " + " -> ".join(s.name for s in pipe.steps))
        for s in pipe.steps:
            print(f"  {s.name}: {s.notebook.name} {pipe.step_parameters(s)}")
        return 0
    from hftlab.pipeline.runner import run as run_pipeline

    config = [str(Path(c).resolve()) for c in args.config] if args.config else None
    result = run_pipeline(pipe, settings, config=config, runs_dir=args.runs_dir.resolve() if args.runs_dir else None,
                          log_mlflow=not args.no_mlflow)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), default=json_default) + "\n")
    return 130 if result.interrupted else 0 if result.ok else 1
