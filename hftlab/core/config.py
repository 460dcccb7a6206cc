"""Configuration loading, independent of what the sections hold: YAML files and environment
overrides merged into one mapping, validated by a pydantic model, every problem reported at once.

Each package defines its own section (`hftlab.okx.config.ClientConfig`, `hftlab.cache.config.RedisConfig`,
...) on `Section`; `hftlab.settings` composes them. Every field has a safe default in code, so a file
states only what differs and no file can drop a safety default by omission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ENV_PREFIX = "HFTLAB__"
REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "config"

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    """A configuration section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConfigError(Exception):
    """Invalid configuration: `problems` lists (source, dotted field path, reason)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{src}: {path}: {reason}" for src, path, reason in problems))


def repo_path(p: Path | str) -> Path:
    """A configured relative path resolved against the repository root, not the caller's cwd."""
    p = Path(p)
    return p if p.is_absolute() else REPO_ROOT / p


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError([(str(path), "-", f"cannot read file: {e.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "-"
        raise ConfigError([(str(path), where, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([(str(path), "-", "top level must be a mapping of sections")])
    return data


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def env_overrides(environ: Mapping[str, str], prefix: str = ENV_PREFIX) -> dict[str, Any]:
    """`HFTLAB__REDIS__MAXMEMORY=1gb` -> {"redis": {"maxmemory": "1gb"}}. Values are read as YAML
    scalars or flow collections, so `HFTLAB__TRADING__SYMBOLS=[BTC-USDT]` works."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(prefix):
            continue
        parts = [p.lower() for p in name[len(prefix):].split("__") if p]
        if not parts:
            continue
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def problems(err: ValidationError, source: str) -> list[tuple[str, str, str]]:
    out = []
    for e in err.errors():
        path = ".".join(str(x) for x in e["loc"]) or "-"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (misspelt? see config/default.yaml for the known keys)"
        elif "input" in e and e["type"] != "missing" and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        out.append((source, path, msg))
    return out


def load(model: type[M], paths: Iterable[Path | str], environ: Mapping[str, str]) -> M:
    """Merge the YAML files in order (later wins), then the `HFTLAB__*` variables, and validate."""
    data: dict[str, Any] = {}
    sources = []
    for p in paths:
        data = deep_merge(data, read_yaml(Path(p)))
        sources.append(str(p))
    overrides = env_overrides(environ)
    if overrides:
        data = deep_merge(data, overrides)
        sources.append("environment")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(problems(e, " + ".join(sources) or "defaults")) from None
