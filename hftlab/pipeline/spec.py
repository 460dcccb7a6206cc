"""Pipeline definitions: a YAML file naming notebooks, their parameters and their order, validated.

    name: research
    description: one line
    parameters:                 # for every step whose notebook declares the parameter
      symbol: BTC-USDT
    steps:
      - name: collect           # [a-z0-9_-], unique
        notebook: ../notebooks/01_collect.ipynb   # relative to this file's directory
        parameters:             # only parameters the notebook declares (its cell tagged "parameters")
          duration_s: 180

Every problem is reported at once (PipelineError.problems, "where: what"): unknown keys, missing
or unreadable notebooks, notebooks without a `parameters` cell, parameters a notebook does not
declare, values whose type differs from the notebook's annotation (`speed: float = 60.0`), and
the reserved `run_dir` / `config`, which the runner sets. Command-line overrides (`-p key=value`,
`-p step.key=value`) are checked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

RESERVED = ("run_dir", "config")  # set by the runner for every step
_NAME = re.compile(r"^[a-z0-9_-]{1,40}$")
_TOP_KEYS = {"name", "description", "parameters", "steps"}
_STEP_KEYS = {"name", "notebook", "parameters"}
_CHECKED_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}


class PipelineError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid pipeline:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Step:
    name: str
    notebook: Path
    parameters: dict[str, Any]
    declared: dict[str, dict]  # the notebook's parameters (papermill.inspect_notebook)


@dataclass(frozen=True)
class Pipeline:
    name: str
    path: Path
    steps: list[Step]
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def step_parameters(self, step: Step) -> dict[str, Any]:
        """What the step's notebook gets (before run_dir and config): the pipeline's parameters it
        declares, then its own."""
        shared = {k: v for k, v in self.parameters.items() if k in step.declared}
        return {**shared, **step.parameters}

    def notebook_defaults(self) -> Pipeline:
        """The same steps with no parameters: every notebook runs with its own (small, fast) defaults."""
        return replace(self, parameters={}, steps=[replace(s, parameters={}) for s in self.steps])


def declared_parameters(notebook: Path) -> dict[str, dict]:
    import papermill as pm

    return pm.inspect_notebook(str(notebook))


def load(path: str | Path) -> Pipeline:
    path = Path(path)
    where = str(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise PipelineError([f"{where}: cannot read: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        raise PipelineError([f"{where}: not valid YAML: {e}"]) from None
    if not isinstance(doc, dict):
        raise PipelineError([f"{where}: the top level must be a mapping with name and steps"])
    problems: list[str] = []
    problems += [f"{where}: {k}: unknown key (known: {sorted(_TOP_KEYS)})" for k in doc if k not in _TOP_KEYS]
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}: name: required, [a-z0-9_-] up to 40 characters (got {name!r})")
    shared = doc.get("parameters") or {}
    if not isinstance(shared, dict):
        problems.append(f"{where}: parameters: must be a mapping")
        shared = {}
    raw_steps = doc.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(f"{where}: steps: required, a non-empty list")
        raw_steps = []
    steps, seen = [], set()
    for i, raw in enumerate(raw_steps):
        at = f"{where}: steps[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{at}: must be a mapping with name and notebook")
            continue
        problems += [f"{at}: {k}: unknown key (known: {sorted(_STEP_KEYS)})" for k in raw if k not in _STEP_KEYS]
        sname = raw.get("name")
        if not isinstance(sname, str) or not _NAME.match(sname):
            problems.append(f"{at}: name: required, [a-z0-9_-] up to 40 characters (got {sname!r})")
        elif sname in seen:
            problems.append(f"{at}: name: {sname!r} is used by an earlier step")
        seen.add(sname)
        params = raw.get("parameters") or {}
        if not isinstance(params, dict):
            problems.append(f"{at}: parameters: must be a mapping")
            params = {}
        nb = raw.get("notebook")
        if not isinstance(nb, str) or not nb.endswith(".ipynb"):
            problems.append(f"{at}: notebook: required, a path to an .ipynb file (got {nb!r})")
            continue
        nb_path = (path.parent / nb).resolve()
        if not nb_path.is_file():
            problems.append(f"{at}: notebook: {nb_path} does not exist (paths are relative to {path.parent})")
            continue
        try:
            declared = declared_parameters(nb_path)
        except Exception as e:  # a corrupt notebook: nbformat / JSON errors of many kinds
            problems.append(f"{at}: notebook: {nb_path} cannot be read as a notebook: {e}")
            continue
        if not declared:
            problems.append(f"{at}: notebook: {nb_path.name} has no cell tagged 'parameters'")
        step = Step(str(sname), nb_path, dict(params), declared)
        problems += check_parameters(step, params, f"{at}: parameters")
        steps.append(step)
    for key in shared:
        if key in RESERVED:
            problems.append(f"{where}: parameters: {key}: reserved (the runner sets it)")
        elif steps and not any(key in s.declared for s in steps):
            problems.append(f"{where}: parameters: {key}: no step's notebook declares it")
        for s in steps:
            if key in s.declared:
                problems += check_parameters(s, {key: shared[key]}, f"{where}: parameters")
    if problems:
        raise PipelineError(problems)
    return Pipeline(name, path.resolve(), steps, dict(shared), str(doc.get("description") or ""))


def check_parameters(step: Step, params: dict[str, Any], at: str) -> list[str]:
    out = []
    for key, value in params.items():
        if key in RESERVED:
            out.append(f"{at}: {key}: reserved (the runner sets it)")
            continue
        spec = step.declared.get(key)
        if spec is None:
            out.append(f"{at}: {key}: not a parameter of {step.notebook.name} (it declares: "
                       f"{', '.join(k for k in step.declared if k not in RESERVED) or 'nothing'})")
            continue
        want = _CHECKED_TYPES.get(spec.get("inferred_type_name", ""))
        if want and value is not None and (not isinstance(value, want) or (bool not in want and isinstance(value, bool))):
            out.append(f"{at}: {key}: {step.notebook.name} expects {spec['inferred_type_name']}, got "
                       f"{type(value).__name__} {value!r}")
    return out


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """["duration_s=60", "train.max_epochs=3"] -> {"duration_s": 60, "train.max_epochs": 3}; values
    are YAML scalars or flow collections."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise PipelineError([f"-p {item!r}: expected key=value or step.key=value"])
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def with_overrides(pipe: Pipeline, overrides: dict[str, Any]) -> Pipeline:
    """`key` overrides the parameter in every step that declares it; `step.key` in that step only."""
    problems = []
    steps = {s.name: dict(s.parameters) for s in pipe.steps}
    by_name = {s.name: s for s in pipe.steps}
    for key, value in overrides.items():
        at = f"-p {key}"
        step_name, dot, param = key.rpartition(".")
        if dot:
            step = by_name.get(step_name)
            if step is None:
                problems.append(f"{at}: no step {step_name!r} (steps: {', '.join(by_name)})")
                continue
            found = check_parameters(step, {param: value}, f"-p {step_name}")
            problems += found
            if not found:
                steps[step_name][param] = value
            continue
        if key in RESERVED:
            problems.append(f"{at}: reserved (the runner sets it)")
            continue
        targets = [s for s in pipe.steps if key in s.declared]
        if not targets:
            problems.append(f"{at}: no step's notebook declares {key!r}")
        for s in targets:
            found = check_parameters(s, {key: value}, "-p")
            problems += found
            if not found:
                steps[s.name][key] = value
    if problems:
        raise PipelineError(problems)
    return replace(pipe, steps=[replace(s, parameters=steps[s.name]) for s in pipe.steps])
